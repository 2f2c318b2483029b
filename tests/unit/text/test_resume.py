"""Chunked text generation: progress callbacks and resuming from a checkpoint after a crash."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthstruct.schema.model import TextColumn
from synthstruct.text.checkpoint import Checkpoint
from synthstruct.text.column import TextColumnGenerator
from synthstruct.text.template import TemplateTextGenerator

SPEC = TextColumn(kind="text", generator="template", conditioned_on=["product"], min_length=3, max_length=30)
TRAIN = pd.Series([f"review number {i} says the product was fine and arrived on time" for i in range(30)])


class Crashing(TemplateTextGenerator):
    """The template backend that counts requests and dies after ``limit`` calls."""

    def __init__(self, limit: int | None = None) -> None:
        super().__init__()
        self.limit, self.calls, self.asked = limit, 0, 0

    def generate(self, requests, *, seed):  # type: ignore[no-untyped-def]
        if self.limit is not None and self.calls >= self.limit:
            raise KeyboardInterrupt("simulated interruption")
        self.calls += 1
        self.asked += len(requests)
        return super().generate(requests, seed=seed)


def _rows(n: int = 10) -> pd.DataFrame:
    return pd.DataFrame({"product": [f"item {i % 4}" for i in range(n)]})


def _generator(backend: Crashing, **attrs: object) -> TextColumnGenerator:
    gen = TextColumnGenerator(SPEC, column="Review", backend=backend).fit(TRAIN)
    gen.chunk_rows = 4
    for name, value in attrs.items():
        setattr(gen, name, value)
    return gen


def test_progress_is_reported_per_chunk() -> None:
    calls: list[tuple[int, int]] = []
    _generator(Crashing(), progress=lambda done, total: calls.append((done, total))).generate(
        _rows(), np.random.default_rng(0))
    assert calls == [(4, 10), (8, 10), (10, 10)]


def test_interrupted_run_resumes_without_losing_or_repeating_rows(tmp_path) -> None:
    expected = _generator(Crashing()).generate(_rows(), np.random.default_rng(0))
    first = _generator(Crashing(limit=2), checkpoint_dir=tmp_path)
    with pytest.raises(KeyboardInterrupt):
        first.generate(_rows(), np.random.default_rng(0))
    (path,) = tmp_path.glob("text-*.jsonl")
    assert len(path.read_text().splitlines()) == 2  # two chunks finished before the crash
    backend = Crashing()
    resumed = _generator(backend, checkpoint_dir=tmp_path)
    out = resumed.generate(_rows(), np.random.default_rng(0))
    assert out.tolist() == expected.tolist()
    assert backend.asked == 2 and resumed.stats_["resumed_texts"] == 8  # only the last chunk was generated
    assert resumed.stats_["texts"] == 10 and resumed.stats_["rounds"] == 1
    other = _generator(Crashing(), checkpoint_dir=tmp_path).generate(_rows(), np.random.default_rng(1))
    assert len(list(tmp_path.glob("text-*.jsonl"))) == 2 and other.tolist() != expected.tolist()  # new seed, new file


def test_a_torn_last_line_is_dropped(tmp_path) -> None:
    store = Checkpoint(tmp_path, "Review", ["key"])
    store.append(0, {0: "first text", 1: "second text"}, {"rounds": 1})
    with store.path.open("a") as f:
        f.write(json.dumps({"chunk": 1, "texts": [[2, "third"]], "stats": {}})[:20])  # crash mid-write
    assert store.load() == {0: ({0: "first text", 1: "second text"}, {"rounds": 1})}
    store.append(1, {2: "third text"}, {"rounds": 2})
    assert sorted(store.load()) == [0, 1]
