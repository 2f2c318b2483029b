"""Reading input tables and writing outputs atomically.

Inputs are CSV or Parquet files (SQL sources come later). Every failure is a
:class:`~synthstruct.errors.DataFileError` that names the file and the problem, never a cell value.
CSV structure (ragged rows, missing header, encodings, width) is checked by
:func:`synthstruct._csvscan.scan_csv` before pandas reads the file.

Writes are atomic (a temporary sibling named ``.<name>.tmp-<pid>-<random>``, then a rename); temporary
siblings left by a killed run are removed by the next run on the same output path; written folders
are private (``0700``, files ``0600``). Generated CSV cells that a spreadsheet would run as a formula
are escaped (see :func:`escape_formulas`). See docs/file-safety.md.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import tempfile
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

import pandas as pd

from synthstruct._csvscan import header_row, max_columns, scan_csv, sniff_delimiter
from synthstruct.errors import DataFileError, Problem, file_access_error

__all__ = [
    "SUPPORTED_SUFFIXES",
    "atomic_directory",
    "check_finite",
    "atomic_write_bytes",
    "check_output_dir",
    "check_output_file",
    "escape_formulas",
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


_NESTED_TYPES = ("list", "large_list", "fixed_size_list", "struct", "map", "union", "dictionary<values=list",
                 "binary", "large_binary", "fixed_size_binary")


def _check_parquet_schema(path: Path) -> None:
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    names = schema.names
    if len(names) > max_columns():
        raise _fail(path, f"has {len(names)} columns; synthstruct reads at most {max_columns()}",
                    "split the table into narrower tables, drop columns, or raise SYNTHSTRUCT_MAX_COLUMNS")
    dupes = [n for n, k in Counter(names).items() if k > 1]
    if dupes:
        positions = [[i + 1 for i, n in enumerate(names) if n == d] for d in dupes]
        raise DataFileError("duplicate column names", [
            Problem(f"columns {', '.join(map(str, pos))}", "have the same name (appears more than once)",
                    "rename the columns") for pos in positions], source=str(path))
    nested = [(i + 1, field) for i, field in enumerate(schema) if str(field.type).split("<")[0].split("[")[0]
              in _NESTED_TYPES or str(field.type).startswith(("list", "large_list", "struct", "map"))]
    if nested:
        raise DataFileError("unsupported column types", [
            Problem(f"column {pos} ({field.name})", f"has the nested or binary type {str(field.type).split('<')[0]}",
                    "flatten it into scalar columns (numbers, text, dates) before reading")
            for pos, field in nested[:10]], source=str(path))
    if any(not str(n).strip() for n in names):
        raise _fail(path, "has a column without a name", "give every column a name")


#: CSV files from this size on are parsed by Arrow (multithreaded) when that gives what pandas would.
ARROW_CSV_MIN_BYTES = 16 << 20


def _parse_csv_arrow(path: Path, delimiter: str, names: list[str]) -> Any:
    """Arrow's (multithreaded) parse of the file with every column ``names`` as text; ``None`` on any Arrow error."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        return pcsv.read_csv(
            path, parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types={name: pa.string() for name in names}, null_values=NA_VALUES,
                strings_can_be_null=True, quoted_strings_can_be_null=True))
    except Exception:  # noqa: BLE001 - pyarrow raises its own hierarchy; pandas reports the problem
        return None


def _start_arrow_parse(path: Path, delimiter: str) -> Future[Any] | None:
    """For a large file, Arrow's parse started on a thread of its own, so that it runs (outside the GIL) while
    :func:`scan_csv` checks the structure (1M rows: about 3 s of the scan hidden); ``None`` for small files."""
    if path.stat().st_size < ARROW_CSV_MIN_BYTES:
        return None
    names = header_row(path, delimiter)
    if names is None or len(names) < 2:
        return None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="csv-parse")
    try:  # the table comes in a list the reader empties, so that the future does not keep it alive
        return pool.submit(lambda: [_parse_csv_arrow(path, delimiter, names)])
    finally:
        pool.shutdown(wait=False)


def _read_csv_arrow(path: Path, delimiter: str, header: list[str], parsing: Future[Any] | None = None
                    ) -> pd.DataFrame | None:
    """``typed_columns(pd.read_csv(path, dtype=str, na_values=NA_VALUES, keep_default_na=False,
    skipinitialspace=True))`` parsed and typed by Arrow, or ``None`` when pandas must read it: a small file, one column, a cell that starts with a
    space or tab (pandas skips those), a header Arrow reads otherwise than the structure scan, or any Arrow
    error (pandas then reports the problem as before). ``parsing``: the parse started by :func:`_start_arrow_parse`."""
    if len(header) < 2 or path.stat().st_size < ARROW_CSV_MIN_BYTES:
        return None
    table = parsing.result().pop() if parsing is not None else _parse_csv_arrow(path, delimiter, header)
    if table is None:
        return None
    try:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        if table.column_names != header or any(not pa.types.is_string(t) for t in table.schema.types):
            return None
        from synthstruct.schema.values import typed_from_codes

        columns = {}
        for i, name in enumerate(header):
            # pandas' factorize done by Arrow's hash kernel (one pass): distinct texts in order of first appearance
            # and a code per row (-1: missing); typed by :func:`typed_from_codes` as :func:`typed_columns` would
            encoded = pc.dictionary_encode(_one_chunk(table.column(i)))
            distinct = encoded.dictionary
            if pc.any(pc.starts_with(distinct, " ")).as_py() or pc.any(pc.starts_with(distinct, "\t")).as_py():
                return None  # a cell starting with a space or tab: pandas (skipinitialspace) reads the file
            codes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.intp, copy=False)
            texts = distinct.to_pandas().to_numpy(dtype=object)
            typed = typed_from_codes(codes, texts)
            # a text column: one str object per distinct text (as pandas' parser shares them), NaN where missing
            columns[name] = np.append(texts, np.nan)[codes] if typed is None else typed
        del table, encoded, distinct
        pa.default_memory_pool().release_unused()  # hand the parsed buffers back to the system
        return pd.DataFrame(columns, copy=False)
    except Exception:  # noqa: BLE001 - pyarrow raises its own hierarchy; pandas reports the problem
        return None


def _one_chunk(column: Any) -> Any:
    """A chunked Arrow text column as one array (large_string when its text passes 2 GiB)."""
    import pyarrow as pa

    try:
        return column.combine_chunks()
    except pa.ArrowInvalid:  # offset overflow
        return column.cast(pa.large_string()).combine_chunks()


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame.

    Raises:
        DataFileError: missing or unreadable file, unsupported format, no header, a first row that
            looks like data, ragged rows, duplicate or empty column names, nested Parquet types,
            too many columns, or no data rows.
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
            delimiter = sniff_delimiter(path)
            parsing = _start_arrow_parse(path, delimiter)
            try:
                header = scan_csv(path, delimiter)
            except BaseException:
                if parsing is not None:
                    wait([parsing])  # no parse left running behind the error
                raise
            frame = _read_csv_arrow(path, delimiter, header, parsing)  # typed already
            if frame is None:
                frame = pd.read_csv(path, na_values=NA_VALUES, keep_default_na=False, low_memory=False,
                                    encoding="utf-8-sig", skipinitialspace=True, sep=delimiter, dtype=str)
                from synthstruct.schema.values import typed_columns  # leading zeros and long integers stay text

                frame = typed_columns(frame)
            frame.columns = [str(c).strip() for c in frame.columns]
        else:
            _check_parquet_schema(path)
            frame = pd.read_parquet(path)
    except DataFileError:
        raise
    except UnicodeDecodeError:
        raise _fail(path, "is not UTF-8 text", "re-save the CSV as UTF-8") from None
    except PermissionError as exc:
        raise file_access_error(exc, action="read") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, ValueError) as exc:
        raise _fail(path, f"cannot be parsed as {suffix[1:].upper()} ({type(exc).__name__})",
                    "check that the file is a valid, complete file of that format") from None
    except MemoryError:
        raise _fail(path, "is too large to read into memory", "read a sample of the rows") from None
    except Exception as exc:  # noqa: BLE001 - pyarrow raises its own hierarchy
        raise _fail(path, f"cannot be read ({type(exc).__name__})", "check the file") from None
    if frame.shape[1] == 0:
        raise _fail(path, "has no columns", "write a header row")
    if len(frame) == 0:
        raise _fail(path, "has a header but no data rows", "add data rows")
    check_finite(path, frame)
    return frame


def check_finite(path: Path, frame: pd.DataFrame) -> None:
    """Refuse ``inf``/``-inf`` in numeric columns (pandas reads the text "inf" as a number)."""
    import numpy as np

    problems = []
    for name in frame.columns:
        col = frame[name]
        if not pd.api.types.is_float_dtype(col):
            continue
        rows = np.flatnonzero(np.isinf(col.to_numpy(dtype="float64", na_value=np.nan)))
        if len(rows):
            shown = ", ".join(str(r + 1) for r in rows[:5]) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
            problems.append(Problem(f"column {name!r}", f"has infinite numbers (data rows {shown})",
                                    "replace them with real numbers or leave the cells empty (missing)"))
    if problems:
        raise DataFileError("infinite numbers in numeric columns", problems, source=str(path))


# --------------------------------------------------------------------------- formula escaping
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _formula_starts(col: pd.Series) -> Any:
    """For a column of text cells (``str`` or missing): a boolean array, true where the cell starts like a
    formula (found by Arrow in one pass); ``None`` for other columns (the cell-by-cell check decides)."""
    if col.dtype != object:
        return None
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        array = pa.array(col.to_numpy(dtype=object), from_pandas=True)
    except Exception:  # noqa: BLE001 - mixed types: pyarrow raises its own hierarchy
        return None
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return None
    starts = pc.fill_null(pc.match_substring_regex(array, r"^[=+\-@\t\r]"), False)
    return starts.to_numpy(zero_copy_only=False)


def _may_start_formula(col: pd.Series) -> bool:
    """``False`` when no cell of a text column starts like a formula (checked by Arrow in one pass; columns
    Arrow cannot read as text answer ``True`` and take the cell-by-cell check)."""
    starts = _formula_starts(col)
    return True if starts is None else bool(starts.any())


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix ``'`` to text cells a spreadsheet would run as a formula (OWASP CSV injection advice).

    A cell is escaped when it is text, starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return, and is not a number (``-5`` and ``+1.5e3`` stay as they are). Numeric, boolean and
    datetime columns are never touched. Returns a copy when something changed, else ``frame``.
    """
    import numpy as np

    out = frame
    for name in frame.columns:
        col = frame[name]
        if not (pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)
                or isinstance(col.dtype, pd.CategoricalDtype)):
            continue
        if col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) in ("integer", "boolean", "empty"):
            continue  # Python ints and booleans (id and code columns): their text is never an unsafe formula
        starts = _formula_starts(col)
        if starts is not None:  # text cells: only the cells Arrow found are parsed as numbers and escaped
            if not starts.any():
                continue
            text = col[starts].astype("string")
            risky = ~pd.to_numeric(text, errors="coerce").notna().to_numpy()
            if not risky.any():
                continue
            if out is frame:
                out = frame.copy()
            fixed = col.astype(object).copy()
            fixed.iloc[np.flatnonzero(starts)[risky]] = ("'" + text[risky].astype(str)).to_numpy(dtype=object)
            out[name] = fixed
            continue
        text = col.astype("string")
        risky = text.str.startswith(_FORMULA_START).fillna(False).astype(bool)
        if not risky.any():
            continue
        numeric = pd.to_numeric(text.where(risky), errors="coerce").notna()
        risky &= ~numeric
        if not risky.any():
            continue
        if out is frame:
            out = frame.copy()
        fixed = col.astype(object).copy()
        fixed[risky] = "'" + text[risky].astype(str)
        out[name] = fixed
    return out

#: Frames from this many cells on are written to CSV by Arrow's vectorised string kernels (:func:`_csv_bytes_arrow`)
#: when every column is text or integers; the bytes are those ``DataFrame.to_csv`` writes (checked on the first
#: rows of every frame; anything else is written by pandas).
ARROW_CSV_WRITE_MIN_CELLS = 2_000_000
_CSV_CHUNK_ROWS = 200_000
_CSV_CHECK_ROWS = 2_000


@functools.lru_cache(maxsize=1)
def _csv_quoted_characters() -> str | None:
    """The characters that make Python's ``csv`` writer (which pandas uses) quote a field, as pandas calls it
    (``QUOTE_MINIMAL``, ``"``, ``,``, ``\\n`` line ends), probed once; ``None`` when the writer quotes by a rule
    :func:`_csv_bytes_arrow` does not reproduce (then pandas writes every CSV)."""
    import csv
    import io

    probes = [",", '"', "\n", "\r", " ", "\t", "\x00", "\x0b", "\x0c", "\x85", "\u2028", "'", "="]
    quoted = []
    for char in probes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow([f"a{char}b", "x"])
        if buffer.getvalue().startswith('"'):
            quoted.append(char)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([" a", "", "x"])
    if not {",", '"', "\n"} <= set(quoted) or buffer.getvalue() != " a,,x\n":
        return None
    return "".join(quoted)


def _csv_cells_arrow(col: pd.Series, quote_chars: str) -> Any:
    """One column's CSV cells as an Arrow ``large_string`` array (``None``: not text or integers)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pd.api.types.is_integer_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return pc.cast(pa.array(col, from_pandas=True), pa.large_string())  # NumPy and nullable integers
    if not (col.dtype == object or isinstance(col.dtype, pd.StringDtype)):
        return None
    array = pa.array(col.to_numpy(dtype=object), from_pandas=True)  # raises on mixed cells: pandas writes them
    if pa.types.is_null(array.type) or pa.types.is_integer(array.type):  # all missing; Python ints (str(int))
        return pc.cast(array, pa.large_string())
    if pa.types.is_string(array.type):
        array = pc.cast(array, pa.large_string())
    elif not pa.types.is_large_string(array.type):
        return None  # floats, booleans, dates: pandas formats those
    needs_quotes = None
    for char in quote_chars:  # a substring search per character is faster than one regular expression
        found = pc.match_substring(array, char)
        needs_quotes = found if needs_quotes is None else pc.or_(needs_quotes, found)
    if needs_quotes is not None and pc.any(needs_quotes).as_py():
        mark, empty = pa.scalar('"', pa.large_string()), pa.scalar("", pa.large_string())
        quoted = pc.binary_join_element_wise(mark, pc.replace_substring(array, '"', '""'), mark, empty)
        array = pc.if_else(needs_quotes, quoted, array)
    return array


def _csv_rows_arrow(frame: pd.DataFrame, quote_chars: str) -> bytes | None:
    """The data rows of ``frame`` as CSV bytes (no header), or ``None`` when a column is not text or integers."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = []
    for name in frame.columns:
        array = _csv_cells_arrow(frame[name], quote_chars)
        if array is None:
            return None
        cells.append(pc.fill_null(array, ""))
    comma, newline, empty = (pa.scalar(text, pa.large_string()) for text in (",", "\n", ""))
    rows = pc.binary_join_element_wise(*cells, comma)
    lines = pc.binary_join_element_wise(rows, empty, newline)  # each row and its line end
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    _validity, offsets, data = lines.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int64)[lines.offset:lines.offset + len(lines) + 1]
    start, end = int(bounds[0]), int(bounds[-1])
    return b"" if data is None else data.slice(start, end - start).to_pybytes()


class _PandasMustWrite(Exception):
    """A chunk of rows :func:`_csv_bytes_arrow` cannot write as pandas would (the caller lets pandas write it)."""


def _csv_bytes_arrow(frame: pd.DataFrame) -> Iterator[bytes] | None:
    """``frame.to_csv(index=False, lineterminator="\\n").encode("utf-8")`` built by Arrow's string kernels, as
    chunks of rows made one at a time, for frames of text (``str`` cells) and integer columns; ``None`` when
    pandas must write it (other column types, one column, a ``csv`` module that quotes by other rules, or
    first rows that differ from what pandas writes). A later chunk that Arrow cannot write (a cell of another
    type) raises :class:`_PandasMustWrite` while iterating."""
    quote_chars = _csv_quoted_characters()
    if quote_chars is None or frame.shape[1] < 2 or not frame.columns.is_unique:
        return None
    try:
        head = frame.iloc[:_CSV_CHECK_ROWS]
        expected = head.to_csv(index=False, lineterminator="\n").encode("utf-8")
        header = frame.iloc[:0].to_csv(index=False, lineterminator="\n").encode("utf-8")
        check = _csv_rows_arrow(head, quote_chars)
        if check is None or header + check != expected:
            return None
    except Exception:  # noqa: BLE001 - pyarrow raises its own hierarchy (e.g. unencodable text): pandas writes it
        return None

    def chunks() -> Iterator[bytes]:
        yield header
        for start in range(0, len(frame), _CSV_CHUNK_ROWS):
            try:
                part = _csv_rows_arrow(frame.iloc[start:start + _CSV_CHUNK_ROWS], quote_chars)
            except Exception as exc:  # pyarrow raises its own hierarchy
                raise _PandasMustWrite() from exc
            if part is None:
                raise _PandasMustWrite()
            yield part

    return chunks()


def write_table(frame: pd.DataFrame, path: str | Path, *, escape_csv_formulas: bool = True) -> None:
    """Write a DataFrame deterministically as CSV or Parquet (by suffix), atomically.

    Args:
        frame: The rows.
        path: ``.csv``, ``.parquet`` or ``.pq``.
        escape_csv_formulas: CSV only: escape cells that would run as spreadsheet formulas
            (:func:`escape_formulas`). Parquet is written unchanged.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        if escape_csv_formulas:
            frame = escape_formulas(frame)
        chunks = _csv_bytes_arrow(frame) if frame.size >= ARROW_CSV_WRITE_MIN_CELLS else None
        if chunks is not None:
            try:
                atomic_write_bytes(path, chunks)  # written chunk by chunk
                return
            except _PandasMustWrite:
                pass  # nothing is left of the partial file: pandas writes it below
        atomic_write_bytes(path, frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    elif suffix in (".parquet", ".pq"):
        _remove_stale_siblings(path)
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_tmp_prefix(path))
        except OSError as exc:
            raise file_access_error(exc, action="write") from None
        os.close(fd)
        tmp_path = Path(tmp)
        try:
            frame.to_parquet(tmp_path, index=False, compression="zstd")
            os.replace(tmp_path, path)
        except OSError as exc:
            raise file_access_error(exc, action="write") from None
        finally:
            tmp_path.unlink(missing_ok=True)
    else:
        raise _fail(path, f"unsupported output format {suffix!r}", "use .csv or .parquet")


# --------------------------------------------------------------------------- temporary siblings
_STALE = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old)-(?P<pid>\d+)(?:-.*)?$")


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}.tmp-{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_siblings(path: Path) -> list[Path]:
    """Remove ``.<name>.tmp-<pid>-*`` / ``.<name>.old-<pid>`` siblings whose process is gone.

    Left by a run that was killed (SIGKILL, power loss) before its ``finally`` ran. Symbolic links
    are unlinked, never followed; siblings of live processes (a concurrent run) are left alone.
    """
    removed: list[Path] = []
    parent = path.parent
    if not parent.is_dir():
        return removed
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _STALE.match(entry.name)
        if not match or match.group("name") != path.name or _pid_alive(int(match.group("pid"))):
            continue
        try:
            if entry.is_symlink() or not entry.is_dir():
                entry.unlink()
            else:
                shutil.rmtree(entry)
            removed.append(entry)
        except OSError:
            continue
    return removed


def _make_private(root: Path) -> None:
    """``chmod`` a written tree: folders 0700, files 0600 (symbolic links are not followed)."""
    os.chmod(root, 0o700)
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            full = os.path.join(dirpath, d)
            if not os.path.islink(full):
                os.chmod(full, 0o700)
        for f in filenames:
            full = os.path.join(dirpath, f)
            if not os.path.islink(full):
                os.chmod(full, 0o600)


# --------------------------------------------------------------------------- output checks
def _nearest_existing(path: Path) -> Path:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def _probe_writable(folder: Path) -> None:
    """Create and remove a file in ``folder`` (catches read-only mounts and missing rights up front)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".synthstruct-probe-")
    except OSError as exc:
        err = file_access_error(exc, action="write")
        raise err from None
    os.close(fd)
    os.unlink(tmp)


def _free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:  # pragma: no cover - e.g. a vanished mount
        return None


def check_output_file(path: str | Path, *, overwrite: bool = False, suffixes: tuple[str, ...] | None = None) -> Path:
    """Fail fast, before any expensive work, when ``path`` cannot be written as an output file.

    Checks the suffix (when ``suffixes`` is given), that ``path`` is not a folder, that an existing
    file is replaced only with ``overwrite``, that the parent folder exists and is a folder, and that
    a file can be created in it (read-only mounts, permissions). Removes temporary siblings left by
    a killed earlier run.

    Raises:
        DataFileError, FileAccessError: naming the path and the fix.
    """
    path = Path(path)
    if path.is_dir():
        raise _fail(path, "is a folder, not a file", "pass a file name inside the folder")
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise _fail(path, f"unsupported output format {path.suffix or '(no extension)'!r}",
                    f"use one of {', '.join(suffixes)}")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise _fail(path, "output file exists", "choose another name or pass --overwrite")
    parent = path.parent
    if not parent.exists():
        anchor = _nearest_existing(parent)
        if anchor.exists() and not anchor.is_dir():
            raise _fail(path, f"a part of the output path ({anchor.name}) is a file, not a folder",
                        "choose a path inside a folder")
        raise _fail(path, "the output folder does not exist", f"create {parent} first or choose another path")
    if not parent.is_dir():
        raise _fail(path, "the output's parent is a file, not a folder", "choose a path inside a folder")
    _probe_writable(parent)
    _remove_stale_siblings(path)
    return path


def check_output_dir(path: str | Path, *, overwrite: bool = False) -> Path:
    """Fail fast when ``path`` cannot become an output folder (bundle, model, report).

    Raises:
        DataFileError, FileAccessError: it exists as a file, is non-empty without ``overwrite``, a
            part of its path is a file, or its nearest existing ancestor is not writable.
    """
    path = Path(path)
    if path.is_symlink():
        raise _fail(path, "is a symbolic link", "choose a real folder path")
    if path.exists() and not path.is_dir():
        raise _fail(path, "exists and is not a directory", "choose another output path")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise _fail(path, "output directory exists and is not empty",
                    "choose a new output directory or pass --overwrite")
    anchor = _nearest_existing(path.parent)
    if not anchor.is_dir():
        raise _fail(path, f"a part of the output path ({anchor.name}) is a file, not a folder",
                    "choose a path inside a folder")
    _probe_writable(anchor)
    _remove_stale_siblings(path)
    return path


# --------------------------------------------------------------------------- atomic writes
def atomic_write_bytes(path: str | Path, data: bytes | Iterable[bytes]) -> None:
    """Write ``data`` (bytes, or byte chunks written one after another as they come) to ``path`` via a
    temporary file and a rename (never half-written; mode 0600).

    Raises:
        FileAccessError: the folder is missing or read-only, the disk is full, ... (nothing is left).
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_tmp_prefix(path))
    except OSError as exc:
        raise file_access_error(exc, action="write") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in [data] if isinstance(data, bytes) else data:
                fh.write(chunk)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise file_access_error(exc, action="write") from None
        raise


@contextmanager
def staging_directory(target: str | Path) -> Iterator[Path]:
    """A private temporary sibling of ``target`` (mode ``0700``) for files written before it is known whether
    they will be kept: move what is kept out of it before the block ends; whatever is left is removed on exit,
    and a killed run's staging folder is removed by the next run on the same ``target`` (like
    :func:`atomic_directory`'s).

    Raises:
        FileAccessError: the folder cannot be written.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_siblings(target)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=_tmp_prefix(target) + "staging-"))
    except OSError as exc:
        raise file_access_error(exc, action="write") from None
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def atomic_directory(target: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Build a directory in a temporary sibling and rename it into place on success.

    On any exception the temporary directory is removed and ``target`` is untouched. The finished
    directory is private: folders ``0700``, files ``0600``. Temporary siblings of killed earlier runs
    on the same ``target`` are removed first.

    Raises:
        DataFileError: ``target`` exists (and ``overwrite`` is false) or is not a directory.
        FileAccessError: the folder cannot be written (read-only, permissions, disk full).
    """
    target = Path(target)
    check_output_dir(target, overwrite=overwrite)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=_tmp_prefix(target)))
    except OSError as exc:
        raise file_access_error(exc, action="write") from None
    try:
        yield tmp
        _make_private(tmp)
        if target.exists() and not overwrite and (not target.is_dir() or any(target.iterdir())):
            raise _fail(target, "was created by another run while this one worked",
                        "choose a new output directory or pass --overwrite")
        if target.exists():
            backup = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, backup)
            os.replace(tmp, target)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise file_access_error(exc, action="write") from None
        raise
