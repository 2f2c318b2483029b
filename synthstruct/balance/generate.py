"""The test split and conditional generation of rows of chosen classes.

Two strategies, both without reject-sampling:

* ``conditional`` — one synthesizer on all training rows, sampled class by class through
  :meth:`TableSynthesizer.sample_classes` (the default ``fast_copula`` engine keeps one copula per
  class, so 10 000 rows of a 5 % class cost what 10 000 ordinary rows cost). The synthesizer's value
  protection is table-wide, so it is applied again *within* each class: numbers are clipped to the
  class's k-th extremes and categories held by fewer than k rows of the class are replaced;
* ``per_class`` — one synthesizer per augmented class, fitted on that class's rows only (any engine;
  value protection then also works within the class).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from synthstruct.errors import DataValidationError, InputError, Problem
from synthstruct.schema.model import Schema
from synthstruct._seeds import stream_seed
from synthstruct.synthesizers.table import DEFAULT_ENGINE, TableSynthesizer

__all__ = ["ClassSampler", "Strategy", "stratified_split"]

log = logging.getLogger(__name__)

Strategy = Literal["auto", "conditional", "per_class"]


def stratified_split(labels: pd.Series, *, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row positions ``(train, test)``, sorted, stratified by ``labels`` (missing labels are a stratum).

    Every class keeps ``round(n_class * test_fraction)`` rows in the test split, at least one when the
    class has two rows or more, so the minority class is always represented.

    Raises:
        InputError: ``test_fraction`` outside ``(0, 0.9)``.
    """
    if not 0.0 < float(test_fraction) < 0.9:
        raise InputError("invalid test_fraction", [Problem("--test-fraction", "must be between 0 and 0.9",
                                                           "use e.g. 0.2")])
    rng = np.random.default_rng(seed)
    keys = labels.astype(str).where(labels.notna(), "\u0000missing").to_numpy()
    is_test = np.zeros(len(keys), dtype=bool)
    for key in sorted(set(keys)):
        members = np.flatnonzero(keys == key)
        rng.shuffle(members)
        n_test = round(len(members) * test_fraction)
        if n_test == 0 and len(members) >= 2:
            n_test = 1
        is_test[members[:n_test]] = True
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


@dataclass
class ClassSampler:
    """Fits the generator(s) once and draws rows of chosen classes for any seed.

    Args:
        schema: Schema with ``target`` set.
        engine: Engine name (default ``fast_copula``).
        engine_params: Engine keyword arguments.
        protect_k: Value protection threshold of the synthesizer(s).
        strategy: ``conditional``, ``per_class`` or ``auto`` (conditional when the engine supports it).
        min_class_rows: Fewest training rows a class may have to get its own model.
    """

    schema: Schema
    engine: str | None = None
    engine_params: dict[str, Any] | None = None
    protect_k: int = 5
    strategy: Strategy = "auto"
    min_class_rows: int = 10
    models_: dict[Any, TableSynthesizer] = field(default_factory=dict, init=False)
    protection_: dict[Any, _ClassProtection] = field(default_factory=dict, init=False)
    strategy_: str = field(default="", init=False)

    def _resolved_strategy(self) -> str:
        from synthstruct._registry import ENGINES

        name = self.engine or DEFAULT_ENGINE
        engine_cls = ENGINES.get(name)  # raises a helpful InputError for unknown names
        if self.strategy not in ("auto", "conditional", "per_class"):
            raise InputError("invalid strategy", [Problem("strategy", "must be auto, conditional or per_class",
                                                          "use auto")])
        conditional = hasattr(engine_cls, "sample_classes")
        if self.strategy == "conditional" and not conditional:
            raise InputError("invalid strategy", [Problem(f"engine {name!r}", "cannot sample by class",
                                                          "use strategy per_class or engine fast_copula")])
        return "conditional" if self.strategy == "auto" and conditional else (
            "per_class" if self.strategy == "auto" else self.strategy)

    def fit(self, train: pd.DataFrame, classes: list[Any], *, seed: int, avoid: pd.DataFrame | None = None,
            source: str | None = None) -> ClassSampler:
        """Fit on the coerced training rows; ``classes`` are the classes that will be sampled."""
        self.strategy_ = self._resolved_strategy()
        target = self.schema.target
        name = self.engine or DEFAULT_ENGINE
        if self.strategy_ == "conditional":
            params = dict(self.engine_params or {})
            if name == "fast_copula":  # every class of the target gets its own copula
                n_classes = int(train[target].nunique(dropna=False))
                params.setdefault("min_stratum_rows", self.min_class_rows)
                params.setdefault("max_strata", max(20, n_classes))
            model = TableSynthesizer(engine=name, engine_params=params, protect_k=self.protect_k)
            model.fit(train, schema=self.schema, seed=stream_seed(seed, "balance-fit"), source=source, avoid=avoid)
            self.models_ = {label: model for label in classes}
            labels = train[target]
            self.protection_ = {label: _class_protection(train[(labels == label).to_numpy()], self.schema,
                                                         self.protect_k) for label in classes}
        else:
            labels = train[target]
            schema = _without_target(self.schema)
            keep = list(schema.columns)
            for i, label in enumerate(classes):
                rows = train[(labels == label).to_numpy()].reset_index(drop=True)[keep]
                model = TableSynthesizer(engine=name, engine_params=self.engine_params, protect_k=self.protect_k)
                model.fit(rows, schema=schema, seed=stream_seed(seed, "balance-fit", i), source=source,
                          avoid=None if avoid is None else avoid[keep])
                self.models_[label] = model
        return self

    def sample(self, plan: Mapping[Any, int], *, seed: int) -> pd.DataFrame:
        """Synthetic rows (coerced), grouped by class in the order of ``plan``."""
        plan = {label: int(n) for label, n in plan.items() if int(n) > 0}
        if not plan:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in self.schema.columns})
        if self.strategy_ == "conditional":
            model = next(iter(self.models_.values()))
            return _protect_within_classes(model.sample_classes(plan, seed=seed), plan, self.protection_, seed)
        parts = [self.models_[label].sample(n, seed=stream_seed(seed, "class", i))
                 for i, (label, n) in enumerate(plan.items())]
        frame = pd.concat(parts, ignore_index=True)
        frame[self.schema.target] = np.repeat(np.asarray(list(plan), dtype=object), list(plan.values()))
        return frame[list(self.schema.columns)]

    @property
    def sampling_stats(self) -> dict[str, int]:
        """Rows regenerated or repaired for constraints in the last sample (summed over models)."""
        stats = {"regenerated_rows": 0, "repaired_rows": 0}
        for model in {id(m): m for m in self.models_.values()}.values():
            for key, value in getattr(model, "sampling_stats_", {}).items():
                stats[key] = stats.get(key, 0) + int(value)
        return stats


def _without_target(schema: Schema) -> Schema:
    """The schema of one class's rows: the target (constant there) is dropped."""
    target = schema.target
    return schema.model_copy(update={
        "columns": {n: c for n, c in schema.columns.items() if n != target}, "target": None,
        "quasi_identifiers": [c for c in schema.quasi_identifiers if c != target],
        "sensitive": [c for c in schema.sensitive if c != target],
        "constraints": [c for c in schema.constraints if target not in c.model_dump().values()
                        and target not in (c.model_dump().get("columns") or [])]})


@dataclass
class _ClassProtection:
    """Value protection within one class (the synthesizer's own protection is table-wide)."""

    bounds: dict[str, tuple[float, float]]
    rare: dict[str, list[Any]]
    frequent: dict[str, tuple[list[Any], np.ndarray]]


def _class_protection(rows: pd.DataFrame, schema: Schema, k: int) -> _ClassProtection:
    """Numbers stay within the class's k-th most extreme values; categories held by fewer than k rows
    of the class are never emitted for it (they are replaced by the class's frequent categories)."""
    protection = _ClassProtection({}, {}, {})
    if k <= 0:
        return protection
    for name in schema.columns_of("numerical"):
        values = np.sort(pd.to_numeric(rows[name], errors="coerce").dropna().to_numpy(dtype="float64"))
        if values.size > 2 * k:
            protection.bounds[name] = (float(values[k - 1]), float(values[-k]))
    for name in schema.columns_of("categorical", "ordinal", "boolean"):
        if name == schema.target:
            continue
        counts = rows[name].value_counts(dropna=True)
        rare, frequent = counts[counts < k], counts[counts >= k]
        if len(rare) and len(frequent):
            protection.rare[name] = list(rare.index)
            protection.frequent[name] = (list(frequent.index), (frequent / frequent.sum()).to_numpy())
    return protection


def _protect_within_classes(frame: pd.DataFrame, plan: Mapping[Any, int],
                            protection: Mapping[Any, _ClassProtection], seed: int) -> pd.DataFrame:
    """Apply each class's protection to its block of rows (rows come grouped by class in plan order)."""
    rng = np.random.default_rng(stream_seed(seed, "class-protection"))
    start = 0
    for label, n in plan.items():
        block = np.arange(start, start + n)
        start += n
        rules = protection.get(label)
        if rules is None:
            continue
        for name, (low, high) in rules.bounds.items():
            position = frame.columns.get_loc(name)
            frame.iloc[block, position] = frame.iloc[block, position].clip(low, high)
        for name, rare in rules.rare.items():
            position = frame.columns.get_loc(name)
            hit = block[frame.iloc[block, position].isin(rare).to_numpy()]
            if len(hit):
                values, probs = rules.frequent[name]
                picks = rng.choice(len(values), size=len(hit), p=probs)
                column = frame[name].astype(object)
                column.iloc[hit] = [values[i] for i in picks]
                frame[name] = column.astype(frame[name].dtype) if frame[name].dtype != object else column
    return frame


def check_class_sizes(counts: Mapping[Any, int], plan: Mapping[Any, int], *, needed: int, target: str,
                      source: str | None = None) -> None:
    """Refuse to augment a class with fewer training rows than the methods need.

    Raises:
        DataValidationError: listing each such class by its rank (largest = 1), never by its value.
    """
    ranked = list(counts)
    problems = [Problem(f"target {target!r}", f"class ranked {ranked.index(label) + 1} by size has "
                        f"{counts[label]} training rows; generating rows for it needs at least {needed}",
                        "provide more rows of this class, leave it out of --counts, or lower --min-class-rows")
                for label in plan if counts[label] < needed]
    if problems:
        raise DataValidationError("a class is too small to balance", problems, source=source)
