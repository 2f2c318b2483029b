"""Resumable text generation: an append-only checkpoint of finished chunks, and a progress callback.

:class:`~synthstruct.text.column.TextColumnGenerator` writes texts chunk by chunk. With a checkpoint
directory set (the output's temp dir), every finished chunk is appended to one JSON-lines file as a
single line and flushed to disk; a rerun with the same rows, seed and column spec (hashed into the file
name) reads the finished chunks back and generates only the rest. A line torn by a crash is cut off on
the next read, so no row is lost or written twice. The file holds generated text only — never training
text — and lives in the output's temp dir, which the caller removes with the rest of the temp files.

:func:`rich_progress` gives a ``progress(done, total)`` callback that draws a rich progress bar.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["Checkpoint", "rich_progress"]

log = logging.getLogger(__name__)

Chunk = tuple[dict[int, str], dict[str, int]]


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


class Checkpoint:
    """The finished chunks of one text column's generation.

    Args:
        directory: Where the checkpoint file lives (created if missing).
        column: Column name (hashed into the file name).
        key: Everything the texts depend on (spec, seed, row conditions ...); hashed into the file name,
            so a changed input starts afresh instead of reusing stale texts.
    """

    def __init__(self, directory: Path, column: str, key: Any) -> None:
        self.path = Path(directory) / f"text-{_digest(column)[:12]}-{_digest(key)[:20]}.jsonl"

    def load(self) -> dict[int, Chunk]:
        """Finished chunks by number; a torn last line (crash while writing) is cut off the file."""
        if not self.path.is_file():
            return {}
        chunks: dict[int, Chunk] = {}
        good = 0
        with self.path.open("rb") as f:
            for raw in f:
                try:
                    if not raw.endswith(b"\n"):
                        raise ValueError("torn line")
                    entry = json.loads(raw)
                    chunks[int(entry["chunk"])] = ({int(i): str(t) for i, t in entry["texts"]},
                                                   {str(k): int(v) for k, v in entry["stats"].items()})
                except (ValueError, KeyError, TypeError):
                    break
                good += len(raw)
        if good < self.path.stat().st_size:
            log.warning("text checkpoint: dropping an unfinished chunk at the end of %s", self.path.name)
            with self.path.open("r+b") as f:
                f.truncate(good)
        if chunks:
            log.info("text checkpoint: resuming after %d finished chunks", len(chunks))
        return chunks

    def append(self, chunk: int, texts: dict[int, str], stats: dict[str, int]) -> None:
        """Write one finished chunk as one line and flush it to disk."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"chunk": chunk, "texts": [[int(i), t] for i, t in texts.items()],
                           "stats": stats}, ensure_ascii=False) + "\n"
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())


@contextmanager
def rich_progress(description: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar; yields the ``progress(done, total)`` callback to hand to a text generator.

    Example:
        >>> with rich_progress("Review Text") as progress:  # doctest: +SKIP
        ...     generator.progress = progress
        ...     texts = generator.generate(rows, rng)
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn()) as bar:
        task = bar.add_task(f"text: {description}", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
