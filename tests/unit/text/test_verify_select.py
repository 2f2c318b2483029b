"""The text column's verifier (learned at fit) and the generate -> verify -> select loop, with fake backends."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthstruct.schema.model import TextColumn
from synthstruct.text.column import TextColumnGenerator
from synthstruct.text.prompts import format_value
from synthstruct.text.verifier import TextVerifier

_WORDS = {"Dresses": "dress gown hem skirt twirl", "Bottoms": "jeans pants denim waist inseam",
          "Tops": "blouse shirt sleeve collar tee"}
_FILLER = ["i", "bought", "this", "online", "and", "it", "arrived", "quickly", "the", "colour", "is", "nice", "and", "i", "would", "order", "again"]


def _corpus(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Reviews whose department shows in their words; Dresses reviews are long, the others short."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        dept = list(_WORDS)[i % 3]
        length = int(rng.integers(40, 60)) if dept == "Dresses" else int(rng.integers(8, 14))
        words = list(rng.choice(_WORDS[dept].split(), 3)) + list(rng.choice(_FILLER, length - 3))
        rows.append({"Department": dept, "Review": " ".join(words)})
    return pd.DataFrame(rows)


def test_verifier_recognises_labels_and_keeps_a_per_class_length_profile() -> None:
    frame = _corpus()
    ver = TextVerifier(["Department"]).fit(frame["Review"], frame, format_value)
    assert ver.labelled == ["Department"]
    assert ver.predict(["a lovely dress with a twirl", "these jeans fit at the waist", "the sleeve and collar"],
                       "Department") == ["Dresses", "Bottoms", "Tops"]
    p, agree = ver.probabilities(["a dress gown with a hem"] * 2, ["Dresses", "Tops"], "Department")
    assert p[0] > p[1] and agree.tolist() == [True, False]
    _, unknown = ver.probabilities(["a lovely dress"], ["Shoes"], "Department")  # a value it never saw
    assert unknown.tolist() == [True]
    long_ = ver.draw_lengths([{"Department": "Dresses"}] * 200, np.linspace(0, 1, 200))
    short = ver.draw_lengths([{"Department": "Tops"}] * 200, np.linspace(0, 1, 200))
    assert long_.min() >= 40 and short.max() <= 14  # each class has its own real lengths


def test_verifier_state_is_plain_json_without_training_text_and_scores_identically() -> None:
    frame = _corpus()
    ver = TextVerifier(["Department"]).fit(frame["Review"], frame, format_value)
    state = json.loads(json.dumps(ver.to_state()))
    assert set(state) >= {"vocabulary", "idf", "classifiers", "length_by_class"}
    assert not any(text in json.dumps(state) for text in frame["Review"])  # vocabulary entries, never texts
    again = TextVerifier(["Department"]).fit(frame["Review"], frame, format_value)
    assert json.dumps(again.to_state()) == json.dumps(ver.to_state())  # deterministic fit
    loaded = TextVerifier.from_state(state)
    probe = ["a dress with a hem", "denim jeans", "a shirt"]
    labels = ["Dresses", "Tops", "Tops"]
    assert np.array_equal(loaded.probabilities(probe, labels, "Department")[0],
                          ver.probabilities(probe, labels, "Department")[0])


def _noisy(n: int, seed: int) -> pd.DataFrame:
    """Reviews that name their own department's words only 60 % of the time (else another department's):
    many real texts are not recognisably about their row, as in real corpora."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        dept = list(_WORDS)[i % 3]
        said = dept if rng.random() < 0.6 else list(_WORDS)[(i + 1 + int(rng.integers(2))) % 3]
        words = list(rng.choice(_WORDS[said].split(), 2)) + list(rng.choice(_FILLER, 10))
        rows.append({"Department": dept, "Review": " ".join(words)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("n", [600, 4000])  # 3-fold cross-validation / left-out texts
def test_label_bars_are_calibrated_so_most_real_texts_agree(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import synthstruct.text.verifier as verifier

    monkeypatch.setattr(verifier, "MAX_TRAIN_TEXTS", 2000)  # 4000 texts: 2000 are left out for calibration
    monkeypatch.setattr(verifier, "REAL_PASS", 0.8)  # bars are off by default (docs/text.md)
    frame, fresh = _noisy(n, 0), _noisy(3000, 1)
    ver = TextVerifier(["Department"]).fit(frame["Review"], frame, format_value)
    assert ver.calibration_["how"] == ("3-fold cross-validation" if n < 2500 else "left-out texts")
    assert set(ver.thresholds_["Department"]) == set(_WORDS)
    _, agree = ver.probabilities(fresh["Review"].tolist(), fresh["Department"].tolist(), "Department")
    # real texts the verifier never saw pass at about REAL_PASS; the most-probable-value rule passes only
    # the texts that name their own department (about 60 %)
    assert abs(agree.mean() - verifier.REAL_PASS) < 0.06, agree.mean()
    argmax = np.array(ver.predict(fresh["Review"].tolist(), "Department")) == fresh["Department"].to_numpy()
    assert argmax.mean() < agree.mean() - 0.1
    # a text about another department stays below its row's bar
    _, wrong = ver.probabilities(["a dress gown with a hem"], ["Bottoms"], "Department")
    assert wrong.tolist() == [False]


def test_a_verifier_saved_without_bars_keeps_the_most_probable_value_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    import synthstruct.text.verifier as verifier

    frame = _noisy(600, 0)
    default = TextVerifier(["Department"]).fit(frame["Review"], frame, format_value)
    # no bars by default; no left-out texts: the rule's pass rates (overall and per value) are cross-validated
    assert default.thresholds_ == {} and default.calibration_["how"] == "3-fold cross-validation"
    assert 0.35 < default.calibration_["real_pass"] < 0.7  # at most the 60 % of texts that name their department
    per_value = default.calibration_["value_pass"]["Department"]
    assert set(per_value) == set(default.classifiers_["Department"]["classes"])
    assert all(0.2 < v < 0.8 for v in per_value.values())
    assert default.real_pass("Department", next(iter(per_value))) == next(iter(per_value.values()))
    assert default.real_pass("Department", "no such value") is None and default.real_pass("Department", None) is None
    monkeypatch.setattr(verifier, "CROSS_VALIDATE_PASS", False)  # the rule before: not cross-validated, not known
    before = TextVerifier(["Department"]).fit(frame["Review"], frame, format_value)
    assert before.calibration_["real_pass"] is None and before.calibration_["how"].startswith("not computed")
    assert before.real_pass("Department", next(iter(per_value))) is None
    monkeypatch.setattr(verifier, "CROSS_VALIDATE_PASS", True)
    monkeypatch.setattr(verifier, "MAX_TRAIN_TEXTS", 2000)
    larger = _noisy(3000, 2)  # 1,000 texts left out of the classifiers' sample: the rule's own rate is measured
    measured = TextVerifier(["Department"]).fit(larger["Review"], larger, format_value)
    assert measured.thresholds_ == {} and measured.calibration_["how"] == "left-out texts"
    assert 0.5 < measured.calibration_["real_pass"] < 0.7  # about 60 % of the texts name their department
    assert all(0.4 < v < 0.8 for v in measured.calibration_["value_pass"]["Department"].values())
    monkeypatch.setattr(verifier, "MAX_TRAIN_TEXTS", 6000)
    monkeypatch.setattr(verifier, "REAL_PASS", 0.8)
    state = TextVerifier(["Department"]).fit(frame["Review"], frame, format_value).to_state()
    assert state["thresholds"] and state["calibration"]["real_pass"] >= 0.8 - 1e-9
    old = TextVerifier.from_state({k: v for k, v in state.items() if k not in ("thresholds", "calibration")})
    texts, labels = frame["Review"].tolist()[:200], frame["Department"].tolist()[:200]
    _, agree = old.probabilities(texts, labels, "Department")
    assert agree.tolist() == [a == b for a, b in zip(old.predict(texts, "Department"), labels)]
    assert np.array_equal(TextVerifier.from_state(state).probabilities(texts, labels, "Department")[1],
                          TextVerifier.from_state(json.loads(json.dumps(state))).probabilities(texts, labels,
                                                                                              "Department")[1])


def test_vocabulary_entries_flagged_as_pii_are_not_kept() -> None:
    frame = _corpus()
    ver = TextVerifier(["Department"]).fit(frame["Review"], frame, format_value, exclude=lambda w: "denim" in w)
    assert ver.excluded_ > 0 and not any("denim" in w for w in ver.vocabulary_)


def test_columns_with_too_many_values_or_tiny_classes_get_no_classifier() -> None:
    frame = _corpus().assign(Id=range(300), Rare=["a"] * 297 + ["b"] * 3)
    ver = TextVerifier(["Id", "Rare", "Department"]).fit(frame["Review"], frame, format_value)
    assert ver.labelled == ["Department"] and ver.length_column_ == "Department"


def _text(department: str, n: int, seed: int) -> str:
    """``n`` words: three of the department's, then seeded filler."""
    filler = np.random.default_rng(seed).choice(_FILLER, max(n - 3, 0))
    return " ".join(_WORDS[department].split()[:3] + list(filler))


class _Fixed:
    name, stats_ = "fixed", {}

    def generate(self, requests, *, seed):  # type: ignore[no-untyped-def]
        return [f"a blouse with a collar number {r.seed}" for r in requests]


def _generator(backend, **spec) -> TextColumnGenerator:  # type: ignore[no-untyped-def]
    frame = _corpus()
    spec.setdefault("first_candidates", None)  # every round asks `candidates` (adaptive rounds: tested below)
    spec.setdefault("later_candidates", None)
    col = TextColumn(kind="text", generator="local", conditioned_on=["Department"], examples_from_data=0,
                     min_length=3, **spec)
    return TextColumnGenerator(col, column="Review", backend=backend).fit(frame["Review"], frame)


def test_the_candidate_whose_label_agrees_with_the_row_is_selected() -> None:
    class Writer:
        name, stats_ = "fake", {}

        def __init__(self) -> None:
            self.requests = 0

        def generate(self, requests, *, seed):  # type: ignore[no-untyped-def]
            # requests come as (row, candidate) pairs, four candidates per row: only the last one writes
            # about the row's own department, the others about another one
            self.requests += len(requests)
            out = []
            for pos, r in enumerate(requests):
                own = r.context["Department"]
                dept = own if pos % 4 == 3 else ("Tops" if own != "Tops" else "Bottoms")
                out.append(" ".join(_WORDS[dept].split()) + f" fits {r.seed}")
            return out

    rows = pd.DataFrame({"Department": ["Dresses", "Bottoms", "Dresses", "Bottoms"]})
    backend = Writer()
    gen = _generator(backend, candidates=4, rounds=1, max_regenerations=0)
    gen._budget = lambda target: 40  # type: ignore[method-assign]
    out = gen.generate(rows, np.random.default_rng(0))
    ver = gen.verifier_
    assert ver.predict(out.tolist(), "Department") == rows["Department"].tolist()
    assert backend.requests == 16 and gen.stats_["candidates"] == 16
    assert gen.stats_["acceptance_label"] == pytest.approx(0.25, abs=0.01)  # one candidate in four agrees


def test_rows_without_a_passing_candidate_get_another_round_and_output_is_deterministic() -> None:
    class Late:
        name, stats_ = "late", {}

        def __init__(self) -> None:
            self.rounds = 0

        def generate(self, requests, *, seed):  # type: ignore[no-untyped-def]
            self.rounds += 1  # one call per round here (8 requests < one batch)
            times = 1 if self.rounds >= 2 else 3  # round 1: three times too long (cut to the budget: still too long)
            return [_text(r.context["Department"], times * r.target_words, r.seed) for r in requests]

    rows = pd.DataFrame({"Department": ["Tops", "Bottoms"]})  # short classes: the budget cut keeps them too long
    first = _generator(Late(), candidates=4, rounds=3)
    a = first.generate(rows, np.random.default_rng(1))
    assert first.stats_["rounds"] == 2 and first.stats_["regenerated"] == 2
    assert first.stats_["acceptance_length"] == 0.5  # 8 of 16 candidates: the second round's
    b = _generator(Late(), candidates=4, rounds=3).generate(rows, np.random.default_rng(1))
    assert a.tolist() == b.tolist()


class _Counting:
    """Per row: the first candidate of the first round writes about the row's department for even rows and
    about another department for odd rows; every later candidate writes about the row's own department."""

    name = "counting"

    def __init__(self, wrong_calls: int = 1) -> None:
        self.calls: list[list[tuple[str, int]]] = []
        self.stats_: dict[str, int] = {}
        self.wrong_calls = wrong_calls  # the first this many calls write odd rows about another department

    def generate(self, requests, *, seed):  # type: ignore[no-untyped-def]
        self.calls.append([(r.context["Department"], r.seed) for r in requests])
        out = []
        for r in requests:
            own = r.context["Department"]
            wrong = len(self.calls) <= self.wrong_calls and int(r.context.get("_odd", "0")) == 1
            dept = ("Tops" if own != "Tops" else "Bottoms") if wrong else own
            out.append(_text(dept, r.target_words, r.seed))
        return out


def test_adaptive_candidates_ask_more_only_for_rows_whose_first_candidate_fails() -> None:
    rows = pd.DataFrame({"Department": ["Tops", "Bottoms", "Tops", "Bottoms", "Tops", "Bottoms"]})
    backend = _Counting()
    gen = _generator(backend, first_candidates=1, candidates=3, rounds=2, max_regenerations=0)
    odd = {1, 3, 5}
    ctx = gen._context
    gen._context = lambda row: {**ctx(row), "_odd": str(int(row.name in odd))}  # type: ignore[method-assign]
    out = gen.generate(rows, np.random.default_rng(0))
    assert [len(c) for c in backend.calls] == [6, 9]  # 1 candidate per row, then 3 for the 3 failing rows
    assert [d for d, _ in backend.calls[1]] == ["Bottoms"] * 9
    assert gen.stats_["candidates"] == 15 and gen.stats_["regenerated"] == 3
    assert gen.stats_["label_real_pass"] == 1.0  # 300 clean texts, none left out: 3-fold cross-validated
    assert gen.stats_["label_kept_as_real"] == 0  # every Bottoms row failed: below the real texts' 100 %
    assert gen.verifier_.predict(out.tolist(), "Department") == rows["Department"].tolist()
    again = _generator(_Counting(), first_candidates=1, candidates=3, rounds=2, max_regenerations=0)
    again._context = gen._context  # type: ignore[method-assign]
    assert again.generate(rows, np.random.default_rng(0)).tolist() == out.tolist()  # deterministic


@pytest.mark.parametrize(("rule", "real", "second"), [("below_real", 0.5, None), ("below_real", 0.9, 3),
                                                      ("all", 0.5, 3), ("below_real", None, 3)])
def test_label_failures_are_regenerated_only_where_texts_pass_less_often_than_real_ones(
        rule: str, real: float | None, second: int | None) -> None:
    # one of three Bottoms rows fails its label in the first round: 2/3 of them pass, against `real` for real
    # Bottoms texts (None: a verifier without per-value rates, as saved before session 20: every failure goes on)
    rows = pd.DataFrame({"Department": ["Bottoms", "Bottoms", "Bottoms", "Tops", "Tops", "Tops"]})
    backend = _Counting()
    gen = _generator(backend, first_candidates=1, candidates=3, rounds=2, max_regenerations=0, regenerate_labels=rule)
    if real is None:
        gen.verifier_.calibration_.pop("value_pass")
    else:
        gen.verifier_.calibration_["value_pass"]["Department"]["Bottoms"] = real
    ctx = gen._context
    gen._context = lambda row: {**ctx(row), "_odd": str(int(row.name == 1))}  # type: ignore[method-assign]
    out = gen.generate(rows, np.random.default_rng(0))
    assert [len(c) for c in backend.calls] == [6] + ([second] if second else [])
    assert gen.stats_["label_kept_as_real"] == (0 if second else 1)
    assert gen.stats_["selected_passing"] == (6 if second else 5)
    assert gen.verifier_.predict(out.tolist(), "Department")[1] == ("Bottoms" if second else "Tops")


def test_a_row_kept_as_real_in_several_rounds_is_counted_once() -> None:
    class Writer(_Counting):
        def generate(self, requests, *, seed):  # type: ignore[no-untyped-def]
            self.calls.append([(r.context["Department"], r.seed) for r in requests])
            out = []
            for r in requests:  # the Bottoms row always writes about Tops; the Tops row is too long until round 3
                own = r.context["Department"]
                times = 3 if own == "Tops" and len(self.calls) < 3 else 1
                out.append(_text("Tops", times * r.target_words, r.seed))
            return out

    backend = Writer()
    gen = _generator(backend, first_candidates=1, candidates=2, later_candidates=1, rounds=3, max_regenerations=0)
    gen.verifier_.calibration_["value_pass"]["Department"]["Bottoms"] = 0.0  # real Bottoms texts never pass
    gen.generate(pd.DataFrame({"Department": ["Bottoms", "Tops"]}), np.random.default_rng(0))
    assert [len(c) for c in backend.calls] == [2, 2, 1]  # only the Tops row goes on, in rounds 2 and 3
    assert gen.stats_["label_kept_as_real"] == 1


def test_length_failures_are_regenerated_whatever_the_labels_real_pass_rate() -> None:
    class Long(_Counting):
        def generate(self, requests, *, seed):  # type: ignore[no-untyped-def]
            self.calls.append([(r.context["Department"], r.seed) for r in requests])
            times = 3 if len(self.calls) == 1 else 1  # round 1 three times too long, on its own department
            return [_text(r.context["Department"], times * r.target_words, r.seed) for r in requests]

    backend = Long()
    gen = _generator(backend, first_candidates=1, candidates=2, rounds=2, max_regenerations=0)
    gen.verifier_.calibration_["value_pass"]["Department"] = {"Tops": 0.0, "Bottoms": 0.0, "Dresses": 0.0}
    gen.generate(pd.DataFrame({"Department": ["Tops", "Bottoms"]}), np.random.default_rng(0))
    assert [len(c) for c in backend.calls] == [2, 4] and gen.stats_["label_kept_as_real"] == 0


@pytest.mark.parametrize(("later", "sizes"), [(1, [6, 9, 3]), (2, [6, 9, 6]), (None, [6, 9, 9])])
def test_rounds_after_the_second_ask_later_candidates_for_the_rows_still_failing(later: int | None,
                                                                                 sizes: list[int]) -> None:
    rows = pd.DataFrame({"Department": ["Tops", "Bottoms", "Tops", "Bottoms", "Tops", "Bottoms"]})
    backend = _Counting(wrong_calls=2)  # odd rows fail the label check in rounds 1 and 2
    gen = _generator(backend, first_candidates=1, candidates=3, later_candidates=later, rounds=3,
                     max_regenerations=0)
    ctx = gen._context
    gen._context = lambda row: {**ctx(row), "_odd": str(int(row.name in {1, 3, 5}))}  # type: ignore[method-assign]
    out = gen.generate(rows, np.random.default_rng(0))
    assert [len(c) for c in backend.calls] == sizes  # 1 per row, 3 per failing row, then `later_candidates`
    assert gen.stats_["rounds"] == 3 and gen.stats_["regenerated"] == 6
    assert gen.verifier_.predict(out.tolist(), "Department") == rows["Department"].tolist()


def test_first_candidates_null_asks_candidates_in_every_round() -> None:
    backend = _Counting()
    gen = _generator(backend, first_candidates=None, candidates=3, rounds=1, max_regenerations=0)
    gen.generate(pd.DataFrame({"Department": ["Tops", "Bottoms"]}), np.random.default_rng(0))
    assert [len(c) for c in backend.calls] == [6]


def test_the_candidate_nearest_the_row_target_length_is_selected() -> None:
    class Lengths:
        name, stats_ = "lengths", {}

        def generate(self, requests, *, seed):  # type: ignore[no-untyped-def]
            # candidate j has 5, 10, 20 or 40 words, all about the row's department
            out = []
            for pos, r in enumerate(requests):  # (row, candidate) pairs, four candidates per row
                n = (5, 10, 20, 40)[pos % 4]
                out.append(_text(r.context["Department"], n, r.seed))
            return out

    rows = pd.DataFrame({"Department": ["Tops"] * 6 + ["Dresses"] * 6})
    gen = _generator(Lengths(), candidates=4, rounds=1, max_regenerations=0, max_length=60)
    gen._budget = lambda target: 60  # type: ignore[method-assign]  (no cut: the choice alone sets the length)
    out = gen.generate(rows, np.random.default_rng(0))
    n = out.str.split().str.len()
    assert (n[:6] == 10).all()  # Tops are 8-13 words in the training text: 10 is nearest
    assert (n[6:] >= 38).all()  # Dresses are 40-59 words: 40 is nearest (the PII scrub may merge a word or two)
    assert gen.stats_["acceptance_length"] == pytest.approx(0.25, abs=0.01)


def test_per_row_targets_follow_the_class_and_set_the_word_budget() -> None:
    class Recorder:
        name, stats_ = "rec", {}

        def __init__(self) -> None:
            self.requests = []

        def generate(self, requests, *, seed):  # type: ignore[no-untyped-def]
            self.requests += list(requests)
            return [" ".join(["dress"] * r.target_words) for r in requests]

    backend = Recorder()
    gen = _generator(backend, candidates=1, rounds=1)
    gen.generate(pd.DataFrame({"Department": ["Dresses", "Tops"] * 10}), np.random.default_rng(0))
    dresses = [r for r in backend.requests if r.context["Department"] == "Dresses"]
    tops = [r for r in backend.requests if r.context["Department"] == "Tops"]
    assert min(r.target_words for r in dresses) >= 40 and max(r.target_words for r in tops) <= 14
    assert all(r.max_words >= r.target_words and r.max_words <= 1.5 * r.target_words + 3 for r in backend.requests)
    assert all(f"about {r.target_words} words" in r.messages[-1]["content"] for r in backend.requests)


def test_a_saved_column_keeps_its_verifier() -> None:
    gen = _generator(_Fixed(), candidates=1, rounds=1)
    state = json.loads(json.dumps(gen.to_state()))
    loaded = TextColumnGenerator.from_state(state)
    assert loaded.verifier_ is not None and loaded.verifier_.to_state() == gen.verifier_.to_state()


# ---------------------------------------------------------------- resume by time


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _Slow:
    """A fake model whose every call takes ``seconds`` on a fake clock; it records what is on disk when called."""

    name, stats_ = "slow", {}

    def __init__(self, clock: _Clock, seconds: float, directory, *, die_at: int | None = None,  # type: ignore[no-untyped-def]
                 batch_size: int = 2) -> None:
        self.clock, self.seconds, self.directory, self.die_at = clock, seconds, directory, die_at
        self.batch_size = batch_size
        self.calls, self.on_disk = 0, []

    def _saved(self) -> int:
        return sum(len(p.read_text().splitlines()) for p in self.directory.glob("answers-*.jsonl")) \
            if self.directory is not None else 0

    def generate(self, requests, *, seed):  # type: ignore[no-untyped-def]
        self.on_disk.append((self.clock.now, self._saved()))
        if self.die_at is not None and self.calls >= self.die_at:
            raise KeyboardInterrupt("simulated crash")
        self.calls += 1
        self.clock.now += self.seconds
        return [f"dress hem number {r.seed} words and a few more words here" for r in requests]


def _timed(backend, tmp_path, clock) -> TextColumnGenerator:  # type: ignore[no-untyped-def]
    gen = _generator(backend, candidates=1, rounds=1)
    gen.checkpoint_dir, gen.clock, gen.checkpoint_seconds = tmp_path, clock, 30.0
    return gen


def test_answers_are_on_disk_before_30_seconds_of_generation_are_unsaved(tmp_path) -> None:
    clock = _Clock()
    backend = _Slow(clock, 12.0, tmp_path)
    gen = _timed(backend, tmp_path, clock)
    gen.generate(pd.DataFrame({"Department": ["Dresses"] * 20}), np.random.default_rng(0))  # 10 calls of 2 rows
    assert backend.calls == 10
    # at every call, the work not yet on disk (calls since the last write) is at most 30 s
    saved_calls = [n for _, n in backend.on_disk]
    unsaved = [12.0 * (k - saved) for k, saved in enumerate(saved_calls)]
    assert max(unsaved) <= 30.0 and saved_calls[-1] > 0
    assert saved_calls != list(range(10))  # not written after every call: 12 s calls are written in pairs


def test_a_run_killed_mid_chunk_resumes_from_the_call_log(tmp_path) -> None:
    rows = pd.DataFrame({"Department": ["Dresses", "Tops"] * 8})
    clock = _Clock()
    expected = _timed(_Slow(clock, 40.0, None), tmp_path / "none", clock)
    expected.checkpoint_dir = None
    want = expected.generate(rows, np.random.default_rng(0))
    dying = _Slow(clock, 40.0, tmp_path, die_at=5)
    with pytest.raises(KeyboardInterrupt):
        _timed(dying, tmp_path, clock).generate(rows, np.random.default_rng(0))
    resumed_backend = _Slow(clock, 40.0, tmp_path)
    got = _timed(resumed_backend, tmp_path, clock).generate(rows, np.random.default_rng(0))
    assert got.tolist() == want.tolist()
    assert resumed_backend.calls == 8 - 5  # the five answered calls (40 s each: written at once) are not asked again


def test_class_weights_follow_the_verifier_constants(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the training texts' own frequencies (``None``) a rare flag needs stronger evidence than with
    balanced weights: an ambiguous text gets a lower probability of the rare value. Two-valued columns follow
    ``BINARY_CLASS_WEIGHT``, the others ``CLASS_WEIGHT``."""
    import synthstruct.text.verifier as V

    monkeypatch.setattr(V, "PRIOR_POWER", 0.0)  # the classifiers' own probabilities
    frame = _flags()
    probe = ["fit size colour fabric"]  # neither word: the prior decides

    def p_rare() -> float:
        ver = V.TextVerifier(["Recommended"]).fit(frame["Review"], frame, format_value)
        return float(ver.probabilities(probe, ["0"], "Recommended")[0][0])

    balanced = p_rare()
    monkeypatch.setattr(V, "CLASS_WEIGHT", None)  # not a two-valued column's constant: nothing changes
    assert p_rare() == balanced
    monkeypatch.setattr(V, "BINARY_CLASS_WEIGHT", None)
    assert p_rare() < balanced - 0.1  # here 0.12 against 0.25


def _flags() -> pd.DataFrame:
    """Reviews with a rare flag (12.5 %) whose word ("returned") is the evidence; 30 % of the texts also
    carry the other class's word."""
    rng = np.random.default_rng(0)
    texts, flags = [], []
    for i in range(400):
        rare = i % 8 == 0  # 12.5 % of the texts
        words = rng.choice(["fit", "size", "colour", "fabric", "length", "order"], 8).tolist()
        words.append("returned" if rare else "love")
        if rng.random() < 0.3:  # some texts carry the other class's word too: ambiguous evidence
            words.append("love" if rare else "returned")
        texts.append(" ".join(words))
        flags.append(0 if rare else 1)
    return pd.DataFrame({"Review": texts, "Recommended": flags})


def test_the_verifier_reads_texts_with_the_training_shares_of_each_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """Balanced weights fit the classifier; its probabilities are multiplied by each value's training
    share, so a rare value needs clear evidence to be the most probable one. A model saved without shares
    (before session 18) keeps the balanced probabilities, and so does ``PRIOR_POWER = 0``."""
    import synthstruct.text.verifier as V

    frame = _flags()
    ver = V.TextVerifier(["Recommended"]).fit(frame["Review"], frame, format_value)
    shares = ver.classifiers_["Recommended"]["shares"]
    assert shares.tolist() == [0.125, 0.875]  # classes "0", "1"
    # no evidence; clear evidence; the rare word diluted in a long text with the common word; the common word
    texts = ["fit size colour fabric", "fit size returned", "returned love fit size colour fabric length order",
             "love colour order"]
    p, agree = ver.probabilities(texts, ["0"] * 4, "Recommended")
    monkeypatch.setattr(V, "PRIOR_POWER", 0.0)
    p0, agree0 = ver.probabilities(texts, ["0"] * 4, "Recommended")
    expected = p0 * 0.125 / (p0 * 0.125 + (1 - p0) * 0.875)
    assert np.allclose(p, expected, rtol=1e-12)
    assert agree.tolist() == (p > 0.5).tolist() and agree0.tolist() == (p0 > 0.5).tolist()
    assert agree[1] and not agree[0] and not agree[3]  # clear evidence still passes, none does not
    assert agree0[2] and not agree[2]  # the balanced probabilities accept the rare value on weak evidence (0.87 / 0.48)
    monkeypatch.setattr(V, "PRIOR_POWER", 1.0)
    state = json.loads(json.dumps(ver.to_state()))
    assert state["classifiers"]["Recommended"]["shares"] == [0.125, 0.875]
    assert np.array_equal(V.TextVerifier.from_state(state).probabilities(texts, ["0"] * 4, "Recommended")[0], p)
    del state["classifiers"]["Recommended"]["shares"]  # a model saved before session 18
    assert np.array_equal(V.TextVerifier.from_state(state).probabilities(texts, ["0"] * 4, "Recommended")[0], p0)
    monkeypatch.setattr(V, "BINARY_CLASS_WEIGHT", None)  # frequencies already in the fit: no shares applied
    unweighted = V.TextVerifier(["Recommended"]).fit(frame["Review"], frame, format_value)
    assert unweighted.classifiers_["Recommended"]["shares"] is None
    assert "shares" not in unweighted.to_state()["classifiers"]["Recommended"]


def test_steering_words_are_the_words_that_mark_the_rows_values() -> None:
    """The verifier's strongest single words for each of the row's values, weighted in (0, 1] per column
    and sorted; nothing for a value it does not know; the binary flag's two values get opposite words."""
    frame = _corpus()
    ver = TextVerifier(["Department"]).fit(frame["Review"], frame, format_value)
    for dept, words in _WORDS.items():
        steer = ver.steering_words({"Department": dept}, top=5)
        assert {w for w, _ in steer} == set(words.split())  # the five words of its department, no other
        weights = [s for _, s in steer]
        assert weights[0] == 1.0 and all(0 < s <= 1 for s in weights) and weights == sorted(weights, reverse=True)
    assert ver.steering_words({"Department": "Shoes"}) == [] and ver.steering_words({}) == []
    assert all(" " not in w for w, _ in ver.steering_words({"Department": "Dresses"}))  # word pairs are features, not words
    flags = _flags()
    flag = TextVerifier(["Recommended"]).fit(flags["Review"], flags, format_value)
    assert flag.steering_words({"Recommended": "0"}, top=1) == [("returned", 1.0)]
    assert flag.steering_words({"Recommended": "1"}, top=1) == [("love", 1.0)]
    loaded = TextVerifier.from_state(json.loads(json.dumps(flag.to_state())))
    assert loaded.steering_words({"Recommended": "0"}) == flag.steering_words({"Recommended": "0"})


def test_requests_carry_the_rows_steering_words_scaled_by_steer() -> None:
    """``steer``: each request of a labelled row carries its values' words with bonus ``steer`` x weight;
    ``steer: 0`` sends none."""
    seen: list = []

    class Writer:
        name, stats_ = "fake", {}

        def generate(self, requests, *, seed):  # type: ignore[no-untyped-def]
            seen.extend(requests)
            return [" ".join(_WORDS[r.context["Department"]].split()) + f" fits {r.seed}" for r in requests]

    rows = pd.DataFrame({"Department": ["Dresses", "Bottoms"]})
    _generator(Writer(), steer=2.5).generate(rows, np.random.default_rng(0))
    assert len(seen) >= 2
    for request in seen:
        dept, words = request.context["Department"], dict(request.steer)
        # the department's words (a word the PII scan marks in the training text is not in the vocabulary)
        assert len(set(words) & set(_WORDS[dept].split())) >= 3 and max(words.values()) == 2.5
        assert set(words) <= set(_WORDS[dept].split()) | set(_FILLER)
        assert not set(words) & set(_WORDS["Tops"].split())
    seen.clear()
    _generator(Writer(), steer=0).generate(rows, np.random.default_rng(0))
    assert seen and all(r.steer == () for r in seen)


def test_steering_never_asks_for_a_word_found_in_fewer_than_min_df_texts() -> None:
    """A small corpus keeps words of one or two texts in the verifier's vocabulary (min_df 1); steering leaves
    them out (their document frequency, read from the idf, is below MIN_DF). A model saved before session 19
    has no text count and steers nothing."""
    from synthstruct.text.verifier import MIN_DF

    rng = np.random.default_rng(0)
    texts, labels = [], []
    for i in range(60):
        good = i % 2 == 0
        words = list(rng.choice(_FILLER, 6)) + ["lovely" if good else "awful"]
        if i in (0, 2):  # a rare word, only in two "good" texts
            words.append("zeppelin")
        texts.append(" ".join(words))
        labels.append("good" if good else "bad")
    frame = pd.DataFrame({"Review": texts, "Verdict": labels})
    ver = TextVerifier(["Verdict"]).fit(frame["Review"], frame, format_value)
    assert "zeppelin" in ver.vocabulary_ and MIN_DF > 2  # in the vocabulary: the classifier may use it
    weights = dict(ver.steering_words({"Verdict": "good"}))
    assert "lovely" in weights and "zeppelin" not in weights
    state = json.loads(json.dumps(ver.to_state()))
    assert TextVerifier.from_state(state).steering_words({"Verdict": "good"}) == ver.steering_words({"Verdict": "good"})
    del state["documents"]  # saved before session 19
    assert TextVerifier.from_state(state).steering_words({"Verdict": "good"}) == []
