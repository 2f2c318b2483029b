"""Budget planning and accounting through OpenDP."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synthstruct.dp.accounting import Accountant, check_budget, epsilon_from_rho, rho_for_epsilon
from synthstruct.errors import InputError


def test_rho_for_epsilon_inverts_the_conversion() -> None:
    rho = rho_for_epsilon(1.0, 1e-6)
    assert epsilon_from_rho(rho, 1e-6) <= 1.0
    assert epsilon_from_rho(rho * 1.01, 1e-6) > 1.0
    # the textbook bound eps = rho + 2 sqrt(rho log(1/delta)) is looser than OpenDP's conversion
    assert rho + 2 * math.sqrt(rho * math.log(1e6)) >= 1.0
    assert rho_for_epsilon(4.0, 1e-6) > rho


def test_steps_are_recorded_with_opendp_privacy_maps() -> None:
    acct = Accountant(1.0, 1e-6, threshold_delta=5e-7)
    noisy = acct.gaussian_counts(np.array([10, 0, 5]), 0.001, "one_way:a")
    assert noisy.shape == (3,) and np.all(noisy == np.round(noisy))  # discrete Gaussian: integers
    assert acct.noisy_max(np.array([0.0, 1e6, 0.0]), 0.001, "select:0") == 1
    kept = acct.threshold_counts({"common": 100_000, "rare": 1}, 0.001, 1e-7, "domain:b")
    assert set(kept) == {"common"}
    steps = {s.name: s for s in acct.steps}
    assert steps["one_way:a"].rho == pytest.approx(0.001, rel=1e-6)
    assert 0 < steps["domain:b"].delta <= 1e-7
    eps, delta = acct.spent()
    assert 0 < eps < 1.0 and delta <= 1e-6
    summary = acct.summary()
    assert set(summary["split"]) == {"one_way", "select", "domain"}
    assert "OpenDP" in summary["accountant"]


@pytest.mark.parametrize("epsilon, delta, n", [(0, 1e-6, None), (-1, 1e-6, None), (float("inf"), 1e-6, None),
                                               (1.0, 0.0, None), (1.0, 1.0, None), (1.0, 0.01, 1000)])
def test_bad_budgets_are_typed_errors(epsilon: float, delta: float, n: int | None) -> None:
    with pytest.raises(InputError) as info:
        check_budget(epsilon, delta, n)
    assert info.value.exit_code == 2
