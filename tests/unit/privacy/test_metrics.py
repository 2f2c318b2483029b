"""Privacy metrics on constructed cases with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthstruct.evaluation.metric import METRICS, EvaluationContext, compute_metrics
from synthstruct.privacy import metrics
from synthstruct.privacy.distances import neighbour_distances
from synthstruct.schema.model import Schema

SCHEMA = Schema.model_validate({
    "schema_version": 1,
    "name": "people",
    "columns": {
        "pid": {"kind": "id", "strategy": "sequence"},
        "name": {"kind": "pii", "entity": "PERSON"},
        "age": {"kind": "numerical"},
        "income": {"kind": "numerical"},
        "city": {"kind": "categorical"},
        "member": {"kind": "boolean"},
    },
})
PRIVACY = ["exact_match", "dcr", "dcr_share", "nndr", "membership_inference", "pii_replay",
           "rare_category_replay", "extreme_value_replay"]


def people(n: int, rng: np.random.Generator, start: int = 0) -> pd.DataFrame:
    """Independent rows with a continuous column (so that chance copies do not happen)."""
    return pd.DataFrame({
        "pid": [f"P{start + i:06d}" for i in range(n)],
        "name": [f"Person {start + i}" for i in range(n)],
        "age": rng.integers(18, 90, size=n).astype(float),
        "income": rng.lognormal(10, 1, size=n),
        "city": pd.Series(rng.choice(["north", "south", "east", "west"], size=n), dtype=object),
        "member": pd.Series(rng.random(n) < 0.3, dtype="boolean"),
    })


def with_copies(train: pd.DataFrame, fresh: pd.DataFrame, share: float, rng: np.random.Generator) -> pd.DataFrame:
    """``fresh`` rows, of which ``share`` are replaced by copies of distinct train rows."""
    n_copies = int(round(share * len(fresh)))
    out = fresh.copy()
    rows = rng.choice(len(train), size=n_copies, replace=False)
    cols = ["age", "income", "city", "member"]
    out.loc[out.index[:n_copies], cols] = train.iloc[rows][cols].to_numpy()
    out["member"] = out["member"].astype("boolean")
    out["age"] = out["age"].astype(float)
    out["income"] = out["income"].astype(float)
    return out


@pytest.fixture(scope="module")
def real() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)
    return people(1000, rng), people(1000, rng, start=10_000), people(1000, rng, start=20_000)


def test_identical_sets_are_all_exact_matches(real) -> None:
    train, holdout, _ = real
    result = metrics.exact_match(EvaluationContext(train=train, synthetic=train.copy(), schema=SCHEMA, holdout=holdout))
    assert result.value == 1.0
    assert result.reference == 0.0
    assert result.details["excess"] == 1.0
    assert result.ci is not None and result.ci[0] > 0.99


def test_injected_copies_show_in_exact_match_and_membership_inference(real) -> None:
    train, holdout, fresh = real
    rng = np.random.default_rng(12)
    leaky = EvaluationContext(train=train, synthetic=with_copies(train, fresh, 0.05, rng), schema=SCHEMA,
                              holdout=holdout, seed=1)
    control = EvaluationContext(train=train, synthetic=fresh, schema=SCHEMA, holdout=holdout, seed=1)

    match = metrics.exact_match(leaky)
    assert match.details["excess"] == pytest.approx(0.05, abs=0.005)
    assert metrics.exact_match(control).value == 0.0

    attack, baseline = metrics.membership_inference(leaky), metrics.membership_inference(control)
    assert attack.value >= 0.045  # every copied member is at distance 0 from a synthetic row
    assert baseline.value <= 0.03
    assert attack.value > baseline.value + 0.02
    assert attack.reference == 0.01
    assert 0.0 < attack.ci[0] < attack.value < attack.ci[1]  # exact interval around the value
    assert 0.4 < baseline.details["auc"] < 0.6
    low, high = baseline.details["auc_ci"]
    assert low < baseline.details["auc"] < high
    assert metrics.membership_auc(control).value == pytest.approx(baseline.details["auc"])
    assert len(attack.details["roc"]["fpr"]) == len(attack.details["roc"]["tpr"]) == 101

    assert int((neighbour_distances(leaky).synthetic_to_train.distance == 0.0).sum()) == 50
    assert metrics.dcr(leaky).details["synthetic_to_train"]["p05"] < 1e-3
    assert metrics.dcr_share(leaky).value > metrics.dcr_share(control).value
    assert metrics.dcr_share(control).value == pytest.approx(0.5, abs=0.06)


def test_dcr_reference_and_histograms(real) -> None:
    train, holdout, fresh = real
    result = metrics.dcr(EvaluationContext(train=train, synthetic=fresh, schema=SCHEMA, holdout=holdout))
    assert result.value == pytest.approx(result.reference, rel=0.25)  # independent data: same scale
    hist = result.details["histogram"]
    assert len(hist["bin_edges"]) == 31
    assert sum(hist["synthetic_to_train"]) == sum(hist["synthetic_to_holdout"]) == len(fresh)
    assert result.details["train_rows_used"] == len(holdout)


def test_nndr_is_low_for_copies() -> None:
    rng = np.random.default_rng(5)
    train, holdout = people(500, rng), people(500, rng, start=5000)
    copies = EvaluationContext(train=train, synthetic=train.copy(), schema=SCHEMA, holdout=holdout)
    result = metrics.nndr(copies)
    assert result.value == 0.0
    assert result.reference > 0.5


def test_without_holdout_value_is_computed_and_reference_is_none(real) -> None:
    train, _, fresh = real
    ctx = EvaluationContext(train=train, synthetic=fresh, schema=SCHEMA)
    for name in ("exact_match", "dcr", "nndr", "rare_category_replay", "extreme_value_replay"):
        result = METRICS.get(name)(ctx)
        assert result.value is not None and result.reference is None and result.note
    for name in ("dcr_share", "membership_inference"):
        result = METRICS.get(name)(ctx)
        assert result.value is None and "holdout" in result.note


def hand_made() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    train = pd.DataFrame({
        "pid": [f"ID{i}" for i in range(10)],
        "name": ["Ann Lee", "Bo Chan", "Cy Diaz", "Di Eko", "Ed Fox",
                 "Flo Gee", "Gus Ho", "Hal Ito", "Ivy Jo", "Jo Ko"],
        "age": [20.0, 21, 22, 23, 24, 25, 26, 27, 28, 90],
        "income": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, np.nan],
        "city": ["a"] * 6 + ["b", "b", "c", np.nan],
        "member": pd.Series([True] * 9 + [False], dtype="boolean"),
    })
    synthetic = pd.DataFrame({
        "pid": ["id1", "X9", " ID2 ", None],
        "name": ["  ann lee", "Zed Zu", "GUS HO", "Nobody"],
        "age": [19.0, 90, 27, 22],       # k=2: below 21 -> 19; above 28 -> 90
        "income": [0.5, 10, np.nan, 5],  # k=2: below 2 -> 0.5; above 8 -> 10
        "city": ["b", "c", "c", "a"],    # rare (< 3): b (2), c (1) -> both emitted
        "member": pd.Series([False, True, True, True], dtype="boolean"),  # False seen once -> rare
    })
    holdout = pd.DataFrame({
        "pid": ["H1", "H2"], "name": ["Q", "R"], "age": [100.0, 50], "income": [3.0, 4],
        "city": ["c", "a"], "member": pd.Series([True, True], dtype="boolean"),
    })
    return train, synthetic, holdout


def test_rare_categories_counted_exactly() -> None:
    train, synthetic, holdout = hand_made()
    result = metrics.rare_category_replay(EvaluationContext(
        train=train, synthetic=synthetic, schema=SCHEMA, holdout=holdout, options={"rare_k": 3}))
    assert result.details["columns"]["city"] == {"rare_in_train": 2, "replayed_categories": 2,
                                                 "synthetic_rows_with_rare": 3, "categories_in_holdout": 1}
    assert result.details["columns"]["member"]["replayed_categories"] == 1
    assert result.value == 3.0
    assert result.reference == 1.0


def test_extreme_values_counted_exactly() -> None:
    train, synthetic, holdout = hand_made()
    result = metrics.extreme_value_replay(EvaluationContext(
        train=train, synthetic=synthetic, schema=SCHEMA, holdout=holdout, options={"extreme_k": 2}))
    assert result.details["columns"]["age"] == {"below": 1, "above": 1, "holdout_beyond": 2}
    assert result.details["columns"]["income"] == {"below": 1, "above": 1, "holdout_beyond": 0}
    assert result.value == 4.0
    assert result.reference == pytest.approx(2 * 4 / 2)  # holdout count scaled to synthetic size


def test_pii_replay_counts_normalised_matches_without_values() -> None:
    train, synthetic, holdout = hand_made()
    result = metrics.pii_replay(EvaluationContext(train=train, synthetic=synthetic, schema=SCHEMA, holdout=holdout))
    assert result.details["columns"]["name"]["replayed"] == 2
    assert result.details["columns"]["pid"] == {"synthetic_values": 3, "replayed": 2, "distinct_replayed": 2}
    assert result.value == 4.0
    assert result.reference is None
    text = json.dumps(result.to_dict())
    assert "ann" not in text.lower() and "gus" not in text.lower()


def test_reports_hold_no_cell_values(real) -> None:
    train, holdout, fresh = real
    ctx = EvaluationContext(train=train, synthetic=fresh, schema=SCHEMA, holdout=holdout)
    text = json.dumps({name: r.to_dict() for name, r in compute_metrics(ctx, PRIVACY).items()})
    for secret in ("Person", "P0000", "north", "south"):
        assert secret not in text


@pytest.mark.slow
def test_adult_split_runs_all_privacy_metrics() -> None:
    path = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "adult.csv"
    if not path.is_file():
        pytest.skip("adult.csv is not available")
    frame = pd.read_csv(path, na_values=["?"], skipinitialspace=True)
    numeric = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
    columns = {c: {"kind": "numerical"} if c in numeric else {"kind": "categorical"} for c in frame.columns}
    schema = Schema.model_validate({"schema_version": 1, "name": "adult", "columns": columns})
    for c in numeric:
        frame[c] = frame[c].astype(float)
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    train, holdout, fresh = frame.iloc[:8000], frame.iloc[8000:12000], frame.iloc[12000:16000]
    results = compute_metrics(EvaluationContext(train=train, synthetic=fresh, schema=schema, holdout=holdout),
                              PRIVACY)
    # Real fresh rows as "synthetic": no more copies or closeness than the holdout itself shows.
    assert results["exact_match"].details["excess"] < 0.01
    assert results["dcr"].value == pytest.approx(results["dcr"].reference, rel=0.2)
    assert results["membership_inference"].value < 0.03
    assert 0.4 < results["dcr_share"].value < 0.6


def test_intervals_pin_known_cases() -> None:
    """Exact and score intervals whose bounds move with the value (not [0, upper] for everything)."""
    assert metrics.clopper_pearson(10, 10) == pytest.approx((0.025 ** 0.1, 1.0), abs=1e-6)
    assert metrics.clopper_pearson(0, 10) == pytest.approx((0.0, 1 - 0.025 ** 0.1), abs=1e-6)
    low, high = metrics.clopper_pearson(80, 1000)  # R: binom.test(80, 1000)$conf.int
    assert low == pytest.approx(0.06395, abs=2e-4) and high == pytest.approx(0.09859, abs=2e-4)
    assert metrics.wilson_interval(0, 10) == pytest.approx((0.0, 0.27753), abs=1e-4)
    assert metrics.wilson_interval(10, 10) == pytest.approx((0.72247, 1.0), abs=1e-4)
    assert metrics.auc_interval(0.5, 100, 100) == pytest.approx((0.5 - 0.08022, 0.5 + 0.08022), abs=2e-4)
    assert metrics.z_for(0.05) == pytest.approx(1.959964, abs=1e-5)
    lows = [metrics.clopper_pearson(k, 500)[0] for k in (5, 50, 250, 500)]
    assert lows == sorted(lows) and lows[-1] > 0.99


def test_membership_interval_of_a_perfect_attack_is_not_zero_to_one(real) -> None:
    train, holdout, _ = real
    result = metrics.membership_inference(EvaluationContext(train=train, synthetic=train.copy(), schema=SCHEMA,
                                                            holdout=holdout, seed=1))
    assert result.value == 1.0 and result.ci[0] > 0.98 and result.ci[1] == 1.0
    assert result.details["auc"] == 1.0 and result.details["auc_ci"][0] > 0.99


def test_near_copies_learn_the_tolerance_from_the_holdout(real) -> None:
    train, holdout, fresh = real
    rng = np.random.default_rng(5)
    noisy = train.copy()  # +-1 on income (a few units on a lognormal(10, 1) scale): far below real spacing
    noisy["income"] = noisy["income"] + rng.choice([-1.0, 1.0], size=len(noisy))
    near = metrics.near_copies(EvaluationContext(train=train, synthetic=noisy, schema=SCHEMA, holdout=holdout, seed=1))
    clean = metrics.near_copies(EvaluationContext(train=train, synthetic=fresh, schema=SCHEMA, holdout=holdout, seed=1))
    assert near.details["tolerance"] == clean.details["tolerance"] > 0
    used = near.details["train_rows_used"] / len(train)
    assert near.value > 0.9 * used and near.reference < 0.05
    assert clean.value == pytest.approx(clean.reference, abs=0.03)
    assert clean.details["holdout_share"] == pytest.approx(0.01, abs=0.01)
    assert metrics.exact_match(EvaluationContext(train=train, synthetic=noisy, schema=SCHEMA, holdout=holdout)).value == 0.0
