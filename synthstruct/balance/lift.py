"""Proof of lift: does adding rows help a classifier on real rows it never saw?

Four ways to train the same fixed model (scikit-learn ``HistGradientBoostingClassifier``, one
thread, fixed iterations, no early stopping) on the real training rows, all tested on the real test
split:

* ``none`` — the training rows as they are;
* ``class_weight`` — the same rows, classes weighted inversely to their frequency;
* ``smote`` — SMOTE, or SMOTENC when there are categorical features (imbalanced-learn), to the same
  class counts as ours;
* ``synthstruct`` — the training rows plus our synthetic rows.

Scores: F1 of the minority class (at the model's default decision rule), PR-AUC (average precision)
of the minority class, balanced accuracy; mean, standard deviation, min and max over ``n_seeds``
seeds. The seed changes the model's ``random_state`` and the augmentation (SMOTE's neighbours, our
samples); the model itself is deterministic without early stopping, so ``none`` and
``class_weight`` show no spread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.evaluation.utility import FeatureEncoder, limited_threads
from synthstruct.schema.model import Schema

__all__ = ["METHODS", "SCORES", "lift_table", "summarise", "verdicts"]

log = logging.getLogger(__name__)

METHODS = ("none", "class_weight", "smote", "synthstruct")
SCORES = ("minority_f1", "pr_auc", "balanced_accuracy")
DEFAULT_MAX_ITER = 100
SMOTE_NEIGHBOURS = 5


def _label_text(series: pd.Series) -> np.ndarray:
    return series.astype(str).to_numpy(dtype=object)


def _fill_for_smote(x: np.ndarray, categorical: np.ndarray, medians: np.ndarray) -> np.ndarray:
    """SMOTE cannot take NaN: numbers get the training median, categories an extra "missing" code."""
    x = x.copy()
    for j in range(x.shape[1]):
        missing = np.isnan(x[:, j])
        if missing.any():
            x[missing, j] = (np.nanmax(x[:, j], initial=0.0) + 1.0) if categorical[j] else medians[j]
    return x


def _smote(x: np.ndarray, y: np.ndarray, categorical: np.ndarray, plan: Mapping[str, int],
           seed: int) -> tuple[np.ndarray, np.ndarray]:
    from imblearn.over_sampling import SMOTE, SMOTENC

    medians = np.array([np.nanmedian(x[:, j]) if not np.isnan(x[:, j]).all() else 0.0 for j in range(x.shape[1])])
    filled = _fill_for_smote(x, categorical, np.nan_to_num(medians))
    have = pd.Series(y).value_counts()
    strategy = {label: int(have[label] + n) for label, n in plan.items()}
    if categorical.any() and not categorical.all():
        sampler: Any = SMOTENC(categorical_features=[int(j) for j in np.flatnonzero(categorical)], sampling_strategy=strategy,
                               k_neighbors=SMOTE_NEIGHBOURS, random_state=seed)
    else:
        sampler = SMOTE(sampling_strategy=strategy, k_neighbors=SMOTE_NEIGHBOURS, random_state=seed)
    return sampler.fit_resample(filled, y)


def _scores(model: Any, x_test: np.ndarray, y_test: np.ndarray, minority: str) -> dict[str, float]:
    from sklearn.metrics import (
        average_precision_score,
        balanced_accuracy_score,
        f1_score,
    )

    predicted = model.predict(x_test)
    column = list(model.classes_).index(minority)
    truth = y_test == minority
    return {
        "minority_f1": float(f1_score(truth, predicted == minority, zero_division=0)),
        "pr_auc": float(average_precision_score(truth, model.predict_proba(x_test)[:, column])),
        "balanced_accuracy": float(balanced_accuracy_score(y_test, predicted)),
    }


def summarise(runs: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per score: mean, std (population), min, max over seeds."""
    out = {}
    for score in SCORES:
        values = np.array([r[score] for r in runs], dtype=float)
        out[score] = {"mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()),
                      "max": float(values.max())}
    return out


def lift_table(train: pd.DataFrame, test: pd.DataFrame, schema: Schema, *, plan: Mapping[Any, int],
               synthetic_for_seed: Callable[[int], pd.DataFrame], seeds: list[int], minority: Any,
               max_iter: int = DEFAULT_MAX_ITER, n_threads: int = 1) -> dict[str, Any]:
    """Score the four methods on the real test rows over ``seeds``.

    Args:
        train: Real training rows (coerced), the only rows any method learns from.
        test: Real test rows (coerced), never used for fitting anything.
        schema: Schema with ``target``.
        plan: Class -> synthetic rows added (SMOTE adds the same numbers).
        synthetic_for_seed: Our synthetic rows (coerced) for a seed.
        seeds: Evaluation seeds.
        minority: The class whose F1 and PR-AUC are reported.
        max_iter: Boosting iterations of the fixed model.
        n_threads: OpenMP threads for the fits (see :func:`limited_threads`).

    Returns:
        ``{"methods": {method: {score: {mean, std, min, max}}}, "runs": {method: [per-seed scores]},
        "seconds": {method: total fit seconds}, "minority_class_share", "n_train", "n_test", "seeds",
        "model", "smote_variant"}``.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    target = schema.target
    features = [c for c in schema.structured_columns if c != target]
    train = train[train[target].notna()]
    test = test[test[target].notna()]
    encoder = FeatureEncoder(schema, features).fit(train)
    categorical = encoder.categorical_mask
    x_train, x_test = encoder.transform(train), encoder.transform(test)
    y_train, y_test = _label_text(train[target]), _label_text(test[target])
    minority_text = str(minority)
    plan_text = {str(label): int(n) for label, n in plan.items() if int(n) > 0}

    def model(seed: int, class_weight: str | None = None) -> Any:
        return HistGradientBoostingClassifier(max_iter=max_iter, categorical_features=categorical,
                                              early_stopping=False, random_state=seed, class_weight=class_weight)

    runs: dict[str, list[dict[str, float]]] = {m: [] for m in METHODS}
    seconds = dict.fromkeys(METHODS, 0.0)
    with limited_threads(n_threads):
        for seed in seeds:
            for method in METHODS:
                start = time.perf_counter()
                if method in ("none", "class_weight"):
                    x, y = x_train, y_train
                elif method == "smote":
                    x, y = _smote(x_train, y_train, categorical, plan_text, seed)
                else:
                    synthetic = synthetic_for_seed(seed)
                    x = np.vstack([x_train, encoder.transform(synthetic)])
                    y = np.concatenate([y_train, _label_text(synthetic[target])])
                fitted = model(seed, "balanced" if method == "class_weight" else None)
                fitted.fit(FeatureEncoder.fill_empty_columns(x), y)
                runs[method].append(_scores(fitted, x_test, y_test, minority_text))
                seconds[method] += time.perf_counter() - start
            log.info("lift: seed %s done", seed)
    return {
        "methods": {m: summarise(r) for m, r in runs.items()},
        "runs": runs,
        "seconds": {m: round(s, 3) for m, s in seconds.items()},
        "minority_class_share": float(np.mean(y_train == minority_text)),
        "n_train": len(train),
        "n_test": len(test),
        "n_test_minority": int(np.sum(y_test == minority_text)),
        "seeds": list(seeds),
        "model": f"HistGradientBoostingClassifier(max_iter={max_iter}, early_stopping=False)",
        "smote_variant": "SMOTENC" if categorical.any() and not categorical.all() else "SMOTE",
    }


def verdicts(lift: dict[str, Any]) -> list[str]:
    """Plain sentences comparing ours with no augmentation and with SMOTE (means over seeds)."""
    methods = lift["methods"]
    ours = methods["synthstruct"]
    lines = []
    for other, name in (("none", "no augmentation"), ("smote", lift.get("smote_variant", "SMOTE"))):
        for score, label in (("minority_f1", "minority-class F1"), ("pr_auc", "PR-AUC")):
            a, b = ours[score]["mean"], methods[other][score]["mean"]
            spread = max(ours[score]["std"], methods[other][score]["std"])
            if abs(a - b) <= spread:
                word = "within the seed spread of"
            else:
                word = "above" if a > b else "BELOW"
            lines.append(f"{label}: ours {a:.3f} is {word} {name} ({b:.3f}).")
    return lines
