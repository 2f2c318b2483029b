"""``coverage``: how much of the real data's range and categories the synthetic data covers.

For each categorical / ordinal / boolean column: the share of the categories seen at least ``rare_k``
times in train that appear in the synthetic data (categories rarer than that are never emitted on
purpose: value protection). For each numerical / datetime column: the synthetic range within
train's 1st–99th percentile range, as a share of that range. ``value`` is the mean over columns;
``reference`` the same for the holdout. Low coverage means the generator collapsed onto the common
cases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthstruct.evaluation.metric import EvaluationContext, MetricResult
from synthstruct.evaluation.encoding import as_numbers
from synthstruct.evaluation.fidelity import _signed_zero, present_counts, raw_counts
from synthstruct.schema.values import ONE_WAY_TYPES

__all__ = ["coverage"]


def _column_coverage(train: pd.Series, other: pd.Series, kind: str, rare_k: int,
                     train_counts: pd.Series | None = None, other_counts: pd.Series | None = None) -> float | None:
    if kind in ("numerical", "datetime"):
        real = as_numbers(train)
        real = real[~np.isnan(real)]
        values = as_numbers(other)
        values = values[~np.isnan(values)]
        if real.size == 0 or values.size == 0:
            return None
        low, high = np.quantile(real, [0.01, 0.99])
        if high <= low:
            return 1.0
        inside = np.clip(values, low, high)
        return float((inside.max() - inside.min()) / (high - low))
    counts = _text_counts(train) if train_counts is None else train_counts
    common = set(counts[counts >= rare_k].index)
    if not common:
        return None
    return len(common & set((_text_counts(other) if other_counts is None else other_counts).index)) / len(common)


def _text_counts(series: pd.Series, raw: pd.Series | None = None) -> pd.Series:
    """``series.dropna().astype(str).value_counts()``, counting distinct values before turning them into
    text (object columns of mixed types, where ``1 == True`` would merge, take the direct way)."""
    if raw is None:  # else the same counts, shared (:func:`~synthstruct.evaluation.fidelity.present_counts`)
        raw = series.value_counts(dropna=True, sort=False)
    plain = series.dtype.kind in "biuf" or (
        series.dtype == object and pd.api.types.infer_dtype(raw.index, skipna=True) in ONE_WAY_TYPES)
    if not plain or _signed_zero(series):
        return series.dropna().astype(str).value_counts()
    return pd.Series(raw.to_numpy(), index=pd.Index([str(v) for v in raw.index], dtype=object)).groupby(
        level=0, sort=False).sum()


def coverage(ctx: EvaluationContext) -> MetricResult:
    """Mean category / range coverage of the structured columns (synthetic vs train)."""
    rare_k = int(ctx.options.get("rare_k", 5))
    kinds = ctx.schema.kinds()
    per_column: dict[str, dict[str, float | None]] = {}
    for name in ctx.schema.structured_columns:
        numeric = kinds[name] in ("numerical", "datetime")

        def counts(side: str) -> pd.Series | None:
            return None if numeric else _text_counts(getattr(ctx, side)[name],
                                                     present_counts(raw_counts(ctx, side, name)))

        train_counts = counts("train")  # once
        synth = _column_coverage(ctx.train[name], ctx.synthetic[name], kinds[name], rare_k, train_counts,
                                 counts("synthetic"))
        ref = (_column_coverage(ctx.train[name], ctx.holdout[name], kinds[name], rare_k, train_counts,
                                counts("holdout")) if ctx.holdout is not None else None)
        per_column[name] = {"synthetic": synth, "holdout": ref}

    def mean(key: str) -> float | None:
        values = [v[key] for v in per_column.values() if v[key] is not None]
        return float(np.mean(values)) if values else None

    return MetricResult(name="coverage", category="fidelity", goal="maximize", value=mean("synthetic"),
                        reference=mean("holdout"), details={"columns": per_column, "rare_k": rare_k},
                        note=None if per_column else "no structured columns")
