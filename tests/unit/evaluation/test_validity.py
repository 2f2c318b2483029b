"""Validity: every schema rule is counted by name, rows are judged as a whole."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthstruct.evaluation.metric import EvaluationContext
from synthstruct.evaluation.validity import row_validity_mask, validity
from synthstruct.schema import coerce_to_schema, schema_from_dict


@pytest.fixture
def schema():
    return schema_from_dict({
        "schema_version": 1,
        "name": "patients",
        "columns": {
            "pid": {"kind": "id", "pattern": "P-####"},
            "age": {"kind": "numerical", "dtype": "int", "min": 0, "max": 120},
            "weight": {"kind": "numerical", "decimals": 1},
            "admitted": {"kind": "datetime", "min": "2020-01-01", "max": "2024-12-31"},
            "discharged": {"kind": "datetime"},
            "ward": {"kind": "categorical", "categories": ["A", "B", "C"]},
            "severity": {"kind": "ordinal", "order": ["low", "mid", "high"]},
            "smoker": {"kind": "boolean"},
            "dose": {"kind": "numerical"},
            "note": {"kind": "text"},
        },
        "primary_key": "pid",
        "constraints": [
            {"type": "inequality", "low": "admitted", "high": "discharged"},
            {"type": "fixed_combinations", "columns": ["ward", "severity"]},
            {"type": "positive", "column": "dose"},
        ],
    })


def _valid_rows(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({
        "pid": [f"P-{i:04d}" for i in range(n)],
        "age": [30, 40, 50, 60, 70, 80][:n],
        "weight": [70.5, 80.0, 65.2, 90.1, 55.0, 77.7][:n],
        "admitted": ["2021-01-01", "2021-02-01", "2022-03-01", "2022-04-01", "2023-05-01", "2023-06-01"][:n],
        "discharged": ["2021-01-05", "2021-02-03", "2022-03-09", "2022-04-02", "2023-05-01", "2023-06-30"][:n],
        "ward": ["A", "B", "C", "A", "B", "C"][:n],
        "severity": ["low", "mid", "high", "low", "mid", "high"][:n],
        "smoker": ["yes", "no", "no", "yes", "no", "no"][:n],
        "dose": [1.0, 2.0, 0.5, 3.0, 1.5, 2.5][:n],
        "note": [f"text {i}" for i in range(n)],
    })


def test_valid_rows_pass_every_rule(schema):
    train = coerce_to_schema(_valid_rows(), schema)
    mask, counts = row_validity_mask(train, schema, train=train)
    assert mask.all()
    assert counts and set(counts.values()) == {0}
    assert "constraints[1].fixed_combinations" in counts


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("age", 130.0, "columns.age.max"),
        ("age", -1.0, "columns.age.min"),
        ("age", 30.5, "columns.age.integer"),
        ("weight", 70.55, "columns.weight.decimals"),
        ("ward", "Z", "columns.ward.category"),
        ("severity", "extreme", "columns.severity.category"),
        ("admitted", pd.Timestamp("2019-06-01"), "columns.admitted.min"),
        ("discharged", pd.Timestamp("2020-12-31"), "constraints[0].inequality"),
        ("dose", 0.0, "constraints[2].positive"),
        ("smoker", "maybe", "columns.smoker.type"),
    ],
)
def test_one_broken_cell_is_counted_under_its_rule(schema, column, value, rule):
    train = coerce_to_schema(_valid_rows(), schema)
    synthetic = train.copy()
    if column == "smoker":
        synthetic[column] = synthetic[column].astype(object)
    synthetic.loc[2, column] = value
    mask, counts = row_validity_mask(synthetic, schema, train=train)
    assert counts[rule] == 1
    # an undeclared category also makes an unseen (ward, severity) combination; nothing else breaks
    others = {k: v for k, v in counts.items() if v and k != rule and "fixed_combinations" not in k}
    assert not others
    assert counts["constraints[1].fixed_combinations"] == (1 if column in ("ward", "severity") else 0)
    assert mask.tolist() == [True, True, False, True, True, True]


def test_unseen_combination_breaks_fixed_combinations(schema):
    train = coerce_to_schema(_valid_rows(), schema)
    synthetic = train.copy()
    synthetic.loc[0, "severity"] = "high"  # ward A + high never occurs in train
    mask, counts = row_validity_mask(synthetic, schema, train=train)
    assert counts["constraints[1].fixed_combinations"] == 1
    assert not mask[0] and mask[1:].all()


def test_fixed_combinations_skipped_without_train(schema):
    frame = coerce_to_schema(_valid_rows(), schema)
    _, counts = row_validity_mask(frame, schema)
    assert "constraints[1].fixed_combinations" not in counts


def test_primary_key_duplicates_flag_only_the_repeats_and_nulls(schema):
    train = coerce_to_schema(_valid_rows(), schema)
    synthetic = train.copy()
    synthetic.loc[3, "pid"] = synthetic.loc[1, "pid"]
    synthetic.loc[4, "pid"] = None
    mask, counts = row_validity_mask(synthetic, schema, train=train)
    assert counts["primary_key.duplicate"] == 1
    assert counts["primary_key.null"] == 1
    assert mask.tolist() == [True, True, True, False, False, True]


def test_missing_cells_are_not_violations(schema):
    train = coerce_to_schema(_valid_rows(), schema)
    synthetic = train.copy()
    synthetic.loc[0, ["age", "admitted", "dose"]] = np.nan
    mask, _ = row_validity_mask(synthetic, schema, train=train)
    assert mask.all()


def test_validity_metric_reports_share_counts_and_holdout_reference(schema):
    train = coerce_to_schema(_valid_rows(), schema)
    synthetic = pd.concat([train, train], ignore_index=True)
    synthetic["pid"] = [f"S-{i}" for i in range(len(synthetic))]
    synthetic.loc[[0, 1, 2], "age"] = 500.0
    synthetic.loc[2, "ward"] = "Q"
    result = validity(EvaluationContext(train=train, synthetic=synthetic, schema=schema, holdout=train))
    assert result.value == pytest.approx(9 / 12)
    assert result.reference == 1.0
    assert result.details["violations"]["columns.age.max"] == 3
    assert result.details["violations"]["columns.ward.category"] == 1
    assert result.details["n_invalid"] == 3
    assert result.details["broken_rules"] == [
        "columns.age.max", "columns.ward.category", "constraints[1].fixed_combinations"]
    assert "Q" not in repr(result.to_dict())  # counts only, never cell values


def test_validity_of_empty_synthetic_is_not_computed(schema):
    train = coerce_to_schema(_valid_rows(), schema)
    result = validity(EvaluationContext(train=train, synthetic=train.iloc[:0], schema=schema))
    assert result.value is None and result.note


def test_missing_declared_column_invalidates_every_row(schema):
    train = coerce_to_schema(_valid_rows(), schema)
    mask, counts = row_validity_mask(train.drop(columns=["age"]), schema, train=train)
    assert not mask.any()
    assert counts["columns.age.missing"] == len(train)
