"""The release gate: computes the policy's metrics and decides, as data.

``ReleaseGate(policy).evaluate(...)`` never raises because a number looks bad: it returns a
:class:`GateReport` listing every check with its value, threshold and verdict. Only the caller (the
``release`` pipeline / CLI) turns a failed report into :class:`~synthstruct.errors.ReleaseBlockedError`.
A check whose metric could not be computed is a state of its own, ``status == "not_computed"``, with
the metric's reason in the explanation. It fails (and then blocks like any failure of its severity) only
when the check says ``if_not_computed: block``; otherwise it does not decide the verdict and reports list
it as "not computed".
"""

from __future__ import annotations

import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from synthstruct.evaluation.metric import METRICS, EvaluationContext, MetricResult
from synthstruct.release.policy import CheckSpec, Policy
from synthstruct.schema.model import Schema

__all__ = ["CheckResult", "GateReport", "ReleaseGate", "dp_gate_check", "statistic_of"]

log = logging.getLogger(__name__)


@dataclass
class CheckResult:
    """One check's outcome."""

    name: str
    metric: str
    statistic: str
    value: float | None
    threshold: float
    comparison: str  # "<=" or ">="
    severity: str
    passed: bool
    explanation: str
    fix: str = ""
    status: str = "computed"  # "computed" or "not_computed"

    @property
    def computed(self) -> bool:
        return self.status == "computed"

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class GateReport:
    """Everything the gate found: verdict, checks, metric results and timings."""

    passed: bool
    policy: str
    checks: list[CheckResult]
    metrics: dict[str, MetricResult]
    timings: dict[str, float] = field(default_factory=dict)
    #: How the distance metrics sampled rows (``SamplingPlan.to_dict()``), when any of them ran.
    privacy_sampling: dict[str, Any] | None = None

    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed and c.severity == "block"]

    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed and c.severity == "warn"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "policy": self.policy,
            "checks": [c.to_dict() for c in self.checks],
            "failed": [c.name for c in self.failed_checks()],
            "warnings": [c.name for c in self.warnings()],
            "not_computed": [c.name for c in self.checks if not c.computed],
        }


def statistic_of(result: MetricResult, statistic: str) -> float | None:
    """The number a check compares, derived from a metric result (``None`` if undefined)."""
    value, ref = result.value, result.reference
    if statistic == "value":
        return value
    if statistic == "minus_reference":
        return None if value is None or ref is None else value - ref
    if statistic == "minus_reference_lower":
        # lower 95 % bound of value - reference (Newcombe's method: both intervals' noise counts)
        if value is None or ref is None or result.ci is None or result.reference_ci is None:
            return None
        return (value - ref) - math.hypot(value - result.ci[0], result.reference_ci[1] - ref)
    if statistic == "over_reference":
        if value is None or ref is None:
            return None
        return value / ref if ref != 0 else (1.0 if value == 0 else float("inf"))
    if statistic == "ci_upper":
        return None if result.ci is None else result.ci[1]
    if statistic == "ci_lower":
        return None if result.ci is None else result.ci[0]
    raise ValueError(statistic)


#: Metrics started first, so that the longest ones (independent model fits that release the GIL) overlap the rest.
_BACKGROUND_METRICS = frozenset({"utility"})
#: Threads computing the gate's metrics: numpy, pandas and scikit-learn release the GIL in their heavy parts, so
#: two metrics share two cores. Results do not depend on which thread computes what or which finishes first:
#: every metric is seeded, shared work is built once (:meth:`EvaluationContext.shared`), BLAS and OpenMP run one
#: thread per metric, and results are collected in policy order.
GATE_THREADS = 2


def _one_thread_per_metric(names: list[str]) -> Any:
    """Cap BLAS (and OpenMP, when two metrics could fit OpenMP models at once) at one thread for the whole
    evaluation, so that the metrics' own caps (nested inside, on two threads) never restore more threads while
    another metric runs. The utility metric alone needs no outer cap (its own holds while it fits, and on
    tables of ``CHILD_PROCESS_ROWS`` or more it fits in a child process): scikit-learn is then not imported
    here, which kept 1.2 s of single-threaded imports on the gate's critical path."""
    try:
        if sum(n in _OPENMP_METRICS for n in names) > 1:
            import sklearn.ensemble  # noqa: F401 - loads the OpenMP runtime the limit must see
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return nullcontext()
    return threadpool_limits(limits=1)


#: Metrics that fit scikit-learn models on OpenMP (HistGradientBoosting, one thread each).
_OPENMP_METRICS = frozenset({"utility", "discriminator_auc"})
#: Metrics that run the PII scanner (Presidio, spaCy) or text models over text columns: never two at once
#: (those pipelines are shared objects not documented as thread-safe).
_ONE_AT_A_TIME = frozenset({"pii_in_output", "text_memorisation", "text_fidelity"})


#: Per-column metrics (pandas and NumPy only: no OpenMP, no shared cache, no text model) computed in a forked
#: child process on large tables, so that they run beside the distance metrics and attacks instead of waiting for
#: the GIL (the gate's threads used ~1.15 cores on a 300k-row table). Same results: the child works on a
#: copy-on-write copy of the same frames with the same seed.
_FORKED_METRICS = frozenset({"validity", "pii_replay", "rare_category_replay", "extreme_value_replay",
                             "column_shapes", "pair_trends", "coverage", "missing_patterns"})
#: Fork the per-column metrics from this many train + synthetic rows (below, the fork costs more than it saves).
FORK_MIN_ROWS = 20_000
#: Longest wait for the forked metrics before they are computed in process instead (a hung child never hangs
#: the release).
FORK_TIMEOUT_S = 1800.0


def _may_fork(names: list[str], ctx: EvaluationContext) -> list[str]:
    """The metrics of ``names`` to compute in a forked child, or ``[]`` (too small a table, fewer than two such
    metrics, no safe ``fork`` here, or ``SYNTHSTRUCT_GATE_FORK=0`` / ``SYNTHSTRUCT_FORK=0``)."""
    from synthstruct._fork import fork_enabled

    chosen = [n for n in names if n in _FORKED_METRICS]
    if len(chosen) < 2 or len(ctx.train) + len(ctx.synthetic) < FORK_MIN_ROWS or not fork_enabled("SYNTHSTRUCT_GATE_FORK"):
        return []
    return chosen


def _compute_all(names: list[str], ctx: EvaluationContext) -> dict[str, tuple[MetricResult, float]]:
    return {name: _timed(METRICS.get(name), ctx) for name in names}


class _ForkedMetrics:
    """Metrics computed in a forked child process (:class:`synthstruct._fork.ForkedCall`); :meth:`result`
    computes them in process instead when the child fails, dies or outlives :data:`FORK_TIMEOUT_S`."""

    def __init__(self, names: list[str], ctx: EvaluationContext) -> None:
        from synthstruct._fork import ForkedCall

        self.names, self._ctx = names, ctx
        self._results: dict[str, tuple[MetricResult, float]] | None = None
        self._call = ForkedCall(lambda: _compute_all(names, ctx), name="gate-metrics", timeout=FORK_TIMEOUT_S)

    def result(self, name: str) -> tuple[MetricResult, float]:
        if self._results is None:
            ok, value = self._call.result()
            self._results = value if ok else _compute_all(self.names, self._ctx)
        return self._results[name]

    def close(self) -> None:
        """Stop the child (if still running) and release the pipe."""
        self._call.close()


def _timed(fn: Callable[[EvaluationContext], MetricResult], ctx: EvaluationContext) -> tuple[MetricResult, float]:
    start = time.perf_counter()
    result = fn(ctx)
    return result, round(time.perf_counter() - start, 4)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _judge(spec: CheckSpec, result: MetricResult) -> CheckResult:
    stat = statistic_of(result, spec.statistic)
    threshold = spec.max if spec.max is not None else spec.min
    comparison = "<=" if spec.max is not None else ">="
    what = spec.check_name
    if stat is None:
        reason = result.note or "the metric could not be computed"
        blocks = spec.if_not_computed == "block"
        text = f"{what} was not computed: {reason}"
        text += (" The policy requires this check (if_not_computed: block)." if blocks
                 else " It does not decide the verdict (if_not_computed: report).")
        return CheckResult(what, spec.metric, spec.statistic, None, float(threshold), comparison, spec.severity,
                           not blocks, text, spec.fix or "", status="not_computed")
    passed = stat <= threshold if comparison == "<=" else stat >= threshold
    if passed:
        text = f"{what} = {_fmt(stat)} (limit {comparison} {_fmt(threshold)})"
    else:
        text = f"{what} = {_fmt(stat)}, which breaks the limit {comparison} {_fmt(threshold)}"
        if spec.why:
            text += f". {spec.why}"
    return CheckResult(what, spec.metric, spec.statistic, float(stat), float(threshold), comparison,
                       spec.severity, bool(passed), text, spec.fix or "")


class ReleaseGate:
    """Evaluates a policy on (train, holdout, synthetic) and returns a :class:`GateReport`.

    Args:
        policy: The release policy.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def evaluate(self, *, train: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema,
                 holdout: pd.DataFrame | None = None, seed: int = 0,
                 options: dict[str, Any] | None = None,
                 on_metric: Callable[[str], None] | None = None) -> GateReport:
        """Compute every metric the policy names and judge every check.

        Args:
            on_metric: Called with each metric's name before it is computed (progress reporting).
        """
        k = self.policy.value_protection.k
        suite = self.policy.load_suite()
        opts = {"rare_k": max(k, 1), "extreme_k": max(k, 1), "block_entities": list(self.policy.pii.block_entities),
                "privacy_sampling": self.policy.privacy_sampling.model_dump(),
                **(suite.options.set_values() if suite else {}), **(options or {})}
        ctx = EvaluationContext(train=train, synthetic=synthetic, schema=schema, holdout=holdout, seed=seed,
                                options=opts)
        metrics: dict[str, MetricResult] = {}
        timings: dict[str, float] = {}
        names = list(self.policy.metric_names())
        if opts.get("canaries") is not None and "canary_leakage" not in names:
            names.append("canary_leakage")  # planted canaries are always measured (judged only if a check asks)
        # Metrics run on GATE_THREADS threads, the longest (model fits) first; results are collected in policy
        # order, and each metric's result is the same whichever thread computes it (see GATE_THREADS).
        if len(names) < 2:
            for name in names:
                if on_metric is not None:
                    on_metric(name)
                metrics[name], timings[name] = _timed(METRICS.get(name), ctx)
        else:
            order = [n for n in names if n in _BACKGROUND_METRICS] + [n for n in names if n not in _BACKGROUND_METRICS]
            text_lock = threading.Lock()

            def compute(name: str) -> tuple[MetricResult, float]:
                if name in _ONE_AT_A_TIME:
                    with text_lock:
                        return _timed(METRICS.get(name), ctx)
                return _timed(METRICS.get(name), ctx)

            with _one_thread_per_metric(names):  # entered first: a forked child inherits the BLAS limit too
                forked = _ForkedMetrics(fork, ctx) if (fork := _may_fork(names, ctx)) else None
                pool = ThreadPoolExecutor(max_workers=GATE_THREADS, thread_name_prefix="gate-metric")
                futures = {n: pool.submit(compute, n) for n in order if forked is None or n not in forked.names}
                try:
                    for name in names:
                        if on_metric is not None:
                            on_metric(name)
                        if name in futures:
                            metrics[name], timings[name] = futures[name].result()
                        else:
                            metrics[name], timings[name] = forked.result(name)  # type: ignore[union-attr]
                        log.info("metric %s computed in %.2fs", name, timings[name])
                finally:
                    for future in futures.values():
                        future.cancel()  # an error (or Ctrl-C) stops the metrics that have not started
                    pool.shutdown(wait=True)
                    if forked is not None:
                        forked.close()
        checks = [_judge(spec, metrics[spec.metric]) for spec in self.policy.checks]
        if self.policy.require_dp is not None:  # the engine's accountant, not the rows, answers this one
            checks.append(dp_gate_check(self.policy, opts.get("differential_privacy")))
        passed = all(c.passed for c in checks if c.severity == "block")
        distances = ctx.cache.get("distances")  # only when a distance metric ran
        plan = getattr(distances, "plan", None)
        return GateReport(passed=passed, policy=self.policy.name, checks=checks, metrics=metrics, timings=timings,
                          privacy_sampling=None if plan is None else plan.to_dict())


def dp_gate_check(policy: Any, privacy: dict[str, Any] | None) -> Any:
    """The gate's ``differential_privacy`` check for a policy with ``require_dp`` (``None`` otherwise):
    passes when the engine's accountant spent at most ``max_epsilon`` (and ``max_delta``)."""
    need = getattr(policy, "require_dp", None)
    if need is None:
        return None
    fix = f"release with --engine dp --epsilon {need.max_epsilon:g} (or less)"
    if not privacy:
        return CheckResult("differential_privacy", "differential_privacy", "value", None, float(need.max_epsilon),
                           "<=", "block", False, "differential_privacy could not be checked: the synthetic data was "
                           "not produced by a differentially private engine", fix)
    eps, delta = float(privacy["epsilon_spent"]), float(privacy["delta_spent"])
    ok = eps <= need.max_epsilon * (1 + 1e-9) and (need.max_delta is None or delta <= need.max_delta * (1 + 1e-9))
    text = (f"differential_privacy: epsilon = {eps:.4g}, delta = {delta:.3g} "
            f"({'within' if ok else 'which breaks'} the limit epsilon <= {need.max_epsilon:g}"
            + (f", delta <= {need.max_delta:g}" if need.max_delta is not None else "") + ")")
    return CheckResult("differential_privacy", "differential_privacy", "value", eps, float(need.max_epsilon), "<=",
                       "block", ok, text, "" if ok else fix)
