"""Statistics computed per partition and merged: nearest neighbours, distance histograms, column profiles.

* Nearest neighbours: a query partition is compared with the reference (training sample) one block
  at a time and the nearest / second-nearest distances are min-reduced across blocks
  (:func:`merge_neighbours`), which gives exactly :func:`synthstruct.privacy.distances.nearest_neighbours`
  over the whole reference.
* :class:`DistanceSummary` keeps a fine histogram (1000 bins on ``[0, 1]``), counts and exact zeros of
  a distance array; summaries of partitions add up, and quantiles are read to the bin width (0.001).
* :class:`ColumnProfile` holds per-column counts against bins fixed from the training sample
  (category labels; numerical / datetime values against up to 1000 train-quantile edges); profiles of
  partitions add up to the profile of the whole output. Category scores (``1 - TVD``) equal
  :func:`synthstruct.evaluation.fidelity.column_shapes`; numerical scores are the KS statistic read on
  the bin edges (a lower bound of the exact KS, within one bin's mass).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.evaluation.fidelity import NUMERIC_KINDS, as_float, as_labels
from synthstruct.privacy.distances import Neighbours, nearest_neighbours
from synthstruct.evaluation.encoding import EncodedFrame
from synthstruct.schema.model import Schema

__all__ = ["ColumnProfile", "DistanceSummary", "blocked_neighbours", "label_counts", "merge_neighbours"]

DISTANCE_BINS = 1000
PROFILE_EDGES = 1000


# ------------------------------------------------------------------------------ neighbours
def merge_neighbours(a: Neighbours, b: Neighbours, *, b_offset: int) -> Neighbours:
    """The two smallest distances of each query row over two disjoint reference blocks.

    Ties keep ``a`` (the earlier block), as ``argmin`` over the whole reference does.
    """
    a1, a2 = a.distance, np.where(np.isnan(a.second), np.inf, a.second)
    b1, b2 = b.distance, np.where(np.isnan(b.second), np.inf, b.second)
    a_wins = a1 <= b1
    first = np.where(a_wins, a1, b1)
    second = np.where(a_wins, np.minimum(a2, b1), np.minimum(a1, b2))
    index = np.where(a_wins, a.index, b.index + b_offset)
    return Neighbours(first, np.where(np.isinf(second), np.nan, second), index)


def blocked_neighbours(query: EncodedFrame, reference: EncodedFrame, *, n_columns: int,
                       reference_block_rows: int = 65_536, n_jobs: int | None = 1) -> Neighbours:
    """Exact nearest / second-nearest distances with the reference split into blocks, min-reduced.

    Memory per call is bounded by one reference block, whatever the reference size.
    """
    result: Neighbours | None = None
    for lo in range(0, max(reference.n_rows, 1), reference_block_rows):
        block = reference.take(np.arange(lo, min(lo + reference_block_rows, reference.n_rows)))
        found = nearest_neighbours(query, block, n_columns=n_columns, n_jobs=n_jobs)
        result = found if result is None else merge_neighbours(result, found, b_offset=lo)
    assert result is not None
    return result


@dataclass
class DistanceSummary:
    """Mergeable summary of a distance array (values in ``[0, 1]``)."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(DISTANCE_BINS, dtype=np.int64))
    n: int = 0
    zeros: int = 0
    total: float = 0.0

    @classmethod
    def of(cls, values: np.ndarray) -> DistanceSummary:
        values = values[~np.isnan(values)]
        idx = np.clip((values * DISTANCE_BINS).astype(np.int64), 0, DISTANCE_BINS - 1)
        return cls(np.bincount(idx, minlength=DISTANCE_BINS).astype(np.int64), int(values.size),
                   int((values == 0).sum()), float(values.sum()))

    def __add__(self, other: DistanceSummary) -> DistanceSummary:
        return DistanceSummary(self.counts + other.counts, self.n + other.n, self.zeros + other.zeros,
                               self.total + other.total)

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile, to the bin width (upper edge of the bin that holds it)."""
        if self.n == 0:
            return None
        k = int(np.searchsorted(np.cumsum(self.counts), q * self.n, side="left"))
        return float(min(k + 1, DISTANCE_BINS) / DISTANCE_BINS)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.n, "zero_distance_rows": self.zeros, "mean": self.total / self.n if self.n else None,
                "p05": self.quantile(0.05), "median": self.quantile(0.5), "bin_width": 1 / DISTANCE_BINS}


# ------------------------------------------------------------------------------ column profiles
def label_counts(series: pd.Series) -> pd.Series:
    """``as_labels(series).value_counts()`` (the labels column_shapes compares), sorted by label.

    When every value is text (the synthesizer's categories), the raw values are counted first and
    only the distinct values are turned into labels, instead of converting every cell to text. Other
    values (where ``1 == True`` would merge cells that print differently) take the direct way.
    """
    raw = series.value_counts(dropna=False, sort=False)
    if pd.api.types.infer_dtype(raw.index, skipna=True) not in ("string", "empty"):
        counts = as_labels(series).value_counts().sort_index()
        counts.index.name = None
        return counts.rename(None).astype(np.int64)
    labels = as_labels(pd.Series(raw.index, dtype=object))
    counts = pd.Series(raw.to_numpy(), index=labels.to_numpy()).groupby(level=0, sort=True).sum()
    counts.index.name = None
    return counts.rename(None).astype(np.int64)


@dataclass
class ColumnProfile:
    """Counts per structured column against bins fixed from a reference (training) frame.

    Attributes:
        edges: Numerical / datetime column -> inner bin edges (train quantiles).
        kinds: Column -> schema kind.
        counts: Numerical column -> counts per bin (``len(edges) + 2``: below, between, above, missing);
            categorical column -> label counts.
        rows: Rows counted.
    """

    edges: dict[str, np.ndarray]
    kinds: dict[str, str]
    counts: dict[str, Any] = field(default_factory=dict)
    rows: int = 0

    @classmethod
    def bins_from(cls, schema: Schema, reference: pd.DataFrame) -> ColumnProfile:
        """An empty profile whose numerical bins are ``reference``'s quantiles."""
        kinds = {c: schema.columns[c].kind for c in schema.structured_columns if c in reference.columns}
        edges: dict[str, np.ndarray] = {}
        for name, kind in kinds.items():
            if kind in NUMERIC_KINDS:
                values = as_float(reference[name], kind)
                values = values[~np.isnan(values)]
                qs = np.quantile(values, np.linspace(0, 1, PROFILE_EDGES + 1)) if values.size else np.zeros(1)
                edges[name] = np.unique(qs)
        return cls(edges, kinds)

    def count(self, frame: pd.DataFrame) -> ColumnProfile:
        """A profile with the same bins holding ``frame``'s counts."""
        counts: dict[str, Any] = {}
        for name, kind in self.kinds.items():
            if kind in NUMERIC_KINDS:
                values = as_float(frame[name], kind)
                present = ~np.isnan(values)
                idx = np.searchsorted(self.edges[name], values[present], side="right")
                hist = np.bincount(idx, minlength=len(self.edges[name]) + 1)
                counts[name] = np.append(hist, int((~present).sum())).astype(np.int64)
            else:
                counts[name] = label_counts(frame[name])
        return ColumnProfile(self.edges, self.kinds, counts, len(frame))

    def __add__(self, other: ColumnProfile) -> ColumnProfile:
        if not self.counts:
            return other
        if not other.counts:
            return self
        merged = {name: (self.counts[name] + other.counts[name] if self.kinds[name] in NUMERIC_KINDS
                         else self.counts[name].add(other.counts[name], fill_value=0))
                  for name in self.kinds}
        return ColumnProfile(self.edges, self.kinds, merged, self.rows + other.rows)

    def scores(self, other: ColumnProfile) -> dict[str, float | None]:
        """Per column, 1 - KS on the bin edges (numerical) or 1 - TVD (categories) of ``other`` vs self."""
        out: dict[str, float | None] = {}
        for name, kind in self.kinds.items():
            mine, theirs = self.counts[name], other.counts[name]
            if kind in NUMERIC_KINDS:
                a, b = mine[:-1], theirs[:-1]  # missing cells ignored, as column_shapes does
                if a.sum() == 0 or b.sum() == 0:
                    out[name] = None
                    continue
                cdf_a, cdf_b = np.cumsum(a) / a.sum(), np.cumsum(b) / b.sum()
                out[name] = 1.0 - float(np.max(np.abs(cdf_a - cdf_b)))
            else:
                p, q = mine / mine.sum(), theirs / theirs.sum()
                p, q = p.align(q, fill_value=0.0)
                out[name] = 1.0 - float(0.5 * np.abs(p.to_numpy() - q.to_numpy()).sum())
        return out
