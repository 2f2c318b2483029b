"""Packed linear layers (:mod:`synthstruct.text.packed_linear`): the bfloat16 model's weights laid out once
for oneDNN, the same products to bfloat16 rounding, or the model left alone."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from synthstruct.text import packed_linear as P  # noqa: E402

needs_mkldnn = pytest.mark.skipif(not P._available(torch), reason="this torch build has no oneDNN linear ops")


def _tiny_llama(dtype):  # type: ignore[no-untyped-def]
    """A randomly initialised two-layer Llama with tied embeddings (like SmolLM2): real code paths, no download."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=97, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         pad_token_id=0, bos_token_id=1, eos_token_id=2, tie_word_embeddings=True)
    return LlamaForCausalLM(config).to(dtype).eval()


def _kinds(model) -> dict[str, int]:  # type: ignore[no-untyped-def]
    out: dict[str, int] = {}
    for m in model.modules():
        out[type(m).__name__] = out.get(type(m).__name__, 0) + 1
    return out


@needs_mkldnn
def test_a_bfloat16_model_computes_the_same_logits_with_packed_layers() -> None:
    model = _tiny_llama(torch.bfloat16)
    ids = torch.randint(3, 97, (3, 11), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        before = model(input_ids=ids).logits.float()
    linears = _kinds(model)["Linear"]
    assert P.pack_linears(model) == linears == 2 * 7 + 1  # q k v o gate up down per layer, and the head
    assert "Linear" not in _kinds(model) and _kinds(model)["PackedLinear"] == linears
    # the head is tied to the embedding: the embedding keeps its weight, the head gets a packed copy
    assert model.model.embed_tokens.weight.dtype == torch.bfloat16
    with torch.inference_mode():
        after = model(input_ids=ids).logits.float()
    assert after.shape == before.shape
    assert torch.allclose(after, before, rtol=0.05, atol=0.05 * float(before.abs().max()))


def test_float32_models_and_the_switch_leave_the_model_alone(monkeypatch) -> None:
    model = _tiny_llama(torch.float32)
    assert P.pack_linears(model) == 0 and "PackedLinear" not in _kinds(model)
    monkeypatch.setattr(P, "ENABLED", False)
    model = _tiny_llama(torch.bfloat16)
    assert P.pack_linears(model) == 0 and "PackedLinear" not in _kinds(model)


@needs_mkldnn
def test_a_kernel_that_disagrees_with_the_plain_product_packs_nothing(monkeypatch) -> None:
    real = P._packed_product
    monkeypatch.setattr(P, "_packed_product", lambda x, packed, bias: real(x, packed, bias) * 1.1)
    model = _tiny_llama(torch.bfloat16)
    assert P.pack_linears(model) == 0 and "PackedLinear" not in _kinds(model)

    def broken(x, packed, bias):  # type: ignore[no-untyped-def]
        raise RuntimeError("no kernel for this CPU")

    monkeypatch.setattr(P, "_packed_product", broken)
    assert P.pack_linears(model) == 0 and "PackedLinear" not in _kinds(model)


@needs_mkldnn
@pytest.mark.slow
def test_the_embedded_bfloat16_model_is_packed_and_its_answers_say_so(tmp_path) -> None:
    """SmolLM2 in bfloat16 loads packed; the answer cache's key names it, so a resumed run never mixes
    answers of packed and plain layers."""
    from synthstruct.text.answer_cache import AnswerCache
    from synthstruct.text.base import TextRequest
    from synthstruct.text.local import LocalTextGenerator, load_model

    _, model = load_model("bfloat16")
    assert model.synthstruct_packed > 200 and type(model.lm_head).__name__ == "PackedLinear"
    gen = LocalTextGenerator(options={"precision": "bfloat16", "runtime": "transformers", "threads": 2})
    gen.answer_cache = AnswerCache(tmp_path, "review")
    request = TextRequest(messages=({"role": "user", "content": "Write one word."},), max_words=4, target_words=2, seed=3,
                          document="Rating: 5\nReview: Lovely.\nRating: 1\nReview:")
    assert gen.generate([request], seed=0) == gen.generate([request], seed=0)
    assert gen.packed_
    key = gen._cache_key([request.document], [request], 0, True)
    gen.packed_ = False
    assert gen._cache_key([request.document], [request], 0, True) != key
