"""Work done on Dask workers: read sample rows, draw one synthetic partition and summarise it.

Everything a task needs travels in one :class:`PartitionContext`, scattered once to every worker.
A task writes its partition file and returns small aggregates only (never rows). A task runs on one
thread (the engine's own sampling threads are set to 1 on the worker): Dask runs one task per core,
and threads inside a task would compete with the other workers' tasks for the same cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.dataio import file_sha256, write_table
from synthstruct.scale.aggregates import (
    ColumnProfile,
    DistanceSummary,
    blocked_neighbours,
)
from synthstruct.scale.dataset import Piece, take_rows
from synthstruct.scale.plan import OutputPartition
from synthstruct.schema.check import to_output
from synthstruct._seeds import stream_seed

__all__ = ["PartitionContext", "PartitionResult", "distance_positions", "sample_partition", "sample_rows"]


def sample_rows(item: tuple[Piece, np.ndarray]) -> pd.DataFrame:
    """The fit-sample rows of one input piece."""
    piece, positions = item
    return take_rows(piece, positions)


@dataclass
class PartitionContext:
    """What every partition task shares (scattered once per worker)."""

    synthesizer: Any
    columns: list[str]
    directory: str
    encoder: Any
    train_encoded: Any
    train_keys: np.ndarray
    profile_bins: ColumnProfile
    distances: bool
    text_columns: list[str]
    distance_rows: int | None = None
    total_rows: int = 0


@dataclass
class PartitionResult:
    """Aggregates of one synthetic partition."""

    index: int
    rows: int
    file: str
    sha256: str
    bytes: int
    copies_of_train: int
    distances: DistanceSummary | None
    profile: ColumnProfile
    sampling: dict[str, int]
    pii_counts: dict[str, dict[str, int]]
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    worker: str = ""


def draw_partition(synthesizer: Any, part: OutputPartition) -> pd.DataFrame:
    """The coerced synthetic rows of one partition (the same bytes wherever it runs)."""
    return synthesizer.sample(part.rows, seed=part.seed)


def distance_positions(part: OutputPartition, distance_rows: int | None, total_rows: int) -> np.ndarray | None:
    """Rows of partition ``part`` compared with every training row; ``None`` means all of them.

    With a budget of ``distance_rows`` over ``total_rows`` synthetic rows, partition *i* compares
    ``ceil(distance_rows * rows_i / total_rows)`` of its rows, a seeded uniform sample without
    replacement (stream ``stream_seed(partition seed, "distance-sample")``), so the sample is the same
    whichever worker draws the partition.
    """
    if distance_rows is None or total_rows <= distance_rows:
        return None
    want = min(part.rows, int(np.ceil(distance_rows * part.rows / total_rows)))
    if want >= part.rows:
        return None
    rng = np.random.default_rng(stream_seed(part.seed, "distance-sample"))
    return np.sort(rng.choice(part.rows, size=want, replace=False))


def _one_thread(synth: Any) -> None:
    """The engine samples on one thread inside a task (its output does not depend on the thread count)."""
    engine = getattr(synth, "engine_", None)
    if engine is not None and getattr(engine, "n_threads", 1) != 1:
        engine.n_threads = 1


def sample_partition(part: OutputPartition, ctx: PartitionContext) -> PartitionResult:
    """Draw partition ``part``, write it as Parquet and summarise it against the training sample."""
    import os
    import socket
    import time

    cpu, wall = time.process_time(), time.perf_counter()
    synth = ctx.synthesizer
    _one_thread(synth)
    frame = draw_partition(synth, part)
    path = Path(ctx.directory) / part.file_name
    write_table(to_output(frame, synth.schema_)[ctx.columns], path)
    copies = int(np.isin(ctx.encoder.row_keys(frame), ctx.train_keys).sum()) if ctx.encoder.n_columns else 0
    summary = None
    if ctx.distances and ctx.encoder.n_columns:
        positions = distance_positions(part, ctx.distance_rows, ctx.total_rows)
        query = frame if positions is None else frame.iloc[positions]
        found = blocked_neighbours(ctx.encoder.transform(query), ctx.train_encoded, n_columns=ctx.encoder.n_columns)
        summary = DistanceSummary.of(found.distance)
    return PartitionResult(
        index=part.index, rows=len(frame), file=part.file_name, sha256=file_sha256(path), bytes=path.stat().st_size,
        copies_of_train=copies, distances=summary, profile=ctx.profile_bins.count(frame),
        sampling={k: int(v) for k, v in getattr(synth, "sampling_stats_", {}).items() if isinstance(v, (int, np.integer))},
        pii_counts=scan_partition(frame, ctx.text_columns, synth.schema_),
        cpu_seconds=time.process_time() - cpu, wall_seconds=time.perf_counter() - wall,
        worker=f"{socket.gethostname()}:{os.getpid()}",
    )


def scan_partition(frame: pd.DataFrame, text_columns: list[str], schema: Any) -> dict[str, dict[str, int]]:
    """PII spans per entity in each free-text column of one partition (counts only, never values)."""
    if not text_columns or frame.empty:
        return {}
    from synthstruct.pii.scanner import scan_frame

    report = scan_frame(frame, schema=schema, columns=text_columns)
    return {name: report.text_counts(name) for name in text_columns}
