"""The ``template`` backend: deterministic text without a model.

It writes sentences from a small neutral phrase bank and mentions the row's conditioning values
(``"Rating: 5"``), so that a release with free text works offline, fast and reproducibly — for
tests and for users who want no model at all. Nothing here is learned from training text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from synthstruct.text.base import TextRequest

__all__ = ["TemplateTextGenerator"]

_OPENERS = ("This one is about", "A note on", "Feedback regarding", "Comments on", "Thoughts about")
_ADJECTIVES = ("Nice", "Fine", "Solid", "Decent", "Mixed feelings on", "Pleasant", "Okay", "Good")
_PHRASES = (
    "the overall impression was clear", "it matched the description", "the details were as expected",
    "there is room for improvement", "the quality felt consistent", "it arrived in good condition",
    "the experience was straightforward", "some aspects stood out more than others",
    "it would be fair to call it typical", "the result was easy to judge", "it served its purpose",
    "a second look confirmed the first impression", "the finish was neat", "nothing was surprising",
)


class TemplateTextGenerator:
    """Deterministic template text that mentions the conditioning values.

    Args:
        options: Schema ``backend`` options (none are used).
        column: Column name (for messages).
    """

    name = "template"

    def __init__(self, *, options: dict[str, Any] | None = None, column: str = "") -> None:
        self.column = column
        self.options = dict(options or {})
        self.stats_: dict[str, int] = {"requests": 0}

    def generate(self, requests: Sequence[TextRequest], *, seed: int) -> list[str]:
        """One template text per request; identical request + seed give identical text."""
        self.stats_["requests"] += len(requests)
        return [self._one(r, seed) for r in requests]

    @staticmethod
    def _one(request: TextRequest, seed: int) -> str:
        key = json.dumps([seed, request.seed, request.context, request.messages[-1]["content"]], sort_keys=True)
        rng = np.random.default_rng(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))
        target = max(min(int(request.target_words), int(request.max_words)), 1)
        values = list(request.context.values())
        if target < 8:  # a title-like text: an adjective and the most specific conditioning value
            words = [_ADJECTIVES[rng.integers(len(_ADJECTIVES))]] + (values[-1].split() if values else ["item"])
            return " ".join(words[:max(target, 2)])
        about = ", ".join(f"{k}: {v}" for k, v in request.context.items()) or "this item"
        sentences = [f"{_OPENERS[rng.integers(len(_OPENERS))]} {about}."]
        while sum(len(x.split()) for x in sentences) < target:
            phrase = _PHRASES[rng.integers(len(_PHRASES))]
            sentences.append(phrase[0].upper() + phrase[1:] + ".")
        while len(sentences) > 1 and sum(len(x.split()) for x in sentences) > target:
            sentences.pop()
        return " ".join(sentences)
