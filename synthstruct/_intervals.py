"""Binomial confidence intervals shared by the gate's metrics and the DP audit (scipy.special only)."""

from __future__ import annotations

__all__ = ["clopper_pearson"]


def clopper_pearson(successes: int, total: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Clopper–Pearson) two-sided ``1 - alpha`` interval of a binomial rate.

    Conservative: it covers the true rate at least ``1 - alpha`` of the time, also at 0 and 1
    (e.g. 10 of 10 gives ``[0.692, 1.0]``, 0 of 10 gives ``[0.0, 0.308]``).
    """
    if total <= 0:
        return (0.0, 1.0)
    from scipy.special import betaincinv  # the beta quantile, without importing scipy.stats

    low = 0.0 if successes <= 0 else float(betaincinv(successes, total - successes + 1, alpha / 2))
    high = 1.0 if successes >= total else float(betaincinv(successes + 1, total - successes, 1 - alpha / 2))
    return (low, high)
