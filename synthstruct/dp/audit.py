"""Empirical privacy auditing: a statistical lower bound on ε from a distinguishing attack.

Run a mechanism many times on neighbouring datasets (with and without one planted canary row), score
each output with an attack, and turn the attack's true- and false-positive rates into a lower bound on
the ε any (ε, δ)-DP mechanism must have to allow them: for every threshold,
``TPR <= e^ε FPR + δ`` and ``1 - FPR <= e^ε (1 - TPR) + δ``. The threshold is chosen on one half of the
runs and the bound computed on the other half with Clopper–Pearson intervals, so the bound holds with
the stated confidence. A bound above the claimed ε proves the claim false (e.g. noise switched off);
a bound below it is consistent with the claim (an audit can only refute, never prove, a guarantee).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synthstruct._intervals import clopper_pearson

__all__ = ["AuditResult", "clopper_pearson", "epsilon_lower_bound"]


@dataclass(frozen=True)
class AuditResult:
    """The audit's bound and the rates it came from (on the evaluation half)."""

    epsilon_lower: float
    threshold: float
    tpr: float
    fpr: float
    trials: int
    confidence: float


def _bound(tp: int, n_in: int, fp: int, n_out: int, delta: float, alpha: float) -> float:
    """ε lower bound from one threshold: each rate's one-sided ``1 - alpha`` Clopper–Pearson bound is
    used on the side that makes the bound conservative (``2 alpha`` is the two-sided level)."""
    tpr_lo, tpr_hi = clopper_pearson(tp, n_in, 2 * alpha)
    fpr_lo, fpr_hi = clopper_pearson(fp, n_out, 2 * alpha)
    best = 0.0
    if tpr_lo - delta > 0 and fpr_hi > 0:  # TPR <= e^eps FPR + delta
        best = max(best, math.log((tpr_lo - delta) / fpr_hi))
    if (1 - fpr_hi) - delta > 0 and (1 - tpr_lo) > 0:  # 1 - FPR <= e^eps (1 - TPR) + delta
        best = max(best, math.log(((1 - fpr_hi) - delta) / (1 - tpr_lo)))
    return best


def epsilon_lower_bound(scores_in: np.ndarray, scores_out: np.ndarray, *, delta: float,
                        confidence: float = 0.95) -> AuditResult:
    """Lower bound on ε from attack scores of runs with (``scores_in``) and without the canary.

    The first half of each array picks the threshold (the one with the best point estimate); the second
    half gives the bound, with both rates' intervals at ``confidence`` jointly (Bonferroni).
    """
    scores_in, scores_out = np.asarray(scores_in, float), np.asarray(scores_out, float)
    half_in, half_out = len(scores_in) // 2, len(scores_out) // 2
    pick_in, eval_in = scores_in[:half_in], scores_in[half_in:]
    pick_out, eval_out = scores_out[:half_out], scores_out[half_out:]
    alpha = (1 - confidence) / 2  # two rates, each bounded on one side at 1 - alpha (Bonferroni)
    candidates = np.unique(np.concatenate([pick_in, pick_out]))
    best_t, best = float(candidates[0]) if len(candidates) else 0.0, -1.0
    for t in candidates:
        value = _bound(int((pick_in >= t).sum()), len(pick_in), int((pick_out >= t).sum()), len(pick_out), delta,
                       alpha)
        if value > best:
            best, best_t = value, float(t)
    tp, fp = int((eval_in >= best_t).sum()), int((eval_out >= best_t).sum())
    lower = _bound(tp, len(eval_in), fp, len(eval_out), delta, alpha)
    return AuditResult(lower, best_t, tp / max(len(eval_in), 1), fp / max(len(eval_out), 1),
                       len(eval_in) + len(eval_out), confidence)
