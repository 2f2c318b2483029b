"""Seeded plans that make distributed work independent of the number of workers.

* :func:`fit_sample_positions` picks the fit sample: a seeded uniform sample without replacement of
  the global row numbers, split into per-piece positions (rows keep their input order). When the
  sample size covers the table, every row is taken in order, so the fit sees exactly what the
  in-memory release sees.
* :func:`output_partitions` cuts the synthetic rows into partitions, each with its own seed
  ``stream_seed(seed, "partition", i)``: partition ``i`` is the same bytes whichever worker draws it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthstruct._seeds import stream_seed

__all__ = ["OutputPartition", "fit_sample_positions", "output_partitions"]


@dataclass(frozen=True)
class OutputPartition:
    """One synthetic partition: its index, rows, seed and file name."""

    index: int
    rows: int
    seed: int

    @property
    def file_name(self) -> str:
        return f"part-{self.index:05d}.parquet"


def fit_sample_positions(piece_rows: list[int], size: int, *, seed: int) -> list[np.ndarray]:
    """Positions (within each piece, sorted) of a seeded uniform sample of ``size`` rows.

    Args:
        piece_rows: Rows of each piece, in dataset order.
        size: Rows to sample; at least the table's rows means every row.
        seed: Release seed (the stream ``"fit-sample"`` is derived from it).
    """
    total = int(sum(piece_rows))
    if size >= total:
        return [np.arange(n, dtype=np.int64) for n in piece_rows]
    rng = np.random.default_rng(stream_seed(seed, "fit-sample"))
    chosen = np.sort(rng.choice(total, size=size, replace=False))
    bounds = np.cumsum([0, *piece_rows])
    return [chosen[(chosen >= lo) & (chosen < hi)] - lo for lo, hi in zip(bounds[:-1], bounds[1:])]


def output_partitions(n_rows: int, *, partition_rows: int, seed: int) -> list[OutputPartition]:
    """Cut ``n_rows`` synthetic rows into partitions of ``partition_rows`` (the last one shorter)."""
    if partition_rows < 1:
        raise ValueError("partition_rows must be >= 1")
    starts = range(0, n_rows, partition_rows)
    return [OutputPartition(i, min(partition_rows, n_rows - start), stream_seed(seed, "partition", i))
            for i, start in enumerate(starts)]
