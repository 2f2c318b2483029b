"""Value formats found in real tables: formatted numbers, boolean spellings, codes.

Everything here works on texts and returns formats and counts, never a cell value to log.

* :func:`detect_number_format` recognises numbers written for people -- thousands separators
  (``1,234,000``, ``1.234.567,89``, ``1 234``, ``1'234``), currency symbols (``$12.50``, ``12,50 €``)
  and percent signs (``45%``) -- and returns a :class:`NumberFormat` when every value fits one format;
  :func:`parse_numbers` reads them, :func:`format_numbers` writes numbers back in the same format.
* :func:`boolean_spelling` finds the two spellings of a boolean column (``yes``/``no``, ``Y``/``N``,
  ``1``/``0``, ``true``/``false``, ``t``/``f``), in the input's case.
* :func:`code_profile` measures how code-like a text column is (numeric share, letter codes, leading
  zeros, fixed width), the evidence for ``categorical (code)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "EXACT_FLOAT_DIGITS",
    "PY_WHITESPACE",
    "CodeProfile",
    "NumberFormat",
    "boolean_spelling",
    "code_profile",
    "detect_number_format",
    "format_numbers",
    "parse_numbers",
    "ONE_WAY_TYPES",
    "prints_one_way",
    "typed_columns",
    "text_codes",
    "typed_from_codes",
    "written_decimals",
]

#: Integers with more significant digits than this cannot be held exactly in a float64.
EXACT_FLOAT_DIGITS = 15
_CURRENCY = "$€£¥₹₩₽¢"
_PREFIX = re.compile(rf"^(?P<sign>-?)(?P<prefix>[{re.escape(_CURRENCY)}]\s?|[A-Z]{{3}}\s)?(?P<sign2>-?)(?P<body>.*?)"
                     rf"(?P<suffix>\s?[{re.escape(_CURRENCY)}%]|\s[A-Z]{{3}})?$")
#: (thousands separator, decimal mark) candidates, most common first.
_CANDIDATES = ((",", "."), (".", ","), (" ", ","), ("\u00a0", ","), ("'", "."), (" ", "."), ("", ","))


@dataclass(frozen=True)
class NumberFormat:
    """How numbers were written: ``prefix`` (currency), ``suffix`` (``%``, currency), the thousands
    separator (empty: none) and the decimal mark."""

    prefix: str = ""
    suffix: str = ""
    thousands: str = ""
    decimal: str = "."

    def describe(self) -> str:
        parts = []
        if self.prefix.strip() or self.suffix.strip():
            parts.append(f"unit {(self.prefix + self.suffix).strip()!r}")
        if self.thousands:
            parts.append(f"thousands separator {self.thousands!r}")
        if self.decimal != ".":
            parts.append(f"decimal mark {self.decimal!r}")
        return ", ".join(parts) or "plain numbers"


def _body_regex(thousands: str, decimal: str) -> re.Pattern[str]:
    t, d = re.escape(thousands), re.escape(decimal)
    grouped = rf"\d{{1,3}}(?:{t}\d{{3}})+" if thousands else r"(?!)"
    return re.compile(rf"^(?:{grouped}|\d+)(?:{d}\d+)?$")


def _split(text: str) -> tuple[str, str, str, str] | None:
    """(sign, prefix, body, suffix) of a formatted number, or ``None``."""
    match = _PREFIX.match(text.strip())
    if match is None:
        return None
    sign = match.group("sign") or match.group("sign2") or ""
    return sign, (match.group("prefix") or ""), match.group("body"), (match.group("suffix") or "")


def detect_number_format(texts: pd.Series) -> NumberFormat | None:
    """The one :class:`NumberFormat` every text fits, when it is more than plain numbers.

    Returns ``None`` when the texts are plain numbers (pandas reads those), when any text does not fit,
    or when the values are integers too long for a float (codes and account numbers, kept as text).
    """
    values = texts.dropna().astype(str).str.strip()
    values = values[values != ""]
    if values.empty:
        return None
    head = values.iloc[:: max(1, len(values) // 500)]  # quick rejection on a spread of 500 values
    if not head.str.contains(r"\d", regex=True).all() or any(
            _split(v) is None or not any(c.isdigit() for c in (_split(v) or ("", "", "", ""))[2]) for v in head):
        return None
    if len(values) > len(head):
        found = detect_number_format(head)
        if found is None:
            return None
        full = re.compile(rf"^-?{re.escape(found.prefix)}-?" + _body_regex(found.thousands or "", found.decimal)
                          .pattern.strip("^$") + rf"{re.escape(found.suffix)}$")
        if found.thousands == "" and found.decimal == "." and not (found.prefix or found.suffix):
            return None
        return found if values.str.match(full).all() and _digits_ok(values, found) else None
    parts = [_split(v) for v in pd.unique(values)]
    if any(p is None for p in parts):
        return None
    prefixes = {p[1] for p in parts}  # type: ignore[index]
    suffixes = {p[3] for p in parts}  # type: ignore[index]
    if len(prefixes) > 1 or len(suffixes) > 1:
        return None
    bodies = [p[2] for p in parts]  # type: ignore[index]
    prefix, suffix = prefixes.pop(), suffixes.pop()
    for thousands, decimal in _CANDIDATES:
        regex = _body_regex(thousands, decimal)
        if all(regex.match(b) for b in bodies):
            used_thousands = thousands if any(thousands and thousands in b for b in bodies) else ""
            if decimal == "," and not any("," in b for b in bodies):
                decimal = "."
            fmt = NumberFormat(prefix=prefix, suffix=suffix, thousands=used_thousands, decimal=decimal)
            if fmt == NumberFormat():
                return None  # plain numbers (or digit strings): not a formatted-number column
            digits = max(len(re.sub(r"\D", "", b.split(decimal)[0] if decimal in b else b)) for b in bodies)
            if digits > EXACT_FLOAT_DIGITS:
                return None
            return fmt
    return None


def written_decimals(texts: pd.Series, fmt: NumberFormat) -> int:
    """The most common number of digits written after the decimal mark (``$3.10`` -> 2)."""
    body = texts.dropna().astype(str).str.strip().str.replace(re.escape(fmt.suffix.strip()) or "$^", "", regex=True)
    fraction = body.str.rstrip().str.extract(rf"{re.escape(fmt.decimal)}(\d+)\s*$", expand=False)
    lengths = fraction.str.len().fillna(0).astype(int)
    return int(lengths.mode().iloc[0]) if len(lengths) else 0


def _digits_ok(values: pd.Series, fmt: NumberFormat) -> bool:
    values = values.iloc[np.argsort(-values.str.len().to_numpy(), kind="stable")[:200]]  # the longest
    whole = values.str.replace(r"[^\d" + re.escape(fmt.decimal) + "]", "", regex=True).str.split(
        re.escape(fmt.decimal), regex=True).str[0]
    return bool(whole.str.len().max() <= EXACT_FLOAT_DIGITS)


#: The characters ``str.strip()`` removes (those with ``str.isspace()``), for Arrow's trim kernel.
PY_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
                 + "\u2028\u2029\u202f\u205f\u3000")


#: ``pd.api.types.infer_dtype`` answers for an object column whose distinct values (by hashing) are distinct texts:
#: all text, all integers, all booleans (``1 == True`` and ``1 == 1.0`` need two types). Work per distinct value
#: then gives the cell-by-cell answer.
ONE_WAY_TYPES = ("string", "empty", "integer", "boolean")


def prints_one_way(series: pd.Series) -> bool:
    """The column holds integers, booleans or texts only (missing cells aside): ``pd.factorize`` then tells
    apart exactly the values that ``str`` (and a (type, value) key) tells apart, so work per distinct value
    gives the cell-by-cell answer. Floats (``-0.0 == 0.0``) and mixed object columns (``1 == True``) do not."""
    return series.dtype.kind in "biu" or (series.dtype == object and pd.api.types.infer_dtype(series, skipna=True)
                                          in ("string", "empty"))


def text_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """``pd.factorize`` of a column holding only texts and missing cells: a code per row (-1: missing) and
    the distinct texts in order of first appearance; ``None`` for any other column (numbers, mixed types).
    Work done per distinct text and spread back by code gives the cell-by-cell answer at a fraction of the
    cost on large tables, where values repeat."""
    if series.dtype != object:
        return None
    codes, distinct = pd.factorize(series.to_numpy(dtype=object))
    if len(distinct) and pd.api.types.infer_dtype(distinct, skipna=False) != "string":
        return None
    return codes, np.asarray(distinct, dtype=object)


def parse_numbers(series: pd.Series, fmt: NumberFormat) -> pd.Series:
    """Numbers (float64, NaN for missing or unparseable cells) from texts written in ``fmt``."""
    found = text_codes(series)
    if found is not None:  # each distinct text parsed once, by Arrow's string kernels
        codes, distinct = found
        numbers = np.append(_parse_texts(distinct, fmt), np.nan)  # code -1 (missing): the NaN at the end
        return pd.Series(numbers[codes], index=series.index, name=series.name)
    text = series.astype("string").str.strip()
    if fmt.prefix:
        text = text.str.replace(fmt.prefix.strip(), "", regex=False)
    if fmt.suffix:
        text = text.str.replace(fmt.suffix.strip(), "", regex=False)
    text = text.str.strip()
    if fmt.thousands:
        text = text.str.replace(fmt.thousands, "", regex=False)
    if fmt.decimal != ".":
        text = text.str.replace(fmt.decimal, ".", regex=False)
    return pd.to_numeric(text.str.replace(" ", "", regex=False), errors="coerce").astype("float64")


def _parse_texts(texts: np.ndarray, fmt: NumberFormat) -> np.ndarray:
    """The steps of :func:`parse_numbers` (strip, drop the unit and separators, read) on distinct texts."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def drop(array: Any, pattern: str, replacement: str = "") -> Any:
        return pc.replace_substring(array, pattern=pattern, replacement=replacement) if pattern else array

    array = pc.utf8_trim(pa.array(texts, type=pa.string()), characters=PY_WHITESPACE)
    if fmt.prefix:
        array = drop(array, fmt.prefix.strip())
    if fmt.suffix:
        array = drop(array, fmt.suffix.strip())
    array = pc.utf8_trim(array, characters=PY_WHITESPACE)
    if fmt.thousands:
        array = drop(array, fmt.thousands)
    if fmt.decimal != ".":
        array = drop(array, fmt.decimal, ".")
    array = drop(array, " ")
    return pd.to_numeric(array.to_numpy(zero_copy_only=False), errors="coerce").astype("float64")


def format_numbers(values: pd.Series, fmt: NumberFormat, decimals: int) -> pd.Series:
    """Texts in ``fmt`` with ``decimals`` decimals (missing stays missing); each distinct value is written once."""
    codes, distinct = pd.factorize(values.to_numpy(dtype="float64", na_value=np.nan))
    texts = np.array(_format_each(distinct, fmt, decimals) + [None], dtype=object)
    return pd.Series(texts[codes], index=values.index, dtype=object)  # code -1 (missing): the None at the end


def _format_each(numbers: np.ndarray, fmt: NumberFormat, decimals: int) -> list[Any]:
    """Each number as ``[-]<prefix><grouped digits><decimal mark><decimals><suffix>`` (``None`` if not finite).

    Python's own ``,`` grouping writes the digits (groups of three from the decimal point, as a
    bookkeeper does) and one ``str.translate`` swaps in the format's separator and mark; the minus sign is
    kept only where the rounded text is not zero (``-0.001`` with 2 decimals is ``0.00``)."""
    values = np.asarray(numbers, dtype="float64")
    finite = np.isfinite(values)
    magnitudes = np.abs(np.where(finite, values, 0.0)).tolist()
    spec = f"{',' if fmt.thousands else ''}.{decimals}f"
    if fmt.thousands in ("", ",") and fmt.decimal == ".":
        bodies = [format(m, spec) for m in magnitudes]  # Python's separators are the format's
    else:
        swap = str.maketrans({",": fmt.thousands or ",", ".": fmt.decimal})
        bodies = [format(m, spec).translate(swap) for m in magnitudes]
    plain = f".{decimals}f"
    signs = [""] * len(bodies)
    for i in np.flatnonzero(finite & (values < 0)).tolist():
        if float(format(magnitudes[i], plain)) != 0:
            signs[i] = "-"
    prefix, suffix = fmt.prefix, fmt.suffix
    return [f"{sign}{prefix}{body}{suffix}" if ok else None
            for sign, body, ok in zip(signs, bodies, finite.tolist(), strict=True)]


# --------------------------------------------------------------------------------------- booleans
_BOOL_PAIRS = (("true", "false"), ("yes", "no"), ("y", "n"), ("t", "f"), ("1", "0"))


def boolean_spelling(series: pd.Series) -> tuple[Any, Any] | None:
    """``(true_value, false_value)`` as spelled in the column when it holds exactly the two values of a
    known boolean pair (case-insensitive; ``1``/``0`` also as numbers), else ``None``."""
    valid = series.dropna()
    if valid.empty:
        return None
    try:
        distinct = pd.unique(valid)
    except TypeError:
        return None
    if len(distinct) != 2:
        return None
    keys = {}
    for value in distinct:
        if isinstance(value, (bool, np.bool_)):
            return None  # real booleans need no spelling
        if isinstance(value, (int, float, np.integer, np.floating)):
            if float(value) not in (0.0, 1.0):
                return None
            key = "1" if float(value) == 1.0 else "0"
        else:
            key = str(value).strip().lower()
        keys[key] = value
    for true, false in _BOOL_PAIRS:
        if set(keys) == {true, false}:
            t, f = keys[true], keys[false]
            if isinstance(t, (np.integer, np.floating)):
                t, f = int(t), int(f)
            return (t.strip() if isinstance(t, str) else t), (f.strip() if isinstance(f, str) else f)
    return None


# --------------------------------------------------------------------------------------- codes
@dataclass(frozen=True)
class CodeProfile:
    """Shares of the non-missing values of a text column (counted on distinct values and rows)."""

    n_values: int
    numeric_share: float
    letter_code_share: float
    leading_zero_share: float
    fixed_width: int | None
    long_integers: bool

    @property
    def is_code(self) -> bool:
        """Numbers with letter codes (ICD-9 ``250.83`` / ``V57``), numbers with leading zeros (ZIP),
        fixed-width digit strings, or integers too long for a float."""
        if self.n_values == 0:
            return False
        mixed = self.numeric_share >= 0.5 and self.letter_code_share > 0 and (
            self.numeric_share + self.letter_code_share) >= 0.95
        return mixed or self.leading_zero_share > 0 or self.long_integers or (
            self.fixed_width is not None and self.numeric_share >= 0.95)

    def describe(self) -> str:
        parts = [f"{self.numeric_share:.0%} numeric"]
        if self.letter_code_share:
            parts.append(f"{self.letter_code_share:.0%} letter codes")
        if self.leading_zero_share:
            parts.append(f"{self.leading_zero_share:.0%} with leading zeros")
        if self.fixed_width is not None:
            parts.append(f"fixed width {self.fixed_width}")
        if self.long_integers:
            parts.append(f"integers over {EXACT_FLOAT_DIGITS} digits")
        return ", ".join(parts)


_NUMERIC_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_LETTER_CODE = re.compile(r"^[A-Za-z]{1,3}[-.]?\d[\d.\-]*$|^\d[\d.\-]*[A-Za-z]{1,2}$")


def code_profile(texts: pd.Series) -> CodeProfile:
    """How code-like ``texts`` (strings, no missing values) are. Shares are of rows."""
    values = texts.astype(str).str.strip()
    n = len(values)
    if n == 0:
        return CodeProfile(0, 0.0, 0.0, 0.0, None, False)
    counts = values.value_counts()
    distinct = counts.index.to_series()
    numeric = distinct.str.match(_NUMERIC_TEXT)
    letter = ~numeric & distinct.str.match(_LETTER_CODE)
    digits_only = distinct.str.fullmatch(r"\d+")
    leading = digits_only & distinct.str.startswith("0") & (distinct.str.len() > 1)
    lengths = distinct.str.len()
    fixed = int(lengths.iloc[0]) if digits_only.all() and lengths.nunique() == 1 and lengths.iloc[0] >= 3 else None
    long_ints = bool((digits_only & (distinct.str.lstrip("0").str.len() > EXACT_FLOAT_DIGITS)).any())
    weights = counts.to_numpy(dtype="float64") / n
    return CodeProfile(
        n_values=n,
        numeric_share=float(weights[numeric.to_numpy()].sum()),
        letter_code_share=float(weights[letter.to_numpy()].sum()),
        leading_zero_share=float(weights[leading.to_numpy()].sum()),
        fixed_width=fixed,
        long_integers=long_ints,
    )


# --------------------------------------------------------------------------------------- CSV typing
_BOOL_TEXT = {"True": True, "TRUE": True, "true": True, "False": False, "FALSE": False, "false": False}
#: Digit strings longer than this stay text: an int64 holds 18 digits safely.
_MAX_INT_DIGITS = 18


def typed_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Types for a CSV read as text (``dtype=str``), as pandas would give them, except that values
    written with leading zeros (ZIP ``02134``, codes ``007``) and integers too long for an int64 stay
    text, so that no digit is lost. Numbers become int64 (no missing values) or float64, columns of
    only ``True``/``False`` spellings become bool; everything else stays text."""
    out = {}
    for name in frame.columns:
        series = frame[name]
        # each distinct text is parsed once; cells take their value by code (-1: missing)
        codes, distinct = pd.factorize(series.to_numpy(dtype=object))
        typed = typed_from_codes(codes, np.asarray(distinct, dtype=object))
        out[name] = series if typed is None else pd.Series(typed, index=frame.index)
    return pd.DataFrame(out, index=frame.index)


def typed_from_codes(codes: np.ndarray, distinct: np.ndarray) -> np.ndarray | None:
    """One column of :func:`typed_columns` from its factorisation: ``codes`` per row (-1: missing) into
    ``distinct`` texts (in order of first appearance). The typed values (int64, float64, bool, or object
    booleans with NaN gaps), or ``None`` when the column stays text."""
    if len(distinct) == 0:
        return np.full(len(codes), np.nan, dtype="float64")
    complete = bool((codes >= 0).all())
    if len(distinct) > _ARROW_TYPING_MIN and all(type(v) is str for v in distinct[:1000]):
        try:
            return _typed_texts_arrow(codes, distinct, complete)
        except (TypeError, ValueError, ImportError):  # pyarrow refuses a cell: the pandas way below
            pass
    uniq = pd.Series(distinct, dtype=object).astype(str).str.strip()
    if pd.to_numeric(uniq.head(200), errors="coerce").notna().all() and \
            (parsed := pd.to_numeric(uniq, errors="coerce")).notna().all() and uniq.ne("").all():
        digits = uniq.str.lstrip("+-")
        leading = digits.str.startswith("0") & (digits.str.len() > 1) & ~digits.str.startswith("0.") \
            & ~digits.str.lower().str.startswith("0e")
        whole = digits.str.fullmatch(r"\d+")
        if not leading.any() and not (whole & (digits.str.len() > _MAX_INT_DIGITS)).any():
            if whole.all() and complete:
                return parsed.to_numpy(dtype="int64")[codes]
            numbers = np.append(parsed.to_numpy(dtype="float64"), np.nan)
            return numbers[codes]  # code -1: the NaN at the end
    if uniq.isin(_BOOL_TEXT.keys()).all():
        flags = uniq.map(_BOOL_TEXT).to_numpy(dtype=object)
        if complete:
            return flags[codes].astype(bool)
        return np.append(flags, np.nan)[codes]
    return None


#: Distinct texts from which :func:`typed_from_codes` tests them with Arrow's string kernels.
_ARROW_TYPING_MIN = 10_000


def _typed_texts_arrow(codes: np.ndarray, distinct: np.ndarray, complete: bool) -> np.ndarray | None:
    """:func:`typed_from_codes` for many distinct texts: the same tests, string passes by Arrow (strip with
    ``str.strip``'s characters; digit tests on texts pandas already read as numbers, which are ASCII)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    raw = pa.array(distinct, type=pa.string())
    if raw.null_count:
        raise ValueError("missing value among the distinct texts")
    uniq = pc.utf8_trim(raw, characters=PY_WHITESPACE)
    head = pd.Series(uniq.slice(0, 200).to_numpy(zero_copy_only=False), dtype=object)
    if pd.to_numeric(head, errors="coerce").notna().all():
        parsed = pd.to_numeric(pd.Series(uniq.to_numpy(zero_copy_only=False), dtype=object), errors="coerce")
        if parsed.notna().all() and not pc.any(pc.equal(uniq, "")).as_py():
            digits = pc.utf8_ltrim(uniq, characters="+-")
            length = pc.utf8_length(digits)
            leading = pc.and_(pc.and_(pc.starts_with(digits, "0"), pc.greater(length, 1)),
                              pc.invert(pc.or_(pc.starts_with(digits, "0."),
                                               pc.starts_with(digits, "0e", ignore_case=True))))
            whole = pc.match_substring_regex(digits, r"^[0-9]+$")
            if not pc.any(leading).as_py() and not pc.any(pc.and_(whole, pc.greater(length, _MAX_INT_DIGITS))).as_py():
                if pc.all(whole).as_py() and complete:
                    return parsed.to_numpy(dtype="int64")[codes]
                return np.append(parsed.to_numpy(dtype="float64"), np.nan)[codes]
    if pc.all(pc.is_in(uniq, value_set=pa.array(list(_BOOL_TEXT), type=pa.string()))).as_py():
        flags = np.array([_BOOL_TEXT[v] for v in uniq.to_pylist()], dtype=object)
        return flags[codes].astype(bool) if complete else np.append(flags, np.nan)[codes]
    return None


# --------------------------------------------------------------------------------------- datetimes
#: Seconds from the epoch that datetime64[ns] can hold (about 1678-2261); beyond, datetimes use seconds.
NS_LIMIT_SECONDS = 9.2e9


def datetime_as_float(series: pd.Series, unit: str = "ns") -> np.ndarray:
    """Datetimes of any resolution (ns, or s for 0001-01-01 / 9999-12-31) as float ``unit`` ("ns" or
    "s") since the epoch, NaN for missing; texts and other values are parsed leniently."""
    values = series if pd.api.types.is_datetime64_any_dtype(series) else pd.to_datetime(series, errors="coerce")
    if pd.api.types.is_datetime64_any_dtype(values) and str(values.dtype).endswith("[s]"):
        out = values.to_numpy(dtype="datetime64[s]").astype("int64").astype("float64")
        out = out * 1e9 if unit == "ns" else out
    else:
        out = values.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
        out = out / 1e9 if unit == "s" else out
    out[pd.isna(values).to_numpy() if hasattr(values, "to_numpy") else np.isnan(out)] = np.nan
    return out


def datetime_from_seconds(seconds: np.ndarray, index: Any = None) -> pd.Series:
    """Datetimes from float seconds (NaN -> NaT): datetime64[ns] when every value fits, else [s]."""
    seconds = np.asarray(seconds, dtype="float64")
    ok = np.isfinite(seconds)
    if ok.any() and np.abs(seconds[ok]).max() > NS_LIMIT_SECONDS:
        wide = np.full(seconds.shape, np.datetime64("NaT"), dtype="datetime64[s]")
        wide[ok] = np.round(seconds[ok]).astype("int64").astype("datetime64[s]")
        return pd.Series(wide, index=index)
    return pd.Series(pd.to_datetime(pd.Series(seconds * 1e9, index=index), unit="ns", errors="coerce")
                     ).astype("datetime64[ns]")
