"""Canary audit: plant artificial people in the training data and see whether the output gives them away.

:func:`insert_canaries` builds ``m`` artificial rows that no real row can equal:

* every categorical column without a declared category list gets a **canary-only category**
  (``__canary_7__`` for canary 7; in a column of numeric codes, a code one digit longer than any real
  one, so the column keeps one value type) — a value held by exactly one training row;
* numerical and datetime values are drawn independently, uniformly between the 5th and 95th
  percentile of the real column: in range, but in combinations real rows rarely have;
* one numerical column per canary (taking turns) holds a **canary-unique value** that no real row
  and no other canary holds, in columns fine-grained enough (at least a million possible values in
  the 5-95 % range at the column's precision) that a model covering the range cannot hit it by chance;
* columns that cannot hold a new value (declared categories, ordinals, booleans) get a real value;
  ``id``/``pii``/``text`` columns get a ``__canary_<i>__`` marker (they are never learned anyway).

Each canary is a **member** (added to the training rows) with probability ½; the others are
**non-members**, kept out of training — and out of the holdout — as the control. A synthesizer that
memorises individuals reproduces members' canary-only categories, canary-unique values or whole
rows, and sits closer to members than to non-members. :func:`canary_report` counts all of it.

Our engines' value protection (categories seen < k times are never emitted, numbers stay inside the
k-th most extreme values) means that with the default ``k = 5`` no canary-only category can leak;
with ``protect_k=0`` they do — the unit tests show both.

:func:`canary_leakage` is the metric form (registry name ``canary_leakage``) for the release gate: it
reads the :class:`CanaryTable` from ``ctx.options["canaries"]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.errors import InputError, Problem
from synthstruct.evaluation.metric import EvaluationContext, MetricResult
from synthstruct.privacy.distances import nearest_neighbours
from synthstruct.evaluation.encoding import MixedEncoder, as_numbers
from synthstruct.schema.check import category_key
from synthstruct.schema.model import Schema

__all__ = ["CANARY_PREFIX", "CanaryTable", "canary_leakage", "canary_report", "insert_canaries"]

CANARY_PREFIX = "__canary_"
#: A canary-unique number is only planted in a column with at least this many possible values
#: between its 5th and 95th percentile, so that chance hits stay negligible.
_MIN_RESOLUTION_STEPS = 1.0e6


def _marker(i: int) -> str:
    return f"{CANARY_PREFIX}{i}__"


@dataclass(frozen=True)
class CanaryTable:
    """The planted canaries.

    Attributes:
        rows: One row per canary in the schema's coerced representation (all schema columns).
        member: Whether each canary was added to the training rows.
        category_columns: Columns in which every canary holds its own canary-only category.
        unique_columns: Per canary, the numerical column holding its canary-unique value (or ``None``).
    """

    rows: pd.DataFrame
    member: np.ndarray
    category_columns: tuple[str, ...]
    unique_columns: tuple[str | None, ...]

    @property
    def n_members(self) -> int:
        return int(self.member.sum())

    def __len__(self) -> int:
        return len(self.rows)


# ---------------------------------------------------------------------------- building canaries
def _round(values: np.ndarray, column: Any) -> np.ndarray:
    if getattr(column, "dtype", "float") == "int":
        return np.round(values)
    if getattr(column, "decimals", None) is not None:
        return np.round(values, column.decimals)
    return values


def _numeric_draws(series: pd.Series, column: Any, m: int, rng: np.random.Generator) -> np.ndarray:
    values = as_numbers(series)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return np.full(m, np.nan)
    low, high = np.quantile(values, [0.05, 0.95])
    return _round(rng.uniform(low, high, size=m), column)


def _unique_value(series: pd.Series, column: Any, taken: set[float], rng: np.random.Generator) -> float | None:
    """A value inside the column's 5-95 % range that no real row and no other canary holds."""
    values = as_numbers(series)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None
    low, high = np.quantile(values, [0.05, 0.95])
    present = set(values.tolist()) | taken
    decimals = 6 if column.decimals is None else column.decimals
    if column.dtype == "int":
        decimals = 0
    if (high - low) * 10.0 ** decimals < _MIN_RESOLUTION_STEPS:
        return None  # a model that merely covers the range would hit the value by chance
    for _ in range(100):
        value = round(float(rng.uniform(low, high)), decimals)
        if value not in present:
            return value
    return None


def _canary_column(name: str, frame: pd.DataFrame, schema: Schema, m: int,
                   rng: np.random.Generator) -> tuple[pd.Series, bool]:
    """Values of one column for ``m`` canaries, and whether they are canary-only categories."""
    col = schema.columns[name]
    markers = [_marker(i) for i in range(m)]
    series = frame[name]
    if col.kind == "categorical" and col.categories is None:
        numbers = pd.to_numeric(series.dropna(), errors="coerce")
        if len(numbers) and numbers.notna().all():  # numeric codes: a code no real row can hold
            top = float(numbers.abs().max())
            base = 10 ** (len(str(int(top))) + 1)
            codes = pd.Series(base + np.arange(m), dtype=series.dtype if series.dtype != object else "int64")
            return codes.astype(object) if series.dtype == object else codes, True
        return pd.Series(markers, dtype=object), True
    if col.kind in ("categorical", "ordinal", "boolean"):
        observed = series.dropna()
        picks = observed.iloc[rng.integers(len(observed), size=m)] if len(observed) else pd.Series([np.nan] * m)
        return picks.reset_index(drop=True).astype(series.dtype), False
    if col.kind == "numerical":
        return pd.Series(_numeric_draws(series, col, m, rng), dtype="float64"), False
    if col.kind == "datetime":
        seconds = _numeric_draws(series, col, m, rng) / 1e9
        if not any(code in col.format for code in ("%H", "%M", "%S")):
            seconds = np.floor(seconds / 86400.0) * 86400.0
        from synthstruct.schema.values import datetime_from_seconds  # any resolution

        return datetime_from_seconds(seconds), False
    if col.kind == "constant":  # the table's one value (or empty): a canary must not break the constant
        value = series.dropna().iloc[0] if series.notna().any() else None
        return pd.Series([value] * m, dtype=object), False
    if col.kind == "id" and pd.api.types.is_numeric_dtype(series):
        start = float(np.nanmax(as_numbers(series))) if series.notna().any() else 0.0
        return pd.Series(start + 1 + np.arange(m), dtype=series.dtype), False
    return pd.Series(markers, dtype=object), False  # id, pii, text: markers (never learned)


def insert_canaries(frame: pd.DataFrame, schema: Schema, m: int, seed: int = 0) -> tuple[pd.DataFrame, CanaryTable]:
    """Plant ``m`` artificial unique rows; each joins ``frame`` with probability ½.

    Args:
        frame: Training rows in the coerced representation (:func:`synthstruct.schema.coerce_to_schema`).
        schema: The table schema.
        m: Number of canaries (members and non-members together).
        seed: Seed for the canary values and the membership draw.

    Returns:
        ``(frame_with_members, canaries)``: the training rows plus the member canaries (fresh index),
        and the :class:`CanaryTable` of all canaries.

    Raises:
        InputError: ``m`` is not a positive integer, or the schema has no structured column.
    """
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise InputError("invalid number of canaries", [Problem("canaries", "must be a positive integer",
                                                                "pass e.g. 20")])
    if not schema.structured_columns:
        raise InputError("cannot plant canaries", [Problem("schema", "has no structured column",
                                                           "declare at least one numerical or categorical column")])
    rng = np.random.default_rng(seed)
    columns: dict[str, pd.Series] = {}
    category_columns: list[str] = []
    for name in schema.columns:
        columns[name], is_marker = _canary_column(name, frame, schema, int(m), rng)
        if is_marker:
            category_columns.append(name)
    rows = pd.DataFrame(columns)
    numeric = [n for n in schema.columns_of("numerical") if frame[n].notna().any()]
    unique_columns: list[str | None] = []
    taken: dict[str, set[float]] = {n: set() for n in numeric}
    for i in range(int(m)):
        chosen = None
        for step in range(len(numeric)):  # take turns; skip columns with no free value
            name = numeric[(i + step) % len(numeric)]
            value = _unique_value(frame[name], schema.columns[name], taken[name], rng)
            if value is not None:
                rows.loc[i, name] = value
                taken[name].add(value)
                chosen = name
                break
        unique_columns.append(chosen)
    member = rng.random(int(m)) < 0.5
    joined = pd.concat([frame, rows[member][list(frame.columns)]], ignore_index=True)
    for name in frame.columns:  # keep the coerced dtypes
        if joined[name].dtype != frame[name].dtype:
            joined[name] = joined[name].astype(frame[name].dtype)
    table = CanaryTable(rows=rows, member=member, category_columns=tuple(category_columns),
                        unique_columns=tuple(unique_columns))
    return joined, table


# ---------------------------------------------------------------------------- reporting
def _auc(members: np.ndarray, nonmembers: np.ndarray) -> float | None:
    """P(a member's distance < a non-member's), ties one half (Mann-Whitney)."""
    if members.size == 0 or nonmembers.size == 0:
        return None
    less = (members[:, None] < nonmembers[None, :]).mean()
    ties = (members[:, None] == nonmembers[None, :]).mean()
    return float(less + 0.5 * ties)


def _split_counts(hit: np.ndarray, member: np.ndarray) -> dict[str, int]:
    return {"members": int((hit & member).sum()), "non_members": int((hit & ~member).sum())}


def _stats(values: np.ndarray) -> dict[str, float | None]:
    values = values[~np.isnan(values)]
    if values.size == 0:
        return {"mean": None, "median": None, "min": None}
    return {"mean": float(values.mean()), "median": float(np.median(values)), "min": float(values.min())}


def canary_report(synthetic: pd.DataFrame, canaries: CanaryTable, schema: Schema) -> dict[str, Any]:
    """How much of the canaries the synthetic rows reproduce, members against non-members.

    Returns:
        Counts only (never values): canaries reproduced ``exact`` (every structured column equal), by
        ``canary_only_category`` and by ``canary_unique_value``, ``leaked`` (any of the three), the
        synthetic rows carrying a canary-only category, and the membership signal: nearest synthetic
        distance of members and non-members and the AUC of "closer means member" (0.5 = no signal).
        Non-member counts are the control: a generator cannot invent them, so they should be 0.
    """
    rows, member = canaries.rows, canaries.member
    n = len(rows)
    encoder = MixedEncoder().fit(schema, synthetic, rows)
    exact = np.isin(encoder.row_keys(rows), encoder.row_keys(synthetic)) if encoder.n_columns else np.zeros(n, bool)
    by_category = np.zeros(n, dtype=bool)
    carrying = np.zeros(len(synthetic), dtype=bool)
    for name in canaries.category_columns:
        if name not in synthetic.columns:
            continue
        emitted = synthetic[name].map(category_key, na_action="ignore")
        planted = rows[name].map(category_key, na_action="ignore")
        by_category |= planted.isin(set(emitted.dropna())).to_numpy()
        carrying |= emitted.isin(set(planted)).to_numpy()
    by_value = np.zeros(n, dtype=bool)
    for i, name in enumerate(canaries.unique_columns):
        if name is not None and name in synthetic.columns:
            by_value[i] = bool(np.isin(as_numbers(rows[name].iloc[[i]]), as_numbers(synthetic[name])).any())
    leaked = exact | by_category | by_value
    distance = np.full(n, np.nan)
    if encoder.n_columns and len(synthetic):
        distance = nearest_neighbours(encoder.transform(rows), encoder.transform(synthetic),
                                      n_columns=encoder.n_columns).distance
    return {
        "canaries": n, "members": int(member.sum()), "non_members": int((~member).sum()),
        "canary_only_category_columns": len(canaries.category_columns),
        "with_unique_value": int(sum(c is not None for c in canaries.unique_columns)),
        "exact": _split_counts(exact, member),
        "canary_only_category": _split_counts(by_category, member),
        "canary_unique_value": _split_counts(by_value, member),
        "leaked": _split_counts(leaked, member),
        "synthetic_rows_with_canary_category": int(carrying.sum()),
        "nearest_synthetic_distance": {"members": _stats(distance[member]), "non_members": _stats(distance[~member])},
        "membership_auc": _auc(distance[member], distance[~member]) if n else None,
    }


def canary_leakage(ctx: EvaluationContext) -> MetricResult:
    """Member canaries the synthetic rows give away (exactly, by canary-only category or unique value).

    Needs the :class:`CanaryTable` in ``ctx.options["canaries"]`` (the release pipeline puts it there
    when run with canaries). ``reference`` is the same count for non-member canaries (the control;
    0 unless something is wrong with the test itself). ``details`` is :func:`canary_report`.
    """
    canaries = ctx.options.get("canaries")
    if not isinstance(canaries, CanaryTable):
        return MetricResult(name="canary_leakage", category="privacy", goal="minimize", value=None,
                            min_value=0.0, max_value=math.inf,
                            note="no canaries were planted (run the release with canaries to measure this)")
    report = canary_report(ctx.synthetic, canaries, ctx.schema)
    return MetricResult(name="canary_leakage", category="privacy", goal="minimize",
                        value=float(report["leaked"]["members"]), reference=float(report["leaked"]["non_members"]),
                        min_value=0.0, max_value=math.inf, details=report)
