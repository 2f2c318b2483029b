"""A fast Gaussian copula with empirical marginals (numpy + scipy only).

How it models a table:

* **Marginals are empirical.** A numerical column with few distinct values (``discrete_threshold``)
  is a step function over its values (atoms reproduced exactly); otherwise its quantile function
  is kept on a grid of ``grid_size`` points and sampled with ``np.interp`` — point masses such as
  "capital-gain is mostly 0" survive because the grid repeats the atom. Integer-valued columns are
  rounded back to integers.
* **Categoricals get a data-driven order.** Each category owns an interval of ``[0, 1]`` with its
  probability as width; its normal score is the conditional mean of a standard normal over that
  interval. Categories are ordered by the first principal direction of their mean normal scores in
  the other columns (a few alternating sweeps), so that correlations in the copula mean something.
* **Missingness is a dimension.** A numerical column with some NaN gets a binary "missing"
  dimension in the copula; categorical NaN is simply a category.
* **Stratified by the target.** When ``target`` is a categorical with at most ``max_strata``
  classes, one copula is fitted per class and classes are drawn with their training shares; classes
  with fewer than ``min_stratum_rows`` rows share a pooled copula. :meth:`FastCopulaEngine.sample_classes`
  draws rows of chosen classes straight from their copulas (conditional generation, no rejection).

* **Strongly dependent categoricals form a tree.** A Chow-Liu forest links categorical pairs with
  high normalised mutual information; a child (e.g. ``sex`` under ``relationship``) is sampled from
  its exact conditional distribution given its parent, and enters the copula through its
  conditional rank, so pair tables that one latent dimension per column cannot express survive.

Sampling runs in float32 chunks on up to two threads (each chunk has its own seed, so output does
not depend on the thread count), reading every dimension straight off the normal scale through
tables built once per model; it samples about a million Adult rows per second on two cores. Saved models are JSON + ``.npz`` (no pickle), guarded by an integrity manifest.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.errors import InputError, Problem
from synthstruct.synthesizers.base import BaseEngine, Kind
from synthstruct.synthesizers.persistence import verify_integrity, write_integrity_manifest

__all__ = ["FastCopulaEngine"]

_MODEL_FILE = "model.json"
_ARRAYS_FILE = "arrays.npz"
_FORMAT = "synthstruct-fast-copula/1"
_SWEEPS = 3


# -- marginal helpers ------------------------------------------------------------------------------
def _interval_scores(cum: np.ndarray) -> np.ndarray:
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


def _category_order(codes: np.ndarray, counts: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Order categories (present ones) along the main direction of their means in ``others``."""
    present = np.flatnonzero(counts > 0)
    by_frequency = present[np.argsort(-counts[present], kind="stable")]
    if others.shape[1] == 0 or len(present) < 3:
        return by_frequency
    k = len(counts)
    means = np.stack([np.bincount(codes, weights=others[:, j], minlength=k) for j in range(others.shape[1])], 1)
    means = means[present] / counts[present, None]
    weights = counts[present] / counts[present].sum()
    centred = means - weights @ means
    _, vectors = np.linalg.eigh(centred.T @ (centred * weights[:, None]))
    scores = centred @ vectors[:, -1]
    if np.ptp(scores) < 1e-9:
        return by_frequency
    return present[np.argsort(scores, kind="stable")]


def _nearest_correlation_cholesky(z: np.ndarray) -> np.ndarray:
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


_Z_LIMIT = 6.0  # the normal scale is tabulated on [-6, 6]; beyond it values are clamped
_Z_BINS = 4096


def _z_scale() -> tuple[np.float32, np.float32]:
    return np.float32(_Z_LIMIT), np.float32(_Z_BINS / (2 * _Z_LIMIT))


def _grid_table(dim: dict[str, Any]) -> np.ndarray:
    """Quantile function of a grid dimension tabulated on the normal scale (cached).

    Sampling then interpolates linearly in ``z`` by direct indexing: no ``ndtr``, no binary search.
    """
    table = dim.get("_table")
    if table is None:
        from scipy.special import ndtr

        z = np.linspace(-_Z_LIMIT, _Z_LIMIT, _Z_BINS + 1)
        table = np.interp(ndtr(z), dim["probs"], dim["values"])
        dim["_table"] = table
    return table


def _interp_normal_table(z: np.ndarray, table: np.ndarray) -> np.ndarray:
    offset, scale = _z_scale()
    position = np.clip((z + offset) * scale, 0.0, np.float32(_Z_BINS))
    index = np.minimum(position.astype(np.int32), _Z_BINS - 1)
    fraction = position - index
    low = table[index]
    return low + fraction * (table[index + 1] - low)


def _cut_table(dim: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cuts of a step/category dimension on the normal scale, plus a bin lookup table (cached).

    ``first[b]`` is the answer for every ``z`` in bin ``b`` when ``exact[b]``; bins that hold a cut
    (with a small margin for float32 rounding) fall back to ``searchsorted`` on the cuts.
    """
    cached = dim.get("_cuts")
    if cached is None:
        from scipy.special import ndtri

        cuts = ndtri(np.clip(np.asarray(dim["probs"][:-1], dtype=np.float64), 0.0, 1.0)).astype(np.float32)
        edges = np.linspace(-_Z_LIMIT, _Z_LIMIT, _Z_BINS + 1)
        first = np.searchsorted(cuts, edges[:-1] - 1e-4, side="right")
        last = np.searchsorted(cuts, edges[1:] + 1e-4, side="left")
        first[0], last[-1] = 0, len(cuts)  # the outer bins also hold everything beyond +-6
        cached = (cuts, first.astype(np.int32), first == last)
        dim["_cuts"] = cached
    return cached


def _lookup_cuts(z: np.ndarray, dim: dict[str, Any]) -> np.ndarray:
    """``searchsorted(cuts, z, side="right")``, through the bin table."""
    cuts, first, exact = _cut_table(dim)
    offset, scale = _z_scale()
    bins = np.clip(((z + offset) * scale).astype(np.int32), 0, _Z_BINS - 1)
    index = first[bins]
    unsure = np.flatnonzero(~exact[bins])
    if len(unsure):
        index[unsure] = np.searchsorted(cuts, z[unsure], side="right")
    return index


def _dependency_tree(codes: dict[str, np.ndarray], threshold: float, max_categories: int) -> dict[str, str]:
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


def _conditional_cum(parent: np.ndarray, child: np.ndarray, k_parent: int, order: np.ndarray,
                     marginal_cum: np.ndarray) -> np.ndarray:
    """Cumulative P(child | parent) in the child's category order; unseen parents get the marginal."""
    k_child = int(max(child.max(initial=0) + 1, order.max(initial=0) + 1))
    counts = np.bincount(parent * k_child + child, minlength=k_parent * k_child).reshape(k_parent, k_child)
    counts = counts[:, order].astype(np.float64)
    totals = counts.sum(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        cum = np.cumsum(counts, axis=1) / totals
    cum[totals[:, 0] == 0] = marginal_cum
    cum[:, -1] = 1.0
    return cum


def _conditional_cuts(dim: dict[str, Any]) -> np.ndarray:
    """Conditional cuts on the normal scale, rows offset so that one flat array is sorted (cached)."""
    flat = dim.get("_cond_cuts")
    if flat is None:
        from scipy.special import ndtri

        cuts = np.clip(ndtri(np.clip(dim["cond"], 0.0, 1.0)), -_Z_LIMIT - 1, _Z_LIMIT + 1)
        cuts[:, -1] = _Z_LIMIT + 1  # the last category takes everything above the other cuts
        flat = (cuts + _ROW_OFFSET * np.arange(cuts.shape[0])[:, None]).ravel()
        dim["_cond_cuts"] = flat
    return flat


_ROW_OFFSET = 4 * _Z_LIMIT


def _sample_conditional(z: np.ndarray, parent: np.ndarray, dim: dict[str, Any]) -> np.ndarray:
    """Position in the child's order for each row: one ``searchsorted`` over rows offset by parent."""
    width = dim["cond"].shape[1]
    shifted = np.clip(z, -_Z_LIMIT, _Z_LIMIT) + _ROW_OFFSET * parent.astype(np.float64)
    position = np.searchsorted(_conditional_cuts(dim), shifted, side="right") - parent.astype(np.int64) * width
    return np.clip(position, 0, width - 1)


# -- the engine -------------------------------------------------------------------------------------
class FastCopulaEngine(BaseEngine):
    """Gaussian copula with empirical marginals, stratified by the target.

    Args:
        stratify: Fit one copula per class of a categorical ``target``.
        max_strata: Stratify only when the target has at most this many classes.
        min_stratum_rows: Classes with fewer training rows share one pooled copula.
        grid_size: Points of the quantile grid kept per continuous column.
        discrete_threshold: Numerical columns with at most this many distinct values are sampled
            as a step function over those values.
        chunk_rows: Rows generated per chunk while sampling (bounds peak memory).
        n_threads: Sampling threads (default: up to 2 cores). Output does not depend on it.
        tree_threshold: Categorical pairs whose normalised mutual information reaches this value
            may be linked in a Chow-Liu tree: the child is then sampled from its exact conditional
            distribution given the parent (e.g. relationship -> sex). Above 1 disables the tree.
    """

    name = "fast_copula"
    uses_pickle = False

    def __init__(self, *, stratify: bool = True, max_strata: int = 20, min_stratum_rows: int = 50,
                 grid_size: int = 1024, discrete_threshold: int = 50, chunk_rows: int = 65536,
                 n_threads: int | None = None, tree_threshold: float = 0.15) -> None:
        self.stratify = stratify
        self.max_strata = max_strata
        self.min_stratum_rows = min_stratum_rows
        self.grid_size = grid_size
        self.discrete_threshold = discrete_threshold
        self.chunk_rows = chunk_rows
        self.n_threads = n_threads
        self.tree_threshold = tree_threshold

    # -- fitting -----------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame, *, kinds: dict[str, Kind], target: str | None, seed: int) -> None:
        if target is not None and target not in frame.columns:
            raise InputError("invalid target", [Problem("target", "is not a column of the frame",
                                                        "pass the name of a training column or None")])
        categories: dict[str, list[Any]] = {}
        codes: dict[str, np.ndarray] = {}
        for col in frame.columns:
            if kinds[col] == "categorical":
                col_codes, uniques = pd.factorize(frame[col].astype(object), use_na_sentinel=False)
                categories[col] = list(uniques)
                codes[col] = col_codes.astype(np.int64)
        numeric = {c: frame[c].to_numpy(dtype=np.float64) for c in frame.columns if kinds[c] == "numerical"}
        self.categories_ = categories
        self.integer_ = {c: bool(np.all(np.isnan(v) | (v == np.round(v)))) for c, v in numeric.items()}
        self.target_ = None
        use_strata = (self.stratify and target is not None and kinds.get(target) == "categorical"
                      and 1 < len(categories[target]) <= self.max_strata)
        features = [c for c in frame.columns if not (use_strata and c == target)]
        self.parents_ = _dependency_tree({c: codes[c] for c in features if c in codes},
                                         self.tree_threshold, max_categories=200)
        rows_by_stratum = self._stratum_rows(codes[target] if use_strata else None, len(frame))
        self.target_ = target if use_strata else None
        self.strata_ = []
        for label, weight, rows in rows_by_stratum:
            stratum = self._fit_stratum(features, numeric, codes, rows)
            stratum.update(label=label, weight=weight)
            self.strata_.append(stratum)

    def _stratum_rows(self, labels: np.ndarray | None, n: int) -> list[tuple[int | None, float, np.ndarray]]:
        """(class code or None, share, row indices used to fit) for each stratum."""
        if labels is None:
            return [(None, 1.0, np.arange(n))]
        counts = np.bincount(labels)
        strata: list[tuple[int | None, float, np.ndarray]] = []
        small = []
        for label, count in enumerate(counts):
            if count >= self.min_stratum_rows:
                strata.append((label, count / n, np.flatnonzero(labels == label)))
            else:
                small.append(label)
        if small or not strata:  # pooled copula for rare classes; label drawn from their shares
            strata.append((-1, sum(counts[s] for s in small) / n, np.arange(n)))
            self.pooled_labels_ = np.asarray(small, dtype=np.int64)
            self.pooled_weights_ = counts[small] / max(counts[small].sum(), 1)
        return strata

    def _fit_numeric_dim(self, values: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
        present = values[~np.isnan(values)]
        if len(present) == 0:
            return {"mode": "empty", "values": np.zeros(1), "probs": np.ones(1)}, np.full(len(values), np.nan)
        uniques, inverse, counts = np.unique(present, return_inverse=True, return_counts=True)
        cum = np.cumsum(counts) / len(present)
        z = np.full(len(values), np.nan)
        z[~np.isnan(values)] = _interval_scores(cum)[inverse]
        if len(uniques) <= max(self.discrete_threshold, 2):
            return {"mode": "steps", "values": uniques, "probs": cum}, z
        probs = np.linspace(0.0, 1.0, min(self.grid_size, len(present)))
        return {"mode": "grid", "values": np.quantile(present, probs), "probs": probs}, z

    def _fit_stratum(self, features: list[str], numeric: dict[str, np.ndarray], codes: dict[str, np.ndarray],
                     rows: np.ndarray) -> dict[str, Any]:
        dims: list[dict[str, Any]] = []
        scores: list[np.ndarray] = []
        for col in features:
            if col in numeric:
                values = numeric[col][rows]
                dim, z = self._fit_numeric_dim(values)
                dims.append({"column": col, "role": "value", **dim})
                scores.append(z)
                missing = np.isnan(values)
                if 0 < missing.sum() < len(values):
                    cum = np.array([1.0 - missing.mean(), 1.0])
                    dims.append({"column": col, "role": "missing", "mode": "steps",
                                 "values": np.array([0.0, 1.0]), "probs": cum})
                    scores.append(_interval_scores(cum)[missing.astype(np.int64)])
            else:
                col_codes = codes[col][rows]
                counts = np.bincount(col_codes, minlength=len(self.categories_[col])).astype(np.float64)
                dims.append({"column": col, "role": "category", "mode": "categories", "codes": col_codes,
                             "counts": counts})
                scores.append(np.zeros(len(rows)))
        z = np.stack(scores, axis=1) if scores else np.zeros((len(rows), 0))
        cat_dims = [j for j, d in enumerate(dims) if d["role"] == "category"]
        for sweep in range(_SWEEPS):
            for j in cat_dims:
                dim = dims[j]
                others = np.nan_to_num(np.delete(z, j, axis=1)) if sweep else np.zeros((len(rows), 0))
                order = _category_order(dim["codes"], dim["counts"], others)
                cum = np.cumsum(dim["counts"][order]) / dim["counts"].sum()
                lookup = np.zeros(len(dim["counts"]))
                lookup[order] = _interval_scores(cum)
                z[:, j] = lookup[dim["codes"]]
                dim.update(values=order.astype(np.int32), probs=cum)
        for j in cat_dims:
            dim = dims[j]
            parent = self.parents_.get(dim["column"])
            if parent is not None:  # conditional probability integral transform given the parent
                parent_codes = codes[parent][rows]
                cum = _conditional_cum(parent_codes, dim["codes"], len(self.categories_[parent]),
                                       dim["values"], dim["probs"])
                position = np.empty(len(dim["counts"]), dtype=np.int64)
                position[dim["values"]] = np.arange(len(dim["values"]))
                scores = np.stack([_interval_scores(row) for row in cum])
                z[:, j] = scores[parent_codes, position[dim["codes"]]]
                dim.update(parent=parent, cond=cum)
            del dim["codes"], dim["counts"]
        return {"dims": dims, "chol": _nearest_correlation_cholesky(z)}

    # -- sampling ----------------------------------------------------------------------------
    def _sample(self, n: int, *, seed: int) -> pd.DataFrame:
        seeds = np.random.SeedSequence(seed)
        rng = np.random.default_rng(seeds.spawn(1)[0])
        if len(self.strata_) == 1:
            assignments: list[Any] = [None]
        else:
            weights = np.array([s["weight"] for s in self.strata_])
            drawn = np.searchsorted(np.cumsum(weights) / weights.sum(), rng.random(n), side="right")
            drawn = np.minimum(drawn, len(weights) - 1)
            assignments = [np.flatnonzero(drawn == i) for i in range(len(self.strata_))]
        return self._sample_strata(n, assignments, seeds, rng)

    def sample_classes(self, counts: Mapping[Any, int], *, seed: int = 0) -> pd.DataFrame:
        """Draw rows of chosen target classes only, straight from each class's own copula.

        No rejection sampling: ``{"yes": 10_000}`` costs the same as 10 000 unconditional rows.
        Rows come out grouped by class in the order of ``counts``.

        Args:
            counts: Target class (a value of the fitted target column) -> rows to draw.
            seed: Seed; the same fitted engine, counts and seed give identical output.

        Raises:
            InputError: the engine was fitted without stratification (no target, too many classes,
                ``stratify=False``), a class is unknown, a class was too small for its own copula
                (it shares the pooled one; lower ``min_stratum_rows``), or a count is not a
                non-negative integer.
        """
        from synthstruct.synthesizers.base import check_is_fitted

        check_is_fitted(self)
        by_label = self._class_strata(counts)
        n = sum(int(c) for c in counts.values())
        assignments: list[Any] = [np.zeros(0, dtype=np.int64) for _ in self.strata_]
        start = 0
        for position, count in zip(by_label, counts.values()):
            assignments[position] = np.arange(start, start + int(count), dtype=np.int64)
            start += int(count)
        seeds = np.random.SeedSequence(seed)
        out = self._sample_strata(n, assignments, seeds, np.random.default_rng(seeds.spawn(1)[0]))
        return out[self.columns_]

    def _class_strata(self, counts: Mapping[Any, int]) -> list[int]:
        """Index in ``strata_`` of each class of ``counts`` (validated)."""
        problems: list[Problem] = []
        if self.target_ is None:
            problems.append(Problem("target", "the engine was fitted without one copula per class",
                                    "fit with a categorical target, stratify=True and at most max_strata classes"))
            raise InputError("cannot sample by class", problems)
        categories = self.categories_[self.target_]
        stratum_of = {s["label"]: i for i, s in enumerate(self.strata_) if s["label"] is not None and s["label"] >= 0}
        found: list[int] = []
        for i, (label, count) in enumerate(counts.items()):
            if not isinstance(count, (int, np.integer)) or isinstance(count, bool) or count < 0:
                problems.append(Problem(f"counts[{i}]", "must be a non-negative integer", "pass e.g. 1000"))
            code = next((j for j, c in enumerate(categories) if _same_category(c, label)), None)
            if code is None:
                problems.append(Problem(f"counts[{i}]", "is not a class of the fitted target",
                                        "use a value of the target column seen in training"))
            elif code not in stratum_of:
                problems.append(Problem(f"counts[{i}]", "this class had fewer than min_stratum_rows training rows "
                                        "and shares the pooled copula", "refit with a lower min_stratum_rows"))
            else:
                found.append(stratum_of[code])
        if len(set(found)) != len(found):
            problems.append(Problem("counts", "names a class twice", "give each class once"))
        if problems:
            raise InputError("cannot sample by class", problems)
        return found

    def _sample_strata(self, n: int, assignments: list[Any], seeds: np.random.SeedSequence,
                       rng: np.random.Generator) -> pd.DataFrame:
        """Sample ``n`` rows; ``assignments[i]`` holds the output rows of stratum ``i`` (None = all)."""
        numeric_out = {c: np.full(n, np.nan) for c, k in self.kinds_.items() if k == "numerical"}
        codes_out = {c: np.zeros(n, dtype=np.int32) for c, k in self.kinds_.items() if k == "categorical"}
        tasks = []
        for stratum, rows in zip(self.strata_, assignments):
            size = n if rows is None else len(rows)
            if self.target_ is not None:
                codes_out[self.target_][rows] = self._stratum_labels(stratum["label"], size, rng)
            for start in range(0, size, self.chunk_rows):
                stop = min(start + self.chunk_rows, size)
                tasks.append((stratum, slice(start, stop) if rows is None else rows[start:stop]))
        chunk_seeds = seeds.spawn(len(tasks))
        for stratum in self.strata_:  # build the lookup tables once, before any thread reads them
            self._prepare_tables(stratum)
        integer = {c for c, flag in self.integer_.items() if flag}

        def run(i: int) -> None:
            stratum, chunk = tasks[i]
            rng_i = np.random.default_rng(chunk_seeds[i])
            self._sample_chunk(stratum, chunk, rng_i, numeric_out, codes_out, integer)

        workers = max(1, min(self.n_threads or min(2, os.cpu_count() or 1), len(tasks)))
        if workers == 1:
            for i in range(len(tasks)):
                run(i)
        else:  # numpy and scipy release the GIL; chunks write disjoint rows and own their seeds
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(run, range(len(tasks))))
        data: dict[str, Any] = dict(numeric_out)
        for col, col_codes in codes_out.items():
            lookup = np.empty(len(self.categories_[col]), dtype=object)
            lookup[:] = self.categories_[col]
            data[col] = lookup[col_codes]
        return pd.DataFrame({c: data[c] for c in self.columns_}, copy=False)

    def _stratum_labels(self, label: int, size: int, rng: np.random.Generator) -> np.ndarray:
        if label >= 0:
            return np.full(size, label, dtype=np.int64)
        cum = np.cumsum(self.pooled_weights_)
        picks = np.minimum(np.searchsorted(cum, rng.random(size), side="right"), len(cum) - 1)
        return self.pooled_labels_[picks]

    @staticmethod
    def _prepare_tables(stratum: dict[str, Any]) -> None:
        if "_chol_t" not in stratum:
            stratum["_chol_t"] = np.ascontiguousarray(stratum["chol"].T)
        if "_decode_order" not in stratum:  # parents before children (the tree is in BFS order)
            dims = stratum["dims"]
            children = [j for j, d in enumerate(dims) if "parent" in d]
            depth = {d["column"]: 0 for d in dims}
            for _ in children:
                for j in children:
                    depth[dims[j]["column"]] = depth[dims[j]["parent"]] + 1
            free = [j for j in range(len(dims)) if j not in children]
            stratum["_decode_order"] = free + sorted(children, key=lambda j: depth[dims[j]["column"]])
        for dim in stratum["dims"]:
            if "parent" in dim:
                _conditional_cuts(dim)
            elif dim["mode"] == "grid":
                _grid_table(dim)
            elif dim["mode"] in ("steps", "categories"):
                _cut_table(dim)

    @staticmethod
    def _sample_chunk(stratum: dict[str, Any], rows: np.ndarray | slice, rng: np.random.Generator,
                      numeric_out: dict[str, np.ndarray], codes_out: dict[str, np.ndarray],
                      integer: set[str]) -> None:
        """Fill ``rows`` of the outputs from one stratum's copula.

        Every dimension is read directly on the normal scale through tables built once per model:
        category/step cuts (``ndtri`` of cumulative probabilities) and quantile functions.
        """
        chol_t = stratum["_chol_t"]
        size = rows.stop - rows.start if isinstance(rows, slice) else len(rows)
        normals = rng.standard_normal((size, chol_t.shape[0]), dtype=np.float32) @ chol_t
        missing_masks: dict[str, np.ndarray] = {}
        for j in stratum["_decode_order"]:
            dim = stratum["dims"][j]
            col, mode = dim["column"], dim["mode"]
            if "parent" in dim:
                parent = codes_out[dim["parent"]][rows]
                position = _sample_conditional(normals[:, j], parent, dim)
                codes_out[col][rows] = dim["values"][position]
            elif mode == "grid":
                values = _interp_normal_table(normals[:, j], _grid_table(dim))
                numeric_out[col][rows] = np.round(values) if col in integer else values
            elif mode in ("steps", "categories"):
                picked = dim["values"][_lookup_cuts(normals[:, j], dim)]
                if dim["role"] == "missing":
                    missing_masks[col] = picked > 0.5
                elif mode == "categories":
                    codes_out[col][rows] = picked
                else:
                    numeric_out[col][rows] = picked
        for col, mask in missing_masks.items():
            if isinstance(rows, slice):
                numeric_out[col][rows][mask] = np.nan
            else:
                numeric_out[col][rows[mask]] = np.nan

    # -- persistence -------------------------------------------------------------------------
    def save(self, directory: Path | str) -> None:
        """Write ``model.json`` + ``arrays.npz`` and an integrity manifest (no pickle)."""
        from synthstruct.synthesizers.base import check_is_fitted

        check_is_fitted(self)
        directory = Path(directory)
        arrays: dict[str, np.ndarray] = {}
        strata = []
        for i, stratum in enumerate(self.strata_):
            arrays[f"s{i}_chol"] = stratum["chol"]
            dims = []
            for j, dim in enumerate(stratum["dims"]):
                arrays[f"s{i}_d{j}_values"] = dim["values"]
                arrays[f"s{i}_d{j}_probs"] = np.asarray(dim["probs"], dtype=np.float64)
                if "parent" in dim:
                    arrays[f"s{i}_d{j}_cond"] = dim["cond"]
                dims.append({k: dim[k] for k in ("column", "role", "mode", "parent") if k in dim})
            strata.append({"label": stratum["label"], "weight": float(stratum["weight"]), "dims": dims})
        if hasattr(self, "pooled_labels_"):
            arrays["pooled_labels"] = self.pooled_labels_
            arrays["pooled_weights"] = np.asarray(self.pooled_weights_, dtype=np.float64)
        model = {
            "format": _FORMAT, "params": self.get_params(), "columns": self.columns_, "kinds": self.kinds_,
            "target": self.target_, "integer": self.integer_, "parents": self.parents_, "strata": strata,
            "categories": {c: [_encode_value(c, v) for v in vals] for c, vals in self.categories_.items()},
        }
        (directory / _MODEL_FILE).write_text(json.dumps(model), encoding="utf-8")
        np.savez(directory / _ARRAYS_FILE, **arrays)
        write_integrity_manifest(directory)

    @classmethod
    def load(cls, directory: Path | str) -> FastCopulaEngine:
        """Read a model written by :meth:`save` after checking its integrity manifest."""
        directory = Path(directory)
        verify_integrity(directory)
        model = json.loads((directory / _MODEL_FILE).read_text(encoding="utf-8"))
        with np.load(directory / _ARRAYS_FILE, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        engine = cls(**model["params"])
        engine.categories_ = {c: [_decode_value(v) for v in vals] for c, vals in model["categories"].items()}
        engine.integer_ = model["integer"]
        engine.target_ = model["target"]
        engine.parents_ = model["parents"]
        engine.strata_ = []
        for i, stratum in enumerate(model["strata"]):
            dims = [{**d, "values": arrays[f"s{i}_d{j}_values"], "probs": arrays[f"s{i}_d{j}_probs"],
                     **({"cond": arrays[f"s{i}_d{j}_cond"]} if "parent" in d else {})}
                    for j, d in enumerate(stratum["dims"])]
            engine.strata_.append({"label": stratum["label"], "weight": stratum["weight"], "dims": dims,
                                   "chol": arrays[f"s{i}_chol"]})
        if "pooled_labels" in arrays:
            engine.pooled_labels_ = arrays["pooled_labels"]
            engine.pooled_weights_ = arrays["pooled_weights"]
        engine.columns_ = model["columns"]
        engine.kinds_ = model["kinds"]
        return engine


def _same_category(category: Any, value: Any) -> bool:
    """Whether a requested class equals a fitted category (``1`` matches ``1.0``; NaN never matches)."""
    if isinstance(category, float) and math.isnan(category):
        return False
    try:
        if category == value:
            return True
    except (TypeError, ValueError):
        return False
    return type(category) is not type(value) and str(category) == str(value)


def _encode_value(column: str, value: Any) -> dict[str, Any]:
    """JSON form of a category value that keeps its Python type (str, int, float, bool, NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return {"t": "nan"}
    if isinstance(value, (bool, np.bool_)):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, (int, np.integer)):
        return {"t": "int", "v": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"t": "float", "v": float(value) if math.isfinite(value) else str(value)}
    if isinstance(value, str):
        return {"t": "str", "v": value}
    raise InputError("cannot save this engine", [Problem(
        f"column {column!r}", f"has categorical values of type {type(value).__name__}",
        "convert categorical values to str, int, float or bool before fitting")])


def _decode_value(item: dict[str, Any]) -> Any:
    kind = item["t"]
    if kind == "nan":
        return np.nan
    if kind == "float":
        return float(item["v"])
    return {"bool": bool, "int": int, "str": str}[kind](item["v"])
