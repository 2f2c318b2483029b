"""Answers are saved as they arrive: a text column interrupted inside a chunk asks the model again only
for what it had not answered, and writes the same texts as an uninterrupted run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from synthstruct.text.answer_cache import AnswerCache, answer_key
from synthstruct.text.column import TextColumnGenerator


def _sibling(name: str) -> Any:
    """A sibling test module (the suite imports in importlib mode, so not by name)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(f"_sibling_{name}", Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_openai_tests = _sibling("test_openai_backend")
_answer, _spec, server_factory = _openai_tests._answer, _openai_tests._spec, _openai_tests.server_factory


def _deterministic(n: int, body: dict[str, Any]) -> tuple[int, bytes, float]:
    last = body["messages"][-1]["content"].splitlines()
    rating = next((line for line in last if line.startswith("Rating:")), "Rating: ?")
    return 200, _answer(f"About {rating} with seed {body['seed']}, the fit was comfortable and warm."), 0.0


def _column(url: str, checkpoint_dir: Any = None) -> TextColumnGenerator:
    gen = TextColumnGenerator(_spec(url, concurrency=1), column="Review")
    gen.fit(pd.Series(["the fabric was soft and the colour was exactly like the photo online"] * 3))
    gen.chunk_rows = 64  # one chunk: the interruption happens inside it
    gen.checkpoint_dir = checkpoint_dir
    return gen


def test_interrupted_chunk_resumes_from_saved_answers(server_factory, tmp_path, monkeypatch) -> None:
    rows = pd.DataFrame({"Rating": [1, 2, 3, 4, 5, 1, 2, 3]})
    server = server_factory(_deterministic)
    expected = _column(server.url).generate(rows, np.random.default_rng(5))
    uninterrupted_calls = server.calls
    assert uninterrupted_calls >= 8

    put = AnswerCache.put

    def put_then_die(self: AnswerCache, key: str, answers: list[str]) -> None:
        put(self, key, answers)
        if len(self._load()) == 5:
            raise KeyboardInterrupt("simulated Ctrl-C after five answers")

    monkeypatch.setattr(AnswerCache, "put", put_then_die)
    with pytest.raises(KeyboardInterrupt):
        _column(server.url, tmp_path).generate(rows, np.random.default_rng(5))
    assert not list(tmp_path.glob("text-*.jsonl"))  # the chunk never finished
    (saved,) = tmp_path.glob("answers-*.jsonl")
    answered = len(saved.read_text().splitlines())
    assert 5 <= answered < uninterrupted_calls  # requests already in flight may finish after the Ctrl-C
    monkeypatch.setattr(AnswerCache, "put", put)

    before = server.calls
    resumed = _column(server.url, tmp_path).generate(rows, np.random.default_rng(5))
    assert server.calls - before == uninterrupted_calls - answered  # only unanswered requests went out
    assert resumed.tolist() == expected.tolist()


def test_a_torn_last_line_is_ignored(tmp_path) -> None:
    cache = AnswerCache(tmp_path, "col")
    cache.put(answer_key("a"), ["one"])
    with cache.path.open("a") as f:
        f.write('{"key": "b", "answ')
    fresh = AnswerCache(tmp_path, "col")
    assert fresh.get(answer_key("a")) == ["one"] and fresh.get("b") is None
    assert oct(cache.path.stat().st_mode & 0o777) == "0o600"


def test_local_backend_reuses_saved_batches(tmp_path, monkeypatch) -> None:
    """The embedded model's batches are the unit: a saved batch is not generated again."""
    from synthstruct.text import local
    from synthstruct.text.base import TextRequest

    class Tok:
        def apply_chat_template(self, messages: Any, **_: Any) -> str:
            return messages[-1]["content"]

    monkeypatch.setattr(local, "load_model", lambda precision, model=None: (Tok(), None))
    backend = local.LocalTextGenerator(options={"batch_size": 2, "threads": 0, "prompt": "chat", "runtime": "transformers"})
    generated: list[list[str]] = []

    def fake_batch(tok: Any, model: Any, prompts: list[str], requests: Any, seed: int, **_: Any) -> list[str]:
        generated.append(prompts)
        return [f"answer to {p}" for p in prompts]

    monkeypatch.setattr(backend, "_batch", fake_batch)
    backend.answer_cache = AnswerCache(tmp_path, "col")
    requests = [TextRequest(messages=({"role": "user", "content": f"prompt {i}"},), max_words=10, target_words=5,
                            context={}, seed=i) for i in range(5)]
    first = backend.generate(requests, seed=1)
    assert len(generated) == 3
    second = backend.generate(requests, seed=1)
    assert second == first and len(generated) == 3  # every batch came from the cache
    backend.generate(requests, seed=2)
    assert len(generated) == 6  # another seed is another answer
