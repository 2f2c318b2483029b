"""Chow-Liu dependency tree over categorical columns of the fast copula.

A child column (e.g. ``sex`` under ``relationship``) is sampled from its exact conditional
distribution given its parent: :func:`conditional_cum` tabulates P(child | parent) at fit time and
:func:`sample_conditional` reads it off the normal scale at sampling time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthstruct.synthesizers._copula_math import Z_LIMIT

__all__ = ["conditional_cum", "conditional_cuts", "dependency_tree", "sample_conditional"]

_ROW_OFFSET = 4 * Z_LIMIT  # conditional cuts of parent row r live on [r * offset - 7, r * offset + 7]


def dependency_tree(codes: dict[str, np.ndarray], threshold: float, max_categories: int) -> dict[str, str]:
    """Child -> parent edges of a Chow-Liu forest over categorical columns.

    Edges are the strongest pairs by mutual information normalised by the smaller entropy, kept
    only above ``threshold``; each tree is rooted at its column with the most categories.
    """
    names = [c for c, v in codes.items() if 1 < v.max(initial=0) + 1 <= max_categories]
    edges = []
    for a_pos, a in enumerate(names):
        for b in names[a_pos + 1:]:
            strength = _normalised_mutual_information(codes[a], codes[b])
            if strength >= threshold:
                edges.append((strength, a, b))
    component = {c: c for c in names}

    def root(c: str) -> str:
        while component[c] != c:
            c = component[c]
        return c

    neighbours: dict[str, list[str]] = {c: [] for c in names}
    for _, a, b in sorted(edges, key=lambda e: -e[0]):
        if root(a) != root(b):
            component[root(b)] = root(a)
            neighbours[a].append(b)
            neighbours[b].append(a)
    parents: dict[str, str] = {}
    seen: set[str] = set()
    by_size = sorted(names, key=lambda c: -int(codes[c].max()))  # the richest column of a tree is its root
    for start in by_size:
        if start in seen:
            continue
        seen.add(start)
        queue = [start]
        while queue:
            node = queue.pop(0)
            for child in neighbours[node]:
                if child not in seen:
                    seen.add(child)
                    parents[child] = node
                    queue.append(child)
    return parents


def _normalised_mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    ka, kb = int(a.max()) + 1, int(b.max()) + 1
    joint = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb) / len(a)
    pa, pb = joint.sum(1), joint.sum(0)
    nz = joint > 0
    mutual = float((joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz])).sum())
    entropy = min(float(-(p[p > 0] * np.log(p[p > 0])).sum()) for p in (pa, pb))
    return mutual / entropy if entropy > 0 else 0.0


def conditional_cum(parent: np.ndarray, child: np.ndarray, k_parent: int, order: np.ndarray,
                    marginal_cum: np.ndarray, *, min_count: int = 0) -> np.ndarray:
    """Cumulative P(child | parent) in the child's category order; unseen parents get the marginal.

    With ``min_count`` > 0, (parent, child) pairs seen fewer than ``min_count`` times are dropped from
    the table (value protection for pairs: a combination held by a handful of people is not
    replayed); a parent left with no pair at all falls back to the child's marginal.
    """
    k_child = int(max(child.max(initial=0) + 1, order.max(initial=0) + 1))
    counts = np.bincount(parent * k_child + child, minlength=k_parent * k_child).reshape(k_parent, k_child)
    counts = counts[:, order].astype(np.float64)
    if min_count > 0:
        counts[counts < min_count] = 0.0
    totals = counts.sum(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        cum = np.cumsum(counts, axis=1) / totals
    cum[totals[:, 0] == 0] = marginal_cum
    cum[:, -1] = 1.0
    return cum


def conditional_cuts(dim: dict[str, Any]) -> np.ndarray:
    """Conditional cuts on the normal scale, rows offset so that one flat array is sorted (cached)."""
    flat = dim.get("_cond_cuts")
    if flat is None:
        from scipy.special import ndtri

        cuts = np.clip(ndtri(np.clip(dim["cond"], 0.0, 1.0)), -Z_LIMIT - 1, Z_LIMIT + 1)
        cuts[:, -1] = Z_LIMIT + 1  # the last category takes everything above the other cuts
        flat = (cuts + _ROW_OFFSET * np.arange(cuts.shape[0])[:, None]).ravel()
        dim["_cond_cuts"] = flat
    return flat


def sample_conditional(z: np.ndarray, parent: np.ndarray, dim: dict[str, Any]) -> np.ndarray:
    """Position in the child's order for each row: one ``searchsorted`` over rows offset by parent."""
    width = dim["cond"].shape[1]
    shifted = np.clip(z, -Z_LIMIT, Z_LIMIT) + _ROW_OFFSET * parent.astype(np.float64)
    position = np.searchsorted(conditional_cuts(dim), shifted, side="right") - parent.astype(np.int64) * width
    return np.clip(position, 0, width - 1)

