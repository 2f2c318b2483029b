"""Utility: does a model trained on synthetic rows predict real rows as well as one trained on real rows?

Train-synthetic-test-real (TSTR) against train-real-test-real (TRTR) on ``schema.target``, with one
fixed fast model (scikit-learn ``HistGradientBoosting``, fixed ``random_state``, 60 iterations, no
early stopping) so that scores are comparable between releases.

* Classification (categorical / ordinal / boolean target): accuracy, F1 (binary: the positive class
  is the minority class of the real training rows; multiclass: macro), AUC (binary, or one-vs-rest
  macro over the classes present in the test rows).
* Regression (numerical target): R², MAE.

Features are the other structured columns: categorical columns become category codes (passed to the
model as categorical features, the most frequent 250 levels kept), ordinal columns their level
index, booleans 0/1, datetimes seconds since the epoch; ``id``/``pii``/``text`` are dropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthstruct.evaluation.metric import EvaluationContext, MetricResult
from synthstruct.schema.model import Schema

__all__ = ["CHILD_PROCESS_ROWS", "FeatureEncoder", "limited_threads", "tstr_scores", "utility"]

#: HistGradientBoosting accepts at most 255 bins per categorical feature (one is kept for "other").
MAX_CATEGORY_LEVELS = 250
DEFAULT_MAX_ITER = 60
DEFAULT_MAX_ROWS = 50_000
#: Real test rows scored at most (a seeded sample of the holdout beyond this; the accuracy standard error
#: on 50 000 rows is at most 0.0023, i.e. a 95 % interval of +-0.0045; F1's is wider for a rare positive class).
DEFAULT_MAX_TEST_ROWS = 50_000
#: ``process="auto"`` fits in a child process from this many training rows (real + synthetic, after the caps):
#: below it, starting the child (about 2 CPU s of imports) costs more than the other thread's GIL takes.
CHILD_PROCESS_ROWS = 20_000
PROCESS_MODES = ("in_process", "child", "auto")


def limited_threads(n_threads: int = 1) -> Any:
    """Context manager capping OpenMP/BLAS threads for the model fits.

    HistGradientBoosting's OpenMP loops slow down by 50x or more when the cores are shared with
    other work (measured: 4.6 s vs 0.06 s for a 1 400-row fit on a loaded 2-core machine), and
    these models are small, so metrics fit them on one thread by default.

    The model module is imported first: ``threadpool_limits`` only limits the OpenMP runtime when it is
    already loaded, and scikit-learn's extensions load it. Entered before that import (as a fresh
    process did), the first fits ran on every core's OpenMP threads regardless (measured on a loaded
    2-core machine: 88 s wall, 33 s CPU for the utility metric, against 2 s once the limit holds).
    """
    import sklearn.ensemble  # noqa: F401 - loads the OpenMP runtime the limit must see
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n_threads)


class FeatureEncoder:
    """Turns coerced frames into a float matrix with a shared, frame-independent encoding.

    Args:
        schema: The table schema.
        columns: Structured columns to encode, in order.
    """

    def __init__(self, schema: Schema, columns: list[str]) -> None:
        self.schema = schema
        self.columns = columns
        self.levels_: dict[str, pd.Index] = {}

    def fit(self, *frames: pd.DataFrame) -> FeatureEncoder:
        """Learn category levels from ``frames`` (most frequent first, capped)."""
        for name in self.columns:
            col = self.schema.columns[name]
            if col.kind == "categorical":
                counts = pd.concat([f[name].astype(str).where(f[name].notna()) for f in frames]).value_counts()
                self.levels_[name] = pd.Index(counts.index[:MAX_CATEGORY_LEVELS])
            elif col.kind == "ordinal":
                self.levels_[name] = pd.Index([str(v) for v in col.order])
        return self

    @property
    def categorical_mask(self) -> np.ndarray:
        """Which encoded columns are unordered categories."""
        return np.array([self.schema.columns[c].kind == "categorical" for c in self.columns], dtype=bool)

    def _encode_column(self, name: str, series: pd.Series) -> np.ndarray:
        kind = self.schema.columns[name].kind
        if kind in ("categorical", "ordinal"):
            levels = self.levels_[name]
            codes = levels.get_indexer(series.astype(str).where(series.notna())).astype("float64")
            other = len(levels) if kind == "categorical" else np.nan
            codes[codes < 0] = other
            codes[series.isna().to_numpy()] = np.nan
            return codes
        if kind == "datetime":
            from synthstruct.schema.values import datetime_as_float  # any resolution

            return datetime_as_float(series, "s")
        if kind == "boolean":
            return pd.Series(series, dtype="boolean").astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode ``frame`` as a (rows x columns) float64 matrix with NaN for missing cells."""
        if not self.columns:
            return np.zeros((len(frame), 0))
        return np.column_stack([self._encode_column(name, frame[name]) for name in self.columns])

    @staticmethod
    def fill_empty_columns(x: np.ndarray) -> np.ndarray:
        """Training matrix with all-missing columns set to 0 (HistGradientBoosting fails on them;
        a constant column is never split on, so test values in it do not matter)."""
        empty = np.isnan(x).all(axis=0)
        if empty.any():
            x = x.copy()
            x[:, empty] = 0.0
        return x


def _feature_columns(schema: Schema, frames: list[pd.DataFrame]) -> list[str]:
    return [c for c in schema.structured_columns
            if c != schema.target and all(c in f.columns for f in frames)]


def _labels(series: pd.Series) -> pd.Series:
    return series.astype(str).where(series.notna())


def _classifier(categorical_mask: np.ndarray, seed: int, max_iter: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=max_iter, categorical_features=categorical_mask,
                                          early_stopping=False, random_state=seed)


def _regressor(categorical_mask: np.ndarray, seed: int, max_iter: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=max_iter, categorical_features=categorical_mask,
                                         early_stopping=False, random_state=seed)


def _class_probabilities(model: Any, x: np.ndarray, y_train: np.ndarray, classes: list[str]) -> np.ndarray:
    """Probabilities for every class of ``classes`` (0 for classes the training rows lacked)."""
    proba = np.zeros((len(x), len(classes)))
    seen = np.unique(y_train)
    if len(seen) == 1:
        proba[:, classes.index(seen[0])] = 1.0
        return proba
    predicted = model.predict_proba(x)
    for j, label in enumerate(model.classes_):
        if label in classes:
            proba[:, classes.index(label)] = predicted[:, j]
    return proba


def _macro_ovr_auc(y: np.ndarray, proba: np.ndarray, classes: list[str]) -> float | None:
    from sklearn.metrics import roc_auc_score

    aucs = []
    for j, label in enumerate(classes):
        positive = y == label
        if positive.any() and (~positive).any():
            aucs.append(roc_auc_score(positive, proba[:, j]))
    return float(np.mean(aucs)) if aucs else None


def _classification_scores(model: Any, x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray,
                           y_te: np.ndarray, classes: list[str], positive: str | None) -> dict[str, float | None]:
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    if len(np.unique(y_tr)) > 1:
        model.fit(FeatureEncoder.fill_empty_columns(x_tr), y_tr)
    proba = _class_probabilities(model, x_te, y_tr, classes)
    predicted = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    scores: dict[str, float | None] = {"accuracy": float(accuracy_score(y_te, predicted))}
    if positive is not None:
        scores["f1"] = float(f1_score(y_te, predicted, pos_label=positive, average="binary", zero_division=0))
        truth = y_te == positive
        both = truth.any() and (~truth).any()
        scores["auc"] = float(roc_auc_score(truth, proba[:, classes.index(positive)])) if both else None
    else:
        scores["f1"] = float(f1_score(y_te, predicted, labels=classes, average="macro", zero_division=0))
        scores["auc"] = _macro_ovr_auc(y_te, proba, classes)
    return scores


def _regression_scores(model: Any, x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray,
                       y_te: np.ndarray) -> dict[str, float | None]:
    from sklearn.metrics import mean_absolute_error, r2_score

    model.fit(FeatureEncoder.fill_empty_columns(x_tr), y_tr)
    predicted = model.predict(x_te)
    return {"r2": float(r2_score(y_te, predicted)), "mae": float(mean_absolute_error(y_te, predicted))}


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return float(numerator / denominator)


def _cap_rows(frame: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    return frame.sample(n=max_rows, random_state=seed) if len(frame) > max_rows else frame


def _labelled_rows(frame: pd.DataFrame, target: str, max_rows: int, seed: int) -> tuple[pd.DataFrame, int]:
    """``_cap_rows(frame[frame[target].notna()], max_rows, seed)`` and the number of labelled rows, by position:
    the same rows as sampling the labelled copy (``DataFrame.sample`` draws ``RandomState(seed).choice`` positions),
    without copying every labelled row of a large table first."""
    keep = np.flatnonzero(frame[target].notna().to_numpy())
    n = len(keep)
    if n > max_rows:
        keep = keep[np.random.RandomState(seed).choice(n, size=max_rows, replace=False)]
    elif n == len(frame):
        return frame, n
    return frame.take(keep), n


def tstr_scores(train_real: pd.DataFrame, train_synthetic: pd.DataFrame, test_real: pd.DataFrame,
                schema: Schema, *, seed: int = 0, max_iter: int = DEFAULT_MAX_ITER,
                max_rows: int = DEFAULT_MAX_ROWS, n_threads: int = 1,
                max_test_rows: int = DEFAULT_MAX_TEST_ROWS, process: str = "in_process") -> dict[str, Any]:
    """Scores of one fixed model trained on real and on synthetic rows, both tested on real rows.

    Args:
        train_real: Real training rows (coerced).
        train_synthetic: Synthetic rows (coerced).
        test_real: Real test rows never used for fitting the synthesizer (coerced).
        schema: Schema with a ``target``.
        seed: ``random_state`` of the model and of row subsampling.
        max_iter: Boosting iterations.
        max_rows: Training rows used at most per model (sampled with ``seed``).
        n_threads: OpenMP threads for the model fits (see :func:`limited_threads`).
        max_test_rows: Real test rows scored at most (sampled with ``seed``; ``n_test`` is the number used,
            ``n_test_available`` the number there were).
        process: Where the two models are fitted: ``in_process``, ``child`` (a child process, see
            :mod:`synthstruct.evaluation.model_process`; in process if it cannot run) or ``auto`` (a child when
            the two training sets hold at least ``CHILD_PROCESS_ROWS`` rows together). The scores are the same.

    Returns:
        ``{"task", "target", "positive_class"?, "trtr": {...}, "tstr": {...}, "ratio": {...},
        "n_train_real", "n_train_synthetic", "n_test"}``; ratios are TSTR / TRTR per score (None
        when the TRTR score is not positive).

    Raises:
        ValueError: the schema has no target or a frame lacks the target column.
    """
    if process not in PROCESS_MODES:
        raise ValueError(f"process must be one of {PROCESS_MODES}, got {process!r}")
    return _tstr_scores(train_real, train_synthetic, test_real, schema, seed=seed, max_iter=max_iter,
                        max_rows=max_rows, max_test_rows=max_test_rows, n_threads=n_threads, process=process)


def _fit_and_score(job: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """TRTR and TSTR scores of one encoded job (numbers only; also what the child process of
    :mod:`synthstruct.evaluation.model_process` runs), on ``job["n_threads"]`` OpenMP threads."""
    mask, seed, max_iter = job["categorical_mask"], job["seed"], job["max_iter"]
    out: dict[str, dict[str, float | None]] = {}
    with limited_threads(job["n_threads"]):
        for name in ("trtr", "tstr"):
            x, y = job["x"][name], job["y"][name]
            if job["task"] == "regression":
                out[name] = _regression_scores(_regressor(mask, seed, max_iter), x, y, job["x_test"], job["y_test"])
            else:
                out[name] = _classification_scores(_classifier(mask, seed, max_iter), x, y, job["x_test"],
                                                   job["y_test"], job["classes"], job["positive"])
    return out


def _in_child(process: str, rows: int) -> bool:
    return process == "child" or (process == "auto" and rows >= CHILD_PROCESS_ROWS)


def _tstr_scores(train_real: pd.DataFrame, train_synthetic: pd.DataFrame, test_real: pd.DataFrame,
                 schema: Schema, *, seed: int, max_iter: int, max_rows: int,
                 max_test_rows: int = DEFAULT_MAX_TEST_ROWS, n_threads: int = 1,
                 process: str = "in_process") -> dict[str, Any]:
    target = schema.target
    if target is None or any(target not in f.columns for f in (train_real, train_synthetic, test_real)):
        raise ValueError("tstr_scores needs schema.target present in all three frames")
    (real, _), (synthetic, _), (test, n_test_available) = (
        _labelled_rows(train_real, target, max_rows, seed), _labelled_rows(train_synthetic, target, max_rows, seed),
        _labelled_rows(test_real, target, max_test_rows, seed))
    encoder = FeatureEncoder(schema, _feature_columns(schema, [real, synthetic, test])).fit(real, synthetic)
    x_real, x_syn, x_test = (encoder.transform(f) for f in (real, synthetic, test))
    result: dict[str, Any] = {"target": target, "n_train_real": len(real), "n_train_synthetic": len(synthetic),
                              "n_test": len(test)}
    if len(test) < n_test_available:
        result["n_test_available"] = n_test_available
    job: dict[str, Any] = {"categorical_mask": encoder.categorical_mask, "seed": seed, "max_iter": max_iter,
                           "n_threads": n_threads, "x_test": x_test, "classes": None, "positive": None}
    if schema.columns[target].kind == "numerical":
        ys = [pd.to_numeric(f[target], errors="coerce").to_numpy(dtype="float64") for f in (real, synthetic, test)]
        result["task"] = "regression"
    else:
        ys = [_labels(f[target]).to_numpy(dtype=object) for f in (real, synthetic, test)]
        counts = pd.Series(ys[0]).value_counts()
        job["classes"] = sorted(set(ys[0]) | set(ys[1]) | set(ys[2]))
        if len(counts) == 2:
            job["positive"] = str(counts.sort_index().idxmin())
            result["positive_class_share"] = float(counts[job["positive"]] / counts.sum())
        result["task"] = "classification"
    job.update(task=result["task"], x={"trtr": x_real, "tstr": x_syn}, y={"trtr": ys[0], "tstr": ys[1]},
               y_test=ys[2])
    scores = None
    if _in_child(process, len(real) + len(synthetic)):
        from synthstruct.evaluation.model_process import fit_in_child

        scores = fit_in_child(job)
    if scores is None:
        scores = _fit_and_score(job)
    result["trtr"], result["tstr"] = scores["trtr"], scores["tstr"]
    result["ratio"] = {k: _ratio(result["tstr"][k], result["trtr"][k])
                       for k in result["trtr"] if k != "mae"}
    return result


def _not_computed(note: str) -> MetricResult:
    return MetricResult("utility", "utility", "maximize", None, note=note)


def utility(ctx: EvaluationContext) -> MetricResult:
    """TSTR / TRTR ratio of F1 (classification) or R² (regression) on ``schema.target``.

    The test rows are ``ctx.options["utility_test"]`` when given, else the holdout. ``value`` is the
    ratio clipped to [0, 1] (the raw ratio is in ``details["ratio"]``); ``reference`` is None.
    Options: ``utility_max_iter`` (60), ``utility_max_rows`` (50 000), ``utility_max_test_rows`` (50 000),
    ``model_threads`` (1), ``utility_process`` (``auto``: the models are fitted in a child process from
    ``CHILD_PROCESS_ROWS`` training rows, so that the gate's other metrics do not starve them of the GIL).
    """
    target = ctx.schema.target
    if target is None:
        return _not_computed("the schema declares no target column")
    test = ctx.options.get("utility_test")
    if test is None:
        test = ctx.holdout
    if test is None or len(test) == 0:
        return _not_computed("no real test rows (no holdout and no utility_test option)")
    if any(target not in f.columns for f in (ctx.train, ctx.synthetic, test)):
        return _not_computed("the target column is missing from one of the tables")
    if ctx.train[target].notna().sum() == 0 or ctx.synthetic[target].notna().sum() == 0:
        return _not_computed("the target column has no values in the real or synthetic rows")
    if not [c for c in ctx.schema.structured_columns if c != target]:
        return _not_computed("no structured column besides the target to predict it from")
    scores = tstr_scores(ctx.train, ctx.synthetic, test, ctx.schema, seed=ctx.seed,
                         max_iter=int(ctx.options.get("utility_max_iter", DEFAULT_MAX_ITER)),
                         max_rows=int(ctx.options.get("utility_max_rows", DEFAULT_MAX_ROWS)),
                         n_threads=int(ctx.options.get("model_threads", 1)),
                         max_test_rows=int(ctx.options.get("utility_max_test_rows", DEFAULT_MAX_TEST_ROWS)),
                         process=str(ctx.options.get("utility_process", "auto")))
    key = "f1" if scores["task"] == "classification" else "r2"
    raw = scores["ratio"][key]
    if raw is None:
        return MetricResult("utility", "utility", "maximize", None, details=scores,
                            note=f"the model trained on real rows has no positive {key}; the ratio is undefined")
    return MetricResult("utility", "utility", "maximize", float(min(max(raw, 0.0), 1.0)), details=scores,
                        note=f"{key} ratio (train synthetic / train real, both tested on real rows)")
