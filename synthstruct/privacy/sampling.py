"""Sampled privacy metrics for large tables: sample sizes from the interval they must reach.

The distance-based privacy metrics (``near_copies``, ``dcr``, ``dcr_share``, ``nndr``,
``membership_inference``, ``membership_auc``) compare every query row with every reference row; exact,
their cost grows with the square of the rows (Adult: 381M pairs; a 1M-row table: 3.6e11). The policy's
``privacy_sampling`` section decides per release (:func:`plan_sampling`):

* ``exact``: every row, as before (``--exact-privacy`` on the command line);
* ``sampled``: the synthetic rows asked "how close is my nearest real row?" are a stratified sample of
  :func:`rows_for_half_width` rows, the number that brings the 95 % interval of any share measured on them
  (near copies, closer to train, TPR at 1 % FPR) to ``± half_width`` whatever the share (``p = 0.5``, the
  widest case); the reference sets (train and holdout, equal in size as in exact mode) are stratified
  samples of at most ``reference_rows`` rows;
* ``auto`` (default): ``exact`` when the exact passes compare at most ``max_exact_pairs`` pairs, else
  ``sampled``. Adult (32,561 rows) stays exact.

Strata are the classes of the schema's target when it is categorical, ordinal or boolean (proportional
allocation, largest remainders), so each class keeps its share; otherwise a simple random sample. A
proportional stratified sample's variance is at most the simple random sample's, so the intervals the
metrics report (Wilson, Clopper–Pearson, Hanley–McNeil, computed on the rows used) are conservative.

What sampling the reference sets changes: the statistics stay comparisons of equal-size train and
holdout sets, but a synthetic row copied from a training row counts only when that training row is in
the reference sample, so the excess a copying model produces shrinks by ``reference_rows / train
rows`` (exact mode already compares against a holdout-sized train sample). ``exact_match`` hashes every
row whatever the mode and keeps its full sensitivity to verbatim copies. ``docs/metrics.md`` gives the
measured difference between the modes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_SAMPLING", "SamplingPlan", "exact_pairs", "plan_sampling", "rows_for_half_width",
           "stratified_index", "strata_of"]

#: The options a policy's ``privacy_sampling`` section sets (see ``docs/policies.md``).
DEFAULT_SAMPLING: dict[str, Any] = {"mode": "auto", "half_width": 0.01, "confidence": 0.95,
                                    "reference_rows": 20_000, "attack_synthetic_rows": 20_000,
                                    "max_exact_pairs": 2.0e9}


def _z(confidence: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(0.5 + confidence / 2.0))


def rows_for_half_width(half_width: float, *, confidence: float = 0.95, rate: float = 0.5) -> int:
    """Rows needed so that a share measured on them has a ``confidence`` interval of ``± half_width``.

    The normal-approximation size ``z² p (1 - p) / h²`` at ``p = rate`` (0.5, the widest case, by
    default). The Wilson interval the metrics report is never wider than this normal interval at
    ``p = 0.5``, so any share measured on this many rows has a half-width of at most ``half_width``.
    """
    if not 0.0 < half_width < 0.5:
        raise ValueError("half_width must be in (0, 0.5)")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be in (0, 1)")
    z = _z(confidence)
    return int(math.ceil(z * z * rate * (1.0 - rate) / (half_width * half_width)))


def exact_pairs(n_train: int, n_holdout: int, n_synthetic: int) -> int:
    """Pairs the exact neighbour passes compare: synthetic x train sample and x holdout, holdout x train sample."""
    m = min(n_train, n_holdout) if n_holdout else n_train
    return int(n_synthetic) * m * (2 if n_holdout else 1) + (m * m if n_holdout else 0)


@dataclass(frozen=True)
class SamplingPlan:
    """How the distance metrics of one evaluation sample their rows.

    Attributes:
        mode: ``exact`` or ``sampled`` (what ``auto`` resolved to).
        requested: The policy's (or command line's) mode: ``auto``, ``exact`` or ``sampled``.
        reason: Why, in plain words.
        query_rows: Synthetic (and holdout) query rows in sampled mode (``None`` when exact).
        reference_rows: Rows per reference set in sampled mode (``None`` when exact).
        attack_synthetic_rows: Synthetic rows the attacks search in sampled mode (``None`` when exact).
        half_width: The interval half-width the sampled shares are sized for.
        confidence: Its confidence level.
        exact_pairs: Pairs the exact passes would compare.
    """

    mode: str
    requested: str
    reason: str
    query_rows: int | None
    reference_rows: int | None
    attack_synthetic_rows: int | None
    half_width: float
    confidence: float
    exact_pairs: int

    @property
    def sampled(self) -> bool:
        return self.mode == "sampled"

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "requested": self.requested, "reason": self.reason,
                "query_rows": self.query_rows, "reference_rows": self.reference_rows,
                "attack_synthetic_rows": self.attack_synthetic_rows, "half_width": self.half_width,
                "confidence": self.confidence, "exact_pairs": self.exact_pairs}


def plan_sampling(options: dict[str, Any] | None, *, n_train: int, n_holdout: int, n_synthetic: int) -> SamplingPlan:
    """Resolve the ``privacy_sampling`` options for tables of these sizes (see the module docstring)."""
    opts = {**DEFAULT_SAMPLING, **(options or {})}
    requested = str(opts["mode"])
    pairs = exact_pairs(n_train, n_holdout, n_synthetic)
    limit = float(opts["max_exact_pairs"])
    if requested == "exact":
        mode, reason = "exact", "exact mode requested (policy privacy_sampling.mode: exact or --exact-privacy)"
    elif requested == "sampled":
        mode, reason = "sampled", "sampled mode requested (policy privacy_sampling.mode: sampled)"
    elif pairs <= limit:
        mode, reason = "exact", f"{pairs:,} pairs are within max_exact_pairs ({limit:,.0f})"
    else:
        mode, reason = "sampled", f"{pairs:,} pairs exceed max_exact_pairs ({limit:,.0f})"
    half_width, confidence = float(opts["half_width"]), float(opts["confidence"])
    if mode == "exact":
        return SamplingPlan(mode, requested, reason, None, None, None, half_width, confidence, pairs)
    return SamplingPlan(mode, requested, reason, rows_for_half_width(half_width, confidence=confidence),
                        int(opts["reference_rows"]), int(opts["attack_synthetic_rows"]), half_width, confidence,
                        pairs)


def strata_of(frame: pd.DataFrame, schema: Any) -> np.ndarray | None:
    """Stratum label per row: the class of the schema's target (missing is a class) for categorical,
    ordinal and boolean targets; ``None`` (no strata) otherwise."""
    target = schema.target
    kind = schema.columns[target].kind if target in schema.columns else None
    if target is None or target not in frame.columns or kind not in ("categorical", "ordinal", "boolean"):
        return None
    from synthstruct.schema.check import category_keys

    keys = category_keys(frame[target]).fillna("\u0000missing").astype(str)
    return keys.to_numpy(dtype=object)


def stratified_index(n_rows: int, size: int, rng: np.random.Generator, strata: np.ndarray | None = None) -> np.ndarray:
    """Sorted positions of a sample of ``size`` rows, proportional to ``strata`` when given.

    Each stratum gets ``size * share`` rows rounded by largest remainders (ties to the larger stratum,
    then by label order), drawn without replacement; all rows when ``size >= n_rows``.
    """
    if size >= n_rows:
        return np.arange(n_rows)
    if strata is None:
        return np.sort(rng.choice(n_rows, size=size, replace=False))
    labels, inverse, counts = np.unique(strata.astype(str), return_inverse=True, return_counts=True)
    quota = counts * (size / n_rows)
    take = np.floor(quota).astype(np.int64)
    short = size - int(take.sum())
    if short:
        order = np.lexsort((-counts, -(quota - take)))  # largest remainder first, then the larger stratum
        take[order[:short]] += 1
    members = np.argsort(inverse, kind="stable")
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    chosen = [members[start + rng.choice(count, size=k, replace=False)]
              for start, count, k in zip(starts, counts, take) if k]
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=np.int64)
