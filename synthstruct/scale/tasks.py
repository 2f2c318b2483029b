"""Work done on Dask workers: read sample rows, draw one synthetic partition and summarise it.

Everything a task needs travels in one :class:`PartitionContext`, scattered once to every worker.
A task writes its partition file and returns small aggregates only (never rows).
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

__all__ = ["PartitionContext", "PartitionResult", "sample_partition", "sample_rows"]


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


def draw_partition(synthesizer: Any, part: OutputPartition) -> pd.DataFrame:
    """The coerced synthetic rows of one partition (the same bytes wherever it runs)."""
    return synthesizer.sample(part.rows, seed=part.seed)


def sample_partition(part: OutputPartition, ctx: PartitionContext) -> PartitionResult:
    """Draw partition ``part``, write it as Parquet and summarise it against the training sample."""
    synth = ctx.synthesizer
    frame = draw_partition(synth, part)
    path = Path(ctx.directory) / part.file_name
    write_table(to_output(frame, synth.schema_)[ctx.columns], path)
    copies = int(np.isin(ctx.encoder.row_keys(frame), ctx.train_keys).sum()) if ctx.encoder.n_columns else 0
    summary = None
    if ctx.distances and ctx.encoder.n_columns:
        found = blocked_neighbours(ctx.encoder.transform(frame), ctx.train_encoded, n_columns=ctx.encoder.n_columns)
        summary = DistanceSummary.of(found.distance)
    return PartitionResult(
        index=part.index, rows=len(frame), file=part.file_name, sha256=file_sha256(path), bytes=path.stat().st_size,
        copies_of_train=copies, distances=summary, profile=ctx.profile_bins.count(frame),
        sampling={k: int(v) for k, v in getattr(synth, "sampling_stats_", {}).items() if isinstance(v, (int, np.integer))},
        pii_counts=scan_partition(frame, ctx.text_columns, synth.schema_),
    )


def scan_partition(frame: pd.DataFrame, text_columns: list[str], schema: Any) -> dict[str, dict[str, int]]:
    """PII spans per entity in each free-text column of one partition (counts only, never values)."""
    if not text_columns or frame.empty:
        return {}
    from synthstruct.pii.scanner import scan_frame

    report = scan_frame(frame, schema=schema, columns=text_columns)
    return {name: report.text_counts(name) for name in text_columns}
