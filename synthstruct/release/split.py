"""Split real rows into train and holdout before anything is fitted.

The holdout is the privacy and fidelity reference: real rows the synthesizer never saw, so metrics
can say "the synthetic data is no closer to the training rows than a fresh real sample is".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthstruct.errors import DataValidationError, Problem
from synthstruct.release.policy import SplitSpec

__all__ = ["split_train_holdout"]


def split_train_holdout(frame: pd.DataFrame, *, spec: SplitSpec, seed: int,
                        stratify_on: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deterministic (stratified) split; returns ``(train, holdout)`` with fresh indexes.

    Raises:
        DataValidationError: too few rows for a holdout of ``spec.min_holdout_rows`` rows.
    """
    n = len(frame)
    n_holdout = int(round(n * spec.holdout_fraction))
    if n_holdout < spec.min_holdout_rows or n - n_holdout < spec.min_holdout_rows:
        raise DataValidationError("too few rows to hold out a privacy reference", [
            Problem("(table)", f"{n} rows give a holdout of {n_holdout} rows; at least "
                    f"{spec.min_holdout_rows} are needed on each side",
                    "provide more rows, or lower split.min_holdout_rows / raise holdout_fraction in the policy")])
    rng = np.random.default_rng(seed)
    if stratify_on is not None and spec.stratify:
        labels = frame[stratify_on].astype(str).fillna("\u0000missing").to_numpy()
        holdout_idx: list[np.ndarray] = []
        for label in sorted(set(labels)):
            members = np.flatnonzero(labels == label)
            rng.shuffle(members)
            holdout_idx.append(members[: int(round(len(members) * spec.holdout_fraction))])
        is_holdout = np.zeros(n, dtype=bool)
        is_holdout[np.concatenate(holdout_idx)] = True
    else:
        order = rng.permutation(n)
        is_holdout = np.zeros(n, dtype=bool)
        is_holdout[order[:n_holdout]] = True
    return _rows(frame, ~is_holdout), _rows(frame, is_holdout)


def _rows(frame: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """``frame[mask].reset_index(drop=True)`` without the second copy (which also consolidates every column
    into 2-D blocks: 2.2 s on a 1M-row table): ``take`` makes a new frame whose index is replaced in place."""
    part = frame.take(np.flatnonzero(mask))
    part.index = pd.RangeIndex(len(part))
    return part
