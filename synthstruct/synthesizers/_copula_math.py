"""Normal-score math of the fast copula: interval scores, category order, correlation, z tables.

Everything here works on plain numpy arrays and the per-dimension dicts of a fitted stratum
(``{"mode", "values", "probs", ...}``); lookup tables are cached in those dicts under ``_``-keys.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "Z_BINS", "Z_LIMIT", "category_order", "cut_table", "grid_table", "interp_normal_table", "interval_scores",
    "lookup_cuts", "nearest_correlation_cholesky", "z_scale",
]

Z_LIMIT = 6.0  # the normal scale is tabulated on [-6, 6]; beyond it values are clamped
Z_BINS = 4096


def interval_scores(cum: np.ndarray) -> np.ndarray:
    """E[Z | Z in interval] for intervals ``[cum[i-1], cum[i])`` of the uniform scale."""
    from scipy.special import ndtri

    hi = np.clip(np.asarray(cum, dtype=np.float64), 0.0, 1.0)
    lo = np.concatenate([[0.0], hi[:-1]])
    pdf_lo = np.exp(-0.5 * ndtri(lo) ** 2) / math.sqrt(2 * math.pi)
    pdf_hi = np.exp(-0.5 * ndtri(hi) ** 2) / math.sqrt(2 * math.pi)
    width = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = (pdf_lo - pdf_hi) / width
    mid = ndtri(np.clip((lo + hi) / 2, 1e-12, 1 - 1e-12))
    return np.where(width > 1e-12, scores, mid)


def category_order(codes: np.ndarray, counts: np.ndarray, others: np.ndarray, skip: int | None = None) -> np.ndarray:
    """Order categories (present ones) along the main direction of their means in ``others``.

    ``skip``: a column of ``others`` to leave out (the category's own scores), so that callers pass one
    matrix for every category instead of a copy without its column. Column-major (Fortran) ``others``
    keeps each column contiguous for ``bincount``.
    """
    present = np.flatnonzero(counts > 0)
    by_frequency = present[np.argsort(-counts[present], kind="stable")]
    columns = [j for j in range(others.shape[1]) if j != skip]
    if not columns or len(present) < 3:
        return by_frequency
    k = len(counts)
    means = np.stack([np.bincount(codes, weights=others[:, j], minlength=k) for j in columns], 1)
    means = means[present] / counts[present, None]
    weights = counts[present] / counts[present].sum()
    centred = means - weights @ means
    _, vectors = np.linalg.eigh(centred.T @ (centred * weights[:, None]))
    scores = centred @ vectors[:, -1]
    if np.ptp(scores) < 1e-9:
        return by_frequency
    return present[np.argsort(scores, kind="stable")]


def nearest_correlation_cholesky(z: np.ndarray) -> np.ndarray:
    """Cholesky factor of the pairwise-complete correlation of ``z`` (NaN = missing), made PD."""
    d = z.shape[1]
    if d == 0:
        return np.zeros((0, 0), dtype=np.float32)
    present = (~np.isnan(z)).astype(np.float64)
    filled = np.nan_to_num(z, nan=0.0)
    pairs = np.maximum(present.T @ present, 1.0)
    sums = filled.T @ present / pairs  # [i, j]: mean of column i over rows where i and j are present
    squares = (filled**2).T @ present / pairs
    cov = filled.T @ filled / pairs - sums * sums.T
    var_i = np.clip(squares - sums**2, 0.0, None)
    scale = np.sqrt(var_i * var_i.T)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(scale > 1e-12, cov / scale, 0.0)
    corr = np.clip(corr, -1.0, 1.0)
    np.fill_diagonal(corr, 1.0)
    corr = 0.999 * corr + 0.001 * np.eye(d)
    values, vectors = np.linalg.eigh(corr)
    corr = (vectors * np.clip(values, 1e-6, None)) @ vectors.T
    scale = np.sqrt(np.diag(corr))
    corr = corr / np.outer(scale, scale)
    return np.linalg.cholesky(corr).astype(np.float32)


def z_scale() -> tuple[np.float32, np.float32]:
    return np.float32(Z_LIMIT), np.float32(Z_BINS / (2 * Z_LIMIT))


def grid_table(dim: dict[str, Any]) -> np.ndarray:
    """Quantile function of a grid dimension tabulated on the normal scale (cached).

    Sampling then interpolates linearly in ``z`` by direct indexing: no ``ndtr``, no binary search.
    """
    table = dim.get("_table")
    if table is None:
        from scipy.special import ndtr

        z = np.linspace(-Z_LIMIT, Z_LIMIT, Z_BINS + 1)
        table = np.interp(ndtr(z), dim["probs"], dim["values"])
        dim["_table"] = table
    return table


def interp_normal_table(z: np.ndarray, table: np.ndarray) -> np.ndarray:
    offset, scale = z_scale()
    position = np.clip((z + offset) * scale, 0.0, np.float32(Z_BINS))
    index = np.minimum(position.astype(np.int32), Z_BINS - 1)
    fraction = position - index
    low = table[index]
    return low + fraction * (table[index + 1] - low)


def cut_table(dim: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cuts of a step/category dimension on the normal scale, plus a bin lookup table (cached).

    ``first[b]`` is the answer for every ``z`` in bin ``b`` when ``exact[b]``; bins that hold a cut
    (with a small margin for float32 rounding) fall back to ``searchsorted`` on the cuts.
    """
    cached = dim.get("_cuts")
    if cached is None:
        from scipy.special import ndtri

        cuts = ndtri(np.clip(np.asarray(dim["probs"][:-1], dtype=np.float64), 0.0, 1.0)).astype(np.float32)
        edges = np.linspace(-Z_LIMIT, Z_LIMIT, Z_BINS + 1)
        first = np.searchsorted(cuts, edges[:-1] - 1e-4, side="right")
        last = np.searchsorted(cuts, edges[1:] + 1e-4, side="left")
        first[0], last[-1] = 0, len(cuts)  # the outer bins also hold everything beyond +-6
        cached = (cuts, first.astype(np.int32), first == last)
        dim["_cuts"] = cached
    return cached


def lookup_cuts(z: np.ndarray, dim: dict[str, Any]) -> np.ndarray:
    """``searchsorted(cuts, z, side="right")``, through the bin table."""
    cuts, first, exact = cut_table(dim)
    offset, scale = z_scale()
    bins = np.clip(((z + offset) * scale).astype(np.int32), 0, Z_BINS - 1)
    index = first[bins]
    unsure = np.flatnonzero(~exact[bins])
    if len(unsure):
        index[unsure] = np.searchsorted(cuts, z[unsure], side="right")
    return index

