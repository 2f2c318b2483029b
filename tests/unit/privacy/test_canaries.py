"""Canaries: planted values are unique, membership is a fair coin, leakage shows without protection."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from synthstruct.errors import InputError
from synthstruct.evaluation.metric import EvaluationContext
from synthstruct.privacy.canaries import CanaryTable, canary_leakage, canary_report, insert_canaries
from synthstruct.schema.check import coerce_to_schema
from synthstruct.schema.io import load_schema, schema_from_dict
from synthstruct.synthesizers.table import TableSynthesizer

BUNDLED = Path(__file__).resolve().parents[3] / "synthstruct" / "datasets"


@pytest.fixture(scope="module")
def german():
    schema = load_schema(BUNDLED / "german_credit.yaml")
    frame = coerce_to_schema(pd.read_csv(BUNDLED / "german_credit.csv"), schema)
    return frame.iloc[:750].reset_index(drop=True), schema


def test_canaries_are_unique_and_half_are_members(small_frame, small_schema_dict) -> None:
    schema = schema_from_dict(small_schema_dict)
    frame = coerce_to_schema(small_frame, schema)
    joined, table = insert_canaries(frame, schema, 40, seed=5)
    assert isinstance(table, CanaryTable) and len(table) == 40
    assert 10 <= table.n_members <= 30
    assert len(joined) == len(frame) + table.n_members
    assert list(joined.columns) == list(frame.columns)
    assert (joined.dtypes == frame.dtypes).all()
    assert table.category_columns == ("group",)  # 'label' declares its categories
    assert not table.rows["group"].isin(frame["group"]).any()
    assert table.rows["pid"].nunique() == 40 and not table.rows["pid"].isin(frame["pid"]).any()
    unique = [(i, c) for i, c in enumerate(table.unique_columns) if c is not None]
    assert unique and all(c == "income" for _, c in unique)  # the only column fine enough
    planted = [table.rows.loc[i, c] for i, c in unique]
    assert len(set(planted)) == len(planted) and not set(planted) & set(frame["income"].dropna())
    low, high = frame["age"].quantile([0.05, 0.95])
    assert table.rows["age"].between(low, high).all()
    coerce_to_schema(joined, schema)  # still a valid table for fitting
    again, table2 = insert_canaries(frame, schema, 40, seed=5)
    assert again.equals(joined) and (table2.member == table.member).all()


def test_bad_canary_count(small_frame, small_schema_dict) -> None:
    schema = schema_from_dict(small_schema_dict)
    with pytest.raises(InputError):
        insert_canaries(coerce_to_schema(small_frame, schema), schema, 0)


def test_leakage_is_detected_without_protection_and_not_with_it(german) -> None:
    train, schema = german
    joined, table = insert_canaries(train, schema, 20, seed=1)
    reports = {}
    for k in (0, 5):
        synthetic = TableSynthesizer(protect_k=k).fit(joined, schema=schema, seed=0).sample(len(joined), seed=0)
        reports[k] = canary_report(synthetic, table, schema)
    leaky, safe = reports[0], reports[5]
    assert leaky["canary_only_category"]["members"] >= 3
    assert leaky["synthetic_rows_with_canary_category"] >= 3
    assert leaky["leaked"]["non_members"] == 0  # the control: nobody can invent an unseen category
    assert safe["canary_only_category"] == {"members": 0, "non_members": 0}
    assert safe["synthetic_rows_with_canary_category"] == 0 and safe["leaked"]["members"] == 0
    assert leaky["members"] + leaky["non_members"] == 20
    assert set(leaky["nearest_synthetic_distance"]) == {"members", "non_members"}
    assert 0.0 <= leaky["membership_auc"] <= 1.0


def test_copied_canaries_count_as_exact_and_close(german) -> None:
    train, schema = german
    joined, table = insert_canaries(train, schema, 20, seed=2)
    synthetic = pd.concat([train.iloc[:200], table.rows[table.member][list(train.columns)]], ignore_index=True)
    report = canary_report(synthetic, table, schema)
    assert report["exact"] == {"members": table.n_members, "non_members": 0}
    assert report["membership_auc"] == 1.0
    assert report["nearest_synthetic_distance"]["members"]["mean"] == 0.0


def test_canary_leakage_metric(german) -> None:
    train, schema = german
    joined, table = insert_canaries(train, schema, 10, seed=3)
    missing = canary_leakage(EvaluationContext(train=joined, synthetic=train, schema=schema))
    assert missing.value is None and "canaries" in missing.note
    copy = EvaluationContext(train=joined, synthetic=joined, schema=schema, options={"canaries": table})
    result = canary_leakage(copy)
    assert result.value == table.n_members and result.reference == 0.0
    assert result.details["leaked"]["members"] == table.n_members
