"""Reading input tables and writing outputs atomically.

Inputs are CSV or Parquet files (SQL sources come later). Every failure is a
:class:`~synthstruct.errors.DataFileError` that names the file and the problem, never a cell value.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pandas as pd

from synthstruct.errors import DataFileError, Problem

__all__ = [
    "SUPPORTED_SUFFIXES",
    "atomic_directory",
    "atomic_write_bytes",
    "file_sha256",
    "read_table",
    "table_name_for",
    "write_table",
]

SUPPORTED_SUFFIXES = (".csv", ".parquet", ".pq")
#: Cell texts read as missing in CSV files (pandas' defaults plus common survey codes).
NA_VALUES = ["", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "?"]


def table_name_for(path: str | Path) -> str:
    """A table name derived from a file name (letters, digits, ``_.-``)."""
    stem = "".join(ch if ch.isalnum() or ch in "_.-" else "_" for ch in Path(path).stem)
    return stem or "table"


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _fail(path: Path, message: str, fix: str) -> DataFileError:
    return DataFileError(message, [Problem(path.name, message, fix)], source=str(path))


def _csv_header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        try:
            return next(csv.reader(fh))
        except StopIteration:
            return []


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame.

    Raises:
        DataFileError: missing or unreadable file, unsupported format, no header, duplicate column
            names, or no data rows.
    """
    path = Path(path)
    if not path.exists():
        raise _fail(path, "file not found", "check the path")
    if path.is_dir():
        raise _fail(path, "is a directory, not a data file", "pass a .csv or .parquet file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise _fail(path, f"unsupported file format {suffix or '(no extension)'!r}",
                    "convert it to CSV or Parquet (.csv, .parquet)")
    try:
        if suffix == ".csv":
            header = _csv_header(path)
            if not header or all(not h.strip() for h in header):
                raise _fail(path, "the file is empty (no header row)", "write a header row and data rows")
            dupes = sorted(name for name, n in Counter(h.strip() for h in header).items() if n > 1)
            if dupes:
                raise DataFileError("duplicate column names", [
                    Problem(f"column {name!r}", "appears more than once in the header",
                            "rename the columns so that each name is unique") for name in dupes
                ], source=str(path))
            frame = pd.read_csv(path, na_values=NA_VALUES, keep_default_na=False, low_memory=False,
                                encoding="utf-8-sig", skipinitialspace=True, dtype=str)
            frame.columns = [str(c).strip() for c in frame.columns]
            from synthstruct.schema.values import typed_columns  # leading zeros and long integers stay text

            frame = typed_columns(frame)
        else:
            import pyarrow.parquet as pq

            names = pq.read_schema(path).names
            dupes = sorted(name for name, n in Counter(names).items() if n > 1)
            if dupes:
                raise DataFileError("duplicate column names", [
                    Problem(f"column {name!r}", "appears more than once", "rename the columns")
                    for name in dupes], source=str(path))
            frame = pd.read_parquet(path)
    except DataFileError:
        raise
    except UnicodeDecodeError:
        raise _fail(path, "is not UTF-8 text", "re-save the CSV as UTF-8") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, ValueError) as exc:
        raise _fail(path, f"cannot be parsed as {suffix[1:].upper()} ({type(exc).__name__})",
                    "check that the file is a valid, complete file of that format") from None
    except Exception as exc:  # pyarrow raises its own hierarchy
        raise _fail(path, f"cannot be read ({type(exc).__name__})", "check the file") from None
    if frame.shape[1] == 0:
        raise _fail(path, "has no columns", "write a header row")
    if len(frame) == 0:
        raise _fail(path, "has a header but no data rows", "add data rows")
    return frame


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a DataFrame deterministically as CSV or Parquet (by suffix)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        data = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
        atomic_write_bytes(path, data)
    elif suffix in (".parquet", ".pq"):
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
            tmp_path = Path(tmp.name)
        try:
            frame.to_parquet(tmp_path, index=False, compression="zstd")
            os.replace(tmp_path, path)
        finally:
            tmp_path.unlink(missing_ok=True)
    else:
        raise _fail(path, f"unsupported output format {suffix!r}", "use .csv or .parquet")


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename (never half-written)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_directory(target: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Build a directory in a temporary sibling and rename it into place on success.

    On any exception the temporary directory is removed and ``target`` is untouched.

    Raises:
        DataFileError: ``target`` exists (and ``overwrite`` is false) or is not a directory.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise _fail(target, "exists and is not a directory", "choose another output path")
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise _fail(target, "output directory exists and is not empty",
                    "choose a new output directory or pass --overwrite")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    try:
        yield tmp
        if target.exists():
            backup = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, backup)
            os.replace(tmp, target)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
