"""Privacy metrics of the release gate: copies, distances, membership inference, value replay.

Each function takes an :class:`~synthstruct.evaluation.metric.EvaluationContext` and returns a
:class:`~synthstruct.evaluation.metric.MetricResult`. ``reference`` is what the holdout (real rows the
synthesizer never saw) scores, so that thresholds can be relative to fresh real data; without a
holdout the value is still computed where possible, ``reference`` is ``None`` and ``note`` says why.
``details`` hold aggregated numbers only (counts, quantiles, histograms), never cell values.

Distance-based metrics share ``neighbour_distances(ctx)`` (:class:`synthstruct.privacy.distances.NeighbourDistances`),
where "train" is a seeded subsample of the holdout's size whenever a holdout exists.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from synthstruct._intervals import clopper_pearson
from synthstruct.evaluation.metric import EvaluationContext, MetricResult
from synthstruct.privacy.distances import neighbour_distances
from synthstruct.evaluation.encoding import as_numbers
from synthstruct.evaluation.fidelity import present_counts, raw_counts

__all__ = [
    "dcr",
    "dcr_share",
    "exact_match",
    "extreme_value_replay",
    "auc_interval",
    "clopper_pearson",
    "membership_auc",
    "membership_inference",
    "near_copies",
    "nndr",
    "pii_replay",
    "rare_category_replay",
    "roc_curve",
    "wilson_interval",
]

_NO_HOLDOUT = "no holdout was given, so there is no real-data reference"
_NO_COLUMNS = "the schema has no structured column present in every table"
_HIST_BINS = 30


# ---------------------------------------------------------------------------- statistics
def wilson_interval(successes: int, total: int, *, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial rate (two-sided 95 % by default)."""
    if total <= 0:
        return (0.0, 1.0)
    p = successes / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def z_for(alpha: float) -> float:
    """Two-sided normal quantile: ``z`` with ``P(|Z| > z) = alpha`` (1.96 for 0.05)."""
    from scipy.special import ndtri  # scipy.special: no scipy.stats import on the gate's path

    return float(ndtri(1.0 - alpha / 2.0))


def auc_interval(auc: float, n_pos: int, n_neg: int, *, z: float = 1.959964) -> tuple[float, float]:
    """Hanley–McNeil (1982) normal interval of a ROC AUC from ``n_pos`` positives and ``n_neg`` negatives."""
    if n_pos <= 0 or n_neg <= 0:
        return (0.0, 1.0)
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    half = z * math.sqrt(max(var, 0.0))
    return (max(0.0, auc - half), min(1.0, auc + half))


def roc_curve(member_scores: np.ndarray, nonmember_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates for every threshold "score >= t" (ties share a threshold)."""
    scores = np.concatenate([member_scores, nonmember_scores])
    labels = np.concatenate([np.ones(len(member_scores)), np.zeros(len(nonmember_scores))])
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    last_of_tie = np.r_[np.nonzero(np.diff(scores))[0], len(scores) - 1]
    tp = np.cumsum(labels)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    tpr = np.r_[0.0, tp / max(len(member_scores), 1)]
    fpr = np.r_[0.0, fp / max(len(nonmember_scores), 1)]
    return fpr, tpr


def _auc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def _quantiles(values: np.ndarray) -> dict[str, float]:
    values = values[~np.isnan(values)]
    if values.size == 0:
        return {}
    q = np.quantile(values, [0.05, 0.25, 0.5, 0.75])
    return {"p05": float(q[0]), "p25": float(q[1]), "median": float(q[2]), "p75": float(q[3]),
            "mean": float(values.mean())}


def _histograms(named: dict[str, np.ndarray]) -> dict[str, Any]:
    """Histograms with shared bin edges (for plots)."""
    present = [v[~np.isnan(v)] for v in named.values() if v is not None]
    high = max((float(v.max()) for v in present if v.size), default=1.0)
    edges = np.linspace(0.0, high if high > 0 else 1.0, _HIST_BINS + 1)
    out: dict[str, Any] = {"bin_edges": [round(float(e), 6) for e in edges]}
    for name, values in named.items():
        if values is not None:
            out[name] = np.histogram(values[~np.isnan(values)], bins=edges)[0].astype(int).tolist()
    return out


def _result(name: str, goal: str, value: float | None, **kwargs: Any) -> MetricResult:
    return MetricResult(name=name, category="privacy", goal=goal, value=value, **kwargs)


def _no_columns(ctx: EvaluationContext) -> bool:
    return neighbour_distances(ctx).encoder.n_columns == 0


# ---------------------------------------------------------------------------- copies
def _count_in(keys: np.ndarray, among: np.ndarray) -> int:
    """How many of ``keys`` occur in ``among`` (``np.isin(...).sum()`` by a hash table: 20x faster on 800k keys)."""
    return int(pd.Series(keys, copy=False).isin(among).sum()) if len(keys) else 0


def exact_match(ctx: EvaluationContext) -> MetricResult:
    """Share of synthetic rows identical to some train row on the structured columns (NaN == NaN).

    ``reference`` is what a fresh real sample of the train's size would score. Match shares grow
    with the size of the compared set, and the holdout is smaller than train, so the raw holdout
    share understates it. The reference is therefore size-adjusted: the holdout share times the
    growth factor measured on train itself (full-train share / share for a seeded train subsample
    of the holdout's size). For copied rows that factor does not hide the copies: copies inflate
    the full-train share but not the holdout share. ``details.excess`` = value - reference; the raw
    holdout share and the factor are in ``details`` too.
    """
    if _no_columns(ctx):
        return _result("exact_match", "minimize", None, note=_NO_COLUMNS)
    encoder = neighbour_distances(ctx).encoder
    synthetic_keys = encoder.row_keys(ctx.synthetic)
    n = len(synthetic_keys)
    train_keys = encoder.row_keys(ctx.train)
    matches = _count_in(synthetic_keys, train_keys)
    value = matches / n if n else None
    details: dict[str, Any] = {"synthetic_rows": n, "train_rows": len(ctx.train), "matches_train": matches,
                               "distinct_synthetic_rows": int(len(pd.unique(synthetic_keys)))}
    reference, note, reference_ci = None, _NO_HOLDOUT, None
    if ctx.holdout is not None and len(ctx.holdout) and n:
        holdout_matches = _count_in(synthetic_keys, encoder.row_keys(ctx.holdout))
        raw_reference = holdout_matches / n
        factor = 1.0
        if len(train_keys) > len(ctx.holdout):
            rng = np.random.default_rng(ctx.seed)
            subsample = rng.choice(train_keys, size=len(ctx.holdout), replace=False)
            sub_matches = _count_in(synthetic_keys, subsample)
            details["matches_train_subsample"] = sub_matches
            if sub_matches:
                factor = matches / sub_matches
        reference, note = raw_reference * factor, None
        low, high = wilson_interval(holdout_matches, n)
        reference_ci = (low * factor, high * factor)
        details.update(holdout_rows=len(ctx.holdout), matches_holdout=holdout_matches,
                       raw_reference=raw_reference, size_factor=factor)
        if value is not None:
            details["excess"] = value - reference
    result = _result("exact_match", "minimize", value, reference=reference,
                     ci=wilson_interval(matches, n) if n else None, details=details, note=note)
    result.reference_ci = reference_ci
    return result


# ---------------------------------------------------------------------------- distances
def dcr(ctx: EvaluationContext) -> MetricResult:
    """Median distance to the closest train record (higher is more private).

    ``reference`` is the median distance of the synthetic rows to the holdout, with train subsampled to
    the holdout's size. ``details`` adds 5th percentiles, the holdout-to-train distances (what a fresh
    real row scores) and histograms.
    """
    if _no_columns(ctx):
        return _result("dcr", "maximize", None, note=_NO_COLUMNS)
    if len(ctx.synthetic) == 0:
        return _result("dcr", "maximize", None, note="the synthetic table has no rows, so it has no distances")
    dist = neighbour_distances(ctx)
    to_train = dist.synthetic_to_train.distance
    details: dict[str, Any] = dict(dist.describe())
    details["synthetic_to_train"] = _quantiles(to_train)
    hists: dict[str, np.ndarray | None] = {"synthetic_to_train": to_train}
    reference, note = None, _NO_HOLDOUT
    if dist.has_holdout:
        to_holdout = dist.synthetic_to_holdout.distance
        fresh = dist.holdout_to_train.distance
        reference, note = float(np.nanmedian(to_holdout)), None
        details["synthetic_to_holdout"] = _quantiles(to_holdout)
        details["holdout_to_train"] = _quantiles(fresh)
        hists.update(synthetic_to_holdout=to_holdout, holdout_to_train=fresh)
    details["histogram"] = _histograms(hists)
    return _result("dcr", "maximize", float(np.nanmedian(to_train)), reference=reference,
                   details=details, note=note)


def dcr_share(ctx: EvaluationContext) -> MetricResult:
    """Share of synthetic rows closer to train than to the holdout (equal-size sets; 0.5 expected).

    Ties count one half. Reported for context: never blocking on its own.
    """
    note = "reported for context; 0.5 is expected when the synthetic rows are no closer to train " \
           "than to fresh real rows; never blocking on its own"
    if _no_columns(ctx):
        return _result("dcr_share", "report", None, note=_NO_COLUMNS)
    dist = neighbour_distances(ctx)
    if not dist.has_holdout:
        return _result("dcr_share", "report", None, note=_NO_HOLDOUT + "; " + note)
    to_train = dist.synthetic_to_train.distance
    to_holdout = dist.synthetic_to_holdout.distance
    closer = int((to_train < to_holdout).sum())
    ties = int((to_train == to_holdout).sum())
    n = len(to_train)
    value = (closer + 0.5 * ties) / n if n else None
    details = dict(dist.describe(), closer_to_train=closer, ties=ties, closer_to_holdout=n - closer - ties)
    return _result("dcr_share", "report", value, reference=0.5,
                   ci=wilson_interval(round(closer + 0.5 * ties), n) if n else None,
                   details=details, note=note)


def nndr(ctx: EvaluationContext) -> MetricResult:
    """Median nearest / second-nearest distance ratio of synthetic rows to train (low = singled out).

    ``reference`` is the same median against the holdout (train subsampled to its size).
    """
    if _no_columns(ctx):
        return _result("nndr", "maximize", None, note=_NO_COLUMNS)
    dist = neighbour_distances(ctx)
    ratio = dist.synthetic_to_train.ratio()
    details: dict[str, Any] = dict(dist.describe(), synthetic_to_train=_quantiles(ratio))
    reference, note = None, _NO_HOLDOUT
    if dist.has_holdout:
        holdout_ratio = dist.synthetic_to_holdout.ratio()
        reference, note = float(np.nanmedian(holdout_ratio)), None
        details["synthetic_to_holdout"] = _quantiles(holdout_ratio)
    value = float(np.nanmedian(ratio)) if np.isfinite(ratio).any() else None
    return _result("nndr", "maximize", value, reference=reference, details=details, note=note)


def _membership_scores(ctx: EvaluationContext) -> tuple[np.ndarray, np.ndarray] | MetricResult | None:
    dist = neighbour_distances(ctx)
    if not dist.has_holdout:
        return None
    return -dist.train_to_synthetic.distance, -dist.holdout_to_synthetic.distance


def membership_inference(ctx: EvaluationContext) -> MetricResult:
    """Distance attack: a real record scores ``-distance`` to its nearest synthetic row.

    Members are train rows (subsampled to the holdout's size), non-members the holdout rows. ``value``
    is the true-positive rate at 1 % false-positive rate; ``ci`` is its exact (Clopper–Pearson) 95 %
    interval over the members at that threshold; ``reference`` is 0.01, what guessing achieves.
    ``details`` hold the AUC with its Hanley–McNeil 95 % interval, the TPR at 0.1 % FPR and an ROC
    curve. The AUC is also the metric ``membership_auc``, so that a policy can check it.
    """
    if _no_columns(ctx):
        return _result("membership_inference", "minimize", None, note=_NO_COLUMNS)
    scores = _membership_scores(ctx)
    if scores is None:
        return _result("membership_inference", "minimize", None,
                       note=_NO_HOLDOUT + "; the attack needs holdout rows as non-members")
    members, nonmembers = scores  # type: ignore[misc]
    fpr, tpr = roc_curve(members, nonmembers)
    at_1pct = float(tpr[fpr <= 0.01].max())
    hits = int(round(at_1pct * len(members)))
    auc = _auc(fpr, tpr)
    grid = np.linspace(0.0, 1.0, 101)
    curve = [float(tpr[fpr <= g].max()) for g in grid]
    details = dict(neighbour_distances(ctx).describe(), auc=auc, auc_ci=list(auc_interval(auc, len(members), len(nonmembers))),
                   tpr_at_0_1pct_fpr=float(tpr[fpr <= 0.001].max()), members=len(members),
                   nonmembers=len(nonmembers), members_detected_at_1pct_fpr=hits,
                   interval="Clopper-Pearson 95 % of the TPR at the 1 % FPR threshold",
                   roc={"fpr": [round(float(g), 2) for g in grid], "tpr": curve})
    return _result("membership_inference", "minimize", at_1pct, reference=0.01,
                   ci=clopper_pearson(hits, len(members)), details=details)


def membership_auc(ctx: EvaluationContext) -> MetricResult:
    """ROC AUC of the distance membership attack (0.5 = guessing), with its Hanley–McNeil 95 % interval.

    The same scores as :func:`membership_inference`. The AUC summarises the whole curve: rows kept
    close to their training originals (copies with small noise) push it towards 1 even when no
    single threshold separates members at 1 % false positives.
    """
    if _no_columns(ctx):
        return _result("membership_auc", "minimize", None, min_value=0.0, note=_NO_COLUMNS)
    scores = _membership_scores(ctx)
    if scores is None:
        return _result("membership_auc", "minimize", None, note=_NO_HOLDOUT + "; the attack needs holdout "
                                                                             "rows as non-members")
    members, nonmembers = scores  # type: ignore[misc]
    auc = _auc(*roc_curve(members, nonmembers))
    return _result("membership_auc", "minimize", auc, reference=0.5,
                   ci=auc_interval(auc, len(members), len(nonmembers)),
                   details={"members": len(members), "nonmembers": len(nonmembers),
                            "interval": "Hanley-McNeil 95 %"})


def near_copies(ctx: EvaluationContext) -> MetricResult:
    """Share of synthetic rows closer to a training row than fresh real rows usually get.

    The tolerance is learned from the data: the 1st percentile of the holdout-to-train
    nearest-neighbour distances (what a real person the model never saw scores; ``options
    ["near_copy_quantile"]``, default 0.01). ``value`` is the share of synthetic rows within that
    distance of a train row (train subsampled to the holdout's size); ``reference`` the share within
    it of a holdout row, the same test against real rows the model never saw. Both have Wilson 95 %
    intervals, so ``minus_reference_lower`` reads "confidently more near copies of training rows than
    of unseen rows". ``details.holdout_share`` is the holdout's own share (about the quantile, by
    construction). Catches copies with small noise, which ``exact_match`` misses.
    """
    if _no_columns(ctx):
        return _result("near_copies", "minimize", None, note=_NO_COLUMNS)
    dist = neighbour_distances(ctx)
    if not dist.has_holdout:
        return _result("near_copies", "minimize", None,
                       note=_NO_HOLDOUT + "; the tolerance is learned from holdout-to-train distances")
    quantile = float(ctx.options.get("near_copy_quantile", 0.01))
    fresh = dist.holdout_to_train.distance
    fresh = fresh[~np.isnan(fresh)]
    tolerance = float(np.quantile(fresh, quantile)) if fresh.size else 0.0
    to_train, to_holdout = dist.synthetic_to_train.distance, dist.synthetic_to_holdout.distance
    n = len(to_train)
    near_train, near_holdout = int((to_train <= tolerance).sum()), int((to_holdout <= tolerance).sum())
    if not n:
        return _result("near_copies", "minimize", None, note="there are no synthetic rows")
    result = _result("near_copies", "minimize", near_train / n, reference=near_holdout / n,
                     ci=wilson_interval(near_train, n),
                     details=dict(dist.describe(), tolerance=tolerance, quantile=quantile,
                                  near_train=near_train, near_holdout=near_holdout,
                                  holdout_share=float((fresh <= tolerance).mean()) if fresh.size else None,
                                  excess=(near_train - near_holdout) / n))
    result.reference_ci = wilson_interval(near_holdout, n)
    return result


# ---------------------------------------------------------------------------- value replay
def _normalised(series: pd.Series) -> pd.Series:
    """Present cells as stripped, case-folded text; each distinct value is normalised once (float columns and
    object columns that are not all text, where ``1 == True`` would merge cells that print differently, are
    done cell by cell)."""
    present = series[series.notna()]
    if _cell_by_cell(present):  # floats: -0.0 and 0.0 are one value but print apart
        return present.astype(str).str.strip().str.casefold()
    codes, distinct = _normalised_codes(present)
    return pd.Series(distinct[codes], index=present.index, dtype=object)


def _normalised_codes(present: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, texts)`` of present cells of one type: the normalised text of row ``i`` is ``texts[codes[i]]``
    (texts may repeat: distinct values can normalise alike)."""
    codes, distinct = pd.factorize(present)
    texts = pd.Series(distinct).astype(str)
    if present.dtype.kind not in "iu":  # an integer prints without spaces or letters to case-fold
        texts = texts.str.strip().str.casefold()
    return codes, texts.to_numpy(dtype=object)


def _replayed(synthetic: pd.Series, train: pd.Series) -> dict[str, int]:
    """pii_replay's counts for one column: synthetic cells, those whose normalised text is a normalised train
    value, and how many distinct normalised texts they hold. Distinct values are compared, then spread back
    to the cells by code (the cell-by-cell counts, without a normalised copy of every cell)."""
    syn_present, real_present = synthetic[synthetic.notna()], train[train.notna()]
    syn_int, real_int = _integers(syn_present), _integers(real_present)
    if syn_int is not None and real_int is not None:  # integers (id columns): a text is equal iff the number is
        codes, distinct = pd.factorize(syn_int)
        known = pd.Index(distinct).isin(pd.unique(real_int))
        return {"synthetic_values": int(len(codes)), "replayed": int(known[codes].sum()) if len(codes) else 0,
                "distinct_replayed": int(known.sum())}
    if _cell_by_cell(syn_present) or _cell_by_cell(real_present):
        normal = _normalised(synthetic)
        hit = normal.isin(set(_normalised(train).unique()))
        return {"synthetic_values": int(len(normal)), "replayed": int(hit.sum()),
                "distinct_replayed": int(normal[hit].nunique())}
    codes, texts = _normalised_codes(syn_present)
    _, real_texts = _normalised_codes(real_present)
    known = pd.Index(texts).isin(pd.Index(real_texts).unique()) if len(texts) else np.zeros(0, dtype=bool)
    hit_rows = known[codes] if len(codes) else np.zeros(0, dtype=bool)
    used = np.unique(codes[hit_rows]) if hit_rows.any() else np.zeros(0, dtype=np.intp)
    return {"synthetic_values": int(len(codes)), "replayed": int(hit_rows.sum()),
            "distinct_replayed": int(pd.Index(texts[used]).nunique())}


def _integers(present: pd.Series) -> np.ndarray | None:
    """Present cells as int64 / uint64 when every one is an integer (integer dtypes, or Python ints in an object
    column: generated ids), else ``None``. ``str`` of an integer has no space or letter case, and two integers
    print alike exactly when they are equal, so these compare as numbers."""
    if present.dtype.kind in "iu":
        return present.to_numpy()
    if present.dtype != object or not len(present) or pd.api.types.infer_dtype(present, skipna=False) != "integer":
        return None
    try:
        return present.to_numpy(dtype="int64")
    except (OverflowError, ValueError, TypeError):  # beyond int64
        return None


def _cell_by_cell(present: pd.Series) -> bool:
    """Float columns and object columns that are not all text, where ``1 == True`` would merge cells that
    print differently: normalised cell by cell."""
    return present.dtype.kind == "f" or (
        present.dtype == object and pd.api.types.infer_dtype(present, skipna=True) not in ("string", "empty"))


def pii_replay(ctx: EvaluationContext) -> MetricResult:
    """Synthetic values of ``pii`` and ``id`` columns equal to a real train value (strip, casefold).

    ``value`` is the number of such synthetic cells; ``details`` give counts per column.
    """
    per_column: dict[str, dict[str, int]] = {}
    for name in ctx.schema.columns_of("pii", "id"):
        if name not in ctx.train.columns or name not in ctx.synthetic.columns:
            continue
        per_column[name] = _replayed(ctx.synthetic[name], ctx.train[name])
    if not per_column:
        return _result("pii_replay", "minimize", 0.0, min_value=0.0, max_value=math.inf,
                       details={"columns": {}}, note="the schema declares no pii or id column")
    total = sum(c["replayed"] for c in per_column.values())
    return _result("pii_replay", "minimize", float(total), min_value=0.0, max_value=math.inf,
                   details={"columns": per_column},
                   note="id columns generated as sequences replay small numbers by construction")


def _rare_replay(train: pd.Series, other: pd.Series, k: int, counts: pd.Series | None = None) -> tuple[int, int, int]:
    """(rare train values, distinct rare values in ``other``, rows of ``other`` holding one); ``counts``: the
    train column's ``value_counts(dropna=True)`` in any order, when already counted."""
    if counts is None:
        counts = train.value_counts(dropna=True)
    rare = counts[counts < k].index
    if len(rare) == 0:  # nothing rare: nothing to look for in the other rows
        return 0, 0, 0
    present = other[other.notna()]
    hit = present.isin(rare)
    return len(rare), int(present[hit].nunique()), int(hit.sum())


def rare_category_replay(ctx: EvaluationContext) -> MetricResult:
    """Categories seen fewer than ``rare_k`` (default 5) times in train that the synthetic rows emit.

    ``value`` is the number of such categories; ``reference`` the number the holdout contains.
    """
    k = int(ctx.options.get("rare_k", 5))
    per_column: dict[str, dict[str, int]] = {}
    value = reference = 0
    has_holdout = ctx.holdout is not None and len(ctx.holdout) > 0
    for name in ctx.schema.columns_of("categorical", "ordinal", "boolean"):
        if name not in ctx.train.columns or name not in ctx.synthetic.columns:
            continue
        counts = present_counts(raw_counts(ctx, "train", name))  # shared with column shapes and coverage
        n_rare, emitted, rows = _rare_replay(ctx.train[name], ctx.synthetic[name], k, counts)
        entry = {"rare_in_train": n_rare, "replayed_categories": emitted, "synthetic_rows_with_rare": rows}
        value += emitted
        if has_holdout and name in ctx.holdout.columns:
            _, in_holdout, _ = _rare_replay(ctx.train[name], ctx.holdout[name], k, counts)  # type: ignore[index]
            entry["categories_in_holdout"] = in_holdout
            reference += in_holdout
        per_column[name] = entry
    details = {"k": k, "columns": per_column, "synthetic_rows": len(ctx.synthetic),
               "holdout_rows": len(ctx.holdout) if has_holdout else None}
    return _result("rare_category_replay", "minimize", float(value),
                   reference=float(reference) if has_holdout else None, min_value=0.0, max_value=math.inf,
                   details=details, note=None if has_holdout else _NO_HOLDOUT)


def _beyond(train: np.ndarray, other: np.ndarray, k: int) -> tuple[int, int] | None:
    """Cells of ``other`` below the k-th smallest / above the k-th largest train value."""
    values = np.sort(train[~np.isnan(train)])
    if values.size < k:
        return None
    low, high = values[k - 1], values[-k]
    other = other[~np.isnan(other)]
    return int((other < low).sum()), int((other > high).sum())


def extreme_value_replay(ctx: EvaluationContext) -> MetricResult:
    """Synthetic numerical/datetime cells beyond the ``extreme_k``-th (default 5) most extreme train
    value on either side.

    ``value`` is the number of such cells; ``reference`` the holdout's count scaled to the synthetic
    row count (the raw holdout counts are in ``details``).
    """
    k = int(ctx.options.get("extreme_k", 5))
    has_holdout = ctx.holdout is not None and len(ctx.holdout) > 0
    per_column: dict[str, dict[str, int]] = {}
    skipped: list[str] = []
    value = holdout_total = 0
    for name in ctx.schema.columns_of("numerical", "datetime"):
        if name not in ctx.train.columns or name not in ctx.synthetic.columns:
            continue
        train = as_numbers(ctx.train[name])
        counts = _beyond(train, as_numbers(ctx.synthetic[name]), k)
        if counts is None:
            skipped.append(name)
            continue
        entry = {"below": counts[0], "above": counts[1]}
        value += sum(counts)
        if has_holdout and name in ctx.holdout.columns:
            in_holdout = _beyond(train, as_numbers(ctx.holdout[name]), k)  # type: ignore[index]
            entry["holdout_beyond"] = sum(in_holdout)
            holdout_total += entry["holdout_beyond"]
        per_column[name] = entry
    reference = None
    if has_holdout:
        reference = holdout_total * len(ctx.synthetic) / len(ctx.holdout)
    details = {"k": k, "columns": per_column, "columns_with_fewer_than_k_values": skipped,
               "synthetic_rows": len(ctx.synthetic),
               "holdout_rows": len(ctx.holdout) if has_holdout else None,
               "holdout_beyond": holdout_total if has_holdout else None}
    return _result("extreme_value_replay", "minimize", float(value), reference=reference,
                   min_value=0.0, max_value=math.inf, details=details,
                   note=None if has_holdout else _NO_HOLDOUT)
