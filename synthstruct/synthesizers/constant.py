"""Generator for ``constant`` columns: the one value every training row holds, in every synthetic row.

A value held by every row says nothing about any one person, so it is carried through as it is
rather than modelled (an engine gains nothing from a column without variation). A column whose
training rows are all missing stays missing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthstruct.schema.model import ConstantColumn

__all__ = ["ConstantGenerator"]


def _plain(value: Any) -> Any:
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return str(value)
    return value


class ConstantGenerator:
    """Writes ``column.value`` or, when the schema leaves it out, the training rows' single value."""

    conditions_on_rows = False

    def __init__(self, column: ConstantColumn) -> None:
        self.column = column

    def fit(self, series: pd.Series) -> "ConstantGenerator":
        valid = series.dropna()
        self.value_ = self.column.value if self.column.value is not None else (
            _plain(valid.iloc[0]) if len(valid) else None)
        self.missing_share_ = float(series.isna().mean()) if len(series) else 0.0
        return self

    def generate(self, n: int, rng: np.random.Generator) -> pd.Series:
        """``n`` copies of the value (missing cells only when every training row was missing)."""
        return pd.Series([self.value_] * n, dtype=object)

    def to_state(self) -> dict[str, Any]:
        return {"type": "constant", "column": self.column.model_dump(mode="json"), "value": self.value_,
                "missing_share": self.missing_share_}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "ConstantGenerator":
        gen = cls(ConstantColumn.model_validate(state["column"]))
        gen.value_ = state["value"]
        gen.missing_share_ = float(state.get("missing_share", 0.0))
        return gen
