"""Partitioned Parquet datasets: a directory of Parquet files, read piece by piece.

A *piece* is one row group of one file, the unit a task reads, so a single large Parquet file is
split too. Row counts come from the Parquet footers (nothing is read to count rows). CSV inputs are
converted on the way in, chunk by chunk, so a CSV larger than memory works: every cell is kept as
text (no per-chunk type guessing, which would drop the leading zeros of ZIP codes and codes), and the
rows actually used are typed by :func:`typed_sample` exactly as :func:`synthstruct.dataio.read_table`
types a whole CSV.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synthstruct.dataio import NA_VALUES, write_table
from synthstruct.errors import DataFileError, Problem

__all__ = ["DEFAULT_PARTITION_ROWS", "Piece", "csv_to_parquet", "list_pieces", "read_piece", "take_rows",
           "typed_sample"]

log = logging.getLogger(__name__)

#: Rows per partition of converted inputs and synthetic outputs (about 20-60 MB in memory for 15 columns).
DEFAULT_PARTITION_ROWS = 250_000


@dataclass(frozen=True)
class Piece:
    """One readable unit of a dataset: a row group of a Parquet file."""

    path: str
    row_group: int
    rows: int


def _fail(path: Path, message: str, fix: str) -> DataFileError:
    return DataFileError("cannot read the dataset", [Problem(str(path), message, fix)], source=str(path))


def parquet_files(path: str | Path) -> list[Path]:
    """The Parquet files of a dataset: the file itself, or the directory's files in name order."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise _fail(path, "not found", "pass a Parquet file, a directory of Parquet files or a CSV file")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".parquet", ".pq")
                   and not p.name.startswith((".", "_")))
    if not files:
        raise _fail(path, "holds no .parquet files", "write the partitions as *.parquet files")
    return files


def list_pieces(path: str | Path) -> list[Piece]:
    """Every row group of the dataset at ``path``, in file-name then row-group order.

    Raises:
        DataFileError: missing path, no Parquet files, unreadable footer, differing column names, or
            no rows.
    """
    import pyarrow.parquet as pq

    pieces: list[Piece] = []
    names: list[str] | None = None
    for file in parquet_files(path):
        try:
            meta = pq.ParquetFile(file).metadata
        except Exception as exc:  # noqa: BLE001 - pyarrow raises its own hierarchy
            raise _fail(file, f"is not a readable Parquet file ({type(exc).__name__})", "check the file") from None
        file_names = pq.read_schema(file).names
        if names is None:
            names = file_names
        elif file_names != names:
            raise _fail(file, "has other columns than the first file", "write every partition with the same columns")
        pieces += [Piece(str(file), g, meta.row_group(g).num_rows) for g in range(meta.num_row_groups)
                   if meta.row_group(g).num_rows]
    if not pieces:
        raise _fail(Path(path), "has no data rows", "add data rows")
    return pieces


def read_piece(piece: Piece, columns: list[str] | None = None) -> pd.DataFrame:
    """Read one piece into pandas."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(piece.path).read_row_group(piece.row_group, columns=columns).to_pandas()


def take_rows(piece: Piece, positions: np.ndarray) -> pd.DataFrame:
    """The rows of ``piece`` at sorted ``positions`` (0-based within the piece)."""
    frame = read_piece(piece)
    return frame.iloc[positions].reset_index(drop=True) if len(positions) < len(frame) else frame


def csv_to_parquet(csv_path: str | Path, directory: str | Path, *,
                   partition_rows: int = DEFAULT_PARTITION_ROWS) -> list[Path]:
    """Convert a CSV file to a directory of Parquet partitions, reading ``partition_rows`` rows at a time.

    The CSV is read with the same missing-value markers as :func:`synthstruct.dataio.read_table`, and
    every column is written as text (Parquet strings, missing cells null): a chunk never guesses types
    on its own, so ``02134`` stays ``02134``. Type the rows read back with :func:`typed_sample`.

    Returns:
        The partition files written (``part-00000.parquet`` ...).

    Raises:
        DataFileError: the CSV cannot be parsed or has no data rows.
    """
    csv_path, directory = Path(csv_path), Path(directory)
    from synthstruct._csvscan import scan_csv, sniff_delimiter

    delimiter = sniff_delimiter(csv_path)
    scan_csv(csv_path, delimiter)  # ragged rows, missing header, encodings, width: as read_table refuses them
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        reader = pd.read_csv(csv_path, na_values=NA_VALUES, keep_default_na=False, low_memory=False,
                             encoding="utf-8-sig", skipinitialspace=True, chunksize=partition_rows, sep=delimiter,
                             dtype=str)
        for i, chunk in enumerate(reader):
            chunk.columns = [str(c).strip() for c in chunk.columns]
            target = directory / f"part-{i:05d}.parquet"
            write_table(chunk, target)
            written.append(target)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise _fail(csv_path, f"cannot be parsed as CSV ({type(exc).__name__})", "check the file") from None
    if not written:
        raise _fail(csv_path, "has no data rows", "add data rows")
    log.info("converted %s into %d Parquet partitions", csv_path.name, len(written))
    return written


def typed_sample(frame: pd.DataFrame, *, source: str | Path) -> pd.DataFrame:
    """Types for rows read back from :func:`csv_to_parquet`'s all-text partitions.

    The same rules as :func:`synthstruct.dataio.read_table` (via
    :func:`synthstruct.schema.values.typed_columns`): values written with leading zeros and integers
    too long for int64 stay text, other numbers become int64 / float64; ``inf`` is refused. When the
    rows are the whole CSV in input order, the result equals ``read_table(csv)``.

    Raises:
        DataFileError: a numeric column holds ``inf`` / ``-inf``.
    """
    from synthstruct.dataio import check_finite
    from synthstruct.schema.values import typed_columns

    typed = typed_columns(frame.where(frame.notna(), np.nan))  # Parquet nulls read back as None; CSV gives NaN
    check_finite(Path(source), typed)
    return typed
