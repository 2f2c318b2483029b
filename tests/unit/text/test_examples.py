"""Few-shot examples from training text: Presidio-anonymized, shortened, matched to the row; document prompts."""

from __future__ import annotations

import numpy as np
import pytest
import pandas as pd

from synthstruct.schema.model import TextColumn
from synthstruct.text.column import TextColumnGenerator
from synthstruct.text.examples import ExamplePool, anonymize_texts, shorten
from synthstruct.text.prompts import build_document, format_value


def test_anonymizer_swaps_pii_for_values_of_the_same_kind() -> None:
    texts = ["Write to jane.roe@example.org or call 212-555-0187 about the order.", "Lovely soft fabric."]
    out, replaced = anonymize_texts(texts, seed=3)
    assert replaced >= 2
    assert "jane.roe@example.org" not in out[0] and "555-0187" not in out[0]
    assert "@" in out[0] and "about the order." in out[0]  # an email is replaced by an email, text kept
    assert out[1] == texts[1]
    assert anonymize_texts(texts, seed=3) == (out, replaced)  # seeded surrogates


def test_shorten_cuts_at_a_sentence_end() -> None:
    assert shorten("One  two\nthree. Four five six seven.", 5) == "One two three."
    assert shorten("a b c", 5) == "a b c"
    assert shorten("no sentence end in this long line at all", 4) == "no sentence end in"


def _reviews(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rating = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.04, 0.06, 0.1, 0.3, 0.5])
    dept = rng.choice(["Tops", "Dresses"], size=n)
    text = [f"Review number {i} of a {d.lower()} rated {r} with plenty of words here." for i, (r, d) in
            enumerate(zip(rating, dept))]
    return pd.DataFrame({"Rating": rating, "Department": dept, "Review": text})


def test_pool_is_stratified_and_picks_matching_rows_deterministically() -> None:
    frame = _reviews()
    pool = ExamplePool(["Rating", "Department"], pool_size=40, max_words=6, seed=1).fit(
        frame["Review"], frame, format_value)
    assert len(pool) == 40
    assert {c["Rating"] for c in pool.contexts_} == {"1", "2", "3", "4", "5"}  # rare ratings kept
    assert all(len(t.split()) <= 6 for t in pool.texts_)
    picks = pool.pick({"Rating": "1", "Department": "Tops"}, 3, seed=5)
    assert len(picks) == 3 and all(c["Rating"] == "1" for c, _ in picks)
    assert picks == pool.pick({"Rating": "1", "Department": "Tops"}, 3, seed=5)
    best = pool.pick({"Rating": "4", "Department": "Dresses"}, 1, seed=0)[0][0]
    assert best == {"Rating": "4", "Department": "Dresses"}
    draws = {tuple(t for _, t in pool.pick({"Rating": "5", "Department": "Tops"}, 2, seed=s)) for s in range(8)}
    assert len(draws) > 1  # ties are broken by the row's seed: rows see different examples


def test_document_prompt_lists_example_records_then_the_open_row() -> None:
    spec = TextColumn(kind="text", description="Customer reviews of clothing", style="casual",
                      conditioned_on=["Rating"])
    doc = build_document(spec, "Review", {"Rating": "2"},
                         examples=[({"Rating": "2", "Other": "x"}, "Runs  small.\nSad."), "Hand written one."])
    assert doc.startswith("Customer reviews of clothing. Style: casual.\n\n")
    assert "Rating: 2\nReview: Runs small. Sad.\n\n" in doc and "Other" not in doc
    assert "\n\nReview: Hand written one.\n\n" in doc
    assert doc.endswith("\n\nRating: 2\nReview:")


class _Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.stats_: dict[str, int] = {}
        self.requests: list = []

    def generate(self, requests, *, seed):
        self.requests += list(requests)
        return [f"A fresh answer about {r.context.get('Rating')} stars number {r.seed} and more words" for r in requests]


def test_column_prompts_carry_row_matched_scrubbed_examples() -> None:
    frame = _reviews()
    frame.loc[0, "Review"] = "Ask Maria Lopez at maria.lopez@example.com, she sold me this rated top."
    spec = TextColumn(kind="text", generator="local", conditioned_on=["Rating", "Department"], examples_from_data=2)
    backend = _Recorder()
    gen = TextColumnGenerator(spec, column="Review", backend=backend).fit(frame["Review"], frame)
    pool_text = " ".join(gen.example_pool_.texts_)
    assert "maria.lopez@example.com" not in pool_text and "Maria Lopez" not in pool_text
    rows = pd.DataFrame({"Rating": [1, 5], "Department": ["Tops", "Dresses"]})
    gen.generate(rows, np.random.default_rng(0))
    first = backend.requests[0]
    assert first.document.endswith("Rating: 1 | Department: Tops\nReview:")
    assert first.document.count("\nReview: ") == 2 and "Rating: 1" in first.document.split("\n\n")[1]
    assert "Rating: 1" in first.messages[-1]["content"]
    assert gen.stats_["example_pool"] == len(frame) and gen.stats_["example_pii_replaced"] >= 2
    state = gen.to_state()
    assert "maria" not in str(state).lower() and "Review number" not in str(state)
    assert TextColumnGenerator.from_state(state).example_pool_ is None  # training text is never saved


def test_template_generator_builds_no_pool() -> None:
    frame = _reviews(30)
    spec = TextColumn(kind="text", generator="template", conditioned_on=["Rating"])
    gen = TextColumnGenerator(spec, column="Review").fit(frame["Review"], frame)
    assert gen.example_pool_ is None


def test_judge_answers_are_parsed_and_only_numbers_are_reported() -> None:
    from synthstruct.text.judge import parse_judgement

    assert parse_judgement("Score: 4. Reason: reads like a real review") == (4, "reads like a real review")
    assert parse_judgement("4 - plausible")[0] == 4
    assert parse_judgement("**Score**: 2/5. Reason: off topic") == (2, "off topic")
    assert parse_judgement("I cannot grade this")[0] is None
    assert parse_judgement("Score: 10")[0] is None

    class Grader(_Recorder):
        def generate(self, requests, *, seed):
            if "grade" in requests[0].messages[0]["content"]:
                assert all(r.document.endswith("Score (1-5) and reason:") for r in requests)
                return ["Score: 5. Reason: fine" if "1 stars" in r.messages[-1]["content"] else "no idea"
                        for r in requests]
            return super().generate(requests, seed=seed)

    frame = _reviews(40)
    spec = TextColumn(kind="text", generator="local", conditioned_on=["Rating"], examples_from_data=0, judge=3)
    gen = TextColumnGenerator(spec, column="Review", backend=Grader()).fit(frame["Review"], frame)
    gen.generate(pd.DataFrame({"Rating": [1, 1, 5, 5, 5]}), np.random.default_rng(1))
    stats = gen.stats_
    assert stats["judge_scored"] + stats["judge_unparsed"] == 3
    assert stats["judge_score_5"] == stats["judge_scored"] and len(gen.judgements_) == 3
    assert stats["judge_mean"] == (5.0 if stats["judge_scored"] else None)


def test_stock_phrases_shared_by_many_texts_are_not_copies() -> None:
    from synthstruct.text.checks import NgramIndex

    stock = "thank you for calling the bank have a great day"
    train = [f"caller {w} asked about a card {stock}" for w in ("ann", "bob", "cy")] + \
            ["a unique sentence that only one single caller ever said on the phone"]
    strict, relaxed = NgramIndex(8).add(train), NgramIndex(8, shared_by=3).add(train)
    assert strict.copied(f"agent hello {stock}") > 0 and relaxed.copied(f"agent hello {stock}") == 0
    unique = "well a unique sentence that only one single caller ever said"
    assert relaxed.copied(unique) > 0  # a run from one text still counts


def test_names_in_lower_case_text_are_found_and_replaced() -> None:
    from synthstruct.pii.scanner import scan_texts

    text = "caller hi my name is patricia johnson and i lost my debit card"
    assert not any(e == "PERSON" for _, _, e, _ in scan_texts([text])[0])  # NER needs capitals
    spans = scan_texts([text], restore_case=True)[0]
    assert any(e == "PERSON" and text[a:b] == "patricia johnson" for a, b, e, _ in spans)
    out, replaced = anonymize_texts([text], seed=0)
    assert replaced >= 1 and "patricia johnson" not in out[0].lower() and out[0].endswith("lost my debit card")


def test_multi_step_text_feeds_each_answer_into_the_next_step() -> None:
    class Stepper(_Recorder):
        def generate(self, requests, *, seed):
            self.requests.append(list(requests))
            step = len(self.requests)
            return [f"answer of step {step} for rating {r.context['Rating']} with several more words here"
                    for r in requests]

    frame = _reviews(40)
    spec = TextColumn(kind="text", generator="local", conditioned_on=["Rating"], examples_from_data=0,
                      steps=["Outline the call in 3 points", "Write the call from the outline"], min_length=3,
                      max_length=120, candidates=1, rounds=1)
    backend = Stepper()
    gen = TextColumnGenerator(spec, column="Review", backend=backend).fit(frame["Review"], frame)
    out = gen.generate(pd.DataFrame({"Rating": [2, 4]}), np.random.default_rng(0))
    outline, final = backend.requests
    assert all(r.document == "" and r.max_words <= 30 for r in outline)  # a short plan, chat prompt
    assert "Step 1 of 2: Outline the call" in outline[0].messages[-1]["content"]
    assert "answer of step 1 for rating 2" in final[0].messages[-1]["content"]
    assert "Plan: answer of step 1 for rating 2" in final[0].document
    assert final[0].max_words == gen._budget(final[0].target_words)  # the row's own length budget
    assert out.tolist() == [f"answer of step 2 for rating {r} with several more words here" for r in (2, 4)]


def _varied(n: int = 240) -> pd.DataFrame:
    """Reviews whose length depends on the row (3-80 words) and whose words name the department."""
    rng = np.random.default_rng(4)
    rating = rng.choice([1, 3, 5], size=n)
    dept = rng.choice(["Tops", "Dresses", "Jackets"], size=n)
    length = rng.integers(3, 80, size=n)
    text = [" ".join([f"{d.lower()}{k % 7}" for k in range(m - 1)] + [f"r{r}."]) for r, d, m in
            zip(rating, dept, length)]
    return pd.DataFrame({"Rating": rating, "Department": dept, "Review": text})


def test_examples_are_the_most_specific_match_then_nearest_the_target_length() -> None:
    frame = _varied()
    pool = ExamplePool(["Rating", "Department"], pool_size=120, seed=0).fit(frame["Review"], frame, format_value)
    assert max(len(t.split()) for t in pool.texts_) > 40  # kept whole, not cut to 40 words
    row = {"Rating": "3", "Department": "Jackets"}
    exact = [i for i, c in enumerate(pool.contexts_) if c == row]
    assert len(exact) >= 3
    for target in (10, 60):
        picks = pool.pick(row, 3, seed=1, target_words=target)
        assert all(c == row for c, _ in picks)  # both values match before anything else counts
        lengths = sorted(len(t.split()) for _, t in picks)
        near = sorted(abs(np.log((pool.words_[i] + 1) / (target + 1))) for i in exact)
        assert np.mean([abs(np.log((w + 1) / (target + 1))) for w in lengths]) <= near[len(near) // 2]
    short = pool.pick(row, 3, seed=1, target_words=60, max_words=20)
    assert all(len(t.split()) <= 20 for _, t in short)  # cut to the row's budget
    assert pool.pick(row, 3, seed=1, target_words=60) == pool.pick(row, 3, seed=1, target_words=60)
    # no exact match: one value matching beats none, the first column before the second
    pool2 = ExamplePool(["Rating", "Department"], pool_size=120, seed=0).fit(
        frame["Review"], frame.assign(Department=frame["Department"].where(frame["Department"] != "Jackets", "Tops")),
        format_value)
    assert all(c["Rating"] == "3" for c, _ in pool2.pick(row, 3, seed=2, target_words=30))


def test_typical_examples_are_preferred_within_a_match_level() -> None:
    from synthstruct.text.verifier import TextVerifier

    frame = _varied()
    pool = ExamplePool(["Department"], pool_size=240, seed=0).fit(frame["Review"], frame, format_value)
    verifier = TextVerifier(["Department"]).fit(frame["Review"], frame, format_value)
    pool.set_typicality(verifier)
    assert pool.typicality_.min() < pool.typicality_.max() <= 1.0
    pool.typicality_weight = 50.0  # typicality alone decides
    picks = pool.pick({"Department": "Tops"}, 3, seed=0, target_words=30)
    best = sorted((pool.typicality_[i] for i, c in enumerate(pool.contexts_) if c["Department"] == "Tops"),
                  reverse=True)[:3]
    chosen = [pool.typicality_[pool.texts_.index(t)] for _, t in picks]
    assert sorted(chosen, reverse=True) == pytest.approx(best, abs=0.02)


def test_requests_carry_a_minimum_length_and_length_matched_examples() -> None:
    frame = _varied()
    spec = TextColumn(kind="text", generator="local", conditioned_on=["Rating", "Department"], examples_from_data=2,
                      min_length=3)
    backend = _Recorder()
    gen = TextColumnGenerator(spec, column="Review", backend=backend).fit(frame["Review"], frame)
    rows = pd.DataFrame({"Rating": [1, 3, 5, 3], "Department": ["Tops", "Jackets", "Dresses", "Tops"]})
    gen.generate(rows, np.random.default_rng(0))
    first = backend.requests[: len(rows) * spec.candidates]
    for r in first:
        assert r.min_words == max(3, int(r.target_words * 0.8)) and r.min_words <= r.max_words
        shown = [line for line in r.document.split("\n") if line.startswith("Review: ")]
        assert len(shown) == 2 and all(len(s.split()) - 1 <= r.max_words for s in shown)
        assert r.document.count(f"Rating: {r.context['Rating']} | Department: {r.context['Department']}\n") == 3


def test_candidates_of_a_row_share_their_examples_so_their_prompt_is_prefilled_once(monkeypatch) -> None:
    """One round's candidates of a row carry one document (the local backend prefills it once) and their own
    seeds; with the lever off each candidate draws its own examples (the behaviour before)."""
    import synthstruct.text.column as column_module

    frame = _varied()
    spec = TextColumn(kind="text", generator="local", conditioned_on=["Rating", "Department"], examples_from_data=2,
                      candidates=4, first_candidates=4, rounds=1)
    rows = pd.DataFrame({"Rating": [1, 3, 5, 3, 1], "Department": ["Tops", "Jackets", "Dresses", "Tops", "Jackets"]})

    def documents(shared: bool, temperature: float | None = None) -> list[list]:
        monkeypatch.setattr(column_module, "SHARED_CANDIDATE_EXAMPLES", shared)
        backend = _Recorder()
        if temperature is not None:
            backend.temperature = temperature  # as the local and openai backends expose it
        TextColumnGenerator(spec, column="Review", backend=backend).fit(frame["Review"], frame).generate(
            rows, np.random.default_rng(0))
        first = backend.requests[: len(rows) * 4]
        assert len({r.seed for r in first}) == len(first)  # every candidate samples with its own seed
        return [[r.document for r in first[i * 4:(i + 1) * 4]] for i in range(len(rows))]

    shared = documents(True)
    assert all(len(set(docs)) == 1 for docs in shared)
    assert len({docs[0] for docs in shared}) == len(rows)  # rows still see different examples
    own = documents(False)
    assert any(len(set(docs)) > 1 for docs in own)
    assert any(len(set(docs)) > 1 for docs in documents(True, temperature=0.0))  # greedy: one prompt, k equal answers


def test_rows_of_one_context_and_near_lengths_share_a_page_of_examples(monkeypatch) -> None:
    """Up to ROWS_PER_PAGE rows with the same values and targets within PAGE_LENGTH_RATIO get one document
    (one prefill for all of them); each keeps its own target, minimum, budget and seed; 1 = a page per row."""
    import synthstruct.text.column as column_module

    frame = _varied()
    spec = TextColumn(kind="text", generator="local", conditioned_on=["Rating", "Department"], examples_from_data=2,
                      rounds=1)
    rows = pd.DataFrame({"Rating": [1] * 6 + [3], "Department": ["Tops"] * 6 + ["Tops"]})
    targets = np.array([20, 21, 22, 23, 24, 60, 21])  # rows 0-3: one page; 4: the next; 5: too long; 6: other values

    monkeypatch.setattr(column_module, "PAGE_LENGTH_RATIO", 1.3)

    def requests(per_page: int) -> list:
        monkeypatch.setattr(column_module, "ROWS_PER_PAGE", per_page)
        backend = _Recorder()
        gen = TextColumnGenerator(spec, column="Review", backend=backend).fit(frame["Review"], frame)
        gen._targets = lambda contexts, rng: targets.copy()  # type: ignore[method-assign]
        gen.generate(rows, np.random.default_rng(0))
        first = {r.context["Rating"] + str(r.target_words): r for r in backend.requests[: len(rows)]}
        return [first[f"{r}{t}"] for r, t in zip(rows["Rating"].astype(str), targets)]

    shared = requests(4)
    docs = [r.document for r in shared]
    assert len(set(docs[:4])) == 1 and len(set(docs)) == 4  # {0-3}, {4}, {5}, {6}
    assert [r.target_words for r in shared] == targets.tolist()  # each row's own target and minimum
    assert len({r.seed for r in shared}) == len(rows) and len({r.max_words for r in shared[:4]}) > 1
    own = [r.document for r in requests(1)]  # the rule before: each row draws its own examples
    assert len(set(own[:4])) > 1 and len(set(own)) > len(set(docs))
