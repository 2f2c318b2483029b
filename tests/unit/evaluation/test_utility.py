"""Utility (TSTR vs TRTR): real rows used as "synthetic" score about 1, noise scores far less."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthstruct.dataio import read_table
from synthstruct.evaluation.metric import EvaluationContext
from synthstruct.evaluation.utility import FeatureEncoder, tstr_scores, utility
from synthstruct.schema import coerce_to_schema, schema_from_dict

ADULT = Path("/work/shared/datasets/adult.csv")
ADULT_NUMERICAL = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]


@pytest.fixture(scope="module")
def adult():
    if not ADULT.exists():
        pytest.skip("Adult dataset not available")
    frame = read_table(ADULT).iloc[:2000]
    columns = {c: {"kind": "numerical", "dtype": "int"} if c in ADULT_NUMERICAL else {"kind": "categorical"}
               for c in frame.columns}
    schema = schema_from_dict({"schema_version": 1, "name": "adult", "columns": columns, "target": "income"})
    frame = coerce_to_schema(frame, schema)
    return frame.iloc[:1400].reset_index(drop=True), frame.iloc[1400:].reset_index(drop=True), schema


def test_real_rows_as_synthetic_score_one(adult):
    train, holdout, schema = adult
    result = utility(EvaluationContext(train=train, synthetic=train.copy(), schema=schema, holdout=holdout))
    assert result.value == pytest.approx(1.0)
    assert result.reference is None
    details = result.details
    assert details["task"] == "classification"
    assert details["trtr"] == details["tstr"]
    assert details["trtr"]["auc"] > 0.8
    assert details["positive_class_share"] < 0.5  # positive = minority class ('>50K')


def test_shuffled_labels_score_far_below_one(adult):
    train, holdout, schema = adult
    synthetic = train.copy()
    synthetic["income"] = synthetic["income"].sample(frac=1.0, random_state=0).to_numpy()
    result = utility(EvaluationContext(train=train, synthetic=synthetic, schema=schema, holdout=holdout))
    assert result.value < 0.6
    assert result.details["tstr"]["auc"] < 0.65


def test_utility_test_option_replaces_holdout(adult):
    train, holdout, schema = adult
    ctx = EvaluationContext(train=train, synthetic=train, schema=schema, holdout=None,
                            options={"utility_test": holdout.iloc[:300]})
    result = utility(ctx)
    assert result.value == pytest.approx(1.0)
    assert result.details["n_test"] == 300


def test_not_computable_without_target_or_test_rows(adult):
    train, holdout, schema = adult
    no_target = schema.model_copy(update={"target": None})
    assert utility(EvaluationContext(train=train, synthetic=train, schema=no_target, holdout=holdout)).value is None
    result = utility(EvaluationContext(train=train, synthetic=train, schema=schema))
    assert result.value is None and "holdout" in result.note


def _regression_frames(seed: int = 0):
    rng = np.random.default_rng(seed)
    n = 1200
    frame = pd.DataFrame({
        "x1": rng.normal(size=n),
        "x2": rng.normal(size=n),
        "kind": rng.choice(["u", "v", "w"], n),
        "when": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
    })
    frame["y"] = 3 * frame["x1"] - frame["x2"] + frame["kind"].map({"u": 0.0, "v": 2.0, "w": -2.0}) \
        + rng.normal(0, 0.3, n)
    schema = schema_from_dict({"schema_version": 1, "name": "reg", "target": "y", "columns": {
        "x1": {"kind": "numerical"}, "x2": {"kind": "numerical"}, "kind": {"kind": "categorical"},
        "when": {"kind": "datetime"}, "y": {"kind": "numerical"}}})
    return frame.iloc[:900], frame.iloc[900:], schema


def test_regression_uses_r2_ratio():
    train, test, schema = _regression_frames()
    same = tstr_scores(train, train, test, schema)
    assert same["task"] == "regression"
    assert same["trtr"]["r2"] > 0.9 and same["ratio"]["r2"] == pytest.approx(1.0)
    noise = train.copy()
    noise["y"] = np.random.default_rng(1).permutation(noise["y"].to_numpy())
    shuffled = tstr_scores(train, noise, test, schema)
    assert shuffled["ratio"]["r2"] < 0.2
    assert shuffled["tstr"]["mae"] > same["tstr"]["mae"]


def test_multiclass_and_single_class_synthetic_do_not_fail():
    train, test, schema = _regression_frames()
    schema = schema.model_copy(update={"target": "kind"})
    scores = tstr_scores(train, train, test, schema)
    assert "positive_class_share" not in scores
    assert scores["trtr"]["auc"] > 0.7
    one_class = train.assign(kind="u")
    degenerate = tstr_scores(train, one_class, test, schema)
    assert degenerate["tstr"]["auc"] == pytest.approx(0.5)
    assert degenerate["tstr"]["f1"] < scores["trtr"]["f1"]


def test_feature_encoder_shares_codes_across_frames():
    schema = schema_from_dict({"schema_version": 1, "name": "e", "columns": {
        "c": {"kind": "categorical"}, "o": {"kind": "ordinal", "order": ["lo", "hi"]}, "b": {"kind": "boolean"}}})
    a = pd.DataFrame({"c": ["x", "y", "x"], "o": ["lo", "hi", None], "b": pd.array([True, None, False])})
    b = pd.DataFrame({"c": ["y", "new", None], "o": ["hi", "hi", "lo"], "b": pd.array([False, False, True])})
    encoder = FeatureEncoder(schema, ["c", "o", "b"]).fit(a)
    xa, xb = encoder.transform(a), encoder.transform(b)
    assert xa[0, 0] == xa[2, 0] != xa[1, 0] == xb[0, 0]
    assert xb[1, 0] == 2.0 and np.isnan(xb[2, 0])  # unseen -> "other" code, missing -> NaN
    np.testing.assert_array_equal(xb[:, 1], [1.0, 1.0, 0.0])
    assert np.isnan(xa[1, 2]) and xa[0, 2] == 1.0
    assert encoder.categorical_mask.tolist() == [True, False, False]


def test_all_missing_feature_and_boolean_target():
    rng = np.random.default_rng(0)
    n = 600
    x = rng.normal(size=n)
    frame = pd.DataFrame({"a": x, "empty": np.nan, "t": pd.array(x + rng.normal(0, 0.5, n) > 0.4, dtype="boolean")})
    schema = schema_from_dict({"schema_version": 1, "name": "b", "target": "t", "columns": {
        "a": {"kind": "numerical"}, "empty": {"kind": "numerical"}, "t": {"kind": "boolean"}}})
    scores = tstr_scores(frame.iloc[:400], frame.iloc[:400], frame.iloc[400:], schema)
    assert scores["positive_class_share"] < 0.5
    assert scores["trtr"]["auc"] > 0.8


def test_thread_limit_reaches_openmp_in_a_fresh_process():
    """The limit must hold for the first fit of a process: OpenMP is loaded before it is limited."""
    import subprocess
    import sys

    code = ("from synthstruct.evaluation.utility import limited_threads\n"
            "from threadpoolctl import threadpool_info\n"
            "with limited_threads(1):\n"
            "    print(sorted({i['num_threads'] for i in threadpool_info() if i['user_api'] == 'openmp'}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "OMP_NUM_THREADS": ""})
    assert out.stdout.strip() == "[1]"
