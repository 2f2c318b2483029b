"""Sampling one structured column from its declared prior (optionally conditional on a parent column).

Every function takes the numpy generator it draws from, so the same seed gives the same values.
Requested class shares are met with exact quotas (largest-remainder rounding, then a shuffle), so
that "500 positive / 500 negative" gives exactly 500 and 500.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthstruct.schema.rules import allowed_values, key
from synthstruct.schema.model import (
    BooleanColumn,
    CategoricalColumn,
    DatetimeColumn,
    NumericalColumn,
    NumericPrior,
    OrdinalColumn,
    Schema,
)

__all__ = ["quota_sample", "sample_column", "sampling_gaps"]

_REDRAWS = 20


def quota_sample(values: list[Any], shares: list[float], n: int, rng: np.random.Generator) -> np.ndarray:
    """Exactly ``round(share * n)`` of each value (largest remainder), in random order."""
    raw = np.asarray(shares, dtype="float64") * n
    counts = np.floor(raw).astype(int)
    remainder = n - counts.sum()
    if remainder > 0:
        order = np.argsort(-(raw - counts), kind="stable")
        counts[order[:remainder]] += 1
    out = np.empty(n, dtype=object)
    out[:] = np.repeat(np.array(values + [None], dtype=object)[:-1], counts)
    return out[rng.permutation(n)]


def _parent_keys(frame: pd.DataFrame, parent: str) -> np.ndarray:
    return np.array([key(v) if not pd.isna(v) else "" for v in frame[parent].tolist()], dtype=object)


def _groups(col: Any, frame: pd.DataFrame, n: int) -> list[tuple[np.ndarray, Any]]:
    """(row indices, prior) pairs: one per parent value with its own conditional prior, plus the rest."""
    if col.depends_on is None or not col.conditional:
        return [(np.arange(n), col.prior)]
    keys = _parent_keys(frame, col.depends_on)
    conditional = {key(v): p for v, p in col.conditional.items()}
    groups = [(np.flatnonzero(keys == k), prior) for k, prior in conditional.items()]
    rest = np.flatnonzero(~np.isin(keys, list(conditional)))
    if len(rest):
        groups.append((rest, col.prior))
    return groups


# --------------------------------------------------------------------------- categorical
def _categories(schema: Schema, name: str) -> list[Any]:
    values = allowed_values(schema, name)
    return list(values) if values is not None else []


def _probs_for(values: list[Any], prior: dict[Any, float] | None) -> np.ndarray:
    if not prior:
        return np.full(len(values), 1.0 / len(values))
    by_key = {key(v): p for v, p in prior.items()}
    probs = np.array([by_key.get(key(v), 0.0) for v in values], dtype="float64")
    return probs / probs.sum()


def _categorical(schema: Schema, name: str, frame: pd.DataFrame, n: int, rng: np.random.Generator,
                 shares: dict[Any, float] | None) -> np.ndarray:
    col = schema.columns[name]
    values = _categories(schema, name)
    if shares is not None:
        by_key = {key(v): s for v, s in shares.items()}
        return quota_sample(values, [by_key.get(key(v), 0.0) for v in values], n, rng)
    out = np.empty(n, dtype=object)
    for rows, prior in _groups(col, frame, n):
        if len(rows):
            picks = rng.choice(len(values), size=len(rows), p=_probs_for(values, prior))
            out[rows] = np.array(values, dtype=object)[picks]
    return out


# --------------------------------------------------------------------------- numerical
def _draw(prior: NumericPrior, size: int, rng: np.random.Generator) -> np.ndarray:
    if prior.distribution == "normal":
        return rng.normal(prior.mean, prior.std, size)
    if prior.distribution == "lognormal":
        return prior.median * np.exp(rng.normal(0.0, prior.sigma, size))
    if prior.distribution == "uniform":
        return rng.uniform(prior.low, prior.high, size)
    if prior.distribution == "poisson":
        return rng.poisson(prior.lam, size).astype("float64")
    return np.full(size, float(prior.value))


def _bounded(prior: NumericPrior, col: NumericalColumn, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draws inside [min, max]: out-of-bound draws are redrawn a few times, then clipped."""
    lo = -np.inf if col.min is None else col.min
    hi = np.inf if col.max is None else col.max
    values = _draw(prior, size, rng)
    for _ in range(_REDRAWS):
        bad = (values < lo) | (values > hi)
        if not bad.any():
            break
        values[bad] = _draw(prior, int(bad.sum()), rng)
    return np.clip(values, lo, hi)


def _numerical(col: NumericalColumn, frame: pd.DataFrame, n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(n, dtype="float64")
    for rows, prior in _groups(col, frame, n):
        if len(rows) == 0:
            continue
        if prior is None:  # no prior for these rows: uniform between the bounds (checked by the planner)
            prior = NumericPrior(distribution="uniform", low=col.min, high=col.max)
        out[rows] = _bounded(prior, col, len(rows), rng)
    if col.dtype == "int":
        return np.round(out).astype("int64")
    return np.round(out, col.decimals) if col.decimals is not None else out


# --------------------------------------------------------------------------- datetime / boolean
def _datetime_range(col: DatetimeColumn) -> tuple[pd.Timestamp, pd.Timestamp]:
    from synthstruct.schema.rules import parse_timestamp

    prior = col.prior
    start = parse_timestamp((prior.start if prior and prior.start else None) or col.min, col.format)
    end = parse_timestamp((prior.end if prior and prior.end else None) or col.max, col.format)
    return start, end


def _datetime(col: DatetimeColumn, n: int, rng: np.random.Generator) -> pd.Series:
    start, end = _datetime_range(col)
    days = pd.date_range(start.normalize(), end.normalize(), freq="D")
    day_weights = np.ones(len(days))
    if col.prior is not None and col.prior.weekday_weights is not None:
        day_weights = np.asarray(col.prior.weekday_weights, dtype="float64")[days.weekday]
    picked = days[rng.choice(len(days), size=n, p=day_weights / day_weights.sum())]
    if col.prior is not None and col.prior.hour_weights is not None:
        weights = np.asarray(col.prior.hour_weights, dtype="float64")
        seconds = rng.choice(24, size=n, p=weights / weights.sum()) * 3600 + rng.integers(0, 3600, n)
    else:
        seconds = rng.integers(0, 86400, n)
    stamps = pd.Series(picked) + pd.to_timedelta(seconds, unit="s")
    return stamps.clip(lower=start, upper=end)


def _boolean(col: BooleanColumn, frame: pd.DataFrame, n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    for rows, p in _groups(col, frame, n):
        out[rows] = rng.random(len(rows)) < (0.5 if p is None else p)
    return out


# --------------------------------------------------------------------------- entry points
def sample_column(schema: Schema, name: str, frame: pd.DataFrame, n: int, rng: np.random.Generator, *,
                  shares: dict[Any, float] | None = None) -> Any:
    """``n`` values for structured column ``name``; ``frame`` holds the columns it may depend on.

    Args:
        schema: The schema (validated).
        name: A categorical, ordinal, numerical, datetime or boolean column.
        frame: Already generated columns (the parent of a conditional prior).
        n: Number of values.
        rng: Random generator.
        shares: Requested class shares for a categorical / ordinal / boolean column (exact quotas).
    """
    col = schema.columns[name]
    if isinstance(col, (CategoricalColumn, OrdinalColumn)):
        return _categorical(schema, name, frame, n, rng, shares)
    if isinstance(col, BooleanColumn):
        if shares is not None:
            by_key = {key(v): s for v, s in shares.items()}
            return quota_sample([True, False], [by_key.get("true", 0.0), by_key.get("false", 0.0)], n, rng).astype(bool)
        return _boolean(col, frame, n, rng)
    if isinstance(col, NumericalColumn):
        return _numerical(col, frame, n, rng)
    if isinstance(col, DatetimeColumn):
        return _datetime(col, n, rng)
    if col.kind == "constant":  # its value in every row (empty when the schema gives none)
        return np.array([col.value] * n, dtype=object)
    raise TypeError(f"not a structured column kind: {col.kind}")


def sampling_gaps(schema: Schema, name: str) -> str | None:
    """Why column ``name`` cannot be sampled without data (``None`` when it can)."""
    col = schema.columns[name]
    if isinstance(col, (CategoricalColumn, OrdinalColumn)) and not _categories(schema, name):
        return "declares neither categories nor a prior"
    if isinstance(col, NumericalColumn):
        open_groups = col.prior is None and (not col.conditional or col.depends_on is None or
                                             allowed_values(schema, col.depends_on) is None or
                                             len(col.conditional) < len(allowed_values(schema, col.depends_on) or []))
        if open_groups and (col.min is None or col.max is None):
            return "has no prior and no min/max to draw between"
    if isinstance(col, DatetimeColumn):
        start, end = _datetime_range(col)
        if start is None or end is None:
            return "has no range (min/max or prior.start/end)"
    return None
