"""Sampled privacy metrics: sample size from the interval, stratification, agreement with exact mode, report fields."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthstruct.evaluation.metric import METRICS, EvaluationContext
from synthstruct.privacy.distances import neighbour_distances
from synthstruct.privacy.metrics import wilson_interval
from synthstruct.privacy.sampling import exact_pairs, plan_sampling, rows_for_half_width, stratified_index
from synthstruct.release.gate import ReleaseGate
from synthstruct.release.policy import load_policy, policy_from_dict
from synthstruct.release.report import build_report, validate_report
from synthstruct.schema.model import Schema

SCHEMA = Schema.model_validate({
    "schema_version": 1, "name": "people", "target": "member",
    "columns": {"age": {"kind": "numerical"}, "income": {"kind": "numerical"}, "city": {"kind": "categorical"},
                "member": {"kind": "boolean"}},
})
DISTANCE_METRICS = ["near_copies", "dcr", "dcr_share", "nndr", "membership_inference", "membership_auc"]


def people(n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({
        "age": rng.integers(18, 90, size=n).astype(float),
        "income": rng.lognormal(10, 1, size=n),
        "city": pd.Series(rng.choice(["north", "south", "east", "west"], size=n), dtype=object),
        "member": pd.Series(rng.random(n) < 0.3, dtype="boolean"),
    })


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(5)
    train, holdout, synthetic = people(2000, rng), people(2000, rng), people(3000, rng)  # equal real sets: exact mode uses all
    synthetic.iloc[:150] = train.iloc[:150].to_numpy()  # 5 % copies: a signal the sample must keep
    synthetic["member"] = synthetic["member"].astype("boolean")
    for c in ("age", "income"):
        synthetic[c] = synthetic[c].astype(float)
    return train, holdout, synthetic


def _values(frames, sampling, seed=0):
    train, holdout, synthetic = frames
    ctx = EvaluationContext(train=train, synthetic=synthetic, schema=SCHEMA, holdout=holdout, seed=seed,
                            options={"privacy_sampling": sampling})
    return {name: METRICS.get(name)(ctx) for name in DISTANCE_METRICS}, ctx


@pytest.mark.parametrize("half_width", [0.05, 0.02, 0.01, 0.005])
def test_rows_for_half_width_reach_the_interval_for_every_share(half_width):
    n = rows_for_half_width(half_width)
    assert n == int(np.ceil(1.959964 ** 2 * 0.25 / half_width ** 2)) or abs(n - 1.959964 ** 2 * 0.25 / half_width ** 2) < 1
    for p in (0.0, 0.01, 0.2, 0.5, 0.9):
        low, high = wilson_interval(int(round(p * n)), n)
        assert (high - low) / 2 <= half_width + 1e-12
    low, high = wilson_interval(n // 2, n - max(1, n // 50))  # a few rows fewer: wider than asked at p = 0.5
    assert (high - low) / 2 > half_width
    assert rows_for_half_width(0.01) == 9604
    with pytest.raises(ValueError):
        rows_for_half_width(0.0)


def test_stratified_index_keeps_class_shares_and_is_seeded():
    strata = np.array(["a"] * 700 + ["b"] * 250 + ["c"] * 50, dtype=object)
    index = stratified_index(1000, 100, np.random.default_rng(0), strata)
    assert len(index) == 100 and len(np.unique(index)) == 100 and np.all(np.diff(index) > 0)
    assert {k: int((strata[index] == k).sum()) for k in "abc"} == {"a": 70, "b": 25, "c": 5}
    np.testing.assert_array_equal(index, stratified_index(1000, 100, np.random.default_rng(0), strata))
    odd = stratified_index(1000, 7, np.random.default_rng(1), strata)  # largest remainders
    assert len(odd) == 7 and int((strata[odd] == "a").sum()) == 5
    np.testing.assert_array_equal(stratified_index(10, 50, np.random.default_rng(0)), np.arange(10))


def test_auto_mode_is_exact_for_small_tables_and_sampled_above_the_pair_limit():
    small = plan_sampling({}, n_train=26_049, n_holdout=6_512, n_synthetic=26_049)  # Adult
    assert small.mode == "exact" and small.query_rows is None and small.exact_pairs == exact_pairs(26_049, 6_512, 26_049)
    big = plan_sampling({}, n_train=800_000, n_holdout=200_000, n_synthetic=800_000)
    assert big.mode == "sampled" and big.query_rows == 9604 and big.reference_rows == 20_000
    assert plan_sampling({"mode": "exact"}, n_train=800_000, n_holdout=200_000, n_synthetic=800_000).mode == "exact"
    assert plan_sampling({"mode": "sampled"}, n_train=10, n_holdout=5, n_synthetic=10).mode == "sampled"


def test_sampled_mode_covering_every_row_equals_exact_mode(frames):
    exact, _ = _values(frames, {"mode": "exact"})
    covering, ctx = _values(frames, {"mode": "sampled", "half_width": 0.001, "reference_rows": 10_000})
    assert neighbour_distances(ctx).plan.sampled and neighbour_distances(ctx).synthetic.n_rows == 3000
    for name in DISTANCE_METRICS:
        assert covering[name].value == pytest.approx(exact[name].value, abs=1e-12), name
        assert covering[name].reference == pytest.approx(exact[name].reference, abs=1e-12), name


def test_sampled_values_stay_within_their_interval_of_exact(frames):
    exact, _ = _values(frames, {"mode": "exact"})
    for seed in (0, 1):
        sampled, ctx = _values(frames, {"mode": "sampled", "half_width": 0.05, "reference_rows": 1500}, seed=seed)
        assert neighbour_distances(ctx).synthetic.n_rows == rows_for_half_width(0.05) == 385
        near = sampled["near_copies"]
        assert near.ci[1] - near.ci[0] <= 2 * 0.05
        assert near.ci[0] - 0.01 <= exact["near_copies"].value <= near.ci[1] + 0.01
        assert sampled["near_copies"].value > sampled["near_copies"].reference  # the copies still show
        assert sampled["dcr"].value == pytest.approx(exact["dcr"].value, rel=0.25)
        assert sampled["dcr_share"].value > 0.5


def test_gate_reports_the_sampling_and_the_rows_used(frames):
    train, holdout, synthetic = frames
    policy, _ = load_policy("default")
    policy = policy.model_copy(update={"privacy_sampling": policy.privacy_sampling.model_copy(
        update={"mode": "sampled", "half_width": 0.05, "reference_rows": 500, "attack_synthetic_rows": 400})})
    gate = ReleaseGate(policy).evaluate(train=train, synthetic=synthetic, schema=SCHEMA, holdout=holdout, seed=0)
    assert gate.privacy_sampling["mode"] == "sampled" and gate.privacy_sampling["query_rows"] == 385
    details = gate.metrics["near_copies"].details
    assert details["sampling"] == "sampled" and details["synthetic_rows_used"] == 385
    assert details["train_rows_used"] == details["holdout_rows_used"] == 500 and details["synthetic_rows"] == 3000
    assert details["sampling_half_width"] == 0.05 and details["holdout_query_rows_used"] == 385
    assert gate.metrics["linkability"].details["synthetic_rows_searched"] == 400
    report = build_report(gate, table="people", engine="fast_copula",
                          rows={"input": 4000, "train": 2000, "holdout": 2000, "synthetic": 3000}, timings={})
    assert report["privacy_sampling"]["mode"] == "sampled"
    assert validate_report(report) == []


def test_policy_privacy_sampling_is_validated():
    policy, _ = load_policy("default")
    assert policy.privacy_sampling.mode == "auto"
    data = policy.model_dump(mode="json")
    data["privacy_sampling"] = {"mode": "fast", "half_width": 0.7}
    with pytest.raises(Exception) as info:
        policy_from_dict(data)
    assert "privacy_sampling" in str(info.value.problems if hasattr(info.value, "problems") else info.value)
