"""One pass over a CSV file before pandas reads it: structure checks that never quote a cell.

pandas reads a ragged row by padding it with blanks, names an empty header cell ``Unnamed: 5`` and
takes the first data row of a header-less file as the header. :func:`scan_csv` refuses all of those,
with line numbers and column positions (a header cell may itself be data, so errors never print it):

* UTF-16/UTF-32 text, binary content (NUL bytes), text that is not UTF-8 (with the line);
* an empty header cell, the same name twice (by position), more than :data:`MAX_COLUMNS` columns;
* a first row that looks like data (numbers, dates, or values that recur in their own column);
* (not a refusal) a file delimited by ``;``, tab or ``|`` instead of commas is read with that
  delimiter: :func:`sniff_delimiter` picks it when every sampled line splits into the header's
  number of fields with it and not with commas;
* rows with more or fewer fields than the header (ragged rows, mixed delimiters), by line;
* a cell longer than :data:`MAX_CELL_CHARS` characters.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections import defaultdict
from pathlib import Path

from synthstruct.errors import DataFileError, Problem

__all__ = ["DELIMITERS", "MAX_CELL_CHARS", "MAX_COLUMNS", "header_row", "max_columns", "scan_csv", "sniff_delimiter"]

#: Widest table read (columns); ``SYNTHSTRUCT_MAX_COLUMNS`` raises it. Above it the run is refused at
#: once: the copula and the gate grow faster than linearly with width (docs/file-safety.md).
MAX_COLUMNS = 500


def max_columns() -> int:
    """:data:`MAX_COLUMNS`, or ``$SYNTHSTRUCT_MAX_COLUMNS`` when set to a whole number."""
    configured = os.environ.get("SYNTHSTRUCT_MAX_COLUMNS", "")
    return int(configured) if configured.isdigit() else MAX_COLUMNS
#: Delimiters read, in order of preference (European spreadsheets write ``;``, exports often tab or ``|``).
DELIMITERS = (",", ";", "\t", "|")
_SNIFF_LINES = 50


def sniff_delimiter(path: Path) -> str:
    """The delimiter of a CSV file: the first of :data:`DELIMITERS` that splits the header into more
    than one field and at least 90 % of the first data lines into the same number (commas otherwise,
    so a broken comma file is still reported as ragged rather than read another way)."""
    import io
    import itertools

    try:
        with open(path, "rb") as raw:
            head = raw.read(1 << 20).decode("utf-8-sig", errors="replace")
    except OSError:
        return ","
    lines = [line for line in itertools.islice(io.StringIO(head), _SNIFF_LINES + 1) if line.strip()]
    if len(lines) > 1 and not head.endswith(("\n", "\r")) and len(head) >= (1 << 20):
        lines = lines[:-1]  # the last line may be cut at the read limit
    for sep in DELIMITERS:
        try:
            rows = list(csv.reader(lines, delimiter=sep, skipinitialspace=True))
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        body = rows[1:]
        if not body or sum(len(r) == width for r in body) >= 0.9 * len(body):
            return sep
    return ","


#: Longest cell read (characters).
MAX_CELL_CHARS = 1 << 20
_SAMPLE_ROWS = 200
_SHOW_LINES = 5
_DATE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([ T].*)?$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$")
_NUMERIC_WORDS = {"nan", "inf", "-inf", "+inf", "infinity", "-infinity"}


def _fail(path: Path, location: str, message: str, fix: str) -> DataFileError:
    return DataFileError(message, [Problem(location, message, fix)], source=str(path))


def _is_number(text: str) -> bool:
    text = text.strip()
    if not text:
        return False
    if text.lower() in _NUMERIC_WORDS:
        return True
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def _as_float(text: str) -> float | None:
    try:
        return float(text.strip().replace(",", ""))
    except ValueError:
        return None


def _looks_like_data(cell: str, values: list[str]) -> bool:
    """A header cell looks like data when it is a value of its own column, or a number (a date) in
    the range of a column of numbers (of dates). ``2019`` over a column of counts is a name."""
    cell = cell.strip()
    if not cell:
        return False
    if cell in values:
        return True
    present = [v for v in values if v]
    if not present:
        return False
    if _is_number(cell):
        numbers = [x for x in (_as_float(v) for v in present) if x is not None and math.isfinite(x)]
        value = _as_float(cell)
        if len(numbers) < len(present) / 2 or value is None:
            return False
        if not math.isfinite(value):
            return True
        low, high = min(numbers), max(numbers)
        span = max(high - low, abs(high) * 0.1, 1.0)
        return low - span <= value <= high + span
    if _DATE.match(cell):
        return sum(bool(_DATE.match(v)) for v in present) >= len(present) / 2
    return False


def _check_prefix(path: Path, head: bytes) -> None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(path, path.name, "is UTF-16 or UTF-32 text, not UTF-8",
                    "re-save the CSV as UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet)")
    if b"\x00" in head:
        raise _fail(path, path.name, "contains binary data (NUL bytes), not CSV text",
                    "pass a CSV text file or a Parquet file")


def _lines(numbers: list[int], total: int) -> str:
    shown = ", ".join(str(n) for n in numbers[:_SHOW_LINES])
    return f"line{'s' if total > 1 else ''} {shown}{f' and {total - _SHOW_LINES} more' if total > _SHOW_LINES else ''}"


def _check_header(path: Path, header: list[str], sample: list[list[str]]) -> None:
    n = len(header)
    if n > max_columns():
        raise _fail(path, "line 1", f"has {n} columns; synthstruct reads at most {max_columns()}",
                    "split the table into narrower tables, drop columns, or raise SYNTHSTRUCT_MAX_COLUMNS")
    if n == 1:
        for sep, word in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if header[0].count(sep) >= 1 and all(row and row[0].count(sep) == header[0].count(sep)
                                                  for row in sample[:20]):
                raise _fail(path, "line 1", f"looks delimited by {word}; only comma-separated files are read",
                            "re-save the file with commas as the delimiter")
    empty = [i + 1 for i, h in enumerate(header) if not h.strip()]
    if empty:
        raise _fail(path, "line 1", f"column{'s' if len(empty) > 1 else ''} {', '.join(map(str, empty[:10]))} "
                    f"of {n} {'have' if len(empty) > 1 else 'has'} no name",
                    "give every column a name in the header row")
    seen: dict[str, list[int]] = defaultdict(list)
    for i, h in enumerate(header):
        seen[h.strip()].append(i + 1)
    dupes = [positions for positions in seen.values() if len(positions) > 1]
    if dupes:
        raise DataFileError("duplicate column names", [
            Problem("line 1", f"columns {', '.join(map(str, positions))} have the same name (appears more than once)",
                    "rename the columns so that each name is unique") for positions in dupes[:10]],
            source=str(path))
    if sample:
        columns = [[row[i].strip() for row in sample if i < len(row)] for i in range(n)]
        data_like = sum(_looks_like_data(h, columns[i]) for i, h in enumerate(header))
        if data_like >= max(1, math.ceil(n / 2)):
            raise _fail(path, "line 1", f"the first row looks like data, not a header: {data_like} of {n} "
                        "cells are numbers, dates or values that recur in their column (no header row?)",
                        "add a header row with the column names as the first line")


def _first_undecodable_line(path: Path) -> int:
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1  # pragma: no cover - the decoder failed, so some line does not decode


def _blank(row: list[str]) -> bool:
    """A line of whitespace only (skipped before the header)."""
    return len(row) == 1 and not row[0].strip()


def header_row(path: Path, delimiter: str) -> list[str] | None:
    """The header as :func:`scan_csv` reads it (the first non-empty row), without checking anything else;
    ``None`` when it cannot be read (the scan then reports why)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            for row in csv.reader(fh, delimiter=delimiter, skipinitialspace=True):
                if row and not _blank(row):
                    return row
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None


def scan_csv(path: Path, delimiter: str | None = None) -> list[str]:
    """Check the structure of a CSV file in one streaming pass; returns the header.

    Args:
        path: The file.
        delimiter: Field delimiter (default: :func:`sniff_delimiter`).

    Raises:
        DataFileError: any problem listed in the module docstring (lines and positions, no cell value).
    """
    with open(path, "rb") as raw:
        _check_prefix(path, raw.read(1 << 16))
    old_limit = csv.field_size_limit()
    csv.field_size_limit(MAX_CELL_CHARS)
    header: list[str] = []
    sample: list[list[str]] = []
    bad: list[int] = []
    n_bad = 0
    line = 0
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=delimiter or sniff_delimiter(path), skipinitialspace=True)
            for row in reader:
                start, line = line + 1, reader.line_num
                if not row or (not header and _blank(row)):
                    continue
                if not header:
                    header = row
                    _check_header(path, header, [])  # width, names, duplicates: before reading on
                    continue
                if len(sample) < _SAMPLE_ROWS:
                    sample.append(row)
                if len(row) != len(header):
                    n_bad += 1
                    if len(bad) < _SHOW_LINES:
                        bad.append(start)
    except UnicodeDecodeError:
        raise _fail(path, f"line {_first_undecodable_line(path)}", "is not UTF-8 text",
                    "re-save the CSV as UTF-8") from None
    except csv.Error as exc:
        where = f"line {line + 1}"
        if "field larger" in str(exc):
            raise _fail(path, where, f"has a cell longer than {MAX_CELL_CHARS} characters",
                        "shorten the cell or store long documents outside the table") from None
        raise _fail(path, where, "is not valid CSV (unbalanced quotes or stray characters)",
                    "check the quoting on that line") from None
    finally:
        csv.field_size_limit(old_limit)
    if not header or all(not h.strip() for h in header):
        raise _fail(path, path.name, "the file is empty (no header row)", "write a header row and data rows")
    _check_header(path, header, sample)
    if n_bad:
        raise _fail(path, _lines(bad, n_bad),
                    f"{n_bad} row{'s' if n_bad > 1 else ''} {'have' if n_bad > 1 else 'has'} a different number "
                    f"of fields than the header ({len(header)}): ragged rows or mixed delimiters",
                    "make every row have one field per column (check delimiters and quotes on those lines)")
    return header
