"""Metric results, the shared evaluation context, and the metric registry.

A metric is a function ``compute(ctx: EvaluationContext) -> MetricResult`` registered under a
stable name in :data:`METRICS`. Findings are data: a metric never raises because a value looks bad;
the release gate compares ``value`` (and ``reference``) against a policy threshold.

``reference`` is what the same metric scores for the *holdout* — real rows the synthesizer never
saw — so that thresholds can be set relative to "what a fresh real sample would score".
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, TypeVar

import pandas as pd

from synthstruct._registry import Registry
from synthstruct.schema.model import Schema

T = TypeVar("T")

__all__ = ["METRICS", "EvaluationContext", "MetricResult", "compute_metrics"]

Category = Literal["privacy", "fidelity", "utility", "validity"]
Goal = Literal["minimize", "maximize", "report"]


@dataclass
class MetricResult:
    """The outcome of one metric.

    Attributes:
        name: Registered metric name (``exact_match``, ``dcr`` ...).
        category: privacy, fidelity, utility or validity.
        goal: Whether lower or higher values are better (or ``report`` for context only).
        value: The score on the synthetic data; ``None`` when it could not be computed.
        reference: The same score for the holdout (the real-data reference), when defined.
        ci: Optional 95 % confidence interval of ``value`` (for rates).
        reference_ci: Optional 95 % confidence interval of ``reference``.
        min_value: Lower bound of the metric's range.
        max_value: Upper bound of the metric's range.
        details: Extra numbers (per column, histograms ...) for the reports. Never raw cell values.
        note: Why the metric was not computed, or a caveat, in plain words.
    """

    name: str
    category: Category
    goal: Goal
    value: float | None
    reference: float | None = None
    ci: tuple[float, float] | None = None
    min_value: float = 0.0
    max_value: float = 1.0
    details: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    reference_ci: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "category": self.category,
            "goal": self.goal,
            "value": self.value,
            "reference": self.reference,
            "ci": list(self.ci) if self.ci is not None else None,
            "reference_ci": list(self.reference_ci) if self.reference_ci is not None else None,
            "min_value": self.min_value,
            "max_value": self.max_value,
            "details": self.details,
            "note": self.note,
        }


@dataclass
class EvaluationContext:
    """Everything a metric may need, with expensive shared work cached on first use.

    Frames are in the coerced representation of :func:`synthstruct.schema.coerce_to_schema`.

    Attributes:
        train: Real rows the synthesizer was fitted on.
        synthetic: Generated rows.
        schema: The table schema.
        holdout: Real rows held out before fitting (the privacy/fidelity reference), if any.
        seed: Seed for any randomness in metrics (subsampling, model training).
        options: Metric options from the policy: ``rare_k`` and ``extreme_k`` (value-protection k),
            ``distance_jobs``, ``model_threads``, ``utility_test`` ...
    """

    train: pd.DataFrame
    synthetic: pd.DataFrame
    schema: Schema
    holdout: pd.DataFrame | None = None
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    #: Work shared between metrics of one evaluation (e.g. the attacks' encodings, the nearest-neighbour
    #: distances), keyed by owner; see :meth:`shared`.
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _locks: dict[str, threading.RLock] = field(default_factory=dict, init=False, repr=False, compare=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def shared(self, key: str, build: Callable[[EvaluationContext], T]) -> T:
        """The shared work ``key``, built by ``build(self)`` for the first metric that asks.

        The evaluation layer knows nothing of what is shared: the owner (e.g.
        :func:`synthstruct.privacy.distances.neighbour_distances`) names the key and the builder.
        Thread-safe (the gate computes metrics on two threads): a metric that asks while another
        builds ``key`` waits for that build, so every key is built once.
        """
        with self._guard:
            lock = self._locks.setdefault(key, threading.RLock())
        with lock:
            if key not in self.cache:
                self.cache[key] = build(self)
            value: T = self.cache[key]
        return value


METRICS = Registry(
    "metric",
    "synthstruct.metrics",
    {
        # privacy
        "exact_match": "synthstruct.privacy.metrics:exact_match",
        "dcr": "synthstruct.privacy.metrics:dcr",
        "dcr_share": "synthstruct.privacy.metrics:dcr_share",
        "nndr": "synthstruct.privacy.metrics:nndr",
        "membership_inference": "synthstruct.privacy.metrics:membership_inference",
        "membership_auc": "synthstruct.privacy.metrics:membership_auc",
        "near_copies": "synthstruct.privacy.metrics:near_copies",
        "pii_replay": "synthstruct.privacy.metrics:pii_replay",
        "rare_category_replay": "synthstruct.privacy.metrics:rare_category_replay",
        "extreme_value_replay": "synthstruct.privacy.metrics:extreme_value_replay",
        "singling_out": "synthstruct.privacy.attacks:singling_out",
        "linkability": "synthstruct.privacy.attacks:linkability",
        "attribute_inference": "synthstruct.privacy.attacks:attribute_inference",
        "canary_leakage": "synthstruct.privacy.canaries:canary_leakage",
        "pii_in_output": "synthstruct.privacy.output_pii:pii_in_output",
        "text_memorisation": "synthstruct.evaluation.text_fidelity:text_memorisation",
        # validity / fidelity / utility
        "validity": "synthstruct.evaluation.validity:validity",
        "column_shapes": "synthstruct.evaluation.fidelity:column_shapes",
        "pair_trends": "synthstruct.evaluation.fidelity:pair_trends",
        "discriminator_auc": "synthstruct.evaluation.fidelity:discriminator_auc",
        "missing_patterns": "synthstruct.evaluation.fidelity:missing_patterns",
        "coverage": "synthstruct.evaluation.coverage:coverage",
        "text_fidelity": "synthstruct.evaluation.text_fidelity:text_fidelity",
        "utility": "synthstruct.evaluation.utility:utility",
    },
)


def compute_metrics(ctx: EvaluationContext, names: list[str]) -> dict[str, MetricResult]:
    """Compute the named metrics (in order) on one context."""
    results: dict[str, MetricResult] = {}
    for name in names:
        fn: Callable[[EvaluationContext], MetricResult] = METRICS.get(name)
        results[name] = fn(ctx)
    return results
