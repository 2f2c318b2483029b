"""Fidelity: how closely the synthetic rows follow the real rows' distributions.

Each metric scores synthetic vs train and, as ``reference``, holdout vs train: what a fresh real
sample of the same kind scores, so a threshold can be relative to real sampling noise.

* :func:`column_shapes` — per structured column, 1 - Kolmogorov-Smirnov statistic (numerical,
  datetime; missing cells ignored) or 1 - total variation distance of the category frequencies
  (categorical, ordinal, boolean; missing is a category of its own, so a wrong missing rate costs
  score). Same scores as SDMetrics' KSComplement / TVComplement, except that TVComplement drops
  missing cells (Adult, independent resample: 0.9954 here vs 0.9955 there).
* :func:`pair_trends` — per pair of structured columns, 1 - |Δ Pearson| / 2 for two numerical
  columns (SDMetrics CorrelationSimilarity), else 1 - TVD of the joint frequency table with
  numerical / datetime columns cut at the train deciles, applied to both frames (SDMetrics
  ContingencySimilarity; its QualityReport instead cuts each frame into its own 10 equal-width
  bins). Every pair counts (SDMetrics 0.32's QualityReport by default only scores pairs whose
  real |Pearson| > 0.5 or Cramér's V > 0.3). Categorical pairs and numerical pairs give the same
  scores as SDMetrics on Adult (see ``evaluation/bench_fidelity.py``).
* :func:`discriminator_auc` — AUC of a gradient-boosted classifier telling synthetic from holdout rows.
* :func:`missing_patterns` — 1 - TVD of the row missingness patterns.

Plot data never exposes a single person's value: numerical bins span the train 1st-99th
percentiles (the outer bins also hold the tails), and category labels seen fewer than
``rare_k`` times in train are pooled into ``(other)``. id / pii / text columns are never used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthstruct.evaluation.metric import EvaluationContext, MetricResult
from synthstruct.schema.model import Schema
from synthstruct.schema.values import ONE_WAY_TYPES

__all__ = ["as_float", "as_labels", "column_shapes", "discriminator_auc", "missing_patterns", "pair_trends"]

MISSING = "(missing)"
OTHER = "(other)"
NUMERIC_KINDS = ("numerical", "datetime")
HIST_BINS = 20
TOP_CATEGORIES = 20
PAIR_BINS = 10
PAIR_MAX_LEVELS = 100
PAIR_MAX_ROWS = 20_000
DISCRIMINATOR_MAX_ROWS = 10_000


# ----------------------------------------------------------------------------- column helpers
def _columns(schema: Schema, *frames: pd.DataFrame | None) -> list[str]:
    return [c for c in schema.structured_columns if all(f is None or c in f.columns for f in frames)]


def as_float(series: pd.Series, kind: str) -> np.ndarray:
    """Numerical / datetime values as float64 (datetimes in ns), NaN for missing."""
    if kind == "datetime":
        from synthstruct.schema.values import datetime_as_float  # any resolution

        return datetime_as_float(series, "ns")
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")


def as_labels(series: pd.Series) -> pd.Series:
    """Category cells as text, missing cells as :data:`MISSING`."""
    return series.astype(object).where(series.notna(), MISSING).astype(str)


def _signed_zero(series: pd.Series) -> bool:
    """A float column holding ``-0.0``: counted with ``0.0`` but labelled apart from it."""
    if series.dtype.kind != "f":
        return False
    values = series.to_numpy()
    return bool(np.signbit(values[values == 0]).any())


def raw_counts(ctx: EvaluationContext, side: str, name: str) -> pd.Series:
    """``ctx.<side>[name].value_counts(dropna=False, sort=False)``, counted once per evaluation and shared by the
    metrics that count categories (column shapes, coverage, rare-category replay): 800k-row columns are hashed
    once instead of once per metric."""
    return ctx.shared(f"value_counts:{side}:{name}",
                      lambda c: getattr(c, side)[name].value_counts(dropna=False, sort=False))


def present_counts(raw: pd.Series) -> pd.Series:
    """``value_counts(dropna=True, sort=False)`` from the ``dropna=False`` counts of :func:`raw_counts`."""
    return raw[raw.index.notna()]


def label_counts(series: pd.Series, raw: pd.Series | None = None) -> pd.Series:
    """``as_labels(series).value_counts()`` (same labels, counts and order) without turning every cell into
    text: the distinct values are counted first, then labelled, and values with one label merged. Object
    columns of mixed types (where ``1 == True`` would merge cells that print differently) take the direct way."""
    if raw is None:
        raw = series.value_counts(dropna=False, sort=False)
    if (series.dtype == object and pd.api.types.infer_dtype(raw.index, skipna=True) not in ONE_WAY_TYPES) \
            or _signed_zero(series):
        return as_labels(series).value_counts()
    labels = [MISSING if pd.isna(v) else str(v) for v in raw.index]
    merged = pd.Series(raw.to_numpy(), index=pd.Index(labels, dtype=object)).groupby(level=0, sort=False).sum()
    return merged.sort_values(ascending=False)


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic of two sorted arrays without NaN."""
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / len(a)
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.max(np.abs(cdf_a - cdf_b)))


def _tvd(p: pd.Series, q: pd.Series) -> float:
    """Total variation distance of two frequency series (aligned on their index)."""
    p, q = p.align(q, fill_value=0.0)
    return float(0.5 * np.abs(p.to_numpy() - q.to_numpy()).sum())


def _sorted_present(values: np.ndarray) -> np.ndarray:
    return np.sort(values[~np.isnan(values)])


# ----------------------------------------------------------------------------- column shapes
def _iso(ns: float) -> str:
    """ISO text of a float ns timestamp, also beyond 1678-2261 (0001-01-01, 9999-12-31 sentinels)."""
    try:
        return pd.Timestamp(int(ns)).isoformat()
    except (OverflowError, ValueError):  # OutOfBoundsDatetime is a ValueError
        return str(np.datetime64(int(ns // 1e9), "s"))


def _numeric_histogram(real: np.ndarray, synthetic: np.ndarray, kind: str) -> dict[str, Any]:
    low, high = np.quantile(real, [0.01, 0.99])
    if high <= low:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, HIST_BINS + 1)

    def shares(values: np.ndarray) -> list[float]:
        idx = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, HIST_BINS - 1)
        return (np.bincount(idx, minlength=HIST_BINS) / max(len(values), 1)).round(6).tolist()

    edge_list: list[Any] = edges.tolist()
    if kind == "datetime":
        edge_list = [_iso(e) for e in edges]
    return {"type": "histogram", "edges": edge_list, "real": shares(real), "synthetic": shares(synthetic),
            "note": "outer bins include the tails beyond the train 1st/99th percentiles"}


def _category_frequencies(real: pd.Series, synthetic: pd.Series, rare_k: int) -> dict[str, Any]:
    """Plot data from two :func:`label_counts`."""
    counts = real
    shown = [c for c in counts.index if c != MISSING and counts[c] >= rare_k][:TOP_CATEGORIES]

    def shares(label_counts: pd.Series) -> dict[str, float]:
        freq = label_counts / label_counts.sum()
        out = {c: float(freq.get(c, 0.0)) for c in shown}
        out[MISSING] = float(freq.get(MISSING, 0.0))
        out[OTHER] = float(max(0.0, 1.0 - sum(out.values())))
        return {k: round(v, 6) for k, v in out.items()}

    return {"type": "frequencies", "categories": shown + [MISSING, OTHER], "real": shares(real),
            "synthetic": shares(synthetic)}


def _shape_score(kind: str, real: Any, other: Any) -> float | None:
    if kind in NUMERIC_KINDS:
        if len(real) == 0 or len(other) == 0:
            return None
        return 1.0 - ks_statistic(real, other)
    return 1.0 - _tvd(real / real.sum(), other / other.sum())  # label counts


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def column_shapes(ctx: EvaluationContext) -> MetricResult:
    """Mean over structured columns of 1 - KS (numerical, datetime) or 1 - TVD (categories)."""
    columns = _columns(ctx.schema, ctx.train, ctx.synthetic, ctx.holdout)
    rare_k = int(ctx.options.get("rare_k", 5))
    per_column: dict[str, Any] = {}
    plots: dict[str, Any] = {}
    for name in columns:
        kind = ctx.schema.columns[name].kind
        if kind in NUMERIC_KINDS:
            prep = lambda side: _sorted_present(as_float(getattr(ctx, side)[name], kind))  # noqa: E731
        else:
            prep = lambda side: label_counts(getattr(ctx, side)[name], raw_counts(ctx, side, name))  # noqa: E731
        real, synthetic = prep("train"), prep("synthetic")
        score = _shape_score(kind, real, synthetic)
        reference = _shape_score(kind, real, prep("holdout")) if ctx.holdout is not None else None
        metric = "ks_complement" if kind in NUMERIC_KINDS else "tv_complement"
        per_column[name] = {"kind": kind, "metric": metric, "score": score, "reference": reference}
        if kind in NUMERIC_KINDS and len(real) and len(synthetic):
            plots[name] = _numeric_histogram(real, synthetic, kind)
        elif kind not in NUMERIC_KINDS:
            plots[name] = _category_frequencies(real, synthetic, rare_k)
    value = _mean([c["score"] for c in per_column.values()])
    reference = _mean([c["reference"] for c in per_column.values()]) if ctx.holdout is not None else None
    note = None if value is not None else "no structured column to compare"
    return MetricResult("column_shapes", "fidelity", "maximize", value, reference=reference,
                        details={"columns": per_column, "plots": plots}, note=note)


# ----------------------------------------------------------------------------- pair trends
class _PairData:
    """Per-column codes (for joint frequency tables) and float values (for correlations) of the
    train, synthetic and holdout samples, with codes shared across the three frames."""

    def __init__(self, schema: Schema, columns: list[str], frames: dict[str, pd.DataFrame]) -> None:
        self.columns = columns
        self.numeric = [schema.columns[c].kind in NUMERIC_KINDS for c in columns]
        self.codes: dict[str, list[np.ndarray]] = {k: [] for k in frames}
        self.values: dict[str, list[np.ndarray | None]] = {k: [] for k in frames}
        self.levels: list[int] = []
        for name, numeric in zip(columns, self.numeric):
            kind = schema.columns[name].kind
            if numeric:
                floats = {k: as_float(f[name], kind) for k, f in frames.items()}
                codes, n_levels = self._bin(floats)
            else:
                floats = {k: None for k in frames}
                codes, n_levels = self._encode({k: as_labels(f[name]) for k, f in frames.items()})
            self.levels.append(n_levels)
            for k in frames:
                self.codes[k].append(codes[k])
                self.values[k].append(floats[k])

    @staticmethod
    def _bin(floats: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], int]:
        train = floats["train"]
        present = train[~np.isnan(train)]
        inner = np.unique(np.quantile(present, np.linspace(0, 1, PAIR_BINS + 1)[1:-1])) if len(present) else []
        n_bins = len(inner) + 1
        codes = {}
        for k, v in floats.items():
            c = np.searchsorted(inner, v, side="right")
            c[np.isnan(v)] = n_bins
            codes[k] = c
        return codes, n_bins + 1

    @staticmethod
    def _encode(labels: dict[str, pd.Series]) -> tuple[dict[str, np.ndarray], int]:
        counts = labels["train"].value_counts()
        levels = pd.Index(counts.index[:PAIR_MAX_LEVELS])
        codes = {}
        for k, v in labels.items():
            c = levels.get_indexer(v)
            c[c < 0] = len(levels)
            codes[k] = c
        return codes, len(levels) + 1


def _joint_shares(a: np.ndarray, b: np.ndarray, n_b: int, size: int) -> np.ndarray:
    return np.bincount(a * n_b + b, minlength=size) / len(a)


def _pearson_matrix(values: list[np.ndarray | None], numeric: list[bool]) -> pd.DataFrame:
    frame = pd.DataFrame({i: v for i, (v, n) in enumerate(zip(values, numeric)) if n})
    return frame.corr(method="pearson") if frame.shape[1] else frame


def _cramers_v(joint: np.ndarray, n_a: int, n_b: int) -> float:
    table = joint.reshape(n_a, n_b)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    k = min(table.shape)
    if k < 2:
        return 0.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0))
    phi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(min(phi2 / (k - 1), 1.0)))


def _correlation_ratio(values: np.ndarray, codes: np.ndarray) -> float:
    present = ~np.isnan(values)
    x, g = values[present], codes[present]
    if len(x) < 2 or np.var(x) == 0:
        return 0.0
    counts = np.bincount(g)
    means = np.bincount(g, weights=x) / np.maximum(counts, 1)
    between = float((counts * (means - x.mean()) ** 2).sum() / len(x))
    return float(np.sqrt(min(between / np.var(x), 1.0)))


def _pair_scores(data: _PairData, other: str) -> tuple[dict[tuple[int, int], float | None], np.ndarray,
                                                        np.ndarray]:
    """Per-pair similarity of ``other`` vs train, and the association matrices of both."""
    p = len(data.columns)
    corr = {k: _pearson_matrix(data.values[k], data.numeric) for k in ("train", other)}
    assoc = {k: np.eye(p) for k in ("train", other)}
    scores: dict[tuple[int, int], float | None] = {}
    for i in range(p):
        for j in range(i + 1, p):
            if data.numeric[i] and data.numeric[j]:
                r_real, r_other = corr["train"].loc[i, j], corr[other].loc[i, j]
                scores[(i, j)] = None if np.isnan(r_real) or np.isnan(r_other) else \
                    1.0 - abs(float(r_real) - float(r_other)) / 2.0
                for k in ("train", other):
                    r = corr[k].loc[i, j]
                    assoc[k][i, j] = assoc[k][j, i] = 0.0 if np.isnan(r) else float(r)
                continue
            n_i, n_j = data.levels[i], data.levels[j]
            joints = {k: _joint_shares(data.codes[k][i], data.codes[k][j], n_j, n_i * n_j)
                      for k in ("train", other)}
            scores[(i, j)] = 1.0 - 0.5 * float(np.abs(joints["train"] - joints[other]).sum())
            for k in ("train", other):
                if data.numeric[i]:
                    a = _correlation_ratio(data.values[k][i], data.codes[k][j])
                elif data.numeric[j]:
                    a = _correlation_ratio(data.values[k][j], data.codes[k][i])
                else:
                    a = _cramers_v(joints[k], n_i, n_j)
                assoc[k][i, j] = assoc[k][j, i] = a
    return scores, assoc["train"], assoc[other]


def _sample(frame: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    return frame.sample(n=max_rows, random_state=seed) if len(frame) > max_rows else frame


def pair_trends(ctx: EvaluationContext) -> MetricResult:
    """Mean over column pairs of correlation similarity (numerical pairs) or contingency similarity.

    Rows are sampled to at most ``options["pair_trends_max_rows"]`` (20 000) per table. The
    association matrices in ``details`` (for a heatmap) hold the signed Pearson correlation for two
    numerical columns, the correlation ratio η for a numerical and a categorical column, and
    Cramér's V for two categorical columns (missing is a category; numerical missing cells are
    ignored for η and Pearson).
    """
    columns = _columns(ctx.schema, ctx.train, ctx.synthetic, ctx.holdout)
    if len(columns) < 2:
        return MetricResult("pair_trends", "fidelity", "maximize", None, note="fewer than two structured columns")
    if len(ctx.synthetic) == 0:
        return MetricResult("pair_trends", "fidelity", "maximize", None, note="the synthetic table has no rows")
    max_rows = int(ctx.options.get("pair_trends_max_rows", PAIR_MAX_ROWS))
    frames = {"train": _sample(ctx.train, max_rows, ctx.seed), "synthetic": _sample(ctx.synthetic, max_rows, ctx.seed)}
    if ctx.holdout is not None:
        frames["holdout"] = _sample(ctx.holdout, max_rows, ctx.seed)
    data = _PairData(ctx.schema, columns, frames)
    scores, assoc_real, assoc_syn = _pair_scores(data, "synthetic")
    ref_scores = _pair_scores(data, "holdout")[0] if ctx.holdout is not None else {}
    pairs = [{"columns": [columns[i], columns[j]],
              "metric": "correlation" if data.numeric[i] and data.numeric[j] else "contingency",
              "score": s, "reference": ref_scores.get((i, j))} for (i, j), s in scores.items()]
    value = _mean(list(scores.values()))
    reference = _mean(list(ref_scores.values())) if ctx.holdout is not None else None
    details = {"pairs": pairs, "n_rows_used": {k: len(f) for k, f in frames.items()},
               "association": {"columns": columns, "real": assoc_real.round(4).tolist(),
                               "synthetic": assoc_syn.round(4).tolist(),
                               "measure": "Pearson r (numerical pairs), correlation ratio (numerical x "
                                          "categorical), Cramér's V (categorical pairs)"}}
    return MetricResult("pair_trends", "fidelity", "maximize", value, reference=reference, details=details)


# ----------------------------------------------------------------------------- discriminator
def _discriminator_auc(a: pd.DataFrame, b: pd.DataFrame, schema: Schema, columns: list[str], seed: int,
                       max_rows: int, n_threads: int) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from synthstruct.evaluation.utility import FeatureEncoder, limited_threads

    n = min(len(a), len(b), max_rows)
    a, b = a.sample(n=n, random_state=seed), b.sample(n=n, random_state=seed + 1)
    encoder = FeatureEncoder(schema, columns).fit(a, b)
    x = encoder.fill_empty_columns(np.vstack([encoder.transform(a), encoder.transform(b)]))
    y = np.r_[np.ones(n), np.zeros(n)]
    model = HistGradientBoostingClassifier(max_iter=50, categorical_features=encoder.categorical_mask,
                                           early_stopping=False, random_state=seed)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    with limited_threads(n_threads):
        proba = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, proba))


def discriminator_auc(ctx: EvaluationContext) -> MetricResult:
    """AUC of a classifier separating synthetic from holdout rows (0.5 = indistinguishable).

    3-fold cross-validated HistGradientBoosting on balanced samples of at most
    ``options["discriminator_max_rows"]`` (10 000) rows per side; ``reference`` is the AUC for
    train vs holdout (what two real samples score). Models fit on ``options["model_threads"]`` (1)
    threads.
    """
    if ctx.holdout is None or len(ctx.holdout) < 10 or len(ctx.synthetic) < 10:
        return MetricResult("discriminator_auc", "fidelity", "minimize", None,
                            note="needs a holdout and a synthetic table of at least 10 rows each")
    columns = _columns(ctx.schema, ctx.train, ctx.synthetic, ctx.holdout)
    max_rows = int(ctx.options.get("discriminator_max_rows", DISCRIMINATOR_MAX_ROWS))
    threads = int(ctx.options.get("model_threads", 1))
    value = _discriminator_auc(ctx.synthetic, ctx.holdout, ctx.schema, columns, ctx.seed, max_rows, threads)
    reference = _discriminator_auc(ctx.train, ctx.holdout, ctx.schema, columns, ctx.seed, max_rows, threads)
    return MetricResult("discriminator_auc", "fidelity", "minimize", value, reference=reference,
                        details={"n_rows_per_side": min(len(ctx.synthetic), len(ctx.holdout), max_rows),
                                 "columns": columns})


# ----------------------------------------------------------------------------- missing patterns
def _missing_flags(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Rows x columns: is the cell missing (column by column, without copying the frame)."""
    return np.column_stack([frame[c].isna().to_numpy() for c in columns])


def _pattern_frequencies(frame: pd.DataFrame | np.ndarray, columns: list[str]) -> pd.Series:
    flags = frame if isinstance(frame, np.ndarray) else _missing_flags(frame, columns)
    keys = pd.Series(["".join(row) for row in np.where(flags, "1", "0")]) if flags.shape[1] > 62 else \
        pd.Series(flags.astype(np.int64) @ (np.int64(1) << np.arange(flags.shape[1], dtype=np.int64)))
    return keys.value_counts(normalize=True)


def missing_patterns(ctx: EvaluationContext) -> MetricResult:
    """1 - TVD between the distributions of row missingness patterns (which columns are empty)."""
    columns = _columns(ctx.schema, ctx.train, ctx.synthetic, ctx.holdout)
    if not columns or len(ctx.synthetic) == 0:
        return MetricResult("missing_patterns", "fidelity", "maximize", None, note="nothing to compare")
    real_flags, synthetic_flags = _missing_flags(ctx.train, columns), _missing_flags(ctx.synthetic, columns)
    real = _pattern_frequencies(real_flags, columns)
    value = 1.0 - _tvd(real, _pattern_frequencies(synthetic_flags, columns))
    reference = None
    if ctx.holdout is not None and len(ctx.holdout):
        reference = 1.0 - _tvd(real, _pattern_frequencies(ctx.holdout, columns))
    shares = {c: {"real": float(real_flags[:, j].mean()), "synthetic": float(synthetic_flags[:, j].mean())}
              for j, c in enumerate(columns)}
    return MetricResult("missing_patterns", "fidelity", "maximize", value, reference=reference,
                        details={"missing_share": shares, "n_patterns_real": int(len(real))})
