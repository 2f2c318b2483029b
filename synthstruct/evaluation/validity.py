"""Validity: the share of synthetic rows that satisfy every rule of the schema.

Rules checked, each under a stable id (YAML-path style) so that reports and the synthesizer's
regeneration loop can count them:

* ``columns.<name>.missing``   a declared structured column is absent from the frame (every row fails)
* ``columns.<name>.type``      a numerical / datetime / boolean cell does not parse
* ``columns.<name>.integer``   an ``int`` numerical cell is not integral
* ``columns.<name>.decimals``  a numerical cell has more decimals than declared
* ``columns.<name>.min`` / ``.max``  a numerical or datetime cell is out of bounds
* ``columns.<name>.category``  a categorical / ordinal cell is not a declared category / level
* ``primary_key.null`` / ``primary_key.duplicate``  the key is missing or repeats (the first
  occurrence of a repeated key is valid, the repeats are not, so regeneration replaces only those)
* ``constraints[<i>].<type>``  a row breaks constraint ``i``

Missing cells (NaN / NaT / NA) never break a column or constraint rule: missingness is learned, not
forbidden. ``fixed_combinations`` needs the training rows; without them the rule is skipped and
reported as such. Details hold counts only, never cell values.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.evaluation.metric import EvaluationContext, MetricResult
from synthstruct.schema.check import category_key, category_keys, to_bool
from synthstruct.schema.model import (
    DatetimeColumn,
    FixedCombinations,
    Inequality,
    NumericalColumn,
    Positive,
    Range,
    Schema,
)

__all__ = ["row_validity_mask", "validity"]

#: Absolute tolerance when checking integrality / decimals of float values.
_TOLERANCE = 1e-9
_MISSING_TOKEN = "\x00<missing>"


def _numeric(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Float values and a mask of present cells that do not parse as numbers."""
    values = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()
    bad = series.notna().to_numpy() & np.isnan(values)
    return values, bad


def _datetimes(series: pd.Series, fmt: str) -> tuple[pd.Series, np.ndarray]:
    """Parsed timestamps and a mask of present cells that do not parse."""
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series if str(series.dtype).endswith("[s]") else series.astype("datetime64[ns]")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = pd.to_datetime(series.astype("string"), format=fmt, errors="coerce")
    bad = series.notna().to_numpy() & values.isna().to_numpy()
    return values, bad


def _parse_bound(text: str | None, fmt: str) -> pd.Timestamp | None:
    if text is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        if pd.isna(parsed):
            parsed = pd.to_datetime(text, errors="coerce")
    return None if pd.isna(parsed) else parsed


def _numerical_rules(name: str, col: NumericalColumn, series: pd.Series) -> dict[str, np.ndarray]:
    values, bad_type = _numeric(series)
    rules = {f"columns.{name}.type": bad_type}
    present = ~np.isnan(values)
    if col.dtype == "int":
        rules[f"columns.{name}.integer"] = present & (np.abs(values - np.round(values)) > _TOLERANCE)
    if col.decimals is not None:
        scaled = values * 10.0**col.decimals
        tol = _TOLERANCE * np.maximum(1.0, np.abs(scaled))
        rules[f"columns.{name}.decimals"] = present & (np.abs(scaled - np.round(scaled)) > tol)
    with np.errstate(invalid="ignore"):
        if col.min is not None:
            rules[f"columns.{name}.min"] = present & (values < col.min)
        if col.max is not None:
            rules[f"columns.{name}.max"] = present & (values > col.max)
    return rules


def _datetime_rules(name: str, col: DatetimeColumn, series: pd.Series) -> dict[str, np.ndarray]:
    values, bad_type = _datetimes(series, col.format)
    rules = {f"columns.{name}.type": bad_type}
    low, high = _parse_bound(col.min, col.format), _parse_bound(col.max, col.format)
    if low is not None:
        rules[f"columns.{name}.min"] = (values < low).fillna(False).to_numpy(dtype=bool)
    if high is not None:
        rules[f"columns.{name}.max"] = (values > high).fillna(False).to_numpy(dtype=bool)
    return rules


def _category_rule(name: str, allowed: list[Any], series: pd.Series) -> dict[str, np.ndarray]:
    allowed_keys = {category_key(v) for v in allowed}
    keys = category_keys(series)
    outside = series.notna().to_numpy() & ~keys.isin(allowed_keys).to_numpy()
    return {f"columns.{name}.category": outside}


def _column_rules(frame: pd.DataFrame, schema: Schema) -> dict[str, np.ndarray]:
    rules: dict[str, np.ndarray] = {}
    n = len(frame)
    for name, col in schema.columns.items():
        if col.kind in ("id", "pii", "text"):
            continue
        if name not in frame.columns:
            rules[f"columns.{name}.missing"] = np.ones(n, dtype=bool)
            continue
        series = frame[name]
        if isinstance(col, NumericalColumn):
            rules.update(_numerical_rules(name, col, series))
        elif isinstance(col, DatetimeColumn):
            rules.update(_datetime_rules(name, col, series))
        elif col.kind == "boolean":
            parsed, _ = to_bool(series)
            rules[f"columns.{name}.type"] = series.notna().to_numpy() & parsed.isna().to_numpy()
        elif col.kind == "categorical" and col.categories is not None:
            rules.update(_category_rule(name, col.categories, series))
        elif col.kind == "ordinal":
            rules.update(_category_rule(name, col.order, series))
    return rules


def _primary_key_rules(frame: pd.DataFrame, schema: Schema) -> dict[str, np.ndarray]:
    key = schema.primary_key
    if key is None:
        return {}
    if key not in frame.columns:
        return {"primary_key.missing": np.ones(len(frame), dtype=bool)}
    series = frame[key]
    null = series.isna().to_numpy()
    duplicate = series.duplicated(keep="first").to_numpy() & ~null
    return {"primary_key.null": null, "primary_key.duplicate": duplicate}


def _ordered_values(frame: pd.DataFrame, schema: Schema, name: str) -> np.ndarray | None:
    """Values of a numerical or datetime column as float (datetimes in ns), NaN for missing."""
    if name not in frame.columns or name not in schema.columns:
        return None
    series = frame[name]
    col = schema.columns[name]
    if isinstance(col, DatetimeColumn):
        values, _ = _datetimes(series, col.format)
        from synthstruct.schema.values import datetime_as_float  # any resolution (0001-01-01 .. 9999-12-31)

        return datetime_as_float(values, "ns")
    return _numeric(series)[0]


def _combination_keys(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One text key per row for a combination of columns (missing cells have their own token)."""
    parts = [frame[c].astype(object).where(frame[c].notna(), _MISSING_TOKEN).astype(str) for c in columns]
    key = parts[0]
    for part in parts[1:]:
        key = key.str.cat(part, sep="\x1f")
    return key


def _constraint_rules(
    frame: pd.DataFrame, schema: Schema, train: pd.DataFrame | None
) -> tuple[dict[str, np.ndarray], list[str]]:
    rules: dict[str, np.ndarray] = {}
    skipped: list[str] = []
    n = len(frame)
    with np.errstate(invalid="ignore"):
        for i, con in enumerate(schema.constraints):
            rule = f"constraints[{i}].{con.type}"
            if isinstance(con, Inequality):
                low, high = _ordered_values(frame, schema, con.low), _ordered_values(frame, schema, con.high)
                if low is None or high is None:
                    rules[rule] = np.ones(n, dtype=bool)
                    continue
                rules[rule] = (low >= high) if con.strict else (low > high)
            elif isinstance(con, Range):
                parts = [_ordered_values(frame, schema, c) for c in (con.low, con.middle, con.high)]
                if any(p is None for p in parts):
                    rules[rule] = np.ones(n, dtype=bool)
                    continue
                low, mid, high = parts
                rules[rule] = (low > mid) | (mid > high)
            elif isinstance(con, Positive):
                values = _ordered_values(frame, schema, con.column)
                if values is None:
                    rules[rule] = np.ones(n, dtype=bool)
                    continue
                rules[rule] = (values <= 0) if con.strict else (values < 0)
            elif isinstance(con, FixedCombinations):
                if train is None or any(c not in train.columns for c in con.columns):
                    skipped.append(rule)
                    continue
                if any(c not in frame.columns for c in con.columns):
                    rules[rule] = np.ones(n, dtype=bool)
                    continue
                seen = set(_combination_keys(train, con.columns).unique())
                rules[rule] = ~_combination_keys(frame, con.columns).isin(seen).to_numpy()
    return rules, skipped


def _check(
    frame: pd.DataFrame, schema: Schema, train: pd.DataFrame | None
) -> tuple[np.ndarray, dict[str, int], list[str]]:
    rules = _column_rules(frame, schema)
    rules.update(_primary_key_rules(frame, schema))
    constraint_rules, skipped = _constraint_rules(frame, schema, train)
    rules.update(constraint_rules)
    invalid = np.zeros(len(frame), dtype=bool)
    counts: dict[str, int] = {}
    for rule, broken in rules.items():
        broken = np.asarray(broken, dtype=bool)
        invalid |= broken
        counts[rule] = int(broken.sum())
    return ~invalid, counts, skipped


def row_validity_mask(
    frame: pd.DataFrame, schema: Schema, *, train: pd.DataFrame | None = None
) -> tuple[np.ndarray, dict[str, int]]:
    """Which rows of ``frame`` satisfy the schema, and how often each rule is broken.

    Args:
        frame: Rows to check, ideally in the coerced representation (raw text is parsed too).
        schema: The table schema.
        train: Training rows; needed for ``fixed_combinations`` (skipped without them).

    Returns:
        A boolean array (``True`` = the row is valid) aligned with ``frame``'s rows, and the number
        of rows breaking each checked rule (zeros included, so the keys list what was checked).
    """
    mask, counts, _ = _check(frame, schema, train)
    return mask, counts


def _valid_share(frame: pd.DataFrame, schema: Schema, train: pd.DataFrame | None) -> float | None:
    if len(frame) == 0:
        return None
    mask, _, _ = _check(frame, schema, train)
    return float(mask.mean())


def validity(ctx: EvaluationContext) -> MetricResult:
    """Share of synthetic rows that satisfy every schema rule (must be 1.0 to pass).

    ``reference`` is the share of holdout rows that pass the same rules (below 1.0 only when the
    rules are stricter than real data, e.g. a combination seen only in the holdout).
    """
    n_rows = len(ctx.synthetic)
    if n_rows == 0:
        return MetricResult("validity", "validity", "maximize", None, note="the synthetic table has no rows")
    mask, counts, skipped = _check(ctx.synthetic, ctx.schema, ctx.train)
    reference = None
    if ctx.holdout is not None:
        reference = _valid_share(ctx.holdout, ctx.schema, ctx.train)
    note = None
    if skipped:
        note = f"skipped (no training rows to compare with): {', '.join(skipped)}"
    details = {
        "n_rows": n_rows,
        "n_invalid": int((~mask).sum()),
        "violations": counts,
        "broken_rules": sorted(rule for rule, count in counts.items() if count),
        "skipped_rules": skipped,
    }
    return MetricResult("validity", "validity", "maximize", float(mask.mean()), reference=reference,
                        details=details, note=note)
