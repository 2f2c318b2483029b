"""Lift table and per-class privacy on a small table with a rare class."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthstruct.balance.lift import METHODS, SCORES, lift_table, verdicts
from synthstruct.balance.privacy import CLASS_METRICS, class_policy, class_privacy
from synthstruct.errors import PolicyError
from synthstruct.release.policy import load_policy
from synthstruct.schema.infer import infer_schema


def _data(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = np.where(rng.random(n) < 0.08, "yes", "no")
    x = rng.normal(size=n) + 2.0 * (label == "yes")
    group = np.where(rng.random(n) < 0.5 + 0.3 * (label == "yes"), "g1", "g2")
    return pd.DataFrame({"x": np.round(x, 3), "z": np.round(rng.normal(size=n), 3), "group": group.astype(object), "label": label.astype(object)})


@pytest.fixture(scope="module")
def setup() -> tuple:
    train, test = _data(800, 0), _data(300, 1)
    schema, _ = infer_schema(train, name="t")
    return train, test, schema.model_copy(update={"target": "label"})


def _oversample(train: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    yes = train[train["label"] == "yes"]
    picks = yes.sample(n=n, replace=True, random_state=seed).copy()
    picks["x"] += np.random.default_rng(seed).normal(scale=0.1, size=n)
    return picks.reset_index(drop=True)


def test_lift_table_scores_every_method_over_seeds(setup: tuple) -> None:
    train, test, schema = setup
    n_add = int((train["label"] == "no").sum() - (train["label"] == "yes").sum())
    lift = lift_table(train, test, schema, plan={"yes": n_add}, synthetic_for_seed=lambda s: _oversample(train, n_add, s),
                      seeds=[0, 1], minority="yes", max_iter=20)
    assert set(lift["methods"]) == set(METHODS)
    for method in METHODS:
        assert len(lift["runs"][method]) == 2
        for score in SCORES:
            stats = lift["methods"][method][score]
            assert 0.0 <= stats["min"] <= stats["mean"] <= stats["max"] <= 1.0
    assert lift["methods"]["none"]["minority_f1"]["std"] == 0.0  # the model is deterministic
    assert lift["smote_variant"] == "SMOTENC"
    assert lift["n_test"] == 300 and 0 < lift["minority_class_share"] < 0.2
    assert len(verdicts(lift)) == 4


def test_class_policy_keeps_class_metrics_only() -> None:
    policy = class_policy("default")
    assert policy.checks and all(c.metric in CLASS_METRICS for c in policy.checks)
    assert "singling_out" not in policy.metric_names()
    base, _ = load_policy("default")
    only_attacks = base.model_copy(update={"checks": [c for c in base.checks if c.metric == "linkability"]})
    with pytest.raises(PolicyError):
        class_policy(only_attacks)


def test_class_privacy_blocks_copies_of_minority_rows(setup: tuple) -> None:
    train, test, schema = setup
    policy = class_policy("default")
    fresh = _data(4000, 7)
    fresh = fresh[fresh["label"] == "yes"].reset_index(drop=True)
    for col in ("x", "z"):  # fresh people, within the schema's inferred bounds
        fresh[col] = fresh[col].clip(train[col].min(), train[col].max())
    safe = class_privacy(train, fresh, test, schema, classes=["yes"], policy=policy)
    assert safe.passed
    copies = train[train["label"] == "yes"].reset_index(drop=True)
    leaky = class_privacy(train, pd.concat([copies] * 3, ignore_index=True), test, schema, classes=["yes"],
                          policy=policy)
    assert not leaky.passed
    label, report, rows = leaky.classes[0]
    assert label == "yes" and rows["train"] == len(copies)
    assert report.metrics["exact_match"].value == pytest.approx(1.0)
    assert any(name.endswith("exact_match.minus_reference") for name in leaky.failed_checks())
