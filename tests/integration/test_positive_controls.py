"""Positive controls: synthetic tables that leak, each blocked under the default policy by the check
meant to catch it; clean engine output passes default and strict.

German credit (bundled) is split into disjoint train (600) / holdout (200) / fresh (200) real rows;
the "synthetic" tables are built from train and audited with :func:`synthstruct.release.audit.audit`,
as an auditor would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthstruct.privacy.canaries import insert_canaries
from synthstruct.release.audit import audit
from synthstruct.schema.check import coerce_to_schema, to_output
from synthstruct.schema.io import load_schema
from synthstruct.synthesizers.table import TableSynthesizer

BUNDLED = Path(__file__).resolve().parents[2] / "synthstruct" / "datasets"


@pytest.fixture(scope="module")
def german() -> dict:
    schema = load_schema(BUNDLED / "german_credit.yaml")
    raw = pd.read_csv(BUNDLED / "german_credit.csv")
    order = np.random.default_rng(0).permutation(len(raw))
    train = raw.iloc[order[:600]].reset_index(drop=True)
    holdout = raw.iloc[order[600:800]].reset_index(drop=True)
    fresh = raw.iloc[order[800:]].reset_index(drop=True)
    engine = TableSynthesizer().fit(coerce_to_schema(train, schema), schema=schema, seed=0).sample(600, seed=0)
    return {"schema": schema, "train": train, "holdout": holdout, "fresh": fresh,
            "engine": to_output(engine, schema)}


def _copies(data: dict, share: float) -> pd.DataFrame:
    leaky = data["engine"].copy()
    n = int(round(share * len(leaky)))
    leaky.iloc[:n] = data["train"].iloc[:n][list(leaky.columns)].to_numpy()
    return leaky


def _plus_minus_one(data: dict) -> pd.DataFrame:
    noisy = data["train"].copy()
    rng = np.random.default_rng(1)
    for name in data["schema"].columns_of("numerical"):
        noisy[name] = noisy[name] + rng.choice([-1, 1], size=len(noisy))
    return noisy


def _one_column_shuffled(data: dict) -> pd.DataFrame:
    shuffled = data["train"].copy()
    shuffled["purpose"] = np.random.default_rng(2).permutation(shuffled["purpose"].to_numpy())
    return shuffled


def _audit(data: dict, synthetic: pd.DataFrame, tmp_path: Path, policy: str = "default", **kwargs):
    return audit(data["train"], synthetic, holdout=data["holdout"], schema=data["schema"], policy=policy,
                 output=tmp_path / policy, **kwargs)


CONTROLS = {
    # control: (builder, checks of which at least the first must fail as a blocker)
    "copy_1pct": (lambda d: _copies(d, 0.01), ["exact_match.minus_reference"]),
    "copy_5pct": (lambda d: _copies(d, 0.05), ["exact_match.minus_reference", "near_copies.minus_reference_lower"]),
    "copy_20pct": (lambda d: _copies(d, 0.20), ["exact_match.minus_reference", "near_copies.minus_reference_lower"]),
    "plus_minus_one": (_plus_minus_one, ["near_copies.minus_reference_lower", "membership_auc.ci_lower",
                                         "dcr.over_reference"]),
    "training_data": (lambda d: d["train"].copy(), ["exact_match.minus_reference", "near_copies.minus_reference_lower",
                                                     "membership_auc.ci_lower", "dcr.over_reference"]),
    "one_column_shuffled": (_one_column_shuffled, ["near_copies.minus_reference_lower", "membership_auc.ci_lower"]),
}


@pytest.mark.parametrize("control", list(CONTROLS))
def test_positive_control_is_blocked_by_the_intended_check(german, tmp_path, control) -> None:
    build, intended = CONTROLS[control]
    result = _audit(german, build(german), tmp_path)
    failed = {c.name for c in result.gate.failed_checks()}
    assert result.passed is False
    assert set(intended) <= failed, (control, failed)
    html = (tmp_path / "default" / "report.html").read_text()
    assert "Would be blocked" in html and intended[0] in html


def test_near_copies_catch_what_exact_match_misses(german, tmp_path) -> None:
    """Train rows with +-1 on every number: no exact copy, yet near copies and the AUC see them."""
    result = _audit(german, _plus_minus_one(german), tmp_path)
    metrics = result.report["metrics"]
    assert metrics["exact_match"]["value"] == 0.0
    # distances use a train subsample of the holdout's size (200 of 600): a third of the rows have their
    # origin in it, and every one of those is a near copy
    share = metrics["near_copies"]["details"]["train_rows_used"] / len(german["train"])
    assert metrics["near_copies"]["value"] > 0.9 * share and metrics["near_copies"]["reference"] < 0.02
    assert metrics["membership_auc"]["ci"][0] > 0.9
    mia = metrics["membership_inference"]
    assert mia["value"] > 0.5 and mia["ci"][0] > 0.4  # the interval moves with the value
    assert mia["details"]["auc_ci"][0] > 0.9


def test_training_data_itself_is_high_risk_for_every_attack(german, tmp_path) -> None:
    result = _audit(german, german["train"].copy(), tmp_path)
    for name in ("singling_out", "linkability", "attribute_inference"):
        metric = result.report["metrics"][name]
        assert metric["value"] >= 0.5, (name, metric["details"].get("worst_set"))
        assert metric["details"]["worst_columns"], name


def test_canaries_are_blocked_under_default(german, tmp_path) -> None:
    schema = german["schema"]
    train = coerce_to_schema(german["train"], schema)
    joined, table = insert_canaries(train, schema, 20, seed=1)
    synthetic = TableSynthesizer(protect_k=0).fit(joined, schema=schema, seed=0).sample(len(joined), seed=0)
    result = audit(joined, synthetic, holdout=german["holdout"], schema=schema, policy="default",
                   output=tmp_path / "canaries", options={"canaries": table})
    assert "rare_category_replay" in {c.name for c in result.gate.failed_checks()}
    assert result.report["metrics"]["canary_leakage"]["value"] >= 3


@pytest.mark.parametrize("policy", ["default", "strict"])
def test_clean_engine_output_passes(german, tmp_path, policy) -> None:
    result = _audit(german, german["engine"], tmp_path, policy)
    assert result.passed is True, [c.explanation for c in result.gate.failed_checks()]
    assert not [c.name for c in result.gate.checks if not c.computed]


def test_a_fresh_real_sample_passes_the_copy_checks(german, tmp_path) -> None:
    """Negative control: real people the generator never saw copy nobody."""
    result = _audit(german, german["fresh"], tmp_path)
    failed = {c.name for c in result.gate.failed_checks()}
    assert not failed & {"exact_match.minus_reference", "near_copies.minus_reference_lower",
                         "near_copies.minus_reference", "membership_auc.ci_lower",
                         "dcr.over_reference"}


@pytest.mark.slow
def test_overfitted_engine_is_blocked(tmp_path) -> None:
    """TVAE trained far too long (300 epochs) on 150 rows of ten German credit columns, value protection
    off, memorises them: its rows sit near training rows (near copies, DCR) though none is an exact copy."""
    full = load_schema(BUNDLED / "german_credit.yaml")
    columns = ["checking_status", "duration_months", "credit_history", "purpose", "credit_amount", "savings",
               "age", "housing", "job", "credit_risk"]
    schema = full.model_copy(update={"columns": {c: full.columns[c] for c in columns}, "constraints": [],
                                     "quasi_identifiers": [c for c in full.quasi_identifiers if c in columns]})
    raw = pd.read_csv(BUNDLED / "german_credit.csv")[columns]
    order = np.random.default_rng(0).permutation(len(raw))
    train, holdout = raw.iloc[order[:150]].reset_index(drop=True), raw.iloc[order[600:800]].reset_index(drop=True)
    synth = TableSynthesizer(engine="tvae", engine_params={"epochs": 300, "batch_size": 50}, protect_k=0)
    synthetic = synth.fit(coerce_to_schema(train, schema), schema=schema, seed=0).sample(150, seed=0)
    result = audit(train, to_output(synthetic, schema), holdout=holdout, schema=schema, policy="default",
                   output=tmp_path / "tvae")
    failed = {c.name for c in result.gate.failed_checks()}
    assert result.passed is False
    assert {"near_copies.minus_reference_lower", "dcr.over_reference"} <= failed, failed


def test_not_computed_is_shown_and_blocks_only_where_the_policy_says(german, tmp_path) -> None:
    """Without a holdout the copy checks cannot be computed: default requires them (blocked, "not
    computed"), lenient only reports them; both say so in report.json and report.html."""
    for policy, expected in (("default", False), ("lenient", True)):
        result = audit(german["train"], german["engine"], schema=german["schema"], policy=policy,
                       output=tmp_path / policy)
        gate = result.report["gate"]
        assert "dcr.over_reference" in gate["not_computed"], policy
        check = next(c for c in gate["checks"] if c["name"] == "dcr.over_reference")
        assert check["status"] == "not_computed" and "holdout" in check["explanation"]
        assert result.passed is expected, policy
        html = (tmp_path / policy / "report.html").read_text()
        assert "not computed" in html
        if expected:
            assert "dcr.over_reference" not in gate["failed"]
        else:
            assert "dcr.over_reference" in gate["failed"]
