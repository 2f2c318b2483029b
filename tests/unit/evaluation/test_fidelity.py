"""Fidelity metrics against known answers and against SDMetrics' reference implementations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthstruct.evaluation.fidelity import column_shapes, discriminator_auc, missing_patterns, pair_trends
from synthstruct.evaluation.metric import EvaluationContext
from synthstruct.schema import schema_from_dict


def _schema(columns: dict, **extra):
    return schema_from_dict({"schema_version": 1, "name": "t", "columns": columns, **extra})


@pytest.fixture
def mixed():
    rng = np.random.default_rng(7)
    n = 1_500
    x = rng.normal(50, 10, n)
    frame = pd.DataFrame({
        "email": [f"user{i}@example.org" for i in range(n)],
        "x": x.round(),
        "y": (2 * x + rng.normal(0, 5, n)).round(1),
        "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
        "group": np.where(x > 50, "hi", rng.choice(["a", "b", "c"], n)).astype(object),
        "flag": pd.array(rng.random(n) < 0.3, dtype="boolean"),
    })
    frame.loc[rng.choice(n, 60, replace=False), "group"] = np.nan
    schema = _schema({
        "email": {"kind": "pii", "entity": "EMAIL_ADDRESS"},
        "x": {"kind": "numerical", "dtype": "int"},
        "y": {"kind": "numerical"},
        "when": {"kind": "datetime"},
        "group": {"kind": "categorical"},
        "flag": {"kind": "boolean"},
    })
    return frame, schema


def test_identical_frames_score_one(mixed):
    frame, schema = mixed
    ctx = EvaluationContext(train=frame, synthetic=frame.copy(), schema=schema, holdout=frame.copy())
    shapes, pairs, missing = column_shapes(ctx), pair_trends(ctx), missing_patterns(ctx)
    assert shapes.value == pytest.approx(1.0) and shapes.reference == pytest.approx(1.0)
    assert pairs.value == pytest.approx(1.0) and pairs.reference == pytest.approx(1.0)
    assert missing.value == pytest.approx(1.0)
    assert set(shapes.details["columns"]) == {"x", "y", "when", "group", "flag"}
    assert len(pairs.details["pairs"]) == 10
    real, synthetic = (np.array(pairs.details["association"][k]) for k in ("real", "synthetic"))
    np.testing.assert_allclose(real, synthetic)
    assert real[0, 1] > 0.9  # x and y are strongly correlated


def test_shifted_numeric_column_has_known_ks():
    schema = _schema({"v": {"kind": "numerical"}})
    train = pd.DataFrame({"v": np.arange(1000, dtype=float)})
    synthetic = pd.DataFrame({"v": np.arange(1000, dtype=float) + 100})
    result = column_shapes(EvaluationContext(train=train, synthetic=synthetic, schema=schema))
    assert result.value == pytest.approx(0.9)
    assert result.reference is None
    plot = result.details["plots"]["v"]
    assert len(plot["edges"]) == 21 and sum(plot["real"]) == pytest.approx(1.0)
    assert min(plot["edges"]) > 0 and max(plot["edges"]) < 999  # bins never reveal the extremes


def test_category_shift_has_known_tvd():
    schema = _schema({"c": {"kind": "categorical"}})
    train = pd.DataFrame({"c": ["A"] * 50 + ["B"] * 50})
    synthetic = pd.DataFrame({"c": ["A"] * 70 + ["B"] * 30})
    assert column_shapes(EvaluationContext(train=train, synthetic=synthetic, schema=schema)).value == \
        pytest.approx(0.8)


def test_scores_match_sdmetrics_on_random_data(mixed):
    from sdmetrics.single_column import KSComplement, TVComplement

    frame, schema = mixed
    rng = np.random.default_rng(1)
    synthetic = frame.sample(frac=1.0, replace=True, random_state=3).reset_index(drop=True)
    synthetic["y"] = synthetic["y"] + rng.normal(3, 4, len(synthetic))
    result = column_shapes(EvaluationContext(train=frame, synthetic=synthetic, schema=schema))
    cols = result.details["columns"]
    assert cols["y"]["score"] == pytest.approx(KSComplement.compute(frame["y"], synthetic["y"]), abs=1e-9)
    assert cols["x"]["score"] == pytest.approx(KSComplement.compute(frame["x"], synthetic["x"]), abs=1e-9)
    flag_real, flag_syn = frame["flag"].astype(bool), synthetic["flag"].astype(bool)
    assert cols["flag"]["score"] == pytest.approx(TVComplement.compute(flag_real, flag_syn), abs=1e-9)


def test_pair_trends_known_answers():
    schema = _schema({"a": {"kind": "numerical"}, "b": {"kind": "numerical"},
                      "c": {"kind": "categorical"}, "d": {"kind": "categorical"}})
    n = 400
    a = np.arange(n, dtype=float)
    real = pd.DataFrame({"a": a, "b": a, "c": ["P", "Q"] * (n // 2), "d": ["P"] * (n // 4) * 2 + ["Q"] * (n // 2)})
    synthetic = pd.DataFrame({"a": a, "b": -a, "c": ["P", "Q"] * (n // 2), "d": ["P", "Q"] * (n // 2)})
    result = pair_trends(EvaluationContext(train=real, synthetic=synthetic, schema=schema))
    scores = {tuple(p["columns"]): p["score"] for p in result.details["pairs"]}
    assert scores[("a", "b")] == pytest.approx(0.0)  # +1 vs -1 correlation
    assert scores[("c", "d")] == pytest.approx(0.5)  # independent vs identical columns
    assert scores[("a", "c")] == pytest.approx(1.0)
    assert result.value == pytest.approx(np.mean(list(scores.values())))


def test_pair_trends_caps_rows(mixed):
    frame, schema = mixed
    ctx = EvaluationContext(train=frame, synthetic=frame, schema=schema, options={"pair_trends_max_rows": 500})
    assert pair_trends(ctx).details["n_rows_used"] == {"train": 500, "synthetic": 500}


def test_plots_exclude_pii_and_pool_rare_categories(mixed):
    frame, schema = mixed
    frame = frame.copy()
    frame.loc[0, "group"] = "rare-label"
    result = column_shapes(EvaluationContext(train=frame, synthetic=frame, schema=schema))
    plots = result.details["plots"]
    assert "email" not in plots and "email" not in result.details["columns"]
    assert "rare-label" not in plots["group"]["categories"]
    assert plots["group"]["real"]["(other)"] == pytest.approx(1 / len(frame), abs=1e-6)
    assert plots["when"]["edges"][0].startswith("20")


def test_missing_patterns_known_answer():
    schema = _schema({"a": {"kind": "numerical"}, "b": {"kind": "categorical"}})
    real = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0], "b": ["x", "y", None, "z"]})
    synthetic = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": ["x", "y", "z", "z"]})
    result = missing_patterns(EvaluationContext(train=real, synthetic=synthetic, schema=schema))
    assert result.value == pytest.approx(0.5)
    assert result.details["missing_share"]["a"] == {"real": 0.25, "synthetic": 0.0}


def test_discriminator_separates_shifted_rows_but_not_real_ones(mixed):
    frame, schema = mixed
    train, holdout = frame.iloc[:1000], frame.iloc[1000:]
    shifted = train.copy()
    shifted["y"] = shifted["y"] + 40
    result = discriminator_auc(EvaluationContext(train=train, synthetic=shifted, schema=schema, holdout=holdout))
    assert result.value > 0.95
    assert 0.35 < result.reference < 0.65
    assert discriminator_auc(EvaluationContext(train=train, synthetic=shifted, schema=schema)).value is None


def test_same_seed_gives_identical_results(mixed):
    frame, schema = mixed
    synthetic = frame.sample(frac=1.0, replace=True, random_state=5).reset_index(drop=True)

    def run():
        ctx = EvaluationContext(train=frame.iloc[:1000], synthetic=synthetic, schema=schema,
                                holdout=frame.iloc[1000:], seed=3, options={"pair_trends_max_rows": 700})
        return [fn(ctx).to_dict() for fn in (column_shapes, pair_trends, discriminator_auc, missing_patterns)]

    assert run() == run()
