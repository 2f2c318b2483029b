"""Guess a :class:`~synthstruct.schema.model.Schema` from a table, with a comment per column.

The guess is a starting point for a person to review (``synthstruct infer`` writes it as YAML with
the comments above each column). Comments hold counts and the inferred kind, never a cell value,
and the schema holds no value either: categories are learned at fit time, numeric bounds are left
out ("range hidden") because a real extreme value is often one person's value.

Decision order for a column (first match wins):

1. all missing -> ``categorical`` (the sanity check reports the empty column);
2. booleans: bool dtype or only ``true``/``false`` texts -> ``boolean`` (``yes``/``no`` and ``0``/``1``
   stay categorical so that the output keeps the input's spelling);
3. datetimes: datetime dtype, or texts that parse with one of :data:`DATE_FORMATS` -> ``datetime``;
4. long free text (median >= :data:`TEXT_MIN_WORDS` words or :data:`TEXT_MIN_CHARS` characters) -> ``text``;
5. personal data by content and name (:func:`~synthstruct.privacy.column_pii.classify_column`) -> ``pii``;
6. identifiers: every value distinct (at least :data:`ID_MIN_ROWS` rows) and either an id-like name or,
   for texts, one shared shape -> ``id`` (integer ids: ``sequence``; texts: ``pattern`` with digits
   as ``#`` and varying letters as ``?``; otherwise ``uuid``);
7. numbers: integers with at most :data:`MAX_CODE_LEVELS` distinct values, each seen on average at
   least :data:`MIN_ROWS_PER_LEVEL` times, are codes -> ``categorical`` (0/1 flags, ``num`` 0-4,
   ratings 1-5); other numbers -> ``numerical`` (``int`` or ``float`` with inferred decimals);
8. short texts with many distinct multi-word values -> ``text``; other texts -> ``categorical``.

It never raises on odd columns (mixed types, unhashable cells): they fall back to ``categorical``.
"""

from __future__ import annotations

import logging
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.privacy.column_pii import ColumnPiiGuess, classify_column, name_tokens
from synthstruct.schema.io import schema_from_dict
from synthstruct.schema.model import SCHEMA_VERSION, Schema

__all__ = ["DATE_FORMATS", "infer_schema", "value_shape"]

logger = logging.getLogger(__name__)

ID_MIN_ROWS = 20
MAX_CODE_LEVELS = 10
MIN_ROWS_PER_LEVEL = 3
TEXT_MIN_WORDS = 6
TEXT_MIN_CHARS = 60
#: Short texts become ``text`` when at least this share of rows holds a distinct value ...
SHORT_TEXT_DISTINCT_RATIO = 0.5
#: ... and the median value has at least this many words (``Title`` of a review).
SHORT_TEXT_MIN_WORDS = 2
MAX_DECIMALS = 8
#: Rows examined for formats and shapes (whole column for counts).
PROFILE_ROWS = 5000
DATE_FORMATS = (
    "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y",
    "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%Y%m%d", "%b %d, %Y", "%d %b %Y", "%Y-%m",
)
_TRUE_FALSE = {"true", "false"}
_ID_WORDS = {"id", "uuid", "guid", "key", "identifier"}
_TARGET_NAMES = ("target", "label", "class", "y", "outcome", "income", "stroke", "churn", "fraud",
                 "default", "diagnosis", "risk", "sentiment", "recommended", "survived", "response")
#: Too generic to count inside a longer name ("Class Name" is not a label).
_EXACT_ONLY_TARGETS = {"target", "label", "class", "y", "default", "response"}
_QI_WORDS = {"age", "sex", "gender", "race", "ethnicity", "zip", "zipcode", "postcode", "postal", "country",
             "nationality", "marital", "native", "city", "county", "region", "birth", "dob", "religion"}
_SENSITIVE_WORDS = {"income", "salary", "wage", "diagnosis", "disease", "stroke", "hypertension", "health",
                    "diabetes", "glucose", "insulin", "bmi", "chol", "cholesterol", "smoking", "hiv",
                    "pregnancies", "pregnancy", "religion", "sexual", "orientation", "political",
                    "union", "credit", "debt", "loan", "outcome", "capital", "medical", "thal", "cp"}


# --------------------------------------------------------------------------------------- helpers
def value_shape(text: str, keep: set[int] | None = None) -> str:
    """The shape of a value: digits -> ``#``, letters -> ``?`` (except positions in ``keep``)."""
    out = []
    for i, ch in enumerate(text):
        if ch.isdigit():
            out.append("#")
        elif ch.isalpha() and not (keep and i in keep):
            out.append("?")
        else:
            out.append(ch)
    return "".join(out)


def _shared_pattern(texts: list[str]) -> str | None:
    """A pattern every value fits, or ``None``. Letters identical at a position in every value (a
    prefix such as ``P-``) are kept; other letters become ``?``, digits ``#``."""
    if not texts or any(("#" in t or "?" in t) for t in texts):
        return None
    shapes = {value_shape(t) for t in texts}
    if len(shapes) != 1:
        return None
    shape = shapes.pop()
    if "#" not in shape and "?" not in shape:
        return None
    first = texts[0]
    keep = {i for i, ch in enumerate(first) if ch.isalpha() and all(t[i] == ch for t in texts)}
    pattern = value_shape(first, keep)
    # The kept letters must not turn the pattern into one real value (the pattern needs free slots).
    return pattern if ("#" in pattern or "?" in pattern) else shape


def _is_integral(values: np.ndarray) -> bool:
    return bool(values.size) and bool(np.all(np.isfinite(values))) and bool(np.all(np.mod(values, 1) == 0))


def _decimals(values: np.ndarray) -> int:
    sample = values[:PROFILE_ROWS]
    for d in range(MAX_DECIMALS + 1):
        if np.mean(np.isclose(np.round(sample, d), sample, rtol=0, atol=10 ** -(d + 3))) >= 0.99:
            return d
    return MAX_DECIMALS


def _date_format(texts: pd.Series) -> str | None:
    sample = texts.head(PROFILE_ROWS)
    if sample.empty or not sample.str.contains(r"\d").all():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fmt in DATE_FORMATS:
            parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
            if parsed.notna().mean() >= 0.98:
                return fmt
    return None


def _numeric(series: pd.Series) -> pd.Series | None:
    if pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        valid = series.dropna()
        if valid.map(lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, bool)).all():
            return pd.to_numeric(series, errors="coerce")
    return None


def _id_named(name: str) -> bool:
    tokens = name_tokens(name)
    return bool(tokens) and (tokens[-1] in _ID_WORDS or tokens[0] in _ID_WORDS or "idx" in tokens)


# --------------------------------------------------------------------------------------- per column
def _pct(part: int, whole: int) -> str:
    if not whole:
        return "0%"
    share = part / whole
    return "<1%" if 0 < share < 0.01 else f"{share:.0%}"


def _distinct(n_distinct: int, n_valid: int) -> str:
    return f"{n_distinct} distinct ({_pct(n_distinct, n_valid)})"


def _infer_numeric(name: str, numbers: pd.Series, n_rows: int) -> tuple[dict[str, Any], str]:
    values = numbers.dropna().to_numpy(dtype="float64")
    n_valid, n_distinct = len(values), int(pd.unique(values).size)
    integral = _is_integral(values)
    if integral and n_distinct == n_valid == n_rows >= ID_MIN_ROWS and _id_named(name):
        return {"kind": "id", "strategy": "sequence"}, f"id: all {n_valid} integers distinct; generated as a sequence"
    if integral and n_distinct <= MAX_CODE_LEVELS and n_valid >= MIN_ROWS_PER_LEVEL * n_distinct:
        return {"kind": "categorical"}, (f"categorical: integer codes with {n_distinct} distinct values "
                                         f"(<= {MAX_CODE_LEVELS} distinct integers are treated as codes)")
    if integral and n_distinct >= 0.95 * n_valid >= ID_MIN_ROWS and _id_named(name):
        return ({"kind": "id", "strategy": "sequence"},
                f"id: {_pct(n_distinct, n_valid)} distinct integers and an id-like name; generated as a sequence")
    if integral:
        return ({"kind": "numerical", "dtype": "int"},
                f"numerical: integers, {_distinct(n_distinct, n_valid)}, range hidden")
    decimals = _decimals(values)
    return ({"kind": "numerical", "dtype": "float", "decimals": decimals},
            f"numerical: floats with {decimals} decimal(s), {_distinct(n_distinct, n_valid)}, range hidden")


def _text_stats(texts: pd.Series) -> tuple[float, float]:
    sample = texts.head(PROFILE_ROWS)
    return float(sample.str.len().median()), float(sample.str.split().str.len().median())


def _infer_strings(name: str, series: pd.Series, n_rows: int, pii: ColumnPiiGuess | None) -> tuple[dict[str, Any], str]:
    valid = series.dropna()
    texts = valid.astype(str).str.strip()
    n_valid, n_distinct = len(texts), int(texts.nunique())
    lowered = set(texts.head(PROFILE_ROWS).str.lower().unique())
    if lowered and lowered <= _TRUE_FALSE:
        return {"kind": "boolean"}, "boolean: only true/false values"
    fmt = _date_format(texts)
    if fmt is not None:
        return {"kind": "datetime", "format": fmt}, f"datetime: values parse with format {fmt}"
    chars, words = _text_stats(texts)
    if words >= TEXT_MIN_WORDS or chars >= TEXT_MIN_CHARS:
        return {"kind": "text"}, f"text: free text, median {words:.0f} words, {_pct(n_distinct, n_valid)} distinct"
    if pii is not None and pii.entity is not None:
        return {"kind": "pii", "entity": pii.entity}, f"pii: {pii.describe()}"
    unique = n_distinct == n_valid == n_rows >= ID_MIN_ROWS
    if unique:
        pattern = _shared_pattern(texts.head(PROFILE_ROWS).tolist())
        if pattern is not None and _shared_pattern(texts.tolist()) == pattern:
            return ({"kind": "id", "strategy": "pattern", "pattern": pattern},
                    f"id: all {n_valid} values distinct with one shape; pattern derived from it")
        if _id_named(name):
            return {"kind": "id", "strategy": "uuid"}, f"id: all {n_valid} values distinct, id-like name; UUIDs"
    if n_distinct >= SHORT_TEXT_DISTINCT_RATIO * n_valid and n_distinct > 50 and words >= SHORT_TEXT_MIN_WORDS:
        return {"kind": "text"}, f"text: short texts, median {words:.0f} words, {_pct(n_distinct, n_valid)} distinct"
    return {"kind": "categorical"}, f"categorical: {n_distinct} distinct values"


def _infer_column(name: str, series: pd.Series, *, detect_pii: bool, sample_size: int, seed: int,
                  analyzer: Any) -> tuple[dict[str, Any], str, ColumnPiiGuess | None]:
    n_rows = len(series)
    if series.notna().sum() == 0:
        return {"kind": "categorical"}, "categorical: every value is missing", None
    if pd.api.types.is_bool_dtype(series):
        return {"kind": "boolean"}, "boolean: bool values", None
    if pd.api.types.is_datetime64_any_dtype(series):
        return {"kind": "datetime", "format": "%Y-%m-%d %H:%M:%S"}, "datetime: datetime values", None
    pii = classify_column(series, name, analyzer=analyzer, sample_size=sample_size, seed=seed,
                          use_content=detect_pii) if _may_be_pii(series) else None
    numbers = _numeric(series)
    if numbers is not None:
        if pii is not None and pii.entity is not None:
            return {"kind": "pii", "entity": pii.entity}, f"pii: {pii.describe()}", pii
        spec, comment = _infer_numeric(name, numbers, n_rows)
        return spec, comment, pii
    if series.dtype == object and series.dropna().map(type).nunique() > 1:
        return {"kind": "categorical"}, "categorical: mixed value types (check the column)", pii
    spec, comment = _infer_strings(name, series, n_rows, pii)
    return spec, comment, pii


def _may_be_pii(series: pd.Series) -> bool:
    """Skip Presidio for long free text (PII inside text is the text scanner's job)."""
    if pd.api.types.is_numeric_dtype(series):
        return True
    texts = series.dropna().head(PROFILE_ROWS).astype(str)
    if texts.empty:
        return False
    chars, words = _text_stats(texts)
    return words < TEXT_MIN_WORDS and chars < TEXT_MIN_CHARS


def _safe_infer_column(name: str, series: pd.Series, **options: Any) -> tuple[dict[str, Any], str, ColumnPiiGuess | None]:
    try:
        return _infer_column(name, series, **options)
    except (TypeError, ValueError) as exc:  # unhashable or exotic cells: never fail the whole table
        logger.debug("column %r: inference fell back to categorical (%s)", name, type(exc).__name__)
        return {"kind": "categorical"}, "categorical: values could not be profiled (check the column)", None


# --------------------------------------------------------------------------------------- table level
def _guess_target(kinds: dict[str, str], missing: dict[str, float]) -> str | None:
    """A label column guessed from names: an exact name (``target``, ``class``, ``income`` ...) first,
    else a name containing a label word (``credit_risk``, ``airline_sentiment``). Ties go to the
    column with fewer missing values, then to categories over numbers, then to the shorter name."""
    allowed = {"categorical", "ordinal", "boolean", "numerical"}
    candidates = sorted((c for c, k in kinds.items() if k in allowed),
                        key=lambda c: (round(missing.get(c, 0.0), 2), kinds[c] == "numerical",
                                       len(name_tokens(c))))
    for wanted in _TARGET_NAMES:
        exact = [c for c in candidates if "_".join(name_tokens(c)) == wanted]
        if exact:
            return exact[0]
    for wanted in _TARGET_NAMES:
        if wanted in _EXACT_ONLY_TARGETS:
            continue
        hits = [c for c in candidates if wanted in name_tokens(c)]
        if hits:
            return hits[0]
    return None


def _named(kinds: dict[str, str], words: set[str], allowed: set[str]) -> list[str]:
    return [c for c, k in kinds.items() if k in allowed and words & set(name_tokens(c))]


def _table_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.-")
    return cleaned or "table"


def infer_schema(frame: pd.DataFrame, *, name: str = "table", detect_pii: bool = True, sample_size: int = 200,
                 seed: int = 0, analyzer: Any = None) -> tuple[Schema, dict[str, str]]:
    """Guess a schema for ``frame`` and explain each guess.

    Args:
        frame: The table.
        name: Schema name (characters outside ``[A-Za-z0-9_.-]`` are replaced).
        detect_pii: Run Presidio on sampled values; ``False`` uses column names and value shapes only.
        sample_size: Distinct values per column analysed for personal data.
        seed: Seed for that sample (same frame and seed -> same schema).
        analyzer: A Presidio analyzer to reuse (default: the shared offline one).

    Returns:
        The schema and a mapping column -> comment (counts and kinds, never cell values). The target
        and key choices are guesses from names; the comments say so.
    """
    columns: dict[str, dict[str, Any]] = {}
    comments: dict[str, str] = {}
    for column in frame.columns:
        key = str(column)
        series = frame[column]
        if isinstance(series, pd.DataFrame):  # duplicated column name: sanity check reports it
            series = series.iloc[:, 0]
        spec, comment, _ = _safe_infer_column(key, series, detect_pii=detect_pii, sample_size=sample_size,
                                              seed=seed, analyzer=analyzer)
        columns[key], comments[key] = spec, comment
    kinds = {c: spec["kind"] for c, spec in columns.items()}
    data: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "name": _table_name(name), "columns": columns}
    ids = [c for c, k in kinds.items() if k == "id"]
    if ids:
        data["primary_key"] = next((c for c in ids if _id_named(c)), ids[0])
        comments[data["primary_key"]] += "; proposed primary key"
    missing = {str(c): float(frame[c].isna().mean()) if isinstance(frame[c], pd.Series) else 0.0
               for c in frame.columns}
    target = _guess_target(kinds, missing)
    if target is not None:
        data["target"] = target
        comments[target] += "; guessed target from its name (check it)"
    structured = {"categorical", "ordinal", "numerical", "datetime", "boolean"}
    data["quasi_identifiers"] = _named(kinds, _QI_WORDS, structured)
    data["sensitive"] = [c for c in _named(kinds, _SENSITIVE_WORDS, structured | {"text"})
                         if c not in data["quasi_identifiers"]]
    for column in data["quasi_identifiers"]:
        comments[column] += "; quasi-identifier (by name)"
    for column in data["sensitive"]:
        comments[column] += "; sensitive (by name)"
    return schema_from_dict(data, source="inferred schema"), comments
