"""The placeholder text generator: clearly labelled filler for ``text`` columns.

Until an LLM backend is configured for a column (the *Free text* work), free-text columns are never
learned from the real text — real text is where names, account numbers and stories hide. Instead
each cell gets a sentence that says it is a placeholder, padded with neutral filler words so that
the length distribution (learned as a few quantiles, not the text) looks like the real column's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PLACEHOLDER_PREFIX", "PlaceholderTextGenerator"]

PLACEHOLDER_PREFIX = "[synthetic placeholder text]"
_FILLER = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do",
           "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna", "aliqua")


class PlaceholderTextGenerator:
    """Writes labelled placeholder text with the real column's missing share and length profile.

    Args:
        column: Column name (used in nothing but the state, for reports).
    """

    name = "placeholder"

    def __init__(self, *, column: str = "") -> None:
        self.column = column

    def fit(self, series: pd.Series) -> PlaceholderTextGenerator:
        lengths = series.dropna().astype(str).str.split().str.len().to_numpy(dtype=float)
        self.missing_share_ = float(series.isna().mean()) if len(series) else 0.0
        # 11 quantiles of the word count: a coarse profile, no text is kept.
        self.length_quantiles_ = (np.quantile(lengths, np.linspace(0, 1, 11)).round().tolist()
                                  if lengths.size else [5.0] * 11)
        return self

    def generate(self, n: int, rng: np.random.Generator) -> pd.Series:
        q = np.asarray(self.length_quantiles_, dtype=float)
        words = np.interp(rng.random(n), np.linspace(0, 1, q.size), q).round().astype(int)
        missing = rng.random(n) < self.missing_share_
        texts: list[Any] = []
        for i in range(n):
            if missing[i]:
                texts.append(np.nan)
                continue
            extra = max(int(words[i]) - 3, 0)
            filler = " ".join(_FILLER[j] for j in rng.integers(0, len(_FILLER), size=extra))
            texts.append(f"{PLACEHOLDER_PREFIX} {filler}".strip())
        return pd.Series(texts, dtype=object)

    def to_state(self) -> dict[str, Any]:
        return {"column": self.column, "missing_share": self.missing_share_,
                "length_quantiles": self.length_quantiles_}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PlaceholderTextGenerator:
        gen = cls(column=state["column"])
        gen.missing_share_ = float(state["missing_share"])
        gen.length_quantiles_ = [float(v) for v in state["length_quantiles"]]
        return gen
