"""Resumable text generation: an append-only checkpoint of finished chunks, and a progress callback.

:class:`~synthstruct.text.column.TextColumnGenerator` writes texts chunk by chunk. With a checkpoint
directory set (the output's temp dir), every finished chunk is appended to one JSON-lines file as a
single line and flushed to disk; a rerun with the same rows, seed and column spec (hashed into the file
name) reads the finished chunks back and generates only the rest. A line torn by a crash is cut off on
the next read, so no row is lost or written twice. The file holds generated text only — never training
text — and is created owner-only (0600, in a 0700 directory).

:class:`ResumeDirectory` is the per-run directory that ``synthstruct release`` uses for these files:
``<state dir>/resume/<hash of everything the run depends on>``, outside the output bundle, removed
once the bundle is written. :func:`rich_progress` gives a ``progress(done, total)`` callback that
draws a rich progress bar.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["Checkpoint", "ResumeDirectory", "rich_progress"]

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
        _private_dir(self.path.parent)
        line = json.dumps({"chunk": chunk, "texts": [[int(i), t] for i, t in texts.items()],
                           "stats": stats}, ensure_ascii=False) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())


def _private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) readable by the owner only."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
    return path


class ResumeDirectory:
    """The checkpoint directory of one release run, outside the output bundle.

    Args:
        key: Everything the run's output depends on (input file hash, schema, policy, seed, rows,
            engine ...); its hash names the directory, so the same command finds it again and a
            different run never shares it.
        root: Parent directory (default ``<synthstruct state dir>/resume``).
    """

    def __init__(self, key: Any, *, root: Path | None = None) -> None:
        if root is None:
            from synthstruct._home import state_dir

            root = state_dir() / "resume"
        self.path = Path(root) / _digest(key)[:32]

    def finished_texts(self) -> int:
        """Texts held by the finished chunks of every checkpoint file here (0 when there is none)."""
        if not self.path.is_dir():
            return 0
        total = 0
        for file in sorted(self.path.glob("text-*.jsonl")):
            with file.open("rb") as f:
                for raw in f:
                    if raw.endswith(b"\n"):
                        try:
                            total += len(json.loads(raw)["texts"])
                        except (ValueError, KeyError, TypeError):
                            break
        return total

    def prepare(self, *, fresh: bool = False) -> Path:
        """Create the directory (owner-only) and return it; ``fresh`` first discards earlier chunks."""
        if fresh:
            self.discard()
        _private_dir(self.path.parent)
        return _private_dir(self.path)

    @contextmanager
    def claim(self, *, fresh: bool = False) -> Iterator[Path]:
        """:meth:`prepare` the directory and hold an exclusive lock on it while the block runs.

        Raises:
            InputError: another process (the same release started twice) holds the lock.
        """
        directory = self.prepare(fresh=fresh)
        fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - Windows: no advisory locks, run unguarded
                fcntl = None
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    from synthstruct.errors import InputError, Problem

                    raise InputError("the same release is already running", [Problem(
                        "resume", "another process is writing the text checkpoints of this run",
                        "wait for it to finish, or stop it and run the command again to continue")]) from None
            yield directory
        finally:
            os.close(fd)

    def discard(self) -> None:
        """Remove the directory and every checkpoint in it."""
        shutil.rmtree(self.path, ignore_errors=True)


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
