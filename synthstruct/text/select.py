"""Generate -> verify -> select: scoring candidate texts, and the time-bounded log of backend answers.

A text column asks its backend for ``candidates`` texts per row (one batched call list), runs every
check on every candidate, and keeps per row the best candidate by :func:`rank`:

1. **hard checks** (a candidate failing one is never written): ``empty``, ``short`` (below
   ``min_length``), ``echo`` (the prompt's ``Field: value`` lines repeated), ``copied`` (an ``ngram``-word
   run of training text), ``similar`` (embedding near-duplicate, with ``similarity_threshold``),
   ``duplicate`` (another selected text of the column);
2. **soft checks** (rows whose best candidate fails one get new candidates, up to ``rounds``):
   ``label_<column>`` — the verifier (:class:`~synthstruct.text.verifier.TextVerifier`: its classifier's
   probabilities times each value's training share) finds the row's value of that conditioning column the
   most probable one; ``length`` — the word count
   is within a factor :data:`LENGTH_TOLERANCE` of the row's target length (drawn from the real
   distribution of the row's class);
3. **pii** — whether the PII scrub found something to replace in the answer: replaced spans are written
   as Faker values either way, so this is neither a hard nor a soft check, only a penalty in the score;
4. **score** — the sum over labelled columns of log P(row's value | text), minus
   :data:`LENGTH_WEIGHT` x |log(words / target)|, minus 1 for replaced PII.

Candidates are ranked by (hard checks passed, soft checks failed (fewer is better), score); ties keep the earlier
candidate, so selection is deterministic.

:class:`CallLog` saves the answers of backend calls in the run's checkpoint directory, written when
the unsaved work could otherwise pass ``checkpoint_seconds`` of generation (see ``docs/text.md``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CHECKS", "HARD_CHECKS", "LENGTH_TOLERANCE", "LENGTH_WEIGHT", "MIN_WORDS_SHARE", "CallLog", "Candidate",
           "acceptance_rates", "rank", "score_candidates"]

HARD_CHECKS = ("empty", "short", "echo", "copied", "similar", "duplicate")
#: Checks counted over every candidate (``passed_<check>`` in the stats); label checks are per column.
CHECKS = (*HARD_CHECKS, "length", "pii", "label")
#: A candidate fits its target length when words / target is within [1 / this, this].
LENGTH_TOLERANCE = 1.5
#: Each request asks for at least this share of the row's target length (``TextRequest.min_words``): the
#: ``local`` backend does not let the answer end before it.
MIN_WORDS_SHARE = 0.8
#: Weight of the length misfit |log(words / target)| in the score (one label's log-probability weighs 1).
LENGTH_WEIGHT = 1.0


@dataclass
class Candidate:
    """One candidate text of one row, with the outcome of every check."""

    row: int
    text: str
    failed: list[str] = field(default_factory=list)  # hard checks failed (``duplicate`` is decided at selection)
    soft_failed: list[str] = field(default_factory=list)
    score: float = 0.0
    labels: dict[str, bool] = field(default_factory=dict)
    had_pii: bool = False  # the scrub replaced a span (the written text has a Faker value there)

    @property
    def usable(self) -> bool:
        return not self.failed

    @property
    def passing(self) -> bool:
        return not self.failed and not self.soft_failed


def rank(candidate: Candidate) -> tuple[int, int, float]:
    """Sort key, larger is better: (no hard failure, fewer soft failures, score)."""
    return (int(candidate.usable), -len(candidate.soft_failed), candidate.score)


def score_candidates(candidates: list[Candidate], contexts: list[dict[str, str]], targets: list[int],
                     had_pii: list[bool], verifier: Any) -> None:
    """Add the soft checks and the score to ``candidates`` (``contexts``/``targets``/``had_pii`` per candidate)."""
    if not candidates:
        return
    n = len(candidates)
    score = np.zeros(n)
    texts = [c.text or "-" for c in candidates]
    for column in (verifier.labelled if verifier is not None else []):
        p, agree = verifier.probabilities(texts, [ctx.get(column) for ctx in contexts], column)
        score += np.where(np.isnan(p), 0.0, np.log(np.clip(p, 1e-9, 1.0)))
        for k, c in enumerate(candidates):
            c.labels[column] = bool(agree[k])
            if not agree[k]:
                c.soft_failed.append(f"label_{column}")
    for k, c in enumerate(candidates):
        words = max(len(c.text.split()), 1)
        misfit = abs(math.log(words / max(int(targets[k]), 1)))
        if misfit > math.log(LENGTH_TOLERANCE):
            c.soft_failed.append("length")
        c.had_pii = bool(had_pii[k])
        c.score = float(score[k] - LENGTH_WEIGHT * misfit - (1.0 if had_pii[k] else 0.0))


def acceptance_rates(stats: dict[str, int]) -> dict[str, float]:
    """``acceptance_<check>``: the share of all candidates that passed each check (from ``passed_<check>``),
    and ``selected_passing_share``: the share of model-written texts whose selected candidate passed every check."""
    total = int(stats.get("candidates", 0))
    if not total:
        return {}
    out = {f"acceptance_{k[len('passed_'):]}": round(int(v) / total, 4)
           for k, v in stats.items() if k.startswith("passed_")}
    written = int(stats.get("texts", 0)) - int(stats.get("fallback_texts", 0)) - int(stats.get("resumed_texts", 0))
    if written > 0:
        out["selected_passing_share"] = round(int(stats.get("selected_passing", 0)) / written, 4)
    return out


class CallLog:
    """Answers of a text column's backend calls, saved to the run's checkpoint directory by time.

    Every call's answers are kept in memory and written (one JSON line each, one fsync) when the time
    since the last write plus the last call's duration reaches ``seconds``, so a crash loses at most
    about ``seconds`` of generation as long as one call takes less than that (one call is at most one
    model batch). A rerun finds the saved calls by their key and skips them.

    Args:
        directory: The run's checkpoint directory.
        column: Column name.
        seconds: Longest stretch of unsaved generation.
        clock: Monotonic clock (tests pass a fake one).
    """

    def __init__(self, directory: Path, column: str, *, seconds: float, clock: Callable[[], float]) -> None:
        from synthstruct.text.answer_cache import AnswerCache

        self.cache = AnswerCache(Path(directory), column + "\x00calls")
        self.seconds = float(seconds)
        self.clock = clock
        self._pending: list[tuple[str, list[str]]] = []
        self._saved_at = clock()
        self.writes = 0

    def get(self, key: str) -> list[str] | None:
        return self.cache.get(key)

    def add(self, key: str, answers: list[str], call_seconds: float) -> None:
        """Keep one call's answers; write everything unsaved if the next call could pass the time bound."""
        self._pending.append((key, list(answers)))
        if self.clock() - self._saved_at + call_seconds >= self.seconds:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self.cache.put_many(self._pending)
            self._pending = []
            self.writes += 1
        self._saved_at = self.clock()
