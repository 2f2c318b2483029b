"""Validate a table against basic sanity rules and against a schema; coerce it to schema types.

Validation collects every problem and raises once (:class:`DataValidationError`), naming the column,
the problem and the fix, with counts but never cell values.

Coerced representation (the contract engines rely on):

* ``numerical`` -> float64 (NaN = missing), ``datetime`` -> datetime64[ns] (NaT = missing),
  ``boolean`` -> pandas ``boolean``; ``categorical``/``ordinal`` keep their values (NaN = missing);
  ``id``/``pii``/``text`` are left as they are.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.errors import DataValidationError, Problem
from synthstruct.schema.model import STRUCTURED_KINDS, Schema
from synthstruct.schema.values import ONE_WAY_TYPES

__all__ = ["category_key", "category_key_codes", "coerce_to_schema", "sanity_problems", "to_bool", "to_output", "validate_table"]

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
#: A categorical column with at least this many rows, all distinct, looks like an identifier.
ID_LIKE_MIN_ROWS = 20


_HEAD = 10_000


def _single_value(series: pd.Series) -> bool:
    """``series.nunique(dropna=True) == 1``, answered by the first rows when they already differ."""
    if len(series) > _HEAD and series.iloc[:_HEAD].nunique(dropna=True) > 1:
        return False
    return series.nunique(dropna=True) == 1


def _all_distinct(series: pd.Series) -> bool:
    """``series.nunique(dropna=True) == len(series)`` (no missing cells), answered by the first rows when they
    already repeat a value."""
    if len(series) > _HEAD and series.iloc[:_HEAD].nunique(dropna=True) < _HEAD:
        return False
    return series.nunique(dropna=True) == len(series)


def _nonnull(series: pd.Series) -> pd.Series:
    return series[series.notna()]


def _mixed_python_types(series: pd.Series) -> bool:
    if series.dtype != object:
        return False
    if pd.api.types.infer_dtype(series.to_numpy(dtype=object), skipna=True) in ("string", "empty"):
        return False  # all text (one C pass instead of a type lookup per cell)
    kinds = {type(v).__name__ for v in _nonnull(series).head(50_000)}
    kinds -= {"NoneType"}
    numeric = {"int", "float", "int64", "float64", "bool"}
    return len(kinds) > 1 and not kinds <= numeric


def _numeric_share(series: pd.Series) -> float:
    values = _nonnull(series)
    if values.empty:
        return 0.0
    return float(pd.to_numeric(values, errors="coerce").notna().mean())


def sanity_problems(frame: pd.DataFrame, *, numeric_text: bool = False) -> list[Problem]:
    """Problems any input table has regardless of schema: no rows, duplicate names, mixed-type
    columns. All-null and constant columns are not problems (inference carries them through as
    ``constant`` columns); ``numeric_text=True`` also flags text columns that are numeric but for a
    few cells (inference reads those as codes, so it is off by default)."""
    problems: list[Problem] = []
    if len(frame) == 0:
        problems.append(Problem("(table)", "has no rows", "pass a table with data rows"))
        return problems
    dupes = frame.columns[frame.columns.duplicated()].unique()
    for name in dupes:
        problems.append(Problem(f"column {name!r}", "appears more than once", "rename the columns"))
    for name in frame.columns:
        series = frame[name]
        if isinstance(series, pd.DataFrame) or series.dtype != object:
            continue  # one dtype: neither mixed nor numbers written as text
        if _mixed_python_types(series):  # (an empty column is "empty", never mixed)
            problems.append(Problem(f"column {name!r}", "mixes value types (numbers and text)",
                                    "convert the column to one type before synthesis"))
        elif numeric_text:
            share = _numeric_share(series)
            if 0.95 <= share < 1.0:
                n_bad = int(round((1 - share) * int(series.notna().sum())))
                problems.append(Problem(
                    f"column {name!r}",
                    f"is numeric except for {n_bad} non-numeric cell(s)",
                    "clean or blank those cells, or declare the column categorical in the schema"))
    return problems


def category_key(value: object) -> str:
    """Text key that compares category values across types: 1, 1.0 and "1" are the same category."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() and text.lstrip("+-").replace(".", "", 1).isdigit() else text


def category_keys(series: pd.Series) -> pd.Series:
    """``series.map(category_key, na_action="ignore")``, with each distinct value keyed once.

    Columns hold few distinct values and :func:`category_key` parses text (a raised ``ValueError`` per
    non-numeric cell), so this is several times faster on large tables. Values are told apart by type as
    well as value (``True``, ``1`` and ``1.0`` are equal in Python but key as ``"True"``, ``"1"``, ``"1"``).
    Missing cells stay as they were.
    """
    values = series.to_numpy(dtype=object)
    present = series.notna().to_numpy()
    out = values.copy()
    if series.dtype != object or pd.api.types.infer_dtype(values[present], skipna=False) == "string":
        # one type throughout: hashing tells the values apart exactly, so key each distinct value once
        codes, uniques = pd.factorize(series)
        keyed = np.array([category_key(v) for v in uniques], dtype=object)
        out[present] = keyed[codes[present]]
        return pd.Series(out, index=series.index, dtype=object, name=series.name)
    memo: dict[tuple[type, object], str] = {}
    keys = []
    for value in values[present]:
        try:
            key = memo.get((value.__class__, value))
            if key is None:
                key = memo[(value.__class__, value)] = category_key(value)
        except TypeError:  # unhashable cell: key it directly
            key = category_key(value)
        keys.append(key)
    out[present] = keys
    return pd.Series(out, index=series.index, dtype=object, name=series.name)


def category_key_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """``category_keys(series)`` as ``(codes, keys)``: row ``i`` holds ``keys[codes[i]]`` (-1: missing), the keys
    of the distinct values in order of first appearance (keys may repeat: ``1`` and ``"1"`` key alike).
    ``None`` for object columns of mixed types, which :func:`category_keys` keys cell by cell."""
    values = series.to_numpy(dtype=object) if series.dtype == object else None
    if values is not None and pd.api.types.infer_dtype(values, skipna=True) not in ONE_WAY_TYPES:
        return None
    codes, uniques = pd.factorize(series)
    return codes, np.array([category_key(v) for v in uniques], dtype=object)


def to_bool(series: pd.Series, spelling: tuple[object, object] | None = None) -> tuple[pd.Series, int]:
    """Parse booleans; returns the parsed series and the number of unparseable cells. ``spelling``
    (true value, false value) is matched first (``1``, ``1.0`` and ``"1"`` alike)."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean"), 0
    from synthstruct.schema.values import text_codes

    found: tuple[np.ndarray, Any] | None = None
    if len(series) > _HEAD and series.dtype == object:
        found = text_codes(series)
    elif len(series) > _HEAD and pd.api.types.is_integer_dtype(series.dtype):  # (not floats: -0.0 == 0.0)
        found = pd.factorize(series)
    if found is not None and len(found[1]) <= _HEAD:  # each distinct value parsed once (booleans: a handful)
        codes, distinct = found
        flags, _ = to_bool(pd.Series(distinct, dtype=object if series.dtype == object else None), spelling)
        present = codes >= 0
        values = np.zeros(len(codes), dtype=bool)
        unknown = ~present
        values[present] = flags.fillna(False).to_numpy(dtype=bool)[codes[present]]
        unknown[present] = flags.isna().to_numpy()[codes[present]]
        out = pd.Series(pd.arrays.BooleanArray(values, unknown), index=series.index)
        return out, int((present & unknown).sum())
    text = series.astype("string").str.strip().str.lower()
    text = text.where(~text.isin(["1.0", "0.0"]), text.str[0])
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    out[text.isin(_TRUE)] = True
    out[text.isin(_FALSE)] = False
    if spelling is not None and None not in spelling:
        keys = category_keys(series)
        out[keys == category_key(spelling[0])] = True
        out[keys == category_key(spelling[1])] = False
    bad = int((series.notna() & out.isna()).sum())
    return out, bad


class _PresentCells:
    """``series.notna()`` and its count, computed once per column (a pass over every cell of a text column)."""

    def __init__(self, series: pd.Series) -> None:
        self._series = series
        self._mask: pd.Series | None = None

    @property
    def mask(self) -> pd.Series:
        if self._mask is None:
            self._mask = self._series.notna()
        return self._mask

    @property
    def count(self) -> int:
        return int(self.mask.sum())


def coerce_to_schema(frame: pd.DataFrame, schema: Schema, *, source: str | None = None) -> pd.DataFrame:
    """Check ``frame`` against ``schema`` and return a copy in the coerced representation.

    Raises:
        DataValidationError: every schema/data mismatch, listed at once.
    """
    problems = sanity_problems(frame, numeric_text=False)
    declared, present = list(schema.columns), list(frame.columns)
    for name in declared:
        if name not in frame.columns:
            problems.append(Problem(f"column {name!r}", "is declared in the schema but missing from the data",
                                    "add the column to the data or remove it from the schema"))
    for name in present:
        if name not in schema.columns:
            problems.append(Problem(f"column {name!r}", "is in the data but not declared in the schema",
                                    "declare it in the schema or drop it from the data"))
    # the coerced columns; the frame is built from them and copies of the others at the end, column by column
    # (frame.copy() would also consolidate every column into 2-D blocks: 2.9 s of a 1M-row load). Duplicate
    # names never get there: sanity_problems reports them and the check raises below.
    out: dict[str, Any] = {}
    for name, col in schema.columns.items():
        if name not in frame.columns or isinstance(frame[name], pd.DataFrame):
            continue
        series = frame[name]
        where = f"column {name!r}"
        cells = _PresentCells(series)
        if col.kind in STRUCTURED_KINDS and len(frame) > 1:
            n_valid = cells.count
            if n_valid == 0:
                problems.append(Problem(where, f"is declared {col.kind} but is empty (every value is missing)",
                                        "declare it kind: constant (carried through, not modelled)"))
                continue
            if n_valid == len(frame) and _single_value(series):
                problems.append(Problem(where, f"is declared {col.kind} but is constant (one value in every row)",
                                        "declare it kind: constant (carried through, not modelled)"))
                continue
        if col.kind == "numerical":
            if col.format is not None and not pd.api.types.is_numeric_dtype(series):
                from synthstruct.schema.values import NumberFormat, parse_numbers

                values = parse_numbers(series, NumberFormat(**col.format.model_dump()))
            else:
                values = pd.to_numeric(series, errors="coerce")
            bad = int((cells.mask & values.isna()).sum())
            if bad:
                problems.append(Problem(where, f"is declared numerical but {bad} cell(s) are not numbers",
                                        "clean those cells or declare the column categorical"))
            out[name] = values.astype("float64")
        elif col.kind == "datetime":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if pd.api.types.is_datetime64_any_dtype(series):
                    values = pd.to_datetime(series)
                else:
                    values = _parse_datetimes(series, col.format)
            bad = int((cells.mask & values.isna()).sum())
            if bad:
                problems.append(Problem(where, f"{bad} cell(s) do not match the date format {col.format!r}",
                                        "fix those cells or change 'format' in the schema (strftime codes)"))
            if isinstance(values.dtype, pd.DatetimeTZDtype):  # one UTC offset in every cell: as UTC, like mixed ones
                values = values.dt.tz_convert("UTC").dt.tz_localize(None)
            out[name] = values if values.dtype == "datetime64[s]" else values.astype("datetime64[ns]")
        elif col.kind == "boolean":
            spelling = (col.true_value, col.false_value) if col.true_value is not None else None
            values, bad = to_bool(series, spelling)
            if bad:
                problems.append(Problem(where, f"is declared boolean but {bad} cell(s) are not true/false",
                                        "use true/false, yes/no or 1/0, or declare it categorical"))
            out[name] = values
        elif col.kind == "constant":
            try:
                n_distinct = int(category_keys(series).nunique(dropna=True))
            except TypeError:
                n_distinct = 2
            if n_distinct > 1:
                problems.append(Problem(where, f"is declared constant but holds {n_distinct} distinct values",
                                        "declare it categorical (or another kind)"))
        elif col.kind in ("categorical", "ordinal"):
            n_valid = cells.count
            if n_valid >= ID_LIKE_MIN_ROWS and n_valid == len(frame) and _all_distinct(series):
                problems.append(Problem(where, "is declared categorical but every value is unique (an identifier?)",
                                        "declare it kind: id (or pii) so that it is generated, not learned"))
            allowed = col.categories if col.kind == "categorical" else col.order
            if allowed is not None:
                declared = {category_key(v): v for v in allowed}
                keys = category_keys(series)
                unknown = int((cells.mask & ~keys.isin(declared.keys())).sum())
                if unknown:
                    problems.append(Problem(where, f"{unknown} cell(s) hold values not listed in the schema",
                                            "add the values to 'categories'/'order' or fix the data"))
                else:  # use the declared values (1.0 read from a CSV column with gaps becomes 1)
                    out[name] = keys.map(declared, na_action="ignore").astype(object)
    if schema.primary_key and schema.primary_key in frame.columns:
        key = frame[schema.primary_key]
        if isinstance(key, pd.Series):
            nulls = int(key.isna().sum())
            dupes = int(key.dropna().duplicated(keep=False).sum())
            if nulls:
                problems.append(Problem(f"primary key {schema.primary_key!r}", f"has {nulls} missing value(s)",
                                        "fill them or choose another primary key"))
            if dupes > 0:
                problems.append(Problem(f"primary key {schema.primary_key!r}", f"has {dupes} duplicated value(s)",
                                        "deduplicate the rows or choose another primary key"))
    if problems:
        raise DataValidationError("the data does not match the schema", problems, source=source)
    coerced = pd.DataFrame({name: out[name] if name in out else frame[name].copy() for name in frame.columns},
                           index=frame.index, copy=False)
    coerced.attrs = dict(frame.attrs)
    return coerced


def _parse_datetimes(series: pd.Series, fmt: str | None) -> pd.Series:
    """Datetimes from texts in ``fmt`` (NaT for missing or unparseable cells); cells outside datetime64[ns]
    are read in seconds (:func:`_wide_datetimes`). Dates repeat: on large text columns each distinct text is
    parsed once and spread back by code (the same values, dtype and index as parsing cell by cell)."""
    from synthstruct.schema.values import text_codes

    found = text_codes(series) if len(series) > _HEAD else None
    if found is None:
        return _parse_each_datetime(series, fmt)
    codes, distinct = found
    parsed = _parse_each_datetime(pd.Series(distinct, dtype=object), fmt)
    padded = pd.concat([parsed, pd.Series([pd.NaT], dtype=parsed.dtype)], ignore_index=True)
    return pd.Series(padded.iloc[codes].array, index=series.index, name=series.name)  # -1: the NaT at the end


def _parse_each_datetime(series: pd.Series, fmt: str | None) -> pd.Series:
    values = pd.to_datetime(series.astype("string"), format=fmt, errors="coerce")
    failed = series.notna() & values.isna()
    if failed.any():  # 0001-01-01, 9999-12-31: outside datetime64[ns], parse in seconds
        values = _wide_datetimes(series, values, failed, fmt)
    return values


def _wide_datetimes(series: pd.Series, values: pd.Series, failed: pd.Series, fmt: str) -> pd.Series:
    """Re-parse the cells pandas could not hold (years before 1678 or after 2261) with ``strptime``,
    in datetime64[s]; cells that still fail stay missing (and are reported)."""
    from datetime import datetime

    def parse(text: object) -> object:
        try:
            return np.datetime64(datetime.strptime(str(text).strip(), fmt).replace(tzinfo=None), "s")
        except ValueError:
            return np.datetime64("NaT")

    wide = series[failed].map(parse)
    if wide.isna().all():
        return values
    out = values.astype("datetime64[s]")
    out[failed] = pd.Series(wide.to_numpy(dtype="datetime64[s]"), index=wide.index)
    return out


def _format_wide(series: pd.Series, fmt: str) -> pd.Series:
    """strftime for datetime64[s] values, with four-digit years (``0001-01-01``; C strftime writes ``1``)."""
    def one(value: object) -> object:
        if pd.isna(value):
            return None
        stamp = pd.Timestamp(value).to_pydatetime()
        return stamp.strftime(fmt.replace("%Y", f"{stamp.year:04d}"))

    codes, uniques = pd.factorize(series)  # dates repeat: format each distinct one once
    if len(uniques) == 0:
        return pd.Series([None] * len(series), index=series.index, dtype=object)
    texts = np.array([one(v) for v in uniques] + [None], dtype=object)
    return pd.Series(texts[codes], index=series.index, dtype=object, name=series.name)


def validate_table(frame: pd.DataFrame, *, source: str | None = None) -> None:
    """Raise :class:`DataValidationError` listing every sanity problem of ``frame``."""
    problems = sanity_problems(frame)
    if problems:
        raise DataValidationError("the table cannot be used as it is", problems, source=source)


#: Floats strictly inside (-2**63, 2**63) convert to int64 exactly once rounded.
_INT64_BOUND = float(2**63)


def _nullable_int(rounded: np.ndarray, index: pd.Index) -> pd.Series:
    """``pd.Series(rounded, index=index).astype("Int64")`` for whole-number floats (NaN = missing), built
    from the int64 values and the mask directly (pandas' safe-cast checks cost ~30x more per cell);
    anything else (infinities, values out of int64 range) takes pandas' own conversion and its errors."""
    missing = np.isnan(rounded)
    present = rounded[~missing]
    if present.size and not (np.all(present > -_INT64_BOUND) and np.all(present < _INT64_BOUND)):
        return pd.Series(rounded, index=index).astype("Int64")
    values = np.where(missing, 0.0, rounded).astype(np.int64)
    return pd.Series(pd.arrays.IntegerArray(values, missing), index=index)


def to_output(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Format a coerced frame for writing: integer columns as nullable integers, datetimes as text in
    the schema's format, booleans as nullable booleans; other columns unchanged."""
    out = {}
    for name, col in schema.columns.items():
        series = frame[name]
        if col.kind == "numerical" and col.format is not None:
            from synthstruct.schema.values import NumberFormat, format_numbers

            decimals = 0 if col.dtype == "int" else (col.decimals if col.decimals is not None else 2)
            out[name] = format_numbers(series, NumberFormat(**col.format.model_dump()), decimals)
        elif col.kind == "numerical" and col.dtype == "int":
            out[name] = _nullable_int(np.round(series.to_numpy(dtype="float64", na_value=np.nan)), frame.index)
        elif col.kind == "datetime" and str(getattr(series, "dtype", "")).endswith("[s]"):
            out[name] = _format_wide(series, col.format)
        elif col.kind == "datetime":
            out[name] = pd.to_datetime(series).dt.strftime(col.format).astype(object).where(series.notna(), None)
        elif col.kind == "boolean" and col.true_value is not None:
            flags = series.astype("boolean")
            out[name] = pd.Series(np.where(flags.fillna(False).to_numpy(dtype=bool), col.true_value, col.false_value),
                                  index=frame.index, dtype=object).where(flags.notna().to_numpy(), None)
        elif col.kind == "boolean":
            out[name] = series.astype("boolean")
        else:
            out[name] = series
    # copy=False: the columns are not consolidated into 2-D blocks (a copy of every cell that writers do not need;
    # 2.5 s of the 1M-row release's writer); columns passed through unchanged share the input's arrays
    return pd.DataFrame(out, index=frame.index, copy=False)
