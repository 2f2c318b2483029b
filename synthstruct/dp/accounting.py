"""Privacy budget: plan, spend and account (ε, δ) with OpenDP mechanisms under zero-concentrated DP.

Every noisy statistic is released by an OpenDP measurement (no hand-written samplers: OpenDP samples
exactly from the discrete Gaussian / Gumbel / threshold distributions with a cryptographic RNG, which
avoids the known floating-point attacks on naive samplers). Each measurement's privacy loss comes from
OpenDP's own privacy map at the declared sensitivity; zCDP losses add up (sequential composition),
threshold steps add their δ, and the total ρ is converted to (ε, δ) with OpenDP's
``make_zCDP_to_approxDP``.

Neighbouring datasets differ by adding or removing one row ("add/remove one", OpenDP's
``symmetric_distance`` of 1): a count vector then moves by 1 in one cell (L2 and L∞ sensitivity 1).

OpenDP features used: ``contrib`` only (the measurements ``make_gaussian``, ``make_noisy_max``,
``make_gaussian_threshold``, ``make_private_quantile`` and the combinator ``make_zCDP_to_approxDP``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from synthstruct.errors import InputError, Problem

__all__ = ["Accountant", "Step", "epsilon_from_rho", "opendp_version", "rho_for_epsilon"]

_FEATURES = ("contrib",)


def _dp() -> Any:
    import opendp.prelude as dp

    dp.enable_features(*_FEATURES)
    return dp


def opendp_version() -> str:
    from importlib.metadata import version

    return version("opendp")


def epsilon_from_rho(rho: float, delta: float) -> float:
    """ε of ρ-zCDP at ``delta``, by OpenDP's zCDP → approximate-DP conversion."""
    if rho <= 0:
        return 0.0
    dp = _dp()
    # A Gaussian mechanism with scale 1 at distance sqrt(2ρ) is exactly ρ-zCDP (OpenDP rounds up).
    base = dp.m.make_gaussian(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=1.0)
    return float(dp.c.make_zCDP_to_approxDP(base).map(math.sqrt(2.0 * rho)).epsilon(delta))


@lru_cache(maxsize=64)
def rho_for_epsilon(epsilon: float, delta: float) -> float:
    """The largest ρ whose conversion gives at most ``epsilon`` at ``delta`` (bisection, conservative)."""
    lo, hi = 0.0, max(epsilon, 1.0)
    while epsilon_from_rho(hi, delta) < epsilon:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        if epsilon_from_rho(mid, delta) <= epsilon:
            lo = mid
        else:
            hi = mid
    return lo


@dataclass
class Step:
    """One released statistic: what it is, the mechanism and its privacy loss (from OpenDP's map)."""

    name: str
    mechanism: str
    rho: float
    delta: float = 0.0
    scale: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)


class Accountant:
    """Plans a total ρ from (ε, δ), releases statistics with OpenDP and records every step.

    Args:
        epsilon: Total ε of the release (> 0).
        delta: Total δ (0 < δ < 1).
        threshold_delta: Part of ``delta`` reserved for thresholded category discovery (0 when
            every domain is declared); the rest goes to the zCDP → (ε, δ) conversion.
    """

    def __init__(self, epsilon: float, delta: float, *, threshold_delta: float = 0.0) -> None:
        check_budget(epsilon, delta)
        self.epsilon = float(epsilon)
        self.delta = float(delta)
        self.threshold_delta = float(threshold_delta)
        self.conversion_delta = self.delta - self.threshold_delta
        # keep a hair of slack for OpenDP's conservative rounding of each map
        self.rho_total = rho_for_epsilon(self.epsilon, self.conversion_delta) * (1 - 1e-6)
        self.steps: list[Step] = []

    # ------------------------------------------------------------------ mechanisms
    def gaussian_counts(self, counts: np.ndarray, rho: float, name: str) -> np.ndarray:
        """Release an integer count vector (L2 sensitivity 1) with discrete Gaussian noise of budget ``rho``."""
        dp = _dp()
        scale = 1.0 / math.sqrt(2.0 * rho) * (1 + 1e-9)
        meas = dp.m.make_gaussian(dp.vector_domain(dp.atom_domain(T=int)), dp.l2_distance(T=int), scale=scale)
        spent = float(meas.map(1))
        noisy = np.asarray(meas([int(c) for c in np.asarray(counts).ravel()]), dtype=np.float64)
        self.steps.append(Step(name, "discrete gaussian (make_gaussian)", spent, 0.0, scale,
                               {"cells": int(np.asarray(counts).size)}))
        return noisy.reshape(np.asarray(counts).shape)

    def noisy_max(self, scores: np.ndarray, rho: float, name: str) -> int:
        """Index of the best score (L∞ sensitivity 1, not monotonic): exponential mechanism via Gumbel noise."""
        dp = _dp()
        scale = 1.0 / math.sqrt(2.0 * rho) * (1 + 1e-9)
        meas = dp.m.make_noisy_max(dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.linf_distance(T=float),
                                   dp.zero_concentrated_divergence(), scale=scale)
        spent = float(meas.map(1.0))
        index = int(meas([float(s) for s in scores]))
        self.steps.append(Step(name, "exponential mechanism (make_noisy_max)", spent, 0.0, scale,
                               {"candidates": int(len(scores))}))
        return index

    def threshold_counts(self, counts: dict[str, int], rho: float, delta: float, name: str) -> dict[str, float]:
        """Keys whose noisy count passes a threshold (Gaussian stability histogram): discovers a category
        domain without revealing keys held by few rows. Costs ``rho`` and ``delta``."""
        dp = _dp()
        scale = 1.0 / math.sqrt(2.0 * rho) * (1 + 1e-9)
        domain = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T=int))
        metric = dp.l02inf_distance(dp.absolute_distance(T=int))

        def make(threshold: int) -> Any:
            return dp.m.make_gaussian_threshold(domain, metric, scale=scale, threshold=threshold)

        lo, hi = 1, 2
        while make(hi).map((1, 1, 1))[1] > delta:
            lo, hi = hi, hi * 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if make(mid).map((1, 1, 1))[1] > delta:
                lo = mid
            else:
                hi = mid
        meas = make(hi)
        spent_rho, spent_delta = (float(x) for x in meas.map((1, 1, 1)))
        released = meas({str(k): int(v) for k, v in counts.items()}) if counts else {}
        self.steps.append(Step(name, "gaussian threshold (make_gaussian_threshold)", spent_rho, spent_delta, scale,
                               {"threshold": int(hi)}))
        return {str(k): float(v) for k, v in released.items()}

    def quantile(self, values: np.ndarray, candidates: list[float], alpha: float, rho: float, name: str) -> float:
        """A private ``alpha``-quantile of ``values`` among public ``candidates`` (exponential mechanism)."""
        dp = _dp()
        domain = dp.vector_domain(dp.atom_domain(T=float, nan=False))

        def make(scale: float) -> Any:
            return dp.m.make_private_quantile(domain, dp.symmetric_distance(), dp.zero_concentrated_divergence(),
                                              candidates=candidates, alpha=alpha, scale=scale)

        scale = float(dp.binary_search_param(make, d_in=1, d_out=rho, T=float))
        meas = make(scale)
        spent = float(meas.map(1))
        value = float(meas([float(v) for v in values]))
        self.steps.append(Step(name, "private quantile (make_private_quantile)", spent, 0.0, scale,
                               {"alpha": alpha, "candidates": len(candidates)}))
        return value

    # ------------------------------------------------------------------ totals
    @property
    def rho_spent(self) -> float:
        return float(sum(s.rho for s in self.steps))

    @property
    def threshold_delta_spent(self) -> float:
        return float(sum(s.delta for s in self.steps))

    def spent(self) -> tuple[float, float]:
        """(ε, δ) actually spent: the composed ρ converted at the conversion δ, plus the thresholds' δ."""
        return epsilon_from_rho(self.rho_spent, self.conversion_delta), self.conversion_delta + self.threshold_delta_spent

    def summary(self) -> dict[str, Any]:
        """The accounting record for the manifest and report (JSON-ready)."""
        eps, delta = self.spent()
        groups: dict[str, float] = {}
        for s in self.steps:
            key = s.name.split(":", 1)[0]
            groups[key] = groups.get(key, 0.0) + s.rho
        return {
            "epsilon": self.epsilon, "delta": self.delta,
            "epsilon_spent": eps, "delta_spent": delta,
            "accountant": "zCDP (sequential composition of rho; thresholds add delta) converted to (epsilon, delta) "
                          "with OpenDP make_zCDP_to_approxDP",
            "neighbouring": "add or remove one training row",
            "library": f"opendp {opendp_version()} (features: {', '.join(_FEATURES)})",
            "rho_total": self.rho_total, "rho_spent": self.rho_spent,
            "split": {k: {"rho": v, "share": v / self.rho_spent if self.rho_spent else 0.0} for k, v in groups.items()},
            "steps": [asdict(s) for s in self.steps],
        }


def check_budget(epsilon: Any, delta: Any, n_rows: int | None = None) -> None:
    """Raise :class:`InputError` (exit 2) for an unusable budget: ε ≤ 0, δ outside (0, 1), δ ≥ 1/n."""
    problems = []
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not math.isfinite(epsilon) or epsilon <= 0:
        problems.append(Problem("epsilon", "must be a finite number > 0",
                                "pass e.g. --epsilon 1 (smaller = more private, noisier)"))
    if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not 0 < delta < 1:
        problems.append(Problem("delta", "must be a number in (0, 1)", "pass e.g. --delta 1e-6"))
    elif n_rows is not None and n_rows > 0 and delta >= 1.0 / n_rows:
        problems.append(Problem("delta", f"must be below 1/n = 1/{n_rows} training rows (a larger delta allows "
                                "releasing a whole row outright)", f"pass e.g. --delta {_suggest(n_rows)}"))
    if problems:
        raise InputError("invalid differential privacy budget", problems)


def _suggest(n: int) -> str:
    return f"{10.0 ** -math.ceil(math.log10(n) + 1):.0e}"
