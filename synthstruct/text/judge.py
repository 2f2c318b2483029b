"""Optional LLM-as-judge: the column's own backend scores a sample of generated texts from 1 to 5.

With ``judge: N`` on a text column, N generated texts (a seeded sample) are shown to the same backend
with the row's conditioning values and the column description; the backend answers
``Score: <1-5>. Reason: <why>``. The report gets numbers only — texts scored, answers that could not
be parsed, the mean score and the count per score (``text.<column>.judge_*``); the reasons stay on the
generator object (``TextColumnGenerator.judgements_``) for a person to read. A judge is only as good as
its model: the embedded 135M model is a weak grader, a large model behind ``openai`` a useful one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from synthstruct.schema.model import TextColumn
from synthstruct.text.base import TextGenerator, TextRequest
from synthstruct.text.prompts import field_line

__all__ = ["Judgement", "judge_document", "judge_prompt", "judge_texts", "parse_judgement"]

_SCORE = re.compile(r"score\D{0,12}([1-5])(?![0-9])", re.IGNORECASE)
_LEADING = re.compile(r"^\D{0,3}([1-5])(?![0-9])")
_REASON = re.compile(r"reason\s*[:\-]\s*(.+)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Judgement:
    """One graded text: its row position, the score (``None`` when the answer had none) and the reason."""

    row: int
    score: int | None
    reason: str


def judge_prompt(spec: TextColumn, column: str, context: dict[str, str], text: str) -> tuple[dict[str, str], ...]:
    """Chat messages asking for a 1-5 realism score with a reason."""
    what = spec.description or column
    fields = "\n".join(f"{k}: {v}" for k, v in context.items())
    user = (f"Record:\n{fields}\n{column}: {text}\n\n" if fields else f"{column}: {text}\n\n") + (
        f"Does the {column} read like a real {what}" + (" and fit the record" if fields else "") + "? "
        "Answer with a score from 1 (not at all) to 5 (completely) and one short reason, "
        "exactly as: Score: <1-5>. Reason: <reason>")
    return ({"role": "system", "content": "You grade synthetic data for realism. Be strict and brief."},
            {"role": "user", "content": user})


def judge_document(spec: TextColumn, column: str, context: dict[str, str], text: str) -> str:
    """The same question as a completion prompt (for the ``local`` backend): the answer line starts
    with the score."""
    what = spec.description or column
    fields = field_line(context)
    return (f"Grades from 1 (not at all) to 5 (completely) of whether a text reads like a real {what}"
            + (" and fits its record" if fields else "") + ", each with a short reason.\n\n"
            + (f"{fields}\n" if fields else "") + f"{column}: {' '.join(text.split())}\nScore (1-5) and reason:")


def parse_judgement(answer: str) -> tuple[int | None, str]:
    """``(score, reason)`` from a judge answer; the score is ``None`` when none is given."""
    answer = str(answer or "").strip()
    match = _SCORE.search(answer) or _LEADING.search(answer)
    reason = _REASON.search(answer)
    return (int(match.group(1)) if match else None), (reason.group(1).strip() if reason else answer)[:300]


def judge_texts(backend: TextGenerator, spec: TextColumn, column: str, contexts: Sequence[dict[str, str]],
                texts: Sequence[str], rows: Sequence[int], *, seed: int) -> tuple[list[Judgement], dict[str, float]]:
    """Grade ``texts`` (with their rows' ``contexts``) with ``backend``.

    Returns:
        The judgements and the report numbers: ``judge_scored``, ``judge_unparsed``, ``judge_mean``
        (``None`` when nothing parsed) and ``judge_score_1`` ... ``judge_score_5``.
    """
    requests = [TextRequest(messages=judge_prompt(spec, column, ctx, text), max_words=40, target_words=20,
                            context=ctx, seed=seed + k, document=judge_document(spec, column, ctx, text))
                for k, (ctx, text) in enumerate(zip(contexts, texts))]
    answers = backend.generate(requests, seed=seed) if requests else []
    judgements = [Judgement(row, *parse_judgement(a)) for row, a in zip(rows, answers)]
    scores = np.array([j.score for j in judgements if j.score is not None], dtype=float)
    stats: dict[str, float] = {"judge_scored": float(len(scores)),
                               "judge_unparsed": float(len(judgements) - len(scores)),
                               "judge_mean": round(float(scores.mean()), 3) if scores.size else None}
    for value in range(1, 6):
        stats[f"judge_score_{value}"] = float((scores == value).sum())
    return judgements, stats
