"""Guess a :class:`~synthstruct.schema.model.Schema` from a table, deciding by evidence.

The guess is a starting point for a person to review (``synthstruct infer`` prints a table of the
decisions and writes the schema as YAML with the evidence above each column). Every decision is a
:class:`Decision`: the kind chosen, the evidence (counts and shares, never a cell value) and the
alternatives that were considered. The schema holds no cell value either: categories are learned at
fit time, numeric bounds are left out ("range hidden") because a real extreme value is often one
person's value, constants are learned at fit time.

Inference never refuses a column: odd columns become categories or constants. Decision order for a
column (first match wins):

1. all missing -> ``constant`` (carried through empty); one value in every row (at least
   :data:`CONSTANT_MIN_ROWS` rows) -> ``constant`` (carried through, not modelled);
2. booleans: bool dtype, or exactly the two spellings of a pair ``true``/``false``, ``yes``/``no``,
   ``y``/``n``, ``t``/``f``, ``1``/``0`` -> ``boolean`` (the spelling is kept for the output);
3. datetimes: datetime dtype, or texts that parse with one of :data:`DATE_FORMATS` (years 0001-9999);
4. numbers written for people (thousands separators, currency, percent, decimal comma) -> ``numerical``
   with a ``format`` (written back the same way);
5. code-like texts (numbers with letter codes such as ICD-9 ``250.83``/``V57``, leading zeros such as
   ZIP ``02134``, fixed-width digit strings, integers too long for a float) -> ``categorical (code)``;
   value protection merges rare codes, so hundreds of codes are fine;
6. long free text with many distinct values -> ``text`` (long labels with few distinct values stay
   categorical);
7. personal data by content (Presidio, Faker's name lists) and name -> ``pii``;
8. identifiers: an id-like name (``..._id``, ``key``) or one shared shape, with many distinct values:
   unique -> ``id`` (primary key candidate); repeating (several rows per value) -> ``id`` (entity key);
9. numbers: integers with at most :data:`MAX_CODE_LEVELS` distinct values are codes -> ``categorical``;
   integers beyond 2**53 are codes (a float cannot hold them); other numbers -> ``numerical``;
10. other texts -> ``categorical``.

Table level: a target is proposed only with a stated reason (an outcome-like name such as
``has_default``, ``result``, ``label``, or the last column, and few distinct values); categorical
columns that determine each other on the rows (sub-product -> product, city -> state) become
``fixed_combinations`` constraints (sampled as a hierarchy: no unseen pair).
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.pii.column_pii import ColumnPiiGuess, classify_column, name_hint, name_tokens
from synthstruct.schema.io import schema_from_dict
from synthstruct.schema.model import SCHEMA_VERSION, Schema
from synthstruct.schema.values import boolean_spelling, code_profile, detect_number_format

__all__ = ["DATE_FORMATS", "Decision", "Inference", "infer_schema", "infer_table", "value_shape"]

logger = logging.getLogger(__name__)

ID_MIN_ROWS = 20
MAX_CODE_LEVELS = 10
MIN_ROWS_PER_LEVEL = 3
TEXT_MIN_WORDS = 6
TEXT_MIN_CHARS = 60
#: Texts become ``text`` when at least this share of rows holds a distinct value ...
SHORT_TEXT_DISTINCT_RATIO = 0.5
#: ... and the median value has at least this many words (``Title`` of a review).
SHORT_TEXT_MIN_WORDS = 2
#: Long texts with fewer distinct values than this share of rows are labels (categorical) ...
LONG_TEXT_DISTINCT_RATIO = 0.2
#: ... unless they have at least this many distinct values.
LONG_TEXT_MANY_DISTINCT = 1000
MAX_DECIMALS = 8
#: Rows examined for formats and shapes (whole column for counts).
PROFILE_ROWS = 5000
#: Rows a column needs before one value in every row is carried through as a constant (the same
#: threshold as value protection's default k: fewer rows would replay one person's value).
CONSTANT_MIN_ROWS = 5
#: Repeating ids need this many distinct values (an entity key, not a code).
REPEATING_ID_MIN_DISTINCT = 50
#: Target proposals: at most this many distinct values.
TARGET_MAX_LEVELS = 10
#: Hierarchies: the determining column has at least this many rows per value on average ...
HIERARCHY_MIN_ROWS_PER_VALUE = 3
#: ... and at most this many fixed-combination constraints are proposed.
MAX_HIERARCHIES = 20
DATE_FORMATS = (
    "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y",
    "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%Y%m%d", "%b %d, %Y", "%d %b %Y", "%d-%b-%Y", "%Y-%m",
)
_ID_WORDS = {"id", "uuid", "guid", "key", "identifier", "ref", "no", "nr", "nbr", "num", "number"}
_STRONG_ID_WORDS = {"id", "uuid", "guid", "key", "identifier"}
#: Entities whose "number" (``patient_nbr``, ``member_no``) is an identifier.
_ENTITY_WORDS = {"patient", "subject", "member", "customer", "client", "person", "user", "account", "encounter",
                 "visit", "case", "order", "admission", "policy", "claim", "employee", "student", "household"}
_TARGET_NAMES = ("target", "label", "class", "y", "outcome", "result", "income", "stroke", "churn", "fraud",
                 "default", "diagnosis", "risk", "sentiment", "recommended", "survived", "response",
                 "readmitted", "status")
#: Too generic to count inside a longer name ("Class Name" is not a label) unless after has/is/was.
_EXACT_ONLY_TARGETS = {"target", "label", "class", "y", "default", "response", "result", "status"}
_FLAG_PREFIXES = {"has", "is", "was", "had", "will", "did"}
_QI_WORDS = {"age", "sex", "gender", "race", "ethnicity", "zip", "zipcode", "postcode", "postal", "country",
             "nationality", "marital", "native", "city", "county", "region", "birth", "dob", "religion"}
_SENSITIVE_WORDS = {"income", "salary", "wage", "diagnosis", "disease", "stroke", "hypertension", "health",
                    "diabetes", "glucose", "insulin", "bmi", "chol", "cholesterol", "smoking", "hiv",
                    "pregnancies", "pregnancy", "religion", "sexual", "orientation", "political",
                    "union", "credit", "debt", "loan", "outcome", "capital", "medical", "thal", "cp", "icd",
                    "diag"}


# --------------------------------------------------------------------------------------- records
@dataclass
class Decision:
    """One inference decision: what a column became and why (counts and shares, no cell values)."""

    column: str
    kind: str
    label: str
    evidence: str
    alternatives: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def comment(self) -> str:
        text = f"{self.label}: {self.evidence}"
        if self.notes:
            text += "; " + "; ".join(self.notes)
        return text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Inference:
    """The schema and every decision behind it."""

    schema: Schema
    decisions: dict[str, Decision]
    target: str | None
    target_reason: str
    hierarchies: list[list[str]]
    timings: dict[str, float] = field(default_factory=dict)

    def comments(self) -> dict[str, str]:
        return {name: d.comment() for name, d in self.decisions.items()}

    def to_dict(self) -> dict[str, Any]:
        """For ``report.json``: per column kind, evidence, alternatives; target and reason; hierarchies."""
        return {"columns": {n: {k: v for k, v in d.to_dict().items() if k != "column"}
                            for n, d in self.decisions.items()},
                "target": self.target, "target_reason": self.target_reason,
                "hierarchies": [list(h) for h in self.hierarchies],
                "constants": [n for n, d in self.decisions.items() if d.kind == "constant"]}


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
    if not texts:
        return None
    series = pd.Series(texts, dtype=object).astype(str)
    if series.str.contains(r"[#?]", regex=True).any():
        return None
    shapes = series.str.replace(r"\d", "#", regex=True).str.replace(r"[^\W\d_]", "?", regex=True)
    if shapes.nunique() != 1:
        return None
    shape = shapes.iloc[0]
    if "#" not in shape and "?" not in shape:
        return None
    first = texts[0]
    keep = {i for i, ch in enumerate(first) if ch.isalpha() and bool((series.str[i] == ch).all())}
    pattern = value_shape(first, keep)
    return pattern if ("#" in pattern or "?" in pattern) else shape


def _is_integral(values: np.ndarray) -> bool:
    return bool(values.size) and bool(np.all(np.isfinite(values))) and bool(np.all(np.mod(values, 1) == 0))


def _decimals(values: np.ndarray) -> int:
    sample = values[:PROFILE_ROWS]
    for d in range(MAX_DECIMALS + 1):
        if np.mean(np.isclose(np.round(sample, d), sample, rtol=0, atol=10 ** -(d + 3))) >= 0.99:
            return d
    return MAX_DECIMALS


def _parses_wide(texts: pd.Series, fmt: str) -> pd.Series:
    def ok(text: str) -> bool:
        try:
            datetime.strptime(text, fmt)
        except ValueError:
            return False
        return True

    return texts.map(ok)


def _date_format(texts: pd.Series) -> tuple[str, int] | None:
    """The first format that reads at least 98 % of the sampled texts, and how many sampled cells
    lie outside pandas' nanosecond range (0001-01-01, 9999-12-31 sentinels)."""
    sample = texts.head(PROFILE_ROWS)
    if sample.empty or not sample.str.contains(r"\d").all() or sample.str.len().max() > 40:
        return None
    head = sample.head(20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fmt in DATE_FORMATS:
            if pd.to_datetime(head, format=fmt, errors="coerce").isna().all() and not head.str.match(
                    r"^(0001|9999)-").any():
                continue
            parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
            share = float(parsed.notna().mean())
            if share < 0.5 and not (share == 0 and sample.str.match(r"^\d{4}-\d\d-\d\d").all()):
                continue
            wide = 0
            if share < 1.0:
                failed = sample[parsed.isna()]
                rescued = _parses_wide(failed.drop_duplicates(), fmt)
                good = set(failed.drop_duplicates()[rescued.to_numpy()])
                wide = int(failed.isin(good).sum())
                share += wide / len(sample)
            if share >= 0.98:
                return fmt, wide
    return None


def _numeric(series: pd.Series, inferred_type: str) -> pd.Series | None:
    if pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    if inferred_type in ("integer", "floating", "mixed-integer-float", "decimal"):
        return pd.to_numeric(series, errors="coerce")
    return None


def _id_named(name: str, *, strong: bool = False) -> bool:
    tokens = name_tokens(name)
    if not tokens:
        return False
    words = _STRONG_ID_WORDS if strong else _ID_WORDS
    if tokens[-1] in words or "idx" in tokens:
        return True
    if tokens[-1] in _ID_WORDS and len(tokens) >= 2 and tokens[-2] in _ENTITY_WORDS:
        return True
    return tokens[0] in _STRONG_ID_WORDS


def _pct(part: float, whole: float) -> str:
    if not whole:
        return "0 %"
    share = part / whole
    return "<1 %" if 0 < share < 0.01 else f"{share:.0%}".replace("%", " %")


def _distinct(n_distinct: int, n_valid: int) -> str:
    return f"{n_distinct} distinct ({_pct(n_distinct, n_valid)})"


def _protected_share(counts: pd.Series, k: int = 5) -> float:
    """Share of rows whose value is held by at least ``k`` rows (kept by value protection)."""
    total = counts.sum()
    return float(counts[counts >= k].sum() / total) if total else 0.0


def _rare_note(counts: pd.Series) -> list[str]:
    kept = _protected_share(counts)
    if kept >= 0.999:
        return []
    if kept < 0.5:
        return [f"WARNING: {_pct(1 - kept, 1)} of cells hold values seen < 5 times; value protection replaces "
                "them by the frequent ones" + (" and the column will be empty" if kept == 0 else "")
                + " (declare it pii or id to generate new values)"]
    return [f"value protection: {_pct(1 - kept, 1)} of cells hold values seen < 5 times and are replaced "
            "by frequent ones"]


# --------------------------------------------------------------------------------------- columns
class _Column:
    """Profile of one column, computed once."""

    def __init__(self, name: str, series: pd.Series) -> None:
        self.name = name
        self.series = series
        self.n_rows = len(series)
        self.valid = series.dropna()
        self.n_valid = len(self.valid)
        self.counts: pd.Series | None = None  # valid.value_counts(), counted once (also gives n_distinct)
        try:
            self.counts = self.valid.value_counts()
            self.n_distinct = len(self.counts)
        except TypeError:  # unhashable cells
            self.n_distinct = -1
        self.inferred_type = pd.api.types.infer_dtype(self.valid, skipna=True) if self.n_valid else "empty"


def _decision(name: str, spec: dict[str, Any], label: str, evidence: str,
              alternatives: list[str] | None = None, notes: list[str] | None = None) -> tuple[dict[str, Any], Decision]:
    return spec, Decision(name, spec["kind"], label, evidence, alternatives or [], notes or [])


def _infer_constant(col: _Column) -> tuple[dict[str, Any], Decision] | None:
    if col.n_valid == 0:
        return _decision(col.name, {"kind": "constant"}, "constant (empty)",
                         f"every one of {col.n_rows} values is missing → carried through empty, not modelled")
    if col.n_valid != col.n_rows or col.n_rows < CONSTANT_MIN_ROWS or col.n_distinct != 1:
        return None
    return _decision(col.name, {"kind": "constant"}, "constant",
                     f"one value in all {col.n_rows} rows → carried through as a constant, not modelled",
                     ["categorical (one category)"])


def _infer_boolean(col: _Column) -> tuple[dict[str, Any], Decision] | None:
    if pd.api.types.is_bool_dtype(col.series):
        return _decision(col.name, {"kind": "boolean"}, "boolean", "bool values")
    valid = col.valid
    if col.inferred_type == "boolean":
        return _decision(col.name, {"kind": "boolean"}, "boolean", "true/false values with gaps")
    if col.n_distinct != 2:
        return None
    spelling = boolean_spelling(valid)
    if spelling is None:
        return None
    true, false = spelling
    spec = {"kind": "boolean", "true_value": true, "false_value": false}
    shown = "1/0" if isinstance(true, int) else "a known yes/no spelling (kept for the output)"
    return _decision(col.name, spec, "boolean", f"exactly two values, {shown}", ["categorical (two categories)"])


def _infer_numeric(col: _Column, numbers: pd.Series) -> tuple[dict[str, Any], Decision]:
    name = col.name
    values = numbers.dropna().to_numpy(dtype="float64")
    n_valid = len(values)
    counts = pd.Series(values).value_counts()
    n_distinct = int(len(counts))
    integral = _is_integral(values)
    if integral and n_valid and float(np.abs(values).max()) > 2 ** 53:
        if n_distinct >= ID_MIN_ROWS and (n_distinct >= 0.9 * n_valid or _id_named(name)):
            digits = pd.Series(values).map(lambda v: len(str(int(v)))).mode().iloc[0]
            label = "id (unique)" if n_distinct == n_valid == col.n_rows else "id (entity key)"
            return _decision(name, {"kind": "id", "strategy": "pattern", "pattern": "#" * int(digits)}, label,
                             f"{_distinct(n_distinct, n_valid)} integers beyond 2^53 (a float cannot hold them)"
                             f"{' and an id-like name' if _id_named(name) else ''}; new {digits}-digit ids",
                             ["categorical (code)"])
        return _decision(name, {"kind": "categorical"}, "categorical (code)",
                         f"integers beyond 2^53, kept exactly as codes, {_distinct(n_distinct, n_valid)}",
                         ["numerical (would lose digits)"], _rare_note(counts))
    if integral and n_distinct == n_valid == col.n_rows >= ID_MIN_ROWS and _id_named(name):
        return _decision(name, {"kind": "id", "strategy": "sequence"}, "id (unique)",
                         f"all {n_valid} integers distinct and an id-like name; generated as a new sequence",
                         ["numerical"])
    if integral and n_distinct <= MAX_CODE_LEVELS and n_valid >= MIN_ROWS_PER_LEVEL * n_distinct:
        return _decision(name, {"kind": "categorical"}, "categorical (code)",
                         f"integers with {n_distinct} distinct values (<= {MAX_CODE_LEVELS} distinct integers "
                         "are codes)", ["numerical"])
    if integral and n_distinct >= 0.95 * n_valid >= ID_MIN_ROWS and _id_named(name):
        label = "id (unique)" if n_distinct == n_valid == col.n_rows else "id (entity key)"
        return _decision(name, {"kind": "id", "strategy": "sequence"}, label,
                         f"{_pct(n_distinct, n_valid)} distinct integers and an id-like name; generated as a sequence",
                         ["numerical"])
    if integral and _id_named(name, strong=True) and n_distinct < REPEATING_ID_MIN_DISTINCT \
            and n_valid >= MIN_ROWS_PER_LEVEL * n_distinct:
        return _decision(name, {"kind": "categorical"}, "categorical (code)",
                         f"id-like name with only {n_distinct} distinct integers, "
                         f"{n_valid / max(n_distinct, 1):.0f} rows per value → codes of a lookup table",
                         ["numerical", "id"], _rare_note(counts))
    if integral and _id_named(name, strong=True) and n_distinct >= REPEATING_ID_MIN_DISTINCT:
        per = n_valid / max(n_distinct, 1)
        return _decision(name, {"kind": "id", "strategy": "sequence"}, "id (entity key)",
                         f"id-like name, {n_distinct} distinct integers, {per:.1f} rows per value on average "
                         "(an entity key); new ids, never a real one", ["numerical"])
    if integral:
        return _decision(name, {"kind": "numerical", "dtype": "int"}, "numerical (int)",
                         f"integers, {_distinct(n_distinct, n_valid)}, range hidden", ["categorical"])
    decimals = _decimals(values)
    return _decision(name, {"kind": "numerical", "dtype": "float", "decimals": decimals}, "numerical (float)",
                     f"numbers with {decimals} decimal(s), {_distinct(n_distinct, n_valid)}, range hidden")


def _text_stats(texts: pd.Series) -> tuple[float, float]:
    """Median characters and words (on up to 1,000 rows)."""
    sample = texts.head(1000)
    return float(sample.str.len().median()), float(sample.str.count(r"\s+").median() + 1)


def _infer_strings(col: _Column, sample: pd.Series, counts: pd.Series,
                   find_pii: Any) -> tuple[dict[str, Any], Decision]:
    """Decide a text column from a row ``sample`` (shapes, formats), ``counts`` per distinct value
    (cardinality, value protection) and ``find_pii()`` (the content check, called only when needed)."""
    name = col.name
    n_valid, n_distinct = col.n_valid, int(len(counts))
    # shapes are checked on up to 20,000 distinct values (a spread over the column's values)
    distinct = counts.index[:: max(1, n_distinct // 20_000)].tolist()
    texts = sample
    found = _date_format(sample)
    if found is not None:
        fmt, wide = found
        note = [f"{wide} sampled cells lie outside 1678-2261 (sentinel dates), kept"] if wide else []
        return _decision(name, {"kind": "datetime", "format": fmt}, "datetime",
                         f"values parse with format {fmt}", ["categorical"], note)
    number_format = detect_number_format(counts.index.to_series())
    if number_format is not None:
        from synthstruct.schema.values import parse_numbers

        values = parse_numbers(counts.index[:: max(1, n_distinct // PROFILE_ROWS)].to_series(),
                               number_format).to_numpy()
        integral = _is_integral(values)
        spec: dict[str, Any] = {"kind": "numerical", "dtype": "int" if integral else "float",
                                "format": {k: v for k, v in asdict(number_format).items() if v not in ("", ".")}}
        if not integral:
            from synthstruct.schema.values import written_decimals

            spec["decimals"] = max(written_decimals(sample, number_format), _decimals(values))
        return _decision(name, spec, f"numerical ({spec['dtype']}, formatted)",
                         f"all values are numbers written with {number_format.describe()}; parsed and written "
                         "back in the same format, range hidden", ["categorical"])
    profile = code_profile(sample)
    notes = _rare_note(counts)
    chars, words = _text_stats(texts)
    ratio = n_distinct / max(n_valid, 1)
    if profile.is_code:
        if n_distinct == n_valid == col.n_rows >= ID_MIN_ROWS:
            pattern = _shared_pattern(sample.tolist())
            if pattern is not None and _shared_pattern(distinct) == pattern:
                return _decision(name, {"kind": "id", "strategy": "pattern", "pattern": pattern}, "id (unique)",
                                 f"{profile.describe()}; all {n_valid} values distinct with one shape",
                                 ["categorical (code)"])
        hint = name_hint(name)
        digits = sample.str.count(r"\d").median()
        if digits >= 9 or hint in ("PHONE_NUMBER", "US_SSN", "CREDIT_CARD", "IBAN_CODE", "MEDICAL_RECORD_NUMBER"):
            pii = find_pii()  # long digit strings: card, SSN, phone numbers are codes too
            if pii is not None and pii.entity is not None and pii.evidence in ("content", "both"):
                return _decision(name, {"kind": "pii", "entity": pii.entity}, "pii", pii.describe(),
                                 ["categorical (code)"])
        alternatives = ["numerical (letter codes would be lost)"] if profile.letter_code_share else []
        if hint is not None:
            alternatives.append(f"pii {hint} (by name only)")
        return _decision(name, {"kind": "categorical"}, "categorical (code)",
                         f"{profile.describe()} → codes, {_distinct(n_distinct, n_valid)}", alternatives, notes)
    if words >= TEXT_MIN_WORDS or chars >= TEXT_MIN_CHARS:
        if ratio >= SHORT_TEXT_DISTINCT_RATIO or (n_distinct >= LONG_TEXT_MANY_DISTINCT
                                                  and ratio >= LONG_TEXT_DISTINCT_RATIO / 2):
            return _decision(name, {"kind": "text"}, "text",
                             f"free text, median {words:.0f} words, {_pct(n_distinct, n_valid)} distinct",
                             ["categorical"])
        return _decision(name, {"kind": "categorical"}, "categorical",
                         f"long labels (median {words:.0f} words) but only {n_distinct} distinct values, "
                         f"{n_valid / max(n_distinct, 1):.0f} rows per value → categories, not free text",
                         ["text"], notes)
    pii = find_pii()
    if pii is not None and pii.entity is not None:
        spec = {"kind": "pii", "entity": pii.entity}
        evidence = pii.describe()
        if pii.entity == "MEDICAL_RECORD_NUMBER":  # record numbers keep the table's shape (MRN-#######)
            shape = _shared_pattern(sample.tolist())
            if shape is not None and _shared_pattern(distinct) == shape:
                spec["pattern"] = shape
                evidence += "; new numbers in the values' one shape"
        return _decision(name, spec, "pii", evidence, ["categorical"])
    pattern = _shared_pattern(sample.tolist()) if n_distinct >= ID_MIN_ROWS else None
    if n_distinct == n_valid == col.n_rows >= ID_MIN_ROWS:
        if pattern is not None and _shared_pattern(distinct) == pattern:
            return _decision(name, {"kind": "id", "strategy": "pattern", "pattern": pattern}, "id (unique)",
                             f"all {n_valid} values distinct with one shape; new ids from that pattern",
                             ["categorical"])
        if _id_named(name):
            return _decision(name, {"kind": "id", "strategy": "uuid"}, "id (unique)",
                             f"all {n_valid} values distinct and an id-like name; UUIDs", ["categorical"])
        if words < SHORT_TEXT_MIN_WORDS or n_valid <= 50:
            return _decision(name, {"kind": "id", "strategy": "uuid"}, "id (unique)",
                             f"all {n_valid} values distinct: as categories every value would be one row's "
                             "(value protection would empty the column); generated as new ids (UUIDs)",
                             ["categorical", "pii"], ["declare it pii (e.g. LOCATION) for realistic values"])
    if n_distinct >= REPEATING_ID_MIN_DISTINCT and n_distinct < n_valid and (
            _id_named(name, strong=True) or (pattern is not None and pattern.count("#") >= 4
                                             and re.search(r"[A-Za-z]", pattern)
                                             and _shared_pattern(distinct) == pattern)):
        spec = ({"kind": "id", "strategy": "pattern", "pattern": pattern} if pattern is not None
                else {"kind": "id", "strategy": "uuid"})
        why = "id-like name" if _id_named(name, strong=True) else "one id-like shape with a fixed prefix"
        return _decision(name, spec, "id (entity key)",
                         f"{why}, {n_distinct} distinct values, {n_valid / n_distinct:.1f} rows per value on "
                         "average (an entity key); new ids, never a real one", ["categorical"])
    if n_distinct >= SHORT_TEXT_DISTINCT_RATIO * n_valid and n_distinct > 50 and words >= SHORT_TEXT_MIN_WORDS:
        return _decision(name, {"kind": "text"}, "text",
                         f"short texts, median {words:.0f} words, {_pct(n_distinct, n_valid)} distinct",
                         ["categorical"])
    if profile.numeric_share > 0:
        evidence = f"{profile.describe()}, other texts → categories, {_distinct(n_distinct, n_valid)}"
    else:
        evidence = f"texts, {_distinct(n_distinct, n_valid)}"
    return _decision(name, {"kind": "categorical"}, "categorical", evidence, [], notes)


def _may_be_pii_number(col: _Column, numbers: pd.Series) -> bool:
    """Numbers are checked for personal data (SSN, card, phone, ZIP, record numbers) only when they are
    integers of 5-19 digits or the name suggests such an entity."""
    hint = name_hint(col.name)
    if hint is not None:
        return True
    values = numbers.dropna().head(PROFILE_ROWS).to_numpy(dtype="float64")
    if not _is_integral(values):
        return False
    digits = np.floor(np.log10(np.maximum(np.abs(values), 1))) + 1
    return bool(np.median(digits) >= 9)


#: See :func:`_may_be_pii_text`: label columns skipped by the content check.
CATEGORY_SHARED_MAX = 200
CATEGORY_SHARED_MIN = 5


def _may_be_pii_text(col: _Column, sample: pd.Series, counts: pd.Series) -> bool:
    """Run the (slow) content check only where personal data is plausible: not long free text, not
    labels with fewer than 20 distinct values unless the name suggests personal data."""
    if sample.empty:
        return False
    chars, words = _text_stats(sample)
    if words >= TEXT_MIN_WORDS or chars >= TEXT_MIN_CHARS:
        return False
    if name_hint(col.name) is not None:
        return True
    # Shared labels: at most CATEGORY_SHARED_MAX values, and 95 % of rows holding a value shared by at
    # least CATEGORY_SHARED_MIN rows, are categories (a country, a product), not values that point at one
    # person; the rare rest is suppressed by value protection, and names were already looked up in the
    # name lists. Skipping Presidio here saves loading spaCy (about 2 s) on most tables.
    if len(counts) <= CATEGORY_SHARED_MAX and counts[counts >= CATEGORY_SHARED_MIN].sum() >= 0.95 * counts.sum():
        return False
    return len(counts) >= 20


def _listed_names(col: _Column, counts: pd.Series) -> ColumnPiiGuess | None:
    """Names by Faker's name lists, decided before (and instead of) the slower Presidio pass."""
    from synthstruct.pii.column_pii import NAME_LIST_SHARE, MIN_DISTINCT_NER
    from synthstruct.pii.name_lists import name_share

    hint = name_hint(col.name)
    if len(counts) < MIN_DISTINCT_NER or (hint is not None and hint not in ("PERSON", "FIRST_NAME", "LAST_NAME")):
        return None  # a column named city, company, street ... is not checked against name lists
    texts = counts.index[:: max(1, len(counts) // 200)].tolist()[:200]
    shares = name_share(texts)
    if shares["LAST_NAME"] >= NAME_LIST_SHARE and shares["LAST_NAME"] >= shares["FIRST_NAME"]:
        entity = "LAST_NAME"
    elif shares["FIRST_NAME"] >= NAME_LIST_SHARE:
        entity = "FIRST_NAME"
    elif shares["PERSON"] >= NAME_LIST_SHARE:
        entity = "PERSON"
    else:
        return None
    evidence = "both" if hint in ("PERSON", "FIRST_NAME", "LAST_NAME") else "content"
    return ColumnPiiGuess(entity, round(min(1.0, shares[entity] + (0.2 if evidence == "both" else 0)), 4),
                          round(shares[entity], 4), evidence, len(texts))


def _row_sample(valid: pd.Series, seed: int) -> pd.Series:
    """Up to :data:`PROFILE_ROWS` rows (a seeded random sample of longer columns, in row order)."""
    if len(valid) <= PROFILE_ROWS:
        return valid
    picks = np.sort(np.random.default_rng(seed).choice(len(valid), size=PROFILE_ROWS, replace=False))
    return valid.iloc[picks]


def _spaced_ends(texts: pd.Index) -> bool:
    """Does any text start or end with a space? (Arrow's kernels on many distinct texts.)"""
    if len(texts) > 10_000:
        import pyarrow as pa
        import pyarrow.compute as pc

        array = pa.array(texts.to_numpy(dtype=object), type=pa.string())
        return bool(pc.any(pc.or_(pc.starts_with(array, " "), pc.ends_with(array, " "))).as_py())
    return bool(texts.str.endswith(" ").any() or texts.str.startswith(" ").any())


def _text_counts(valid: pd.Series, counts: pd.Series | None = None) -> pd.Series:
    """Row counts per distinct value, values as stripped texts (most frequent first); ``counts`` is
    ``valid.value_counts()`` when already counted."""
    counts = valid.value_counts() if counts is None else counts.copy()
    raw = counts.index.astype(str)
    if not _spaced_ends(raw):
        counts.index = raw
        return counts
    index = raw.str.strip()
    if not index.duplicated().any():
        counts.index = index
        return counts
    counts.index = index
    return counts.groupby(level=0).sum().sort_values(ascending=False)


def _infer_column(name: str, series: pd.Series, *, detect_pii: bool, sample_size: int, seed: int,
                  analyzer: Any) -> tuple[dict[str, Any], Decision]:
    col = _Column(name, series)
    for rule in (_infer_constant, _infer_boolean):
        found = rule(col)
        if found is not None:
            return found
    if pd.api.types.is_datetime64_any_dtype(series):
        return _decision(name, {"kind": "datetime", "format": "%Y-%m-%d %H:%M:%S"}, "datetime", "datetime values")
    numbers = _numeric(series, col.inferred_type)
    if numbers is not None:
        if _may_be_pii_number(col, numbers):
            pii = classify_column(series, name, analyzer=analyzer, sample_size=sample_size, seed=seed,
                                  use_content=detect_pii)
            if pii.entity is not None:
                return _decision(name, {"kind": "pii", "entity": pii.entity}, "pii", pii.describe(), ["numerical"])
        return _infer_numeric(col, numbers)
    mixed = col.inferred_type.startswith("mixed") or col.inferred_type in ("integer", "floating")
    counts = _text_counts(col.valid, col.counts)
    sample = _row_sample(col.valid, seed).astype(str).str.strip()
    spec, decision = _infer_strings(col, sample, counts, lambda: _listed_names(col, counts) or (
        classify_column(pd.Series(counts.index), name, analyzer=analyzer, sample_size=sample_size, seed=seed,
                        use_content=detect_pii, n_valid=col.n_valid)
        if _may_be_pii_text(col, sample, counts) else None))
    if mixed and spec["kind"] not in ("categorical", "id", "pii"):
        return _decision(name, {"kind": "categorical"}, "categorical",
                         "mixed value types (numbers and texts) → categories", [decision.label])
    if mixed:
        decision.notes.append("mixed value types compared as text")
    return spec, decision


def _safe_infer_column(name: str, series: pd.Series, **options: Any) -> tuple[dict[str, Any], Decision]:
    try:
        return _infer_column(name, series, **options)
    except (TypeError, ValueError) as exc:  # unhashable or exotic cells: never fail the whole table
        logger.debug("column %r: inference fell back to categorical (%s)", name, type(exc).__name__)
        return _decision(name, {"kind": "categorical"}, "categorical",
                         f"values could not be profiled ({type(exc).__name__}); check the column")


# --------------------------------------------------------------------------------------- target
def _target_name_match(column: str) -> str | None:
    tokens = name_tokens(column)
    joined = "_".join(tokens)
    for wanted in _TARGET_NAMES:
        if joined == wanted:
            return f"named {wanted!r}"
    if tokens and tokens[0] in _FLAG_PREFIXES and len(tokens) >= 2:
        return f"an outcome flag name ({tokens[0]} ...)"
    for wanted in _TARGET_NAMES:
        if wanted not in _EXACT_ONLY_TARGETS and wanted in tokens:
            return f"its name contains {wanted!r}"
    return None


def propose_target(frame: pd.DataFrame, kinds: dict[str, str]) -> tuple[str | None, str]:
    """A target column and the reason, or ``(None, reason)``.

    Candidates are categorical, ordinal or boolean columns with 2 to :data:`TARGET_MAX_LEVELS`
    distinct values. An outcome-like name wins (exact names first, then flags such as ``has_default``,
    then names containing a label word); else the last column when it is such a candidate.
    """
    allowed = {"categorical", "ordinal", "boolean"}
    levels: dict[str, int] = {}
    for column, kind in kinds.items():
        if kind in allowed:
            try:
                levels[column] = int(frame[column].nunique(dropna=True))
            except TypeError:
                continue
    structured = [c for c, k in kinds.items() if k in allowed | {"numerical", "datetime"}]
    if len(structured) < 2:
        return None, "no target: a target needs at least one other learned column to be predicted from"
    candidates = [c for c, n in levels.items() if 2 <= n <= TARGET_MAX_LEVELS]
    missing = {c: float(frame[c].isna().mean()) for c in candidates}
    ranked = []
    for column in candidates:
        reason = _target_name_match(column)
        if reason is None:
            continue
        tokens = name_tokens(column)
        exact = "_".join(tokens) in _TARGET_NAMES
        flag = tokens[0] in _FLAG_PREFIXES
        rank = (0 if exact else (1 if flag else 2), round(missing[column], 2), levels[column], len(tokens))
        ranked.append((rank, column, reason))
    if ranked:
        _, column, reason = min(ranked)
        return column, f"{reason}, {levels[column]} distinct values"
    last = str(frame.columns[-1]) if len(frame.columns) else None
    if last in candidates:
        return last, f"the last column, {levels[last]} distinct values ({kinds[last]})"
    return None, ("no categorical column with 2-10 values has an outcome-like name or is last; "
                  "pass --target COL for utility metrics")


# --------------------------------------------------------------------------------------- hierarchies
_HIERARCHY_PROBE_ROWS = 20_000


def find_hierarchies(frame: pd.DataFrame, columns: list[str]) -> list[list[str]]:
    """Groups ``[parent, child, ...]``: the parent determines each child on every row, a missing value
    counting as a value (a functional dependency on these rows, as the validity check sees it) and has at least
    :data:`HIERARCHY_MIN_ROWS_PER_VALUE` rows per value (so the dependency is not a coincidence of
    few rows). Pairs that determine each other are listed once (the earlier column as parent)."""
    n = len(frame)
    codes: dict[str, np.ndarray] = {}
    distinct: dict[str, int] = {}
    for column in columns:
        try:
            values, uniques = pd.factorize(frame[column].astype(object), use_na_sentinel=False)  # missing: a value
        except TypeError:
            continue
        if 2 <= len(uniques) <= n / HIERARCHY_MIN_ROWS_PER_VALUE:
            codes[column], distinct[column] = values, len(uniques)
    groups: list[list[str]] = []
    order = list(codes)
    # a dependency broken on some rows is broken on all of them: candidates are first tried on a spread of
    # rows, and only those holding there are checked on every row (same answer, a fraction of the work)
    spread = np.arange(0, n, n // _HIERARCHY_PROBE_ROWS) if n > 2 * _HIERARCHY_PROBE_ROWS else None

    def determined(parent: str, candidates: list[str], rows: np.ndarray | None) -> list[str]:
        a = codes[parent] if rows is None else codes[parent][rows]
        present = a >= 0
        sort = np.argsort(a[present], kind="stable")
        a_sorted = a[present][sort]
        same = a_sorted[1:] == a_sorted[:-1]
        found = []
        for child in candidates:
            b = codes[child] if rows is None else codes[child][rows]
            b_sorted = b[present][sort]
            if not np.any(same & (b_sorted[1:] != b_sorted[:-1])):
                found.append(child)
        return found

    for parent in order:
        candidates = [child for child in order if child != parent and distinct[child] <= distinct[parent]
                      and not (distinct[child] == distinct[parent] and order.index(child) < order.index(parent))]
        if spread is not None and candidates:  # (mutual pairs keep the earlier column as the parent)
            candidates = determined(parent, candidates, spread)
        children = determined(parent, candidates, None) if candidates else []
        if children:
            groups.append([parent, *children])
    # drop a group whose columns all sit in a larger group with a parent that determines them
    groups.sort(key=lambda g: (-len(g), order.index(g[0])))
    kept: list[list[str]] = []
    for group in groups:
        if not any(set(group) <= set(other) for other in kept):
            kept.append(group)
    return kept[:MAX_HIERARCHIES]


# --------------------------------------------------------------------------------------- table
def _is_key(series: pd.Series) -> bool:
    """No missing and no repeated value (a primary key)."""
    try:
        return bool(series.notna().all() and series.is_unique)
    except TypeError:
        return False


def _named(kinds: dict[str, str], words: set[str], allowed: set[str]) -> list[str]:
    return [c for c, k in kinds.items() if k in allowed and words & set(name_tokens(c))]


def _table_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.-")
    return cleaned or "table"


#: Large tables: half of the columns are inferred in a forked child process (synthstruct._fork) from this many
#: rows; each column's decision depends on that column only, so the schema is the same.
FORK_MIN_ROWS = 100_000


def _infer_some(frame: pd.DataFrame, positions: list[int], options: dict[str, Any]
                ) -> dict[int, tuple[dict[str, Any], Decision]]:
    out = {}
    for i in positions:
        series = frame.iloc[:, i]
        if isinstance(series, pd.DataFrame):  # pragma: no cover - iloc gives one column
            series = series.iloc[:, 0]
        out[i] = _safe_infer_column(str(frame.columns[i]), series, **options)
    return out


def _infer_columns(frame: pd.DataFrame, options: dict[str, Any]) -> dict[str, tuple[dict[str, Any], Decision]]:
    """Each column's spec and decision, in column order (a duplicated name: its first column). From
    :data:`FORK_MIN_ROWS` rows the text columns are shared out between this process and a forked child."""
    from synthstruct._fork import ForkedCall, fork_enabled

    first: dict[Any, int] = {}
    for i, c in enumerate(frame.columns):
        first.setdefault(c, i)
    positions = sorted(first.values())
    child: list[int] = []
    if len(frame) >= FORK_MIN_ROWS and len(positions) >= 4 and fork_enabled():
        # text columns cost most (hashing, formats, PII checks): deal them out alternately, then the rest
        ordered = sorted(positions, key=lambda i: frame.dtypes.iloc[i].kind != "O")
        child = ordered[1::2]
    in_child = set(child)
    mine = [i for i in positions if i not in in_child]
    results: dict[int, tuple[dict[str, Any], Decision]] = {}
    call = ForkedCall(lambda: _infer_some(frame, child, options), name="schema-inference") if child else None
    try:
        results.update(_infer_some(frame, mine, options))
        if call is not None:
            ok, value = call.result()
            results.update(value if ok else _infer_some(frame, child, options))
    finally:
        if call is not None:
            call.close()
    return {str(frame.columns[i]): results[i] for i in positions}


def infer_table(frame: pd.DataFrame, *, name: str = "table", detect_pii: bool = True, sample_size: int = 200,
                seed: int = 0, analyzer: Any = None, target: str | None = None,
                hierarchies: bool = True) -> Inference:
    """Infer a schema for ``frame`` and record every decision.

    Args:
        frame: The table.
        name: Schema name (characters outside ``[A-Za-z0-9_.-]`` are replaced).
        detect_pii: Run Presidio on sampled values; ``False`` uses names, value shapes and name lists.
        sample_size: Distinct values per column analysed for personal data.
        seed: Seed for that sample (same frame and seed -> same schema).
        analyzer: A Presidio analyzer to reuse (default: the shared offline one).
        target: A column to use as the target, ``"none"`` for no target, or ``None`` to propose one.
        hierarchies: Detect categorical hierarchies (fixed combinations).

    Returns:
        The :class:`Inference` (schema, decisions, target and reason, hierarchies).
    """
    import time

    t0 = time.perf_counter()
    columns: dict[str, dict[str, Any]] = {}
    decisions: dict[str, Decision] = {}
    options = {"detect_pii": detect_pii, "sample_size": sample_size, "seed": seed, "analyzer": analyzer}
    for key, (spec, decision) in _infer_columns(frame, options).items():
        columns[key], decisions[key] = spec, decision
    t_columns = time.perf_counter() - t0
    kinds = {c: spec["kind"] for c, spec in columns.items()}
    data: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "name": _table_name(name), "columns": columns}
    unique_ids = [c for c, d in decisions.items() if d.kind == "id" and d.label == "id (unique)"
                  and _is_key(frame[c] if isinstance(frame[c], pd.Series) else frame[c].iloc[:, 0])]
    if unique_ids:
        data["primary_key"] = next((c for c in unique_ids if _id_named(c)), unique_ids[0])
        decisions[data["primary_key"]].notes.append("proposed primary key")
    target_reason = ""
    if target is not None and target.lower() == "none":
        chosen, target_reason = None, "switched off (--target none)"
    elif target is not None:
        chosen, target_reason = target, "chosen by the user (--target)"
    else:
        chosen, target_reason = propose_target(frame, kinds)
    if chosen is not None:
        data["target"] = chosen
        if chosen in decisions:
            decisions[chosen].notes.append(f"target: {target_reason}")
        if columns.get(chosen, {}).get("kind") == "boolean" and "true_value" in columns[chosen]:
            columns[chosen] = {"kind": "categorical"}  # classes keep the data's spelling (yes/no, 1/0)
            decisions[chosen].kind, decisions[chosen].label = "categorical", "categorical (two classes)"
            decisions[chosen].alternatives = ["boolean"]
            decisions[chosen].notes.append("a two-valued target is kept as classes with the data's spelling")
    structured = {"categorical", "ordinal", "numerical", "datetime", "boolean"}
    data["quasi_identifiers"] = _named(kinds, _QI_WORDS, structured)
    data["sensitive"] = [c for c in _named(kinds, _SENSITIVE_WORDS, structured | {"text"})
                         if c not in data["quasi_identifiers"]]
    for column in data["quasi_identifiers"]:
        decisions[column].notes.append("quasi-identifier (by name)")
    for column in data["sensitive"]:
        decisions[column].notes.append("sensitive (by name)")
    t1 = time.perf_counter()
    groups: list[list[str]] = []
    if hierarchies and len(frame) >= 2 * HIERARCHY_MIN_ROWS_PER_VALUE:
        categorical = [c for c, k in kinds.items() if k in ("categorical", "boolean") and c != chosen]
        groups = find_hierarchies(frame, categorical)
        if groups:
            data["constraints"] = [{"type": "fixed_combinations", "columns": g} for g in groups]
            for group in groups:
                decisions[group[0]].notes.append(f"determines {', '.join(group[1:])} on every row → kept as "
                                                 "fixed combinations")
    timings = {"columns": round(t_columns, 3), "hierarchies": round(time.perf_counter() - t1, 3)}
    schema = schema_from_dict(data, source="inferred schema")
    return Inference(schema=schema, decisions=decisions, target=chosen, target_reason=target_reason,
                     hierarchies=groups, timings=timings)


def infer_schema(frame: pd.DataFrame, *, name: str = "table", detect_pii: bool = True, sample_size: int = 200,
                 seed: int = 0, analyzer: Any = None, target: str | None = None) -> tuple[Schema, dict[str, str]]:
    """Guess a schema for ``frame`` and explain each guess (see :func:`infer_table`).

    Returns:
        The schema and a mapping column -> comment (kind, evidence, notes; never cell values).
    """
    result = infer_table(frame, name=name, detect_pii=detect_pii, sample_size=sample_size, seed=seed,
                         analyzer=analyzer, target=target)
    return result.schema, result.comments()
