"""``dp``: a differentially private engine in the MST family (private marginals + a tree model).

How it learns a table under an (ε, δ) budget (see ``docs/dp.md``):

1. **Public domain.** Every column needs a domain that does not come from the data: declared bounds
   (numerical, datetime) or declared values (categorical, ordinal, boolean) passed as ``domain``
   (the :class:`~synthstruct.synthesizers.table.TableSynthesizer` fills it from the schema). What is
   not declared is estimated privately and charged to the budget: missing bounds by private quantiles
   (``make_private_quantile`` over a public log grid), missing category lists by a thresholded Gaussian
   histogram (``make_gaussian_threshold``; keys held by few rows never pass). With
   ``estimate_share=0`` an undeclared domain is an error.
2. **Fine one-way marginals.** Numerical values are cut on a public grid (integers one cell each when
   the range is small, otherwise linear plus geometric edges, so that point masses such as
   "capital-gain is 0" keep a cell of their own); every column's histogram (missing values in a cell of
   their own) is released with discrete Gaussian noise.
3. **Coarse groups** for pairs are derived from the noisy one-way marginals only (post-processing):
   numerical cells are merged into at most ``max_bins`` groups of similar noisy mass, rare categories
   share an "other" group.
4. **Private tree selection** (MST): ``n_columns - 1`` rounds of the exponential mechanism pick the
   pair whose coarse two-way table is worst explained by the independent model (L1 error, sensitivity
   1), never closing a cycle.
5. **Two-way marginals** of the chosen pairs are released with discrete Gaussian noise, made
   non-negative and mutually consistent (inverse-variance averaged one-way margins, then iterative
   proportional fitting), and the table is sampled from the resulting tree: the root from its margin,
   each child from its conditional given its parent, then a fine cell inside the coarse group from the
   noisy one-way marginal, then a value uniformly inside the fine cell.

All noise and all privacy losses come from OpenDP (:mod:`synthstruct.dp.accounting`); the noise uses
OpenDP's cryptographic RNG, so two fits differ even with the same seed (a seeded noise stream would be
recorded in the manifest and could be subtracted). Sampling from a fitted model is post-processing and
is seeded: the same fitted model and seed give identical rows.
"""

from __future__ import annotations

import json
import logging
import math
from collections import deque
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthstruct.dp.accounting import Accountant, check_budget
from synthstruct.errors import InputError, Problem
from synthstruct.synthesizers.base import BaseEngine, Kind, check_is_fitted

__all__ = ["DPEngine"]

log = logging.getLogger(__name__)

_MODEL_FILE = "model.json"
_ARRAYS_FILE = "arrays.npz"
_FORMAT = "synthstruct-dp/1"
#: Public candidate grid for private bounds: 0 and ±{1, 1.25, 1.5, 1.75} x 2^k, k = -10..52.
_BOUND_CANDIDATES = sorted({0.0} | {s * m * 2.0 ** k for s in (-1.0, 1.0) for m in (1.0, 1.25, 1.5, 1.75)
                                    for k in range(-10, 53)})
_BOUND_ALPHA = 0.01


def _key(value: Any) -> str:
    """A string key for a category value that keeps its type apart (``1`` vs ``"1"``)."""
    return f"{type(value).__name__}:{value!r}"


class DPEngine(BaseEngine):
    """Differentially private marginal-based engine (MST-style tree of noisy two-way marginals).

    Args:
        epsilon: Total privacy budget ε (> 0) of everything learned from the data.
        delta: Total δ (0 < δ < 1/n).
        domain: Column -> declared domain in engine units (``{"low", "high", "integer"}`` for
            numerical columns, ``{"categories": [...]}`` for categorical ones; ``None`` entries mean
            "not declared"). Filled from the schema by the table synthesizer.
        estimate_share: Share of the budget spent estimating undeclared bounds and category domains
            (0 = every domain must be declared).
        one_way_share: Share of the remaining budget for the one-way marginals.
        select_share: Share of the remaining budget for choosing the tree (exponential mechanism).
        max_bins: Coarse groups per column in the two-way marginals.
        fine_cells: Cells of the public grid of a numerical column's one-way marginal.
        condition_on_target: With a categorical ``target`` of at most 4 coarse groups, measure
            three-way marginals (target, parent, child) along the tree of the other columns
            (tree-augmented naive Bayes), so every column depends on the target directly.
    """

    name = "dp"
    uses_pickle = False
    #: Fitting draws its noise from OpenDP's cryptographic RNG: two fits differ even with one seed.
    deterministic_fit: ClassVar[bool] = False
    #: The table synthesizer must pass the schema's public domain and switch data-dependent steps off.
    differentially_private: ClassVar[bool] = True

    def __init__(self, *, epsilon: float = 1.0, delta: float = 1e-6, domain: dict[str, dict[str, Any]] | None = None,
                 estimate_share: float = 0.1, one_way_share: float = 0.25, select_share: float = 0.1,
                 max_bins: int = 16, fine_cells: int = 64, condition_on_target: bool = True) -> None:
        self.epsilon = epsilon
        self.delta = delta
        self.domain = domain
        self.estimate_share = estimate_share
        self.one_way_share = one_way_share
        self.select_share = select_share
        self.max_bins = max_bins
        self.fine_cells = fine_cells
        self.condition_on_target = condition_on_target

    # ================================================================== fit
    def _check_params(self, n_rows: int) -> None:
        check_budget(self.epsilon, self.delta, n_rows)
        problems = []
        for name in ("estimate_share", "one_way_share", "select_share"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value < 1:
                problems.append(Problem(name, "must be a number in [0, 1)", "use the default"))
        if self.one_way_share + self.select_share >= 1:
            problems.append(Problem("one_way_share + select_share", "must be below 1 (the rest measures pairs)",
                                    "use the defaults 0.25 and 0.1"))
        for name, low in (("max_bins", 2), ("fine_cells", 4)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                problems.append(Problem(name, f"must be an integer >= {low}", "use the default"))
        if problems:
            raise InputError("invalid parameters for engine 'dp'", problems)

    def _fit(self, frame: pd.DataFrame, *, kinds: dict[str, Kind], target: str | None, seed: int) -> None:
        self._check_params(len(frame))
        columns = list(frame.columns)
        declared = dict(self.domain or {})
        undeclared_bounds: list[tuple[str, str]] = []
        undeclared_cats: list[str] = []
        for col in columns:
            spec = declared.get(col) or {}
            if kinds[col] == "numerical":
                undeclared_bounds += [(col, side) for side in ("low", "high") if spec.get(side) is None]
            elif spec.get("categories") is None:
                undeclared_cats.append(col)
        if (undeclared_bounds or undeclared_cats) and self.estimate_share <= 0:
            problems = [Problem(f"column {c!r}", "has no declared min/max and estimate_share is 0",
                                "declare min and max in the schema (or allow a budget share to estimate them)")
                        for c in dict.fromkeys(c for c, _ in undeclared_bounds)]
            problems += [Problem(f"column {c!r}", "has no declared categories and estimate_share is 0",
                                 "declare 'categories' (or 'order') in the schema") for c in undeclared_cats]
            raise InputError("the public domain of some columns is not declared", problems)
        acct = Accountant(self.epsilon, self.delta, threshold_delta=self.delta / 2 if undeclared_cats else 0.0)
        n_estimates = len(undeclared_bounds) + len(undeclared_cats)
        rho_estimate = self.estimate_share * acct.rho_total if n_estimates else 0.0
        rho_rest = acct.rho_total - rho_estimate
        d = len(columns)
        one_way_share = self.one_way_share if d > 1 else 1.0
        rho_one = one_way_share * rho_rest / d
        rho_two = (1.0 - self.one_way_share - self.select_share) * rho_rest / (d - 1) if d > 1 else 0.0

        # 1. public or privately estimated domains -> fine codes
        per_estimate = rho_estimate / max(n_estimates, 1)
        fine: dict[str, np.ndarray] = {}
        self.columns_info_ = {}
        for col in columns:
            spec = dict(declared.get(col) or {})
            if kinds[col] == "numerical":
                values = frame[col].to_numpy(dtype=np.float64)
                info = self._numeric_domain(col, values, spec, acct, per_estimate)
                fine[col] = self._numeric_codes(values, info)
            else:
                info = self._categorical_domain(col, frame[col], spec, acct, per_estimate,
                                                self.delta / 2 / max(len(undeclared_cats), 1))
                fine[col] = self._categorical_codes(frame[col], info)
            self.columns_info_[col] = info

        # 2. noisy fine one-way marginals
        sigma_one = 1.0 / math.sqrt(2.0 * rho_one)
        noisy_one: dict[str, np.ndarray] = {}
        for col in columns:
            size = self.columns_info_[col]["size"]
            counts = np.bincount(fine[col], minlength=size)
            noisy_one[col] = acct.gaussian_counts(counts, rho_one, f"one_way:{col}")
        n_hat = max(float(np.mean([v.sum() for v in noisy_one.values()])), 1.0)
        self.fine_probs_ = {c: np.clip(v, 0.0, None) for c, v in noisy_one.items()}

        # 3. coarse groups (post-processing of the noisy one-way marginals)
        self.groups_ = {c: self._coarsen(c, self.fine_probs_[c], 3.0 * sigma_one) for c in columns}
        coarse = {c: self.groups_[c][fine[c]] for c in columns}
        sizes = {c: int(self.groups_[c].max()) + 1 for c in columns}
        one_coarse = {c: np.bincount(self.groups_[c], weights=noisy_one[c], minlength=sizes[c]) for c in columns}
        one_var = {c: sigma_one ** 2 * np.bincount(self.groups_[c], minlength=sizes[c]).astype(float) for c in columns}

        # 4. private maximum spanning tree over pairs (over the non-target columns when conditioning)
        tan = (self.condition_on_target and target in columns and kinds[target] == "categorical"
               and sizes[target] <= 4 and d >= 3)
        tree_columns = [c for c in columns if c != target] if tan else columns
        rounds = len(tree_columns) - 1
        rho_select_round = self.select_share * rho_rest / rounds if rounds else 0.0
        edges = (self._select_tree(tree_columns, coarse, sizes, one_coarse, n_hat, acct, rho_select_round)
                 if rounds else [])
        if tan:
            root_feature = tree_columns[0]
            order, tree_parent = _bfs(tree_columns, edges, root_feature)
            cliques = [(target, root_feature)] + [(target, tree_parent[c], c) for c in order[1:]]
        else:
            order, tree_parent = _bfs(columns, edges, target if target in columns else columns[0])
            cliques = [(tree_parent[c], c) for c in order[1:]]

        # 5. noisy marginals of the cliques, made consistent
        sigma_two = 1.0 / math.sqrt(2.0 * rho_two) if cliques else 0.0
        tables: dict[tuple[str, ...], np.ndarray] = {}
        for clique in cliques:
            shape = tuple(sizes[c] for c in clique)
            flat = np.ravel_multi_index(tuple(coarse[c] for c in clique), shape)
            counts = np.bincount(flat, minlength=int(np.prod(shape)))
            tables[clique] = acct.gaussian_counts(counts, rho_two, f"marginals:{'|'.join(clique)}").reshape(shape)
        margins = self._consistent_margins(columns, sizes, one_coarse, one_var, tables, sigma_two, n_hat)
        self.margins_ = margins
        self.conditionals_ = {}
        self.parents_ = {}
        if tan:
            pair_margins = _target_pairs(target, tree_columns, tables, margins, sizes, sigma_two)
            self.order_ = [target] + order
            for clique in cliques:
                child = clique[-1]
                if len(clique) == 2:
                    fitted = pair_margins[child]
                else:
                    fitted = _ipf3(np.clip(tables[clique], 0.0, None), pair_margins[clique[1]], pair_margins[child])
                self.parents_[child] = list(clique[:-1])
                self.conditionals_[child] = _conditional(fitted.reshape(-1, sizes[child]), margins[child])
        else:
            self.order_ = order
            for parent, child in cliques:
                fitted = _ipf(np.clip(tables[(parent, child)], 0.0, None), margins[parent], margins[child])
                self.parents_[child] = [parent]
                self.conditionals_[child] = _conditional(fitted, margins[child])
        self.root_ = self.order_[0]
        edges = [tuple(c) for c in cliques]
        eps_spent, delta_spent = acct.spent()
        if eps_spent > self.epsilon * (1 + 1e-9) or delta_spent > self.delta * (1 + 1e-9):  # never over budget
            raise RuntimeError(f"dp engine overspent: epsilon {eps_spent} > {self.epsilon} or delta {delta_spent}")
        self.privacy_ = {**acct.summary(), "n_estimate": n_hat, "tree": [list(e) for e in edges],
                         "declared_domain": sorted(c for c in columns if c not in dict(undeclared_bounds)
                                                   and c not in undeclared_cats),
                         "estimated_domain": sorted({c for c, _ in undeclared_bounds} | set(undeclared_cats))}
        log.info("dp engine: epsilon %.4g (spent %.4g), delta %.3g, tree %s", self.epsilon, eps_spent,
                 delta_spent, edges)

    # ------------------------------------------------------------------ domains
    def _numeric_domain(self, col: str, values: np.ndarray, spec: dict[str, Any], acct: Accountant,
                        rho: float) -> dict[str, Any]:
        present = values[~np.isnan(values)]
        low, high = spec.get("low"), spec.get("high")
        integer = bool(spec.get("integer", False))
        if low is None:
            low = acct.quantile(present, _BOUND_CANDIDATES, _BOUND_ALPHA, rho, f"bounds:{col}.low")
        if high is None:
            high = acct.quantile(present, _BOUND_CANDIDATES, 1 - _BOUND_ALPHA, rho, f"bounds:{col}.high")
        low, high = float(low), float(high)
        if high < low:
            low, high = high, low
        edges = _fine_edges(low, high, integer, self.fine_cells)
        return {"kind": "numerical", "low": low, "high": high, "integer": integer, "edges": edges,
                "size": len(edges)}  # len(edges) - 1 value cells + 1 missing cell

    @staticmethod
    def _numeric_codes(values: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        edges = info["edges"]
        cells = len(edges) - 1
        missing = np.isnan(values)
        clipped = np.clip(np.where(missing, info["low"], values), info["low"], info["high"])
        codes = np.clip(np.searchsorted(edges, clipped, side="right") - 1, 0, cells - 1)
        codes[missing] = cells
        return codes.astype(np.int64)

    def _categorical_domain(self, col: str, series: pd.Series, spec: dict[str, Any], acct: Accountant,
                            rho: float, delta: float) -> dict[str, Any]:
        categories = spec.get("categories")
        if categories is None:
            present = series[series.notna()]
            keys = present.map(_key)
            counts = keys.value_counts()
            released = acct.threshold_counts(counts.to_dict(), rho, delta, f"domain:{col}")
            by_key: dict[str, Any] = {}
            for value, key in zip(present.to_numpy(dtype=object), keys.to_numpy(dtype=object)):
                if key in released and key not in by_key:
                    by_key[key] = value
            categories = [by_key[k] for k in sorted(released, key=lambda k: (-released[k], k))]
        return {"kind": "categorical", "categories": list(categories), "size": len(categories) + 1}

    @staticmethod
    def _categorical_codes(series: pd.Series, info: dict[str, Any]) -> np.ndarray:
        cats = info["categories"]
        lookup = {_key(v): i for i, v in enumerate(cats)}
        # values outside the domain (never with a declared one) count as missing
        codes = series.map(lambda v: lookup.get(_key(v), len(cats)) if not pd.isna(v) else len(cats))
        return codes.to_numpy(dtype=np.int64)

    # ------------------------------------------------------------------ structure
    def _coarsen(self, col: str, probs: np.ndarray, tau: float) -> np.ndarray:
        """Fine cell -> coarse group, from noisy one-way counts only (post-processing)."""
        info = self.columns_info_[col]
        size = info["size"]
        groups = np.zeros(size, dtype=np.int64)
        if info["kind"] == "numerical":
            mass = probs[:-1]
            total = mass.sum()
            if total <= 0:
                groups[:-1] = 0
            else:
                mid = (np.cumsum(mass) - mass / 2) / total
                raw = np.minimum((mid * self.max_bins).astype(np.int64), self.max_bins - 1)
                groups[:-1] = np.unique(raw, return_inverse=True)[1]
            top = int(groups[:-1].max()) + 1
            if probs[-1] >= tau:
                groups[-1] = top
            else:  # too few missing values to tell from noise: never emitted
                probs[-1] = 0.0
                groups[-1] = top - 1
            return groups
        counts = probs[:-1]
        order = np.argsort(-counts, kind="stable")
        singles = [int(i) for i in order[: self.max_bins - 1] if counts[i] >= tau]
        next_group = 0
        for i in singles:
            groups[i] = next_group
            next_group += 1
        rest = [i for i in range(size - 1) if i not in set(singles)]
        missing_single = probs[-1] >= tau
        if rest:
            groups[rest] = next_group
            other = next_group
            next_group += 1
        else:
            other = None
        for i in rest:  # categories indistinguishable from noise are not emitted (post-processing)
            if counts[i] < tau and probs[rest].sum() > probs[i]:
                probs[i] = 0.0
        if missing_single:
            groups[-1] = next_group
        else:  # too few missing values to tell from noise: never emitted unless its group has no mass
            probs[-1] = 0.0
            groups[-1] = other if other is not None else 0
        return groups

    def _select_tree(self, columns: list[str], coarse: dict[str, np.ndarray], sizes: dict[str, int],
                     one_coarse: dict[str, np.ndarray], n_hat: float, acct: Accountant,
                     rho: float) -> list[tuple[str, str]]:
        probs = {c: np.clip(one_coarse[c], 0, None) / max(np.clip(one_coarse[c], 0, None).sum(), 1e-300)
                 for c in columns}
        pairs = [(a, b) for i, a in enumerate(columns) for b in columns[i + 1:]]
        scores = {}
        for a, b in pairs:
            true = np.bincount(coarse[a] * sizes[b] + coarse[b], minlength=sizes[a] * sizes[b]).astype(float)
            scores[(a, b)] = float(np.abs(true - n_hat * np.outer(probs[a], probs[b]).ravel()).sum())
        component = {c: i for i, c in enumerate(columns)}
        chosen: list[tuple[str, str]] = []
        for round_ in range(len(columns) - 1):
            candidates = [p for p in pairs if component[p[0]] != component[p[1]]]
            pick = candidates[acct.noisy_max(np.array([scores[p] for p in candidates]), rho, f"select:{round_}")]
            chosen.append(pick)
            old, new = component[pick[1]], component[pick[0]]
            for c in columns:
                if component[c] == old:
                    component[c] = new
        return chosen

    @staticmethod
    def _consistent_margins(columns: list[str], sizes: dict[str, int], one: dict[str, np.ndarray],
                            one_var: dict[str, np.ndarray], tables: dict[tuple[str, ...], np.ndarray],
                            sigma_two: float, n_hat: float) -> dict[str, np.ndarray]:
        """Inverse-variance average of every noisy estimate of each column's coarse margin."""
        margins = {}
        for col in columns:
            estimates = [(one[col], one_var[col])]
            for clique, table in tables.items():
                if col in clique:
                    axis = clique.index(col)
                    others = tuple(i for i in range(len(clique)) if i != axis)
                    summed = int(np.prod([sizes[clique[i]] for i in others]))
                    estimates.append((table.sum(axis=others), np.full(sizes[col], sigma_two ** 2 * summed)))
            weights = np.array([1.0 / np.maximum(v, 1e-12) for _, v in estimates])
            values = np.array([e for e, _ in estimates])
            merged = np.clip((weights * values).sum(axis=0) / weights.sum(axis=0), 0.0, None)
            if merged.sum() <= 0:
                merged = np.ones(sizes[col])
            margins[col] = merged / merged.sum() * n_hat
        return margins

    # ================================================================== sample
    def _sample(self, n: int, *, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        coarse: dict[str, np.ndarray] = {}
        for col in self.order_:
            parents = self.parents_.get(col)
            if not parents:
                p = self.margins_[col] / self.margins_[col].sum()
                coarse[col] = _draw(np.cumsum(p), rng.random(n))
                continue
            index = np.zeros(n, dtype=np.int64)
            for parent in parents:
                index = index * len(self.margins_[parent]) + coarse[parent]
            cum = np.cumsum(self.conditionals_[col], axis=1)
            out = np.zeros(n, dtype=np.int64)
            u = rng.random(n)
            order = np.argsort(index, kind="stable")
            bounds = np.searchsorted(index[order], np.arange(cum.shape[0] + 1))
            for g in range(cum.shape[0]):
                rows = order[bounds[g]:bounds[g + 1]]
                if rows.size:
                    out[rows] = _draw(cum[g], u[rows])
            coarse[col] = out
        data: dict[str, Any] = {}
        for col in self.columns_:
            data[col] = self._decode(col, coarse[col], rng)
        return pd.DataFrame(data, columns=self.columns_)

    def _decode(self, col: str, groups: np.ndarray, rng: np.random.Generator) -> Any:
        info = self.columns_info_[col]
        group_of = self.groups_[col]
        probs = self.fine_probs_[col]
        fine = np.zeros(len(groups), dtype=np.int64)
        u = rng.random(len(groups))
        for g in range(int(group_of.max()) + 1):
            rows = np.flatnonzero(groups == g)
            if not rows.size:
                continue
            cells = np.flatnonzero(group_of == g)
            w = probs[cells]
            w = w / w.sum() if w.sum() > 0 else np.full(len(cells), 1.0 / len(cells))
            fine[rows] = cells[_draw(np.cumsum(w), u[rows])]
        if info["kind"] == "numerical":
            edges = info["edges"]
            cells = len(edges) - 1
            missing = fine == cells
            idx = np.minimum(fine, cells - 1)
            lo, hi = edges[idx], edges[idx + 1]
            v = rng.random(len(groups))
            values = np.floor(lo + v * (hi - lo)) if info["integer"] else lo + v * (hi - lo)
            values = np.minimum(values, info["high"])
            values[missing] = np.nan
            return values.astype(np.float64)
        lookup = np.empty(len(info["categories"]) + 1, dtype=object)
        lookup[:-1] = info["categories"]
        lookup[-1] = np.nan
        return lookup[fine]

    # ================================================================== persistence
    def save(self, directory: Path | str) -> None:
        """Write ``model.json`` + ``arrays.npz`` (noisy statistics only) and an integrity manifest."""
        from synthstruct.synthesizers._copula_io import encode_value
        from synthstruct.synthesizers.persistence import write_integrity_manifest

        check_is_fitted(self)
        directory = Path(directory)
        arrays: dict[str, np.ndarray] = {}
        info_out = {}
        for i, col in enumerate(self.columns_):
            info = self.columns_info_[col]
            arrays[f"c{i}_fine"] = self.fine_probs_[col]
            arrays[f"c{i}_groups"] = self.groups_[col]
            arrays[f"c{i}_margin"] = self.margins_[col]
            if col in self.conditionals_:
                arrays[f"c{i}_cond"] = self.conditionals_[col]
            if info["kind"] == "numerical":
                arrays[f"c{i}_edges"] = info["edges"]
                info_out[col] = {k: info[k] for k in ("kind", "low", "high", "integer", "size")}
            else:
                info_out[col] = {"kind": "categorical", "size": info["size"],
                                 "categories": [encode_value(col, v) for v in info["categories"]]}
        params = self.get_params()
        model = {"format": _FORMAT, "params": {**params, "domain": _jsonable_domain(params["domain"])},
                 "columns": self.columns_, "kinds": self.kinds_, "info": info_out, "root": self.root_,
                 "order": self.order_, "parents": self.parents_, "privacy": self.privacy_}
        (directory / _MODEL_FILE).write_text(json.dumps(model), encoding="utf-8")
        np.savez(directory / _ARRAYS_FILE, **arrays)
        write_integrity_manifest(directory)

    @classmethod
    def load(cls, directory: Path | str) -> DPEngine:
        """Read a model written by :meth:`save` after checking its integrity manifest."""
        from synthstruct.synthesizers._copula_io import decode_value
        from synthstruct.synthesizers.persistence import verify_integrity

        directory = Path(directory)
        verify_integrity(directory)
        model = json.loads((directory / _MODEL_FILE).read_text(encoding="utf-8"))
        with np.load(directory / _ARRAYS_FILE, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        self = cls(**model["params"])
        self.columns_, self.kinds_ = model["columns"], model["kinds"]
        self.root_, self.order_, self.parents_ = model["root"], model["order"], model["parents"]
        self.privacy_ = model["privacy"]
        self.columns_info_, self.fine_probs_, self.groups_, self.margins_, self.conditionals_ = {}, {}, {}, {}, {}
        for i, col in enumerate(self.columns_):
            info = dict(model["info"][col])
            if info["kind"] == "numerical":
                info["edges"] = arrays[f"c{i}_edges"]
            else:
                info["categories"] = [decode_value(v) for v in info["categories"]]
            self.columns_info_[col] = info
            self.fine_probs_[col] = arrays[f"c{i}_fine"]
            self.groups_[col] = arrays[f"c{i}_groups"]
            self.margins_[col] = arrays[f"c{i}_margin"]
            if f"c{i}_cond" in arrays:
                self.conditionals_[col] = arrays[f"c{i}_cond"]
        return self


# ---------------------------------------------------------------------- helpers
def _fine_edges(low: float, high: float, integer: bool, cells: int) -> np.ndarray:
    """Public grid of a numerical column: one cell per integer when the range is small, otherwise
    linear edges plus geometric edges that are dense near ``low`` (point masses keep a cell)."""
    if integer:
        low, high = float(math.ceil(low)), float(math.floor(high))
        if high < low:
            high = low
        if high - low + 1 <= cells:
            return np.arange(low, high + 2.0)
    elif high <= low:
        high = low + max(abs(low), 1.0) * 1e-9
    half = max(cells // 2, 2)
    span = high - low
    edges = np.unique(np.concatenate([np.linspace(low, high, half + 1),
                                      low + np.geomspace(1.0, span + 1.0, half + 1) - 1.0]))
    if integer:
        edges = np.unique(np.append(np.round(edges[edges <= high]), high + 1.0))
    else:
        edges[-1] = high
        edges = np.unique(edges)
    return edges.astype(np.float64)


def _draw(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw of category indices for uniforms ``u`` given an unnormalised cumulative ``cum``."""
    total = cum[-1] if cum.size else 0.0
    if total <= 0:
        return np.zeros(len(u), dtype=np.int64)
    return np.minimum(np.searchsorted(cum / total, u, side="right"), len(cum) - 1).astype(np.int64)


def _ipf(table: np.ndarray, rows: np.ndarray, cols: np.ndarray, iterations: int = 30) -> np.ndarray:
    """Rake a non-negative table towards row and column margins (same total)."""
    total = max(rows.sum(), 1e-300)
    rows = rows / total
    cols = cols / max(cols.sum(), 1e-300)
    t = table + 1e-9 * max(table.sum(), 1.0) / table.size
    t = t / t.sum()
    for _ in range(iterations):
        t *= (rows / np.maximum(t.sum(axis=1), 1e-300))[:, None]
        t *= (cols / np.maximum(t.sum(axis=0), 1e-300))[None, :]
    return t * total


def _bfs(columns: list[str], edges: list[tuple[str, str]], root: str) -> tuple[list[str], dict[str, str]]:
    """Breadth-first order of a spanning tree from ``root`` and each column's parent."""
    neighbours: dict[str, list[str]] = {c: [] for c in columns}
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    order, parents, seen = [], {}, {root}
    queue = deque([root])
    while queue:
        node = queue.popleft()
        order.append(node)
        for nxt in neighbours[node]:
            if nxt not in seen:
                seen.add(nxt)
                parents[nxt] = node
                queue.append(nxt)
    for c in columns:  # cannot happen for a spanning tree; stay total
        if c not in seen:
            order.append(c)
    return order, parents


def _conditional(table: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Rows of a non-negative table normalised to conditionals; empty rows use ``fallback``."""
    rows = table.sum(axis=1, keepdims=True)
    fallback = fallback / max(fallback.sum(), 1e-300)
    return np.where(rows > 0, table / np.where(rows > 0, rows, 1.0), fallback[None, :])


def _target_pairs(target: str, features: list[str], tables: dict[tuple[str, ...], np.ndarray],
                  margins: dict[str, np.ndarray], sizes: dict[str, int], sigma_two: float) -> dict[str, np.ndarray]:
    """Consistent (target, column) tables: inverse-variance average of every clique's estimate, then raked
    to the consistent one-way margins."""
    out = {}
    for col in features:
        estimates = []
        for clique, table in tables.items():
            if col not in clique:
                continue
            axis = clique.index(col)
            if len(clique) == 2:
                estimates.append((table, sigma_two ** 2))
            else:
                other = 3 - axis
                estimates.append((table.sum(axis=other), sigma_two ** 2 * sizes[clique[other]]))
        weights = np.array([1.0 / v for _, v in estimates])
        merged = sum(w * e for w, (e, _) in zip(weights, estimates)) / weights.sum()
        out[col] = _ipf(np.clip(merged, 0.0, None), margins[target], margins[col])
    return out


def _ipf3(table: np.ndarray, yp: np.ndarray, yc: np.ndarray, iterations: int = 30) -> np.ndarray:
    """Rake a non-negative (target, parent, child) table to its (target, parent) and (target, child) tables."""
    total = max(yp.sum(), 1e-300)
    t = table + 1e-9 * max(table.sum(), 1.0) / table.size
    t = t / t.sum() * total
    yc = yc / max(yc.sum(), 1e-300) * total
    for _ in range(iterations):
        t *= (yp / np.maximum(t.sum(axis=2), 1e-300))[:, :, None]
        t *= (yc / np.maximum(t.sum(axis=1), 1e-300))[:, None, :]
    return t


def _jsonable_domain(domain: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]] | None:
    if domain is None:
        return None
    out = {}
    for col, spec in domain.items():
        spec = dict(spec)
        if spec.get("categories") is not None:
            spec["categories"] = [v.item() if isinstance(v, np.generic) else v for v in spec["categories"]]
        out[col] = spec
    return out
