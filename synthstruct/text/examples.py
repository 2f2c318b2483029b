"""Few-shot examples from the training text: PII-scrubbed with Presidio's anonymizer, matched to each row.

A small model writes domain text far better when it sees a few real texts of the same kind: a
3-star dress review next to other middling dress reviews. :class:`ExamplePool` keeps a stratified
sample of training texts (``pool_size``, in memory only — never saved with a model), each with the
conditioning values of its row. Before anything is shown to a model:

* every PII span the scanner finds is replaced by Presidio's ``AnonymizerEngine`` with a Faker value of
  the same kind (a name for a name, a phone number for a phone number), so an example never carries a
  real identifier and the model sees natural text rather than ``<PERSON>`` tags;
* whitespace is collapsed and the text is cut to ``max_words`` words (at a sentence end where possible).

For each synthetic row :meth:`ExamplePool.pick` draws ``k`` examples whose conditioning values match
the row best (earlier ``conditioned_on`` columns weigh more), ties broken by the row's seed. The
answers are still checked for copied n-grams against the *whole* training text, so an answer that
leans too close to its examples is rejected and regenerated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ExamplePool", "anonymize_texts", "shorten"]

_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def shorten(text: str, max_words: int) -> str:
    """Collapse whitespace and cut to ``max_words`` words, at the last sentence end when it keeps half."""
    words = str(text).split()
    if len(words) <= max_words:
        return " ".join(words)
    cut = " ".join(words[:max_words])
    ends = [m.end() for m in _SENTENCE_END.finditer(cut)]
    return cut[: ends[-1]] if ends and ends[-1] > len(cut) // 2 else cut


def anonymize_texts(texts: Sequence[str], *, seed: int, locale: str = "en_US") -> tuple[list[str], int]:
    """Replace every PII span with a Faker value of the same kind, through Presidio's ``AnonymizerEngine``.

    Spans come from the project's scanner (:func:`synthstruct.pii.scanner.scan_texts`, which
    runs Presidio's recognizers in bulk; all-lower-case texts are scanned title-cased so that names
    are found there too); the anonymizer applies them (overlaps resolved, right to
    left). Entities without a Faker strategy become ``[ID]``.

    Returns:
        The anonymized texts and the number of spans replaced.
    """
    from faker import Faker
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

    from synthstruct.pii.scanner import scan_texts
    from synthstruct.text.checks import _draw

    fake = Faker(locale)
    fake.seed_instance(int(seed))

    counts = {"pii_redrawn": 0, "pii_tagged": 0}

    def surrogate(entity: str) -> Any:
        if entity == "MEDICAL_RECORD_NUMBER":  # no Faker provider; an MRN-shaped value keeps the example natural
            return lambda _value: fake.bothify("MRN-########")
        return lambda _value: _draw(fake, entity, None, counts)

    engine = AnonymizerEngine()
    out, replaced = [], 0
    for text, spans in zip(texts, scan_texts(list(texts), restore_case=True)):
        if not spans:
            out.append(text)
            continue
        results = [RecognizerResult(entity_type=e, start=s, end=t, score=float(p)) for s, t, e, p in spans]
        operators = {e: OperatorConfig("custom", {"lambda": surrogate(e)}) for e in {r.entity_type for r in results}}
        out.append(engine.anonymize(text=text, analyzer_results=results, operators=operators).text)
        replaced += len(spans)
    return out, replaced


class ExamplePool:
    """Scrubbed training texts with their conditioning values, for row-matched few-shot prompts.

    Args:
        conditioned_on: The column's conditioning columns (in order of weight).
        pool_size: Training texts kept (a sample stratified on the first conditioning column).
        max_words: Words kept per example.
        seed: Seed for the sample and the Faker surrogates.
    """

    def __init__(self, conditioned_on: Sequence[str], *, pool_size: int = 300, max_words: int = 40,
                 seed: int = 0) -> None:
        self.conditioned_on = list(conditioned_on)
        self.pool_size = pool_size
        self.max_words = max_words
        self.seed = seed
        self.texts_: list[str] = []
        self.contexts_: list[dict[str, str]] = []
        self.pii_replaced_ = 0

    def fit(self, texts: pd.Series, frame: pd.DataFrame | None, format_value: Any) -> ExamplePool:
        """Sample, scrub and shorten examples from ``texts`` (index aligned with ``frame``)."""
        texts = texts.dropna().astype(str)
        texts = texts[texts.str.split().str.len() >= 3]
        cols = [c for c in self.conditioned_on if frame is not None and c in frame.columns]
        picks = self._sample(texts, frame, cols)
        scrubbed, self.pii_replaced_ = anonymize_texts(list(texts.loc[picks]), seed=self.seed)
        self.texts_ = [shorten(t, self.max_words) for t in scrubbed]
        self.contexts_ = [{c: format_value(frame.at[i, c]) for c in cols} for i in picks] if cols else \
            [{} for _ in picks]
        self._codes = self._encode(self.contexts_)
        return self

    def _sample(self, texts: pd.Series, frame: pd.DataFrame | None, cols: list[str]) -> list[Any]:
        if len(texts) <= self.pool_size:
            return list(texts.index)
        rng = np.random.default_rng(self.seed)
        if not cols:
            return list(rng.choice(np.asarray(texts.index), self.pool_size, replace=False))
        strata = frame.loc[texts.index, cols[0]].astype(str)
        groups = {k: np.asarray(v) for k, v in texts.groupby(strata.to_numpy()).groups.items()}
        share = max(self.pool_size // max(len(groups), 1), 1)
        picks: list[Any] = []
        for key in sorted(groups):  # every stratum gets its share (rare labels included), the rest by size
            idx = groups[key]
            picks += list(rng.choice(idx, min(share, len(idx)), replace=False))
        rest = np.setdiff1d(np.asarray(texts.index), np.asarray(picks))
        if len(picks) < self.pool_size and len(rest):
            picks += list(rng.choice(rest, min(self.pool_size - len(picks), len(rest)), replace=False))
        return sorted(picks[: self.pool_size], key=str)

    def _encode(self, contexts: list[dict[str, str]]) -> np.ndarray:
        self._vocab = [{} for _ in self.conditioned_on]
        codes = np.full((len(contexts), len(self.conditioned_on)), -1, dtype=np.int64)
        for i, ctx in enumerate(contexts):
            for j, col in enumerate(self.conditioned_on):
                if col in ctx:
                    codes[i, j] = self._vocab[j].setdefault(ctx[col], len(self._vocab[j]))
        return codes

    def __len__(self) -> int:
        return len(self.texts_)

    def pick(self, context: dict[str, str], k: int, seed: int) -> list[tuple[dict[str, str], str]]:
        """``k`` examples ``(context, text)`` that best match ``context``; the same seed gives the same picks."""
        if not self.texts_ or k <= 0:
            return []
        row = np.array([self._vocab[j].get(context.get(c, "\0"), -2) for j, c in enumerate(self.conditioned_on)])
        weights = 2.0 ** np.arange(len(self.conditioned_on), 0, -1)  # first column outweighs all later ones
        score = ((self._codes == row) * weights).sum(axis=1) if len(row) else np.zeros(len(self.texts_))
        score = score + np.random.default_rng(seed).random(len(score)) * 0.5
        top = np.argsort(-score, kind="stable")[:k]
        return [(self.contexts_[i], self.texts_[i]) for i in top[::-1]]  # best match last, nearest the answer
