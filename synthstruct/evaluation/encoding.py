"""Mixed-type encoding of the structured columns for exact nearest-neighbour distances.

The distance the privacy metrics use is a Gower-like mean over the ``p`` structured columns (``id``,
``pii`` and ``text`` columns are excluded: they are generated, never learned)::

    d(a, b) = (1 / p) * sum over columns c of d_c(a_c, b_c)        (0 <= d <= 1)

* ``numerical`` / ``datetime``: ``d_c = min(|a - b| / range_c, 1)``, where ``range_c`` is the robust
  range of the *train* column, its 99th minus its 1st percentile (falling back to max - min when
  that is zero). Differences are capped at 1, so tails and outliers keep their order but never
  dominate. A column that is constant in train is compared as a category.
* ``categorical`` / ``ordinal`` / ``boolean``: ``d_c = 0`` when the values are equal, else ``1``.
* Missing values: missing vs missing is ``0``, missing vs a value is ``1`` (for every kind).

:class:`MixedEncoder` turns a frame into an :class:`EncodedFrame` from which the distance is a few
element-wise passes per column (see :mod:`synthstruct.privacy.distances`):

* scaled numbers ``(x - low) / range`` (float32, clipped to ``±LIMIT``; missing becomes ``SENTINEL``,
  which is more than 1 away from every value, so the capped difference is exactly 1 and
  ``SENTINEL - SENTINEL`` is exactly 0);
* for categories with at most ``max_onehot`` levels (missing is its own level when any fitted frame has
  a missing value): the level's slot as a small unsigned integer (``levels``; the distance kernel counts
  mismatches in bytes, ~3x faster than the one dot product of a one-hot block it replaced), and the
  one-hot block itself (``onehot``, which the attacks group identical rows by);
* integer codes (as float32) for categories with more levels, compared element-wise.

Fit the encoder on every frame that will be compared (``fit(schema, train, holdout, synthetic)``): a
value first seen at transform time (logged, by count) then matches nothing, not even itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.schema.model import Schema

__all__ = ["LIMIT", "OUTSIDE", "SENTINEL", "EncodedFrame", "MixedEncoder", "as_numbers"]

logger = logging.getLogger(__name__)

#: Scaled numbers are clipped to [-LIMIT, LIMIT] (float32 keeps ~1e-3 absolute precision there).
LIMIT = 1.0e4
#: Scaled value standing for "missing"; more than 1 away from any clipped value.
SENTINEL = 4.0e4
_SCALED_KINDS = ("numerical", "datetime")
#: ``levels`` value of a value with no one-hot slot (seen only at transform time): matches nothing. The
#: distance kernel turns it into ``OUTSIDE - 1`` on the reference side, so it does not match itself either.
OUTSIDE = 255


@dataclass(frozen=True)
class EncodedFrame:
    """Rows of one frame in the distance encoding (all float32, C-contiguous).

    Attributes:
        scaled: ``(n, n_scaled)`` scaled numbers, ``SENTINEL`` for missing.
        onehot: ``(n, n_levels)`` one-hot levels of the low-cardinality categorical columns.
        codes: ``(n, n_coded)`` level codes of the high-cardinality categorical columns.
        n_onehot_columns: How many columns the one-hot block encodes.
        levels: ``(n, n_onehot_columns)`` uint8 slot of each row in each one-hot column's block (``OUTSIDE``
            when the row has none), the same information as ``onehot`` in the form the distance kernel counts.
    """

    scaled: np.ndarray
    onehot: np.ndarray
    codes: np.ndarray
    n_onehot_columns: int
    levels: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.scaled.shape[0])

    def take(self, index: np.ndarray) -> "EncodedFrame":
        """The rows at ``index`` (e.g. a seeded subsample)."""
        return EncodedFrame(
            np.ascontiguousarray(self.scaled[index]),
            np.ascontiguousarray(self.onehot[index]),
            np.ascontiguousarray(self.codes[index]),
            self.n_onehot_columns,
            np.ascontiguousarray(self.levels[index]),
        )


def as_numbers(series: pd.Series) -> np.ndarray:
    """Float64 view of a numerical or datetime column (NaN for missing)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        from synthstruct.schema.values import datetime_as_float  # any resolution

        return datetime_as_float(series, "ns")
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


class MixedEncoder:
    """Encode the structured columns of a schema for Gower-like distances.

    Args:
        low_quantile: Lower quantile of the robust range.
        high_quantile: Upper quantile of the robust range.
        max_onehot: Categorical columns with at most this many levels (incl. missing) are one-hot
            encoded; wider ones are compared by code (at most 253: a slot is one byte in ``levels``).
    """

    def __init__(self, *, low_quantile: float = 0.01, high_quantile: float = 0.99, max_onehot: int = 64) -> None:
        if not 1 <= max_onehot <= OUTSIDE - 2:  # slots and the two "outside" marks fit in a byte
            raise ValueError(f"max_onehot must be between 1 and {OUTSIDE - 2}, got {max_onehot}")
        self.low_quantile = low_quantile
        self.high_quantile = high_quantile
        self.max_onehot = max_onehot

    # ------------------------------------------------------------------ fit
    def fit(self, schema: Schema, train: pd.DataFrame, *others: pd.DataFrame | None) -> "MixedEncoder":
        """Learn scales from ``train`` and category levels from ``train`` and ``others``.

        Every frame that will later be compared should be passed, so that each distinct value gets
        its own level. Only structured columns present in every frame are used.
        """
        frames = [train] + [f for f in others if f is not None]
        self.columns_ = [c for c in schema.structured_columns if all(c in f.columns for f in frames)]
        self.skipped_columns_ = [c for c in schema.structured_columns if c not in self.columns_]
        kinds = schema.kinds()
        self.scales_: dict[str, tuple[float, float]] = {}
        self.levels_: dict[str, pd.Index] = {}
        self.has_missing_: dict[str, bool] = {}
        # Level codes of the fitted frames' category columns, kept from the fit's own factorising so that
        # row_keys / transform of these frames do not hash every cell again (frames must not change meanwhile).
        self._frames = {id(f): f for f in frames}
        self._frame_codes: dict[tuple[int, str], np.ndarray] = {}
        for name in self.columns_:
            scale = self._robust_scale(train[name]) if kinds[name] in _SCALED_KINDS else None
            if scale is not None:
                self.scales_[name] = scale
                continue
            if kinds[name] in _SCALED_KINDS:
                parts = [self._category_values(f[name], kinds[name]) for f in frames]
                self.levels_[name] = pd.Index(pd.unique(np.concatenate([values for values, _ in parts])))
                self.has_missing_[name] = any(missing for _, missing in parts)
                continue
            factorised = [pd.factorize(f[name].to_numpy()) for f in frames]  # distinct values in order of appearance
            self.levels_[name] = levels = pd.Index(pd.unique(np.concatenate(
                [np.asarray(distinct).astype(object) for _, distinct in factorised])))
            self.has_missing_[name] = any(bool((local < 0).any()) for local, _ in factorised)
            dtype = np.uint8 if len(levels) < 255 else np.uint16 if len(levels) < 65_535 else np.int64
            for frame, (local, distinct) in zip(frames, factorised):
                found = np.append(levels.get_indexer(pd.Index(distinct, dtype=object)), len(levels))
                self._frame_codes[(id(frame), name)] = found.astype(dtype)[local]  # -1 (missing) -> len(levels)
        self.onehot_columns_ = [c for c in self.levels_ if self._width(c) <= self.max_onehot]
        self.coded_columns_ = [c for c in self.levels_ if c not in self.onehot_columns_]
        self.scaled_columns_ = list(self.scales_)
        self.kinds_ = {name: kinds[name] for name in self.columns_}
        return self

    def __getstate__(self) -> dict[str, Any]:
        """Pickles (e.g. to Dask workers) carry the fitted levels and scales, not the fitted frames' codes."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_frames", "_frame_codes")}

    def _robust_scale(self, series: pd.Series) -> tuple[float, float] | None:
        values = as_numbers(series)
        values = values[~np.isnan(values)]
        if values.size == 0:
            return None
        low, high = np.quantile(values, [self.low_quantile, self.high_quantile])
        if high <= low:
            low, high = float(values.min()), float(values.max())
        if high <= low:
            return None  # constant in train: compare as a category
        return float(low), float(high - low)

    @staticmethod
    def _category_values(series: pd.Series, kind: str) -> tuple[np.ndarray, bool]:
        """The distinct non-missing values (order of first appearance) and whether any value is missing."""
        if kind in _SCALED_KINDS:
            present = series.notna()
            values = as_numbers(series[present])
            return (values + 0.0).astype(object), not bool(present.all())
        uniques = pd.unique(series.to_numpy()).astype(object)  # order of first appearance, like Series.unique
        known = pd.notna(uniques)  # the distinct values tell whether any cell is missing (one pass, not two)
        return uniques[known], not bool(known.all())

    def _width(self, name: str) -> int:
        """One-hot width: one slot per level, plus one for missing when any frame has missing."""
        return len(self.levels_[name]) + int(self.has_missing_[name])

    @property
    def n_columns(self) -> int:
        """Number of columns the distance averages over (``p``)."""
        return len(self.columns_)

    # ------------------------------------------------------------------ transform
    def transform(self, frame: pd.DataFrame) -> EncodedFrame:
        """Encode ``frame`` (coerced representation) into float32 blocks."""
        n = len(frame)
        scaled = np.empty((n, len(self.scaled_columns_)), dtype=np.float32)
        for j, name in enumerate(self.scaled_columns_):
            low, width = self.scales_[name]
            values = np.clip((as_numbers(frame[name]) - low) / width, -LIMIT, LIMIT)
            values[np.isnan(values)] = SENTINEL
            scaled[:, j] = values
        codes = {name: self.category_codes(frame, name) for name in self.levels_}
        widths = [self._width(c) for c in self.onehot_columns_]
        onehot = np.zeros((n, int(sum(widths))), dtype=np.float32)
        levels = np.empty((n, len(widths)), dtype=np.uint8)
        offset = 0
        for j, (name, width) in enumerate(zip(self.onehot_columns_, widths)):
            inside = codes[name] < width  # a row outside the slots (unseen) matches nothing
            onehot[np.nonzero(inside)[0], offset + codes[name][inside]] = 1.0
            levels[:, j] = np.where(inside, codes[name], OUTSIDE)
            offset += width
        coded = np.empty((n, len(self.coded_columns_)), dtype=np.float32)
        for j, name in enumerate(self.coded_columns_):
            coded[:, j] = codes[name]
        return EncodedFrame(scaled, onehot, coded, len(self.onehot_columns_), levels)

    def category_codes(self, frame: pd.DataFrame, name: str) -> np.ndarray:
        """Level codes of a categorical column: ``0..L-1`` for values, ``L`` for missing.

        A value not seen at fit time maps to ``L + 1`` (logged, by count only).
        """
        levels = self.levels_[name]
        if getattr(self, "_frames", {}).get(id(frame)) is frame and (id(frame), name) in self._frame_codes:
            return self._frame_codes[(id(frame), name)].astype(np.int64)  # a frame given to fit: coded then
        series = frame[name]
        if self.kinds_[name] not in _SCALED_KINDS:  # each distinct value looked up once
            local, distinct = pd.factorize(series.to_numpy())
            found_distinct = levels.get_indexer(pd.Index(distinct, dtype=object))
            codes = np.full(len(series), len(levels), dtype=np.int64)
            present = local >= 0
            found = found_distinct[local[present]]
            unseen = int((found < 0).sum())
            if unseen:
                logger.warning("column %r: %d value(s) not seen when the encoder was fitted", name, unseen)
                found[found < 0] = len(levels) + 1
            codes[present] = found
            return codes
        missing = series.isna().to_numpy()
        codes = np.full(len(series), len(levels), dtype=np.int64)
        values = series[~missing]
        if self.kinds_[name] in _SCALED_KINDS:
            values = pd.Series(as_numbers(values) + 0.0, dtype=object)
        found = levels.get_indexer(values.astype(object))
        unseen = int((found < 0).sum())
        if unseen:
            logger.warning("column %r: %d value(s) not seen when the encoder was fitted", name, unseen)
            found[found < 0] = len(levels) + 1
        codes[~missing] = found
        return codes

    def row_keys(self, frame: pd.DataFrame) -> np.ndarray:
        """A 64-bit hash per row over the encoded columns, equal for rows identical on them.

        Numbers are compared exactly (``-0.0 == 0.0``, missing == missing); categories by level.
        """
        parts: dict[str, np.ndarray] = {}
        for name in self.columns_:
            if name in self.scales_:
                values = as_numbers(frame[name]) + 0.0
                values[np.isnan(values)] = np.nan  # one NaN bit pattern
                parts[name] = values
            else:
                parts[name] = self.category_codes(frame, name)
        return hash_rows(list(parts.values()), len(frame))


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _mix64_inplace(x: np.ndarray, tmp: np.ndarray) -> None:
    """splitmix64's finaliser, elementwise on uint64 (wraps modulo 2**64), written into ``x`` (``tmp``: scratch of
    the same shape) without temporaries."""
    for shift, factor in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB), (31, None)):
        np.right_shift(x, np.uint64(shift), out=tmp)
        np.bitwise_xor(x, tmp, out=x)
        if factor is not None:
            np.multiply(x, np.uint64(factor), out=x)


def hash_rows(columns: list[np.ndarray], n_rows: int) -> np.ndarray:
    """A 64-bit key per row, equal for rows whose columns are equal bit for bit (numpy only, no pandas
    object hashing). Each column is an int64 / float64 array of ``n_rows`` values (normalise ``-0.0`` and
    NaN before); two different rows collide with probability about 2**-64. Per column:
    ``out = mix64(out * MIX + mix64(bits + j + 1))``, computed in place (the same keys, half the time)."""
    out = np.full(n_rows, 0x243F6A8885A308D3, dtype=np.uint64)
    part, tmp = np.empty(n_rows, dtype=np.uint64), np.empty(n_rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j, values in enumerate(columns):
            bits = np.ascontiguousarray(values).view(np.uint64) if values.dtype.itemsize == 8 else \
                np.asarray(values, dtype=np.int64).view(np.uint64)
            np.add(bits, np.uint64(j + 1), out=part)
            _mix64_inplace(part, tmp)
            np.multiply(out, _MIX, out=out)
            np.add(out, part, out=out)
            _mix64_inplace(out, tmp)
    return out
