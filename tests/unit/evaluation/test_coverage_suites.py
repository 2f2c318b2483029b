from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthstruct.errors import PolicyError
from synthstruct.evaluation.coverage import coverage
from synthstruct.evaluation.metric import EvaluationContext
from synthstruct.evaluation.suite import BUILTIN_SUITES, load_suite
from synthstruct.privacy.output_pii import pii_in_output
from synthstruct.release.policy import policy_from_dict
from synthstruct.schema import schema_from_dict

SCHEMA = schema_from_dict({"schema_version": 1, "name": "t", "columns": {
    "x": {"kind": "numerical"}, "c": {"kind": "categorical"}, "note": {"kind": "text"}}})


def _frame(n: int, x: np.ndarray, cats: list[str], notes: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame({"x": x, "c": (cats * n)[:n], "note": notes or ["fine"] * n})


def test_coverage_known_answers():
    train = _frame(100, np.linspace(0, 100, 100), ["a", "b", "c", "d"])
    half = _frame(100, np.linspace(0, 50, 100), ["a", "b"])
    full = coverage(EvaluationContext(train=train, synthetic=train, schema=SCHEMA, holdout=half))
    assert full.value == pytest.approx(1.0)
    assert full.reference == pytest.approx(np.mean([(50 - 0.99) / (99.01 - 0.99), 0.5]), abs=1e-3)
    partial = coverage(EvaluationContext(train=train, synthetic=half, schema=SCHEMA))
    assert partial.details["columns"]["c"]["synthetic"] == 0.5


def test_pii_in_output_counts_blocked_entities_only():
    notes = ["my card is 4111 1111 1111 1111 thanks", "nothing here", "call me at +1 212-555-0199"] * 4
    synthetic = _frame(12, np.arange(12.0), ["a"], notes)
    ctx = EvaluationContext(train=synthetic, synthetic=synthetic, schema=SCHEMA,
                            options={"block_entities": ["CREDIT_CARD"]})
    result = pii_in_output(ctx)
    assert result.value == 4.0
    assert result.details["by_column"]["note"] == {"CREDIT_CARD": 4}
    assert "4111" not in str(result.to_dict())
    none = pii_in_output(EvaluationContext(train=synthetic, synthetic=synthetic, schema=SCHEMA))
    assert none.value == 0.0 and "blocks no entity" in none.note


@pytest.mark.parametrize("name", BUILTIN_SUITES)
def test_builtin_suites_load(name):
    assert load_suite(name).name == name


def test_policy_suite_and_pii_are_validated():
    base = {"policy_version": 1, "name": "p", "checks": [{"metric": "validity", "min": 1}]}
    policy = policy_from_dict({**base, "suite": "fidelity"})
    assert "discriminator_auc" in policy.metric_names() and policy.metric_names()[0] == "validity"
    with pytest.raises(PolicyError) as info:
        policy_from_dict({**base, "suite": "nope", "pii": {"block_entities": ["SHOE_SIZE"]}})
    text = str(info.value)
    assert "suite" in text and "pii.block_entities[0]" in text
