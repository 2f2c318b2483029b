"""Every registered engine passes the conformance suite in :mod:`synthstruct.testing`, one check per test id."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from synthstruct._registry import ENGINES
from synthstruct.testing import CHECKS, check_engine

# Tiny settings so deep engines run the whole suite in seconds.
_FAST_PARAMS = {"ctgan": {"epochs": 1, "batch_size": 40}, "tvae": {"epochs": 1, "batch_size": 40}}
_SLOW = {"ctgan", "tvae"}


def _cases() -> list:
    return [pytest.param(name, check, id=f"{name}-{check.__name__}",
                         marks=[pytest.mark.slow] if name in _SLOW else [])
            for name in ENGINES.names() for check in CHECKS]


@pytest.mark.parametrize(("name", "check"), _cases())
def test_engine_conforms(name: str, check: Callable) -> None:
    engine_class = ENGINES.get(name)
    params = _FAST_PARAMS.get(name, {})
    check(lambda: engine_class(**params))


def test_check_engine_catches_a_broken_engine() -> None:
    from synthstruct.synthesizers.fast_copula import FastCopulaEngine

    class IgnoresSeed(FastCopulaEngine):
        def _sample(self, n, *, seed):  # type: ignore[no-untyped-def]
            return super()._sample(n, seed=0)

    with pytest.raises(AssertionError, match="check_deterministic"):
        check_engine(lambda: IgnoresSeed())
