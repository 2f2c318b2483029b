"""Prompts from a schema ``text`` column and one synthetic row.

Two prompt forms, both built from the schema column and the row's conditioning values:

* **chat** (:func:`build_messages`, for instruction-following models behind ``openai``): the system
  message says what the column holds (description, style, required elements, length); the user message
  gives few-shot examples with their own conditioning values, then the row's values.
* **document** (:func:`build_document`, the ``local`` backend's default): a plain page of records, each a
  line of ``Field: value`` pairs followed by the text, ending with the row's fields and an open text line.
  A 135M-parameter model continues such a page in the domain's voice far better than it follows chat
  instructions (measured in ``docs/text.md``); generation stops at the end of the line.

Examples taken from training text are PII-scrubbed and shortened first
(:mod:`synthstruct.text.examples`), and the memorisation check rejects any answer that copies training
text anyway.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from synthstruct.schema.model import TextColumn

__all__ = ["Example", "build_document", "build_messages", "clean_answer", "field_line", "format_value"]

#: A few-shot example: the conditioning values of its row (may be empty) and its text.
Example = tuple[dict[str, str], str]

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


def _system(spec: TextColumn, column: str) -> str:
    what = spec.description or column
    lines = [f"You write realistic, original synthetic data: the field '{column}' ({what}).",
             "Write only the text itself: no preamble, no quotes, no labels, no names of real people."]
    if spec.style:
        lines.append(f"Style: {spec.style}.")
    if spec.required_elements:
        lines.append("The text must mention: " + "; ".join(spec.required_elements) + ".")
    return "\n".join(lines)


def _as_examples(examples: Sequence[str | Example]) -> list[Example]:
    return [e if isinstance(e, tuple) else ({}, str(e)) for e in examples]


def field_line(context: dict[str, str]) -> str:
    """Conditioning values as one ``Field: value | Field: value`` line."""
    return " | ".join(f"{k}: {v}" for k, v in context.items())


def _examples(examples: Sequence[str | Example]) -> str:
    if not examples:
        return ""
    shown = "\n".join(f"- ({field_line(c)}) {t}" if c else f"- {t}" for c, t in _as_examples(examples))
    return f"Examples of the kind of text (for tone only; do not copy or paraphrase them):\n{shown}\n\n"


def build_document(spec: TextColumn, column: str, context: dict[str, str], *,
                   examples: Sequence[str | Example] = (), previous: str | None = None) -> str:
    """A completion prompt: a page of example records ending with this row's fields and an open text line.

    Args:
        spec: The schema column (description and style head the page).
        column: Column name (the label of the text line).
        context: The row's conditioning values (formatted).
        examples: Few-shot examples, plain texts or ``(context, text)`` pairs.
        previous: A previous step's answer (multi-step), given as a ``Plan`` line before the text.
    """
    head = f"{spec.description or column}".rstrip(".") + "."
    if spec.style:
        head += f" Style: {spec.style}."
    if spec.required_elements:
        head += " Each mentions " + "; ".join(spec.required_elements) + "."
    records = []
    for ctx, text in _as_examples(examples):
        fields = field_line({k: v for k, v in ctx.items() if k in context} if context else ctx)
        records.append((f"{fields}\n" if fields else "") + f"{column}: {' '.join(text.split())}")
    last = (f"{field_line(context)}\n" if context else "")
    if previous:
        last += f"Plan: {' '.join(previous.split())}\n"
    records.append(last + f"{column}:")
    return head + "\n\n" + "\n\n".join(records)


def build_messages(spec: TextColumn, column: str, context: dict[str, str], *, target_words: int,
                   examples: Sequence[str | Example] | None = None, step: int | None = None,
                   previous: str | None = None) -> tuple[dict[str, str], ...]:
    """Chat messages for one text (or one step of a multi-step text).

    Args:
        spec: The schema column.
        column: Column name.
        context: Conditioning column -> value (already formatted).
        target_words: Length to ask for.
        examples: Few-shot examples (scrubbed), plain texts or ``(context, text)`` pairs; default
            ``spec.examples``.
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
