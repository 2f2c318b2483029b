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
tables built once per model; it samples about a million Adult rows per second on two cores. Saved
models are JSON + ``.npz`` (no pickle), guarded by an integrity manifest.

Module layout: normal-score math and z tables in ``_copula_math``, the Chow-Liu tree in
``_copula_tree``, chunk sampling in ``_copula_sampling``, save/load in ``_copula_io``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.errors import InputError, Problem
from synthstruct.synthesizers._copula_io import read_model, write_model
from synthstruct.synthesizers._copula_math import category_order, interval_scores, nearest_correlation_cholesky
from synthstruct.synthesizers._copula_sampling import prepare_tables, sample_chunk
from synthstruct.synthesizers._copula_tree import conditional_cum, dependency_tree
from synthstruct.synthesizers.base import BaseEngine, Kind

__all__ = ["FastCopulaEngine"]

_SWEEPS = 3


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
        min_pair_count: Parent/child category pairs seen fewer times than this are never sampled
            from the tree's conditional tables (value protection for pairs); 0 keeps every pair.
        min_group: When above 0 (``synthstruct fit --no-raw-values``), numerical marginals are kept as
            the means of consecutive groups of at least this many sorted training values, so no stored
            number is one row's value (a value shared by a whole group, such as an atom at 0, stays
            exact). 0 keeps the grid / step values themselves.
    """

    name = "fast_copula"
    uses_pickle = False

    def __init__(self, *, stratify: bool = True, max_strata: int = 20, min_stratum_rows: int = 50,
                 grid_size: int = 1024, discrete_threshold: int = 50, chunk_rows: int = 65536,
                 n_threads: int | None = None, tree_threshold: float = 0.15, min_pair_count: int = 5,
                 min_group: int = 0) -> None:
        self.stratify = stratify
        self.max_strata = max_strata
        self.min_stratum_rows = min_stratum_rows
        self.grid_size = grid_size
        self.discrete_threshold = discrete_threshold
        self.chunk_rows = chunk_rows
        self.n_threads = n_threads
        self.tree_threshold = tree_threshold
        self.min_pair_count = min_pair_count
        self.min_group = min_group

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
        self.parents_ = dependency_tree({c: codes[c] for c in features if c in codes},
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
        z[~np.isnan(values)] = interval_scores(cum)[inverse]
        if self.min_group > 0 and (len(uniques) > max(self.discrete_threshold, 2) or counts.min() < self.min_group):
            return _group_means(np.sort(present), self.min_group, self.grid_size), z
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
                    scores.append(interval_scores(cum)[missing.astype(np.int64)])
            else:
                col_codes = codes[col][rows]
                counts = np.bincount(col_codes, minlength=len(self.categories_[col])).astype(np.float64)
                dims.append({"column": col, "role": "category", "mode": "categories", "codes": col_codes,
                             "counts": counts})
                scores.append(np.zeros(len(rows)))
        z = np.stack(scores, axis=1) if scores else np.zeros((len(rows), 0))
        cat_dims = [j for j, d in enumerate(dims) if d["role"] == "category"]
        for sweep in range(_SWEEPS):
            # the other dimensions' scores, missing as 0: one column-major copy per sweep, kept in step with
            # ``z`` column by column (category scores are finite), instead of a copy per category
            finite = np.asfortranarray(np.nan_to_num(z)) if sweep else np.zeros((len(rows), 0))
            for j in cat_dims:
                dim = dims[j]
                order = category_order(dim["codes"], dim["counts"], finite, skip=j if sweep else None)
                cum = np.cumsum(dim["counts"][order]) / dim["counts"].sum()
                lookup = np.zeros(len(dim["counts"]))
                lookup[order] = interval_scores(cum)
                z[:, j] = lookup[dim["codes"]]
                if sweep:
                    finite[:, j] = z[:, j]
                dim.update(values=order.astype(np.int32), probs=cum)
        for j in cat_dims:
            dim = dims[j]
            parent = self.parents_.get(dim["column"])
            if parent is not None:  # conditional probability integral transform given the parent
                parent_codes = codes[parent][rows]
                cum = conditional_cum(parent_codes, dim["codes"], len(self.categories_[parent]),
                                      dim["values"], dim["probs"])
                position = np.empty(len(dim["counts"]), dtype=np.int64)
                position[dim["values"]] = np.arange(len(dim["values"]))
                scores = np.stack([interval_scores(row) for row in cum])
                z[:, j] = scores[parent_codes, position[dim["codes"]]]
                # training rows are scored with every pair; sampling never draws a rare pair
                sample_cum = conditional_cum(parent_codes, dim["codes"], len(self.categories_[parent]),
                                             dim["values"], dim["probs"], min_count=self.min_pair_count)
                dim.update(parent=parent, cond=sample_cum)
            del dim["codes"], dim["counts"]
        return {"dims": dims, "chol": nearest_correlation_cholesky(z)}

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
            prepare_tables(stratum)
        integer = {c for c, flag in self.integer_.items() if flag}

        def run(i: int) -> None:
            stratum, chunk = tasks[i]
            rng_i = np.random.default_rng(chunk_seeds[i])
            sample_chunk(stratum, chunk, rng_i, numeric_out, codes_out, integer)

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

    # -- persistence -------------------------------------------------------------------------
    def save(self, directory: Path | str) -> None:
        """Write ``model.json`` + ``arrays.npz`` and an integrity manifest (no pickle)."""
        from synthstruct.synthesizers.base import check_is_fitted

        check_is_fitted(self)
        write_model(self, Path(directory))

    @classmethod
    def load(cls, directory: Path | str) -> FastCopulaEngine:
        """Read a model written by :meth:`save` after checking its integrity manifest."""
        return read_model(cls, Path(directory))


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


def _group_means(ordered: np.ndarray, min_group: int, grid_size: int) -> dict[str, Any]:
    """A quantile grid whose points are means of consecutive groups of >= ``min_group`` sorted values.

    Point ``i`` sits at the cumulative probability of its group's centre; sampling interpolates between
    points (and clamps beyond the outer ones), so no number sampled or stored is one row's own value
    unless a whole group shares it.
    """
    n = len(ordered)
    groups = max(1, min(grid_size, n // max(min_group, 1)))
    edges = np.linspace(0, n, groups + 1).round().astype(np.int64)
    sums = np.concatenate([[0.0], np.cumsum(ordered)])
    means = (sums[edges[1:]] - sums[edges[:-1]]) / np.diff(edges)
    centres = (edges[:-1] + edges[1:]) / 2.0 / n
    return {"mode": "grid", "values": means, "probs": centres}
