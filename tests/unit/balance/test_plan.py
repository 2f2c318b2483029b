"""Ratio/counts parsing, the plan, target checks and the split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthstruct.balance.generate import check_class_sizes, stratified_split
from synthstruct.balance.plan import (
    ClassCounts,
    class_counts,
    parse_counts,
    parse_ratio,
    plan_rows,
    target_schema,
)
from synthstruct.errors import DataValidationError, InputError
from synthstruct.schema.infer import infer_schema

CLASSES = ClassCounts(labels=["no", "yes"], counts=[900, 100])


@pytest.mark.parametrize("text,expected", [("1:1", 1.0), ("1:2", 0.5), (" 3 : 4 ", 0.75), ("0.5:1", 0.5)])
def test_parse_ratio(text: str, expected: float) -> None:
    assert parse_ratio(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["1", "a:b", "1:0", "0:1", "2:1", "1:1:1", ""])
def test_bad_ratio_is_a_typed_error(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_ratio(text)
    assert info.value.problems[0].location == "--ratio"


def test_parse_counts() -> None:
    assert parse_counts("yes=400, maybe=10") == {"yes": 400, "maybe": 10}


@pytest.mark.parametrize("text", ["yes", "=4", "yes=-1", "yes=many", "yes=1,yes=2", ","])
def test_bad_counts_syntax(text: str) -> None:
    with pytest.raises(InputError):
        parse_counts(text)


def test_plan_ratio_lifts_only_smaller_classes() -> None:
    assert plan_rows(CLASSES) == {"yes": 800}
    assert plan_rows(CLASSES, ratio=0.5) == {"yes": 350}
    assert plan_rows(CLASSES, ratio=0.1) == {}


def test_plan_counts_are_output_totals_and_match_text() -> None:
    numeric = ClassCounts(labels=[0, 1], counts=[900, 100])
    assert plan_rows(numeric, counts={"1": 10_000}) == {1: 9_900}
    assert plan_rows(CLASSES, counts={"yes": 100}) == {}


def test_unknown_class_and_too_few_rows_never_echo_values() -> None:
    with pytest.raises(InputError) as info:
        plan_rows(CLASSES, counts={"secret-label": 5000, "yes": 50})
    text = str(info.value)
    assert "secret-label" not in text
    assert "--counts[0]" in text and "--counts[1]" in text and "never removes real rows" in text
    with pytest.raises(InputError):
        plan_rows(CLASSES, ratio=1.0, counts={"yes": 500})


def test_target_checks() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "label": rng.integers(0, 2, 200),
                          "score": rng.normal(size=200), "c": ["a"] * 200})
    schema, _ = infer_schema(frame, name="t")
    with pytest.raises(InputError, match="not a column"):
        target_schema(frame, schema, "nope")
    with pytest.raises(InputError, match="numeric-continuous"):
        target_schema(frame, schema, "score")
    fixed = target_schema(frame, schema, "label")
    assert fixed.target == "label" and fixed.columns["label"].kind == "categorical"
    with pytest.raises(DataValidationError, match="at least 2"):
        class_counts(frame["c"], target="c")


def test_class_too_small_names_rank_not_value() -> None:
    with pytest.raises(DataValidationError) as info:
        check_class_sizes({"big": 500, "tiny-secret": 4}, {"tiny-secret": 496}, needed=10, target="y")
    assert "tiny-secret" not in str(info.value) and "ranked 2" in str(info.value)


def test_stratified_split_keeps_every_class_in_test_and_is_deterministic() -> None:
    labels = pd.Series(["a"] * 95 + ["b"] * 5)
    train, test = stratified_split(labels, test_fraction=0.2, seed=3)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(100))
    assert set(labels[test]) == {"a", "b"} and len(test) == 20
    again = stratified_split(labels, test_fraction=0.2, seed=3)
    assert np.array_equal(again[1], test)
    with pytest.raises(InputError):
        stratified_split(labels, test_fraction=0.95, seed=0)
