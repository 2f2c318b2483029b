"""The engine contract: scikit-learn style estimators that learn structured columns.

An *engine* learns and samples the structured part of a table. It sees a frame whose columns are
either ``numerical`` (float64, NaN = missing) or ``categorical`` (object values, NaN = missing); the
:class:`~synthstruct.synthesizers.table.TableSynthesizer` converts datetimes, booleans and ordinals
to these two kinds, applies value protection, and generates ``id``/``pii``/``text`` columns itself.

Contract (checked for every registered engine by :mod:`synthstruct.testing`):

* ``__init__`` only stores keyword arguments (``get_params`` returns them);
* ``fit(frame, *, kinds, target=None, seed=0) -> self`` validates and learns; learned state ends in
  ``_``;
* ``sample(n, *, seed) -> DataFrame`` returns ``n`` rows with the fitted columns, same kinds;
  the same fitted engine and seed give identical output;
* unfitted ``sample`` raises :class:`~synthstruct.errors.NotFittedError`;
* ``save(directory)`` writes the state into an existing empty directory and
  ``load(directory)`` (classmethod) reads it back. Formats that can run code on load (pickle)
  must be authenticated before they are read (see :mod:`synthstruct.synthesizers.persistence`).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, ClassVar, Literal

import pandas as pd

from synthstruct.errors import InputError, NotFittedError, Problem

__all__ = ["BaseEngine", "Kind", "check_is_fitted"]

Kind = Literal["numerical", "categorical"]


def check_is_fitted(estimator: Any) -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has learned attributes (ending in ``_``)."""
    fitted = [k for k in vars(estimator) if k.endswith("_") and not k.startswith("__")]
    if not fitted:
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with appropriate "
            "arguments before using this estimator."
        )


class BaseEngine:
    """Template for engines: validates input in ``fit`` and delegates to ``_fit``/``_sample``."""

    #: Registry name of the engine.
    name: ClassVar[str] = "base"
    #: Whether ``save`` produces files that can only be read by unpickling (needs authentication).
    uses_pickle: ClassVar[bool] = False
    #: Whether two fits with the same data and seed give the same model (False for DP engines, whose
    #: noise comes from a cryptographic RNG so that the recorded seed cannot be used to remove it).
    deterministic_fit: ClassVar[bool] = True
    #: Whether the engine gives a differential privacy guarantee (it then receives the schema's public
    #: domain as ``domain`` and the table synthesizer switches data-dependent steps off).
    differentially_private: ClassVar[bool] = False

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's keyword arguments as stored on the instance (scikit-learn contract)."""
        sig = inspect.signature(type(self).__init__)
        return {
            p: getattr(self, p)
            for p in sig.parameters
            if p != "self" and sig.parameters[p].kind is inspect.Parameter.KEYWORD_ONLY
        }

    def set_params(self, **params: Any) -> "BaseEngine":
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise InputError(f"invalid parameter {key!r} for engine {self.name!r}",
                                 [Problem(f"engine.{key}", "unknown parameter", f"use one of: {', '.join(valid)}")])
            setattr(self, key, value)
        return self

    def fit(self, frame: pd.DataFrame, *, kinds: dict[str, Kind], target: str | None = None,
            seed: int = 0) -> "BaseEngine":
        """Learn the joint distribution of ``frame``.

        Args:
            frame: Training rows; columns as described in the module docstring.
            kinds: Column name -> ``"numerical"`` or ``"categorical"`` for every column of ``frame``.
            target: Optional label column, which engines may use to condition on.
            seed: Seed for any randomness in fitting.
        """
        missing = [c for c in frame.columns if c not in kinds]
        bad = [c for c, k in kinds.items() if k not in ("numerical", "categorical")]
        if missing or bad or len(frame) == 0:
            problems = [Problem(f"column {c!r}", "has no kind", "pass kinds for every column") for c in missing]
            problems += [Problem(f"column {c!r}", "kind must be numerical or categorical", "") for c in bad]
            if len(frame) == 0:
                problems.append(Problem("(table)", "has no rows", "pass training rows"))
            raise InputError(f"invalid input to engine {self.name!r}", problems)
        self._fit(frame, kinds=dict(kinds), target=target, seed=int(seed))
        self.columns_ = list(frame.columns)
        self.kinds_ = {c: kinds[c] for c in frame.columns}
        return self

    def sample(self, n: int, *, seed: int = 0) -> pd.DataFrame:
        """Draw ``n`` synthetic rows."""
        check_is_fitted(self)
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise InputError("invalid number of rows",
                             [Problem("n", "must be a non-negative integer", "pass e.g. n=1000")])
        out = self._sample(n, seed=int(seed))
        return out if list(out.columns) == self.columns_ else out[self.columns_]

    # -- to implement -------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame, *, kinds: dict[str, Kind], target: str | None, seed: int) -> None:
        raise NotImplementedError

    def _sample(self, n: int, *, seed: int) -> pd.DataFrame:
        raise NotImplementedError

    def save(self, directory: Path) -> None:
        raise NotImplementedError

    @classmethod
    def load(cls, directory: Path) -> "BaseEngine":
        raise NotImplementedError
