"""Exact nearest-neighbour distances between mixed-type tables, blocked and bounded in memory.

The distance is the Gower-like mean documented in :mod:`synthstruct.evaluation.encoding`: per column a
value in ``[0, 1]`` (capped scaled absolute difference for numbers and dates, 0/1 mismatch for
categories, booleans and ordinals, missing == missing), averaged over the structured columns.

:func:`nearest_neighbours` computes it exactly (float32, error ~1e-6) for every query row against every
reference row, one block of query rows at a time: the categorical mismatches of a block are counted in
bytes from each column's level slots, the numbers take a few element-wise passes; only the nearest and
second-nearest distances of each query row are kept. Memory is ``O(block_rows x n_reference)`` per worker thread.

:class:`NeighbourDistances` is the cache the privacy metrics share through
``neighbour_distances(ctx)`` (one per evaluation context, in ``ctx.cache``). When a holdout exists, ``train`` is a seeded subsample of the train rows
of the holdout's size (and the holdout one of the train's size when it is the larger), so that
"closer to train than to holdout" compares sets of equal size.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from synthstruct.evaluation.encoding import OUTSIDE, EncodedFrame, MixedEncoder

if TYPE_CHECKING:  # pragma: no cover
    from synthstruct.evaluation.metric import EvaluationContext

__all__ = ["BLOCK_ELEMENTS", "Neighbours", "NeighbourDistances", "PreparedReference", "block_distance_sums", "nearest_neighbours",
           "neighbour_distances"]

#: Elements (query rows x reference rows) of one block's distance matrix (16 MiB of float32).
BLOCK_ELEMENTS = 1 << 22
#: Elements of the scratch rows the element-wise passes work on (1 MiB of float32: stays in cache).
SCRATCH_ELEMENTS = 1 << 18


@dataclass(frozen=True)
class Neighbours:
    """Nearest-neighbour distances of each query row to a reference set.

    Attributes:
        distance: ``(n_query,)`` distance to the nearest reference row.
        second: ``(n_query,)`` distance to the second-nearest reference row (``nan`` when the
            reference has a single row).
        index: ``(n_query,)`` position of the nearest reference row.
    """

    distance: np.ndarray
    second: np.ndarray
    index: np.ndarray

    def ratio(self) -> np.ndarray:
        """Nearest / second-nearest distance; 1 where both are 0 (a record duplicated in the
        reference is not singled out), ``nan`` where there is no second neighbour."""
        with np.errstate(divide="ignore", invalid="ignore"):
            out = self.distance / self.second
        out[(self.distance == 0) & (self.second == 0)] = 1.0
        return out


class PreparedReference:
    """Reference rows laid out column-wise for broadcasting."""

    def __init__(self, ref: EncodedFrame) -> None:
        self.n = ref.n_rows
        self.scaled = [np.ascontiguousarray(ref.scaled[:, j]) for j in range(ref.scaled.shape[1])]
        self.codes = [np.ascontiguousarray(ref.codes[:, j]) for j in range(ref.codes.shape[1])]
        # a reference row outside the slots must not equal a query row outside them: mark it OUTSIDE - 1
        self.levels = [np.where(column == OUTSIDE, np.uint8(OUTSIDE - 1), column)
                       for column in (ref.levels[:, j] for j in range(ref.levels.shape[1]))]
        #: The cap of the numeric differences as a row, not a scalar: numpy's ``minimum`` with a broadcast
        #: array runs its vectorised loop, with a scalar a 4x slower one (numpy 2.4, measured on 1 MiB rows).
        self.ones = np.ones((1, self.n), dtype=np.float32)


def block_distance_sums(query: EncodedFrame, lo: int, hi: int, ref: PreparedReference) -> np.ndarray:
    """Sum of per-column distances for query rows ``lo:hi`` against every reference row.

    Per pair, in this order (so the float32 sums are the same on every machine): the number of one-hot
    columns whose levels differ (counted in bytes, exact), then each scaled column's capped difference,
    then each coded column's mismatch.
    """
    rows = hi - lo
    total = np.empty((rows, ref.n), dtype=np.float32)
    if not (ref.levels or ref.scaled or ref.codes):
        total.fill(0.0)
        return total
    # The passes run on a few rows at a time, so that the scratch rows and the rows of ``total`` they add to
    # stay in the core's cache (1.5x the pairs/s of whole-block passes on Adult).
    step = max(1, min(rows, SCRATCH_ELEMENTS // max(ref.n, 1)))
    scratch = np.empty((step, ref.n), dtype=np.float32)
    if ref.levels:
        counter = np.uint8 if len(ref.levels) <= np.iinfo(np.uint8).max else np.uint16  # cannot overflow
        count = np.empty((step, ref.n), dtype=counter)
        differs = np.empty((step, ref.n), dtype=np.bool_)
    for start in range(0, rows, step):
        stop = min(start + step, rows)
        tmp, part = scratch[: stop - start], total[start:stop]
        q_lo, q_hi = lo + start, lo + stop
        if ref.levels:
            counted, flags = count[: stop - start], differs[: stop - start]
            np.not_equal(query.levels[q_lo:q_hi, 0, None], ref.levels[0][None, :], out=flags)
            np.copyto(counted, flags.view(np.uint8))
            for j in range(1, len(ref.levels)):
                np.not_equal(query.levels[q_lo:q_hi, j, None], ref.levels[j][None, :], out=flags)
                np.add(counted, flags.view(np.uint8), out=counted)
            np.copyto(part, counted, casting="unsafe")  # small integers: exact in float32
        else:
            part.fill(0.0)
        for j, column in enumerate(ref.scaled):
            np.subtract(query.scaled[q_lo:q_hi, j, None], column[None, :], out=tmp)
            np.abs(tmp, out=tmp)
            np.minimum(tmp, ref.ones, out=tmp)
            part += tmp
        for j, column in enumerate(ref.codes):
            np.not_equal(query.codes[q_lo:q_hi, j, None], column[None, :], out=tmp, casting="unsafe")
            part += tmp
    return total


def _two_smallest(total: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = np.arange(total.shape[0])
    index = total.argmin(axis=1)
    first = total[rows, index].copy()
    if total.shape[1] < 2:
        return first, np.full_like(first, np.nan), index
    total[rows, index] = np.inf
    return first, total.min(axis=1), index


def nearest_neighbours(
    query: EncodedFrame,
    reference: EncodedFrame,
    *,
    n_columns: int,
    block_rows: int | None = None,
    n_jobs: int | None = None,
) -> Neighbours:
    """Exact nearest and second-nearest distances of each query row to the reference rows.

    Args:
        query: Encoded query rows.
        reference: Encoded reference rows (from the same fitted encoder).
        n_columns: Number of structured columns ``p`` the distance averages over.
        block_rows: Query rows per block; by default about 4M distances per block.
        n_jobs: Worker threads (default: up to 2, the cores this project plans for).

    Returns:
        The nearest-neighbour distances (float64 arrays) and nearest positions.
    """
    n_query = query.n_rows
    if n_query == 0 or reference.n_rows == 0 or n_columns == 0:
        empty = np.full(n_query, np.nan)
        return Neighbours(empty, empty.copy(), np.full(n_query, -1, dtype=np.int64))
    return _search(query, reference, n_columns=n_columns, block_rows=block_rows, n_jobs=n_jobs, both=False)[0]


def _column_two_smallest(total: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of ``total``: smallest value, second smallest (inf when one row), row of the smallest;
    ``total`` is left as it was."""
    first, second, index = _two_smallest(total.T)  # marks each column's minimum with inf ...
    total[index, np.arange(total.shape[1])] = first  # ... and puts it back
    return first, np.where(np.isnan(second), np.inf, second), index


def nearest_neighbours_both(
    query: EncodedFrame,
    reference: EncodedFrame,
    *,
    n_columns: int,
    block_rows: int | None = None,
    n_jobs: int | None = None,
    backward: str = "full",
) -> tuple[Neighbours, Neighbours]:
    """Nearest neighbours in both directions from one pass over the distance matrix.

    Returns ``(query -> reference, reference -> query)``, each equal (values, second values and, for
    ties, the first position) to :func:`nearest_neighbours` called in that direction: the per-pair sums
    are the same float32 operations in the same order whichever side is the query, and column minima
    are merged block by block in row order. Half the work of two calls.

    ``backward="distance"`` computes only the reference rows' nearest distances (their ``second`` is
    ``nan`` and ``index`` ``-1``): a column minimum is one vectorised pass, while the position of the
    minimum along a column costs about ten (the membership attack needs the distance alone).
    """
    if query.n_rows == 0 or reference.n_rows == 0 or n_columns == 0:
        return (nearest_neighbours(query, reference, n_columns=n_columns),
                nearest_neighbours(reference, query, n_columns=n_columns))
    modes: dict[str, bool | str] = {"full": True, "distance": "distance"}
    mode = modes[backward]
    forward, reverse = _search(query, reference, n_columns=n_columns, block_rows=block_rows, n_jobs=n_jobs,
                               both=mode)
    assert isinstance(reverse, Neighbours)
    return forward, reverse


def _search(query: EncodedFrame, reference: EncodedFrame, *, n_columns: int, block_rows: int | None,
            n_jobs: int | None, both: bool | str) -> tuple[Neighbours, Neighbours | None]:
    """The blocked pass behind both functions above (``both``: also the column minima, merged in row order;
    ``"distance"``: the column minima only)."""
    n_query = query.n_rows
    ref = PreparedReference(reference)
    block = block_rows or max(1, min(1024, BLOCK_ELEMENTS // ref.n))
    jobs = n_jobs or min(2, os.cpu_count() or 1)
    first = np.empty(n_query, dtype=np.float64)
    second = np.empty(n_query, dtype=np.float64)
    index = np.empty(n_query, dtype=np.int64)
    starts = list(range(0, n_query, block))
    columns: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = [None] * len(starts)

    def run(k: int) -> None:
        lo = starts[k]
        hi = min(lo + block, n_query)
        total = block_distance_sums(query, lo, hi, ref)
        if both == "distance":
            columns[k] = (total.min(axis=0), None, None)  # type: ignore[assignment]
        elif both:
            c1, c2, ci = _column_two_smallest(total)
            columns[k] = (c1, c2, ci + lo)
        d1, d2, i1 = _two_smallest(total)
        first[lo:hi], second[lo:hi], index[lo:hi] = d1, d2, i1

    if jobs > 1 and len(starts) > 1:  # the kernel uses no BLAS: the two threads are all there is to limit
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(run, range(len(starts))))
    else:
        for k in range(len(starts)):
            run(k)
    forward = Neighbours(first / n_columns, second / n_columns, index)
    if not both:
        return forward, None
    if both == "distance":
        nearest = columns[0][0]  # type: ignore[index]
        for part in columns[1:]:
            nearest = np.minimum(nearest, part[0])  # type: ignore[index]
        n_ref = reference.n_rows
        return forward, Neighbours(nearest.astype(np.float64) / n_columns, np.full(n_ref, np.nan),
                                   np.full(n_ref, -1, dtype=np.int64))
    r1, r2, ri = (a.copy() for a in columns[0])  # type: ignore[union-attr]
    for c1, c2, ci in columns[1:]:  # type: ignore[misc]
        r2 = np.minimum(np.maximum(r1, c1), np.minimum(r2, c2))
        better = c1 < r1  # strictly smaller: on ties the earlier row keeps the index, as argmin does
        ri = np.where(better, ci, ri)
        r1 = np.minimum(r1, c1)
    r2 = np.where(np.isinf(r2), np.nan, r2.astype(np.float64))
    return forward, Neighbours(r1.astype(np.float64) / n_columns, r2 / n_columns, ri.astype(np.int64))


def _equal_size_index(n_rows: int, size: int, rng: np.random.Generator) -> np.ndarray:
    if size >= n_rows:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, size=size, replace=False))


class NeighbourDistances:
    """Nearest-neighbour distances between train, holdout and synthetic rows, computed on first use.

    Attributes:
        encoder: The fitted :class:`MixedEncoder` (scales from train).
        train_index: Positions of the train rows used as "train" (all rows without a holdout).
        holdout_index: Positions of the holdout rows used (``None`` without a holdout).
    """

    def __init__(
        self,
        encoder: MixedEncoder,
        *,
        train: EncodedFrame,
        synthetic: EncodedFrame,
        holdout: EncodedFrame | None,
        train_index: np.ndarray,
        holdout_index: np.ndarray | None,
        n_train_total: int,
        n_holdout_total: int | None,
        n_jobs: int | None = None,
        synthetic_index: np.ndarray | None = None,
        n_synthetic_total: int | None = None,
        holdout_query_index: np.ndarray | None = None,
        plan: Any = None,
    ) -> None:
        self.encoder = encoder
        self.synthetic_index = synthetic_index
        self.n_synthetic_total = synthetic.n_rows if n_synthetic_total is None else n_synthetic_total
        self.holdout_query_index = holdout_query_index
        self.plan = plan
        self.train = train
        self.synthetic = synthetic
        self.holdout = holdout
        self.train_index = train_index
        self.holdout_index = holdout_index
        self.n_train_total = n_train_total
        self.n_holdout_total = n_holdout_total
        self.n_jobs = n_jobs
        # the searches below are computed once, on first use, by whichever gate thread asks first
        self._searches: dict[str, Any] = {}
        self._search_locks = {name: threading.Lock() for name in ("train", "holdout", "holdout_to_train")}

    def _once(self, name: str, build: Callable[[], Any]) -> Any:
        with self._search_locks[name]:
            if name not in self._searches:
                self._searches[name] = build()
            return self._searches[name]

    @classmethod
    def from_context(cls, ctx: "EvaluationContext") -> "NeighbourDistances":
        """Fit the encoder on the context's frames and subsample to equal sizes (seeded).

        Large tables are sampled as the policy's ``privacy_sampling`` says (``ctx.options``; see
        :mod:`synthstruct.privacy.sampling`); exact mode is this method as it always was.
        """
        from synthstruct.privacy.sampling import plan_sampling

        encoder = MixedEncoder().fit(ctx.schema, ctx.train, ctx.holdout, ctx.synthetic)
        n_holdout = 0 if ctx.holdout is None else len(ctx.holdout)
        plan = plan_sampling(ctx.options.get("privacy_sampling"), n_train=len(ctx.train), n_holdout=n_holdout,
                             n_synthetic=len(ctx.synthetic))
        if plan.sampled:
            return cls._sampled(ctx, encoder, plan)
        rng = np.random.default_rng(ctx.seed)
        n_train = len(ctx.train)
        train_index, holdout_index, holdout = np.arange(n_train), None, None
        if ctx.holdout is not None and len(ctx.holdout):
            size = min(n_train, len(ctx.holdout))
            train_index = _equal_size_index(n_train, size, rng)
            holdout_index = _equal_size_index(len(ctx.holdout), size, rng)
            holdout = encoder.transform(ctx.holdout.iloc[holdout_index])
        return cls(
            encoder,
            train=encoder.transform(ctx.train.iloc[train_index]),
            synthetic=encoder.transform(ctx.synthetic),
            holdout=holdout,
            train_index=train_index,
            holdout_index=holdout_index,
            n_train_total=n_train,
            n_holdout_total=None if ctx.holdout is None else len(ctx.holdout),
            n_jobs=ctx.options.get("distance_jobs"),
            plan=plan,
        )

    @classmethod
    def _sampled(cls, ctx: "EvaluationContext", encoder: MixedEncoder, plan: Any) -> "NeighbourDistances":
        """Stratified samples: reference sets of ``plan.reference_rows`` (train and holdout alike) and
        ``plan.query_rows`` synthetic and holdout query rows."""
        from synthstruct.privacy.sampling import strata_of, stratified_index

        rng = np.random.default_rng([int(ctx.seed) & 0xFFFFFFFF, 0x5A3F])  # its own stream: exact mode is unchanged
        n_train = len(ctx.train)
        has_holdout = ctx.holdout is not None and len(ctx.holdout) > 0
        size = min(n_train, plan.reference_rows, len(ctx.holdout) if has_holdout else n_train)  # type: ignore[arg-type]
        train_index = stratified_index(n_train, size, rng, strata_of(ctx.train, ctx.schema))
        holdout_index = holdout = holdout_query_index = None
        if has_holdout:
            holdout_strata = strata_of(ctx.holdout, ctx.schema)
            holdout_index = stratified_index(len(ctx.holdout), size, rng, holdout_strata)  # type: ignore[arg-type]
            holdout = encoder.transform(ctx.holdout.iloc[holdout_index])  # type: ignore[union-attr]
            inner = None if holdout_strata is None else holdout_strata[holdout_index]
            holdout_query_index = stratified_index(len(holdout_index), plan.query_rows, rng, inner)
        synthetic_index = stratified_index(len(ctx.synthetic), plan.query_rows, rng,
                                           strata_of(ctx.synthetic, ctx.schema))
        return cls(
            encoder,
            train=encoder.transform(ctx.train.iloc[train_index]),
            synthetic=encoder.transform(ctx.synthetic.iloc[synthetic_index]),
            holdout=holdout,
            train_index=train_index,
            holdout_index=holdout_index,
            n_train_total=n_train,
            n_holdout_total=None if ctx.holdout is None else len(ctx.holdout),
            n_jobs=ctx.options.get("distance_jobs"),
            synthetic_index=synthetic_index,
            n_synthetic_total=len(ctx.synthetic),
            holdout_query_index=holdout_query_index,
            plan=plan,
        )

    # ------------------------------------------------------------------ pairs
    def _nn(self, query: EncodedFrame | None, reference: EncodedFrame | None) -> Neighbours | None:
        if query is None or reference is None:
            return None
        return nearest_neighbours(query, reference, n_columns=self.encoder.n_columns, n_jobs=self.n_jobs)

    def _both(self, reference: EncodedFrame | None) -> tuple[Neighbours, Neighbours] | None:
        if reference is None:
            return None
        return nearest_neighbours_both(self.synthetic, reference, n_columns=self.encoder.n_columns,
                                       n_jobs=self.n_jobs, backward="distance")

    @property
    def _synthetic_train_pair(self) -> tuple[Neighbours, Neighbours]:
        pair: tuple[Neighbours, Neighbours] = self._once("train", lambda: self._both(self.train))
        return pair

    @property
    def _synthetic_holdout_pair(self) -> tuple[Neighbours, Neighbours] | None:
        pair: tuple[Neighbours, Neighbours] | None = self._once("holdout", lambda: self._both(self.holdout))
        return pair

    @property
    def synthetic_to_train(self) -> Neighbours:
        """Each synthetic row's neighbours among the (equal-size) train rows."""
        return self._synthetic_train_pair[0]

    @property
    def synthetic_to_holdout(self) -> Neighbours | None:
        """Each synthetic row's neighbours among the holdout rows."""
        pair = self._synthetic_holdout_pair
        return None if pair is None else pair[0]

    @property
    def holdout_to_train(self) -> Neighbours | None:
        """What a fresh real row scores: each holdout row's neighbours among the train rows (in sampled
        mode, a stratified sample of ``query_rows`` of the holdout rows asks)."""
        def build() -> Neighbours | None:
            if self.holdout is not None and self.holdout_query_index is not None:
                return self._nn(self.holdout.take(self.holdout_query_index), self.train)
            return self._nn(self.holdout, self.train)

        found: Neighbours | None = self._once("holdout_to_train", build)
        return found

    @property
    def train_to_synthetic(self) -> Neighbours:
        """Each (equal-size) train row's nearest distance to the synthetic rows (members' scores; distances
        only: ``second`` and ``index`` are not computed)."""
        return self._synthetic_train_pair[1]

    @property
    def holdout_to_synthetic(self) -> Neighbours | None:
        """Each holdout row's nearest distance to the synthetic rows (non-members' scores; distances only)."""
        pair = self._synthetic_holdout_pair
        return None if pair is None else pair[1]

    # ------------------------------------------------------------------ reporting
    @property
    def has_holdout(self) -> bool:
        return self.holdout is not None

    def describe(self) -> dict[str, Any]:
        """Sizes, subsampling and the columns the distance used (aggregates only)."""
        subsampled = self.has_holdout and len(self.train_index) < self.n_train_total
        return {
            "distance": "gower_l1_capped_robust_range",
            "columns_used": len(self.encoder.columns_),
            "columns_skipped": list(self.encoder.skipped_columns_),
            "train_rows_total": self.n_train_total,
            "train_rows_used": int(len(self.train_index)),
            "train_subsampled_to_holdout_size": bool(subsampled),
            "holdout_rows_total": self.n_holdout_total,
            "holdout_rows_used": None if self.holdout_index is None else int(len(self.holdout_index)),
            "synthetic_rows": self.n_synthetic_total,
            **self.sampling_details(),
        }

    def sampling_details(self) -> dict[str, Any]:
        """``sampling`` (exact or sampled) and, when sampled, the rows used and the interval they were sized for."""
        plan = self.plan
        if plan is None or not plan.sampled:
            return {"sampling": "exact"}
        out: dict[str, Any] = {
            "sampling": "sampled", "synthetic_rows_used": self.synthetic.n_rows,
            "sampling_half_width": plan.half_width, "sampling_confidence": plan.confidence,
            "sampling_reason": plan.reason, "sampling_strata": "target classes, proportional"}
        if self.holdout_query_index is not None:
            out["holdout_query_rows_used"] = int(len(self.holdout_query_index))
        return out

def neighbour_distances(ctx: EvaluationContext) -> NeighbourDistances:
    """The :class:`NeighbourDistances` of ``ctx``, computed once and shared by every metric of the evaluation."""
    return ctx.shared("distances", NeighbourDistances.from_context)
