"""Shared helpers of the benchmark scripts in ``evaluation/``.

* where the datasets are (``../shared/datasets`` next to the repository, or ``--data-dir``);
* Adult: the reviewed schema (``evaluation/schemas/adult.yaml``), loading as a plain frame (six float64
  numericals, object categoricals, ``?`` = missing) or coerced to the schema, the 80 / 20 train/holdout
  split the release path uses;
* measuring: :func:`timed`, :class:`LoadAverage` (the machine is shared), :class:`PeakRSS`;
* printing result tables.

The scripts are run as files (``python evaluation/bench_x.py``), so this directory is on ``sys.path``
and ``from _common import ...`` works; synthstruct itself is importable from the repository root,
which :func:`ensure_repo_on_path` adds for runs outside the editable install.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, TypeVar

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "datasets"
ADULT_SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "adult.yaml"

ADULT_NUMERICAL = ("age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week")
ADULT_TARGET = "income"
ADULT_POSITIVE = ">50K"

T = TypeVar("T")


def ensure_repo_on_path() -> None:
    """Make ``import synthstruct`` work from a checkout without an installed package."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


ensure_repo_on_path()


# ---------------------------------------------------------------------------- data
def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` (default: ``../shared/datasets`` next to the repository)."""
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help=f"folder with adult.csv and adult_test.csv (default {DEFAULT_DATA_DIR})")


def adult_schema() -> Any:
    """The reviewed Adult schema (:class:`synthstruct.schema.Schema`)."""
    from synthstruct.schema import load_schema

    return load_schema(ADULT_SCHEMA_PATH)


def load_adult(path: Path) -> pd.DataFrame:
    """Adult as a plain frame: six float64 numericals, the rest object categoricals, '?' = NaN.

    Labels of the test file lose a trailing '.' if they have one (the original UCI test file).
    """
    frame = pd.read_csv(path, skipinitialspace=True, na_values=["?"], dtype=str, keep_default_na=False)
    frame = frame.replace({"": np.nan})
    frame[ADULT_TARGET] = frame[ADULT_TARGET].str.rstrip(".")
    for col in frame.columns:
        frame[col] = frame[col].astype(np.float64) if col in ADULT_NUMERICAL else frame[col].astype(object)
    return frame


def load_adult_coerced(path: Path, schema: Any | None = None) -> pd.DataFrame:
    """Adult read with :func:`synthstruct.dataio.read_table` and coerced to the Adult schema."""
    from synthstruct.dataio import read_table
    from synthstruct.schema import coerce_to_schema

    schema = schema if schema is not None else adult_schema()
    return coerce_to_schema(read_table(path), schema, source=path.name)


def split_adult(frame: pd.DataFrame, schema: Any, *, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """80 / 20 train / holdout split, stratified on the target, as ``release`` does by default."""
    from synthstruct.release.policy import SplitSpec
    from synthstruct.release.split import split_train_holdout

    return split_train_holdout(frame, spec=SplitSpec(), seed=seed, stratify_on=schema.target)


# ---------------------------------------------------------------------------- measuring
def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Run ``fn`` and return ``(result, wall seconds)``."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


@dataclass
class LoadAverage:
    """1/5/15-minute load averages at the start and end of a run (the machine is shared)."""

    before: tuple[float, float, float] = field(default_factory=lambda: _loadavg())
    after: tuple[float, float, float] | None = None

    def stop(self) -> "LoadAverage":
        self.after = _loadavg()
        return self

    def describe(self) -> str:
        after = self.after or _loadavg()
        return (f"load average (1/5/15 min) before {'/'.join(f'{v:.2f}' for v in self.before)}, "
                f"after {'/'.join(f'{v:.2f}' for v in after)} on {os.cpu_count()} cores")

    def to_dict(self) -> dict[str, Any]:
        return {"before": list(self.before), "after": list(self.after or _loadavg()), "cpu_count": os.cpu_count()}


def _loadavg() -> tuple[float, float, float]:
    return tuple(round(v, 2) for v in os.getloadavg())  # type: ignore[return-value]


class PeakRSS:
    """Peak resident-set growth of this process while the block runs (polled every 5 ms by a thread)."""

    def __enter__(self) -> "PeakRSS":
        import psutil

        self._process = psutil.Process(os.getpid())
        self.start = self._process.memory_info().rss
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def growth_mb(self) -> float:
        """Peak minus start, in MiB."""
        return (self.peak - self.start) / 2**20


# ---------------------------------------------------------------------------- printing
def _cell(value: Any, digits: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return "-"
        return f"{value:,.0f}" if abs(value) >= 10 ** digits else f"{value:.{digits}g}"
    return str(value)


def format_table(rows: Iterable[dict[str, Any]], columns: Sequence[str] | None = None, *, digits: int = 4,
                 markdown: bool = False) -> str:
    """Rows of dicts as an aligned text table (or a markdown table)."""
    rows = list(rows)
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    cells = [[_cell(row.get(c), digits) for c in columns] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in cells]
        return "\n".join(lines)
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(columns, widths)))]
    lines += ["  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths)))
              for r in cells]
    return "\n".join(lines)
