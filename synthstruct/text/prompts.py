"""Prompts from a schema ``text`` column and one synthetic row.

The system message says what the column holds (description, style, required elements, length); the
user message gives the row's conditioning values. Few-shot examples are shown as style references
with an explicit instruction not to copy them; examples taken from training text are PII-scrubbed and
shortened first (:func:`scrub_examples`), and the memorisation check rejects any answer that copies
training text anyway.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from synthstruct.schema.model import TextColumn

__all__ = ["build_messages", "clean_answer", "format_value", "scrub_examples"]

_EXAMPLE_WORDS = 40
_LABEL = re.compile(r"^\s*(?:here is|here's|sure[,!]?|certainly[,!]?)[^:\n]*:\s*", re.IGNORECASE)
_FIELD = re.compile(r"^\s*(?:title|review|text|answer|output)\s*:\s*", re.IGNORECASE)


def format_value(value: Any) -> str:
    """A conditioning value as prompt text (missing values read as 'unknown')."""
    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
        return "unknown"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def scrub_examples(texts: Sequence[str], *, max_words: int = _EXAMPLE_WORDS) -> list[str]:
    """Replace detected PII with ``<ENTITY>`` tags and cut each text to ``max_words`` words."""
    from synthstruct.privacy.scanner import scan_texts

    texts = [str(t) for t in texts]
    out = []
    for text, spans in zip(texts, scan_texts(texts)):
        for start, end, entity, _score in sorted(spans, reverse=True):
            text = text[:start] + f"<{entity}>" + text[end:]
        words = text.split()
        out.append(" ".join(words[:max_words]) + (" ..." if len(words) > max_words else ""))
    return out


def _system(spec: TextColumn, column: str) -> str:
    what = spec.description or column
    lines = [f"You write realistic, original synthetic data: the field '{column}' ({what}).",
             "Write only the text itself: no preamble, no quotes, no labels, no names of real people."]
    if spec.style:
        lines.append(f"Style: {spec.style}.")
    if spec.required_elements:
        lines.append("The text must mention: " + "; ".join(spec.required_elements) + ".")
    return "\n".join(lines)


def _examples(examples: Sequence[str]) -> str:
    if not examples:
        return ""
    shown = "\n".join(f"- {e}" for e in examples)
    return f"Examples of the kind of text (for tone only; do not copy or paraphrase them):\n{shown}\n"


def build_messages(spec: TextColumn, column: str, context: dict[str, str], *, target_words: int,
                   examples: Sequence[str] | None = None, step: int | None = None,
                   previous: str | None = None) -> tuple[dict[str, str], ...]:
    """Chat messages for one text (or one step of a multi-step text).

    Args:
        spec: The schema column.
        column: Column name.
        context: Conditioning column -> value (already formatted).
        target_words: Length to ask for.
        examples: Few-shot examples (scrubbed); default ``spec.examples``.
        step: Index into ``spec.steps`` for multi-step generation.
        previous: The previous step's answer.
    """
    examples = spec.examples if examples is None else examples
    facts = "\n".join(f"{k}: {v}" for k, v in context.items())
    user = f"{_examples(examples)}Write the {column} for this record.\n{facts}\n" if facts else \
        f"{_examples(examples)}Write one {column}.\n"
    if spec.steps and step is not None:
        user += f"\nStep {step + 1} of {len(spec.steps)}: {spec.steps[step]}\n"
        if previous:
            user += f"Result of the previous step:\n{previous}\n"
    user += f"Length: about {target_words} words."
    return ({"role": "system", "content": _system(spec, column)}, {"role": "user", "content": user})


def clean_answer(text: str, *, max_words: int) -> str:
    """Strip chat preambles, labels and wrapping quotes; cut to ``max_words`` at a sentence end if possible."""
    text = _FIELD.sub("", _LABEL.sub("", str(text or "").strip()), count=1).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'“”":
        text = text[1:-1].strip()
    text = text.replace("“", "").replace("”", "") if text.count("“") != text.count("”") else text
    words = text.split()
    if len(words) <= max_words:
        return " ".join(words)
    cut = " ".join(words[:max_words])
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[: end + 1] if end > len(cut) // 2 else cut
