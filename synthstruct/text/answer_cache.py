"""Model answers saved as they arrive, so an interrupted text column loses at most one model batch.

The chunk checkpoint (:mod:`synthstruct.text.checkpoint`) saves finished chunks of rows; a chunk holds
up to 256 texts, several minutes of work for a small CPU model writing long texts. This cache saves
every *model batch* (``local``) or *request* (``openai``) as soon as it is answered: one JSON line,
flushed and fsynced, keyed by a hash of everything the answer depends on (prompts, per-request seeds,
the call's seed, decoding options). A rerun of the same command regenerates the unfinished chunk with
the same requests in the same batches, finds the answered ones here and asks the model only for the
rest, so the bytes equal an uninterrupted run's. The file sits next to the chunk checkpoint (owner
only), holds generated text only, and is removed with it once the bundle is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

__all__ = ["AnswerCache", "answer_key"]

log = logging.getLogger(__name__)


def answer_key(*parts: Any) -> str:
    """A stable hash of everything an answer depends on."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:40]


class AnswerCache:
    """Append-only ``key -> answers`` store for one text column.

    Args:
        directory: The run's checkpoint directory (created owner-only if missing).
        column: Column name (hashed into the file name).
    """

    def __init__(self, directory: Path, column: str) -> None:
        self.path = Path(directory) / f"answers-{hashlib.sha256(column.encode()).hexdigest()[:12]}.jsonl"
        self._lock = threading.Lock()
        self._entries: dict[str, list[str]] | None = None
        self.hits = 0

    def _load(self) -> dict[str, list[str]]:
        if self._entries is None:
            entries: dict[str, list[str]] = {}
            if self.path.is_file():
                with self.path.open("rb") as f:
                    for raw in f:
                        if not raw.endswith(b"\n"):
                            break  # torn last line: the process died while writing it
                        try:
                            entry = json.loads(raw)
                            entries[str(entry["key"])] = [str(a) for a in entry["answers"]]
                        except (ValueError, KeyError, TypeError):
                            break
            self._entries = entries
        return self._entries

    def get(self, key: str) -> list[str] | None:
        """The saved answers for ``key``, or None."""
        with self._lock:
            found = self._load().get(key)
            self.hits += found is not None
            return list(found) if found is not None else None

    def put(self, key: str, answers: list[str]) -> None:
        """Save ``answers`` under ``key`` (one line, flushed to disk before returning)."""
        self.put_many([(key, answers)])

    def put_many(self, items: list[tuple[str, list[str]]]) -> None:
        """Save several ``(key, answers)`` (one line each, one fsync before returning)."""
        lines = "".join(json.dumps({"key": key, "answers": list(answers)}, ensure_ascii=False) + "\n"
                        for key, answers in items)
        with self._lock:
            entries = self._load()
            for key, answers in items:
                entries[key] = list(answers)
            if not self.path.parent.is_dir():
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as f:
                f.write(lines)
                f.flush()
                os.fsync(f.fileno())
