"""Few-shot examples from the training text: PII-scrubbed with Presidio's anonymizer, matched to each row.

A small model writes domain text far better when it sees a few real texts of the same kind: a
3-star dress review next to other middling dress reviews. :class:`ExamplePool` keeps a stratified
sample of training texts (``pool_size``, in memory only — never saved with a model), each with the
conditioning values of its row. Before anything is shown to a model:

* every PII span the scanner finds is replaced by Presidio's ``AnonymizerEngine`` with a Faker value of
  the same kind (a name for a name, a phone number for a phone number), so an example never carries a
  real identifier and the model sees natural text rather than ``<PERSON>`` tags;
* whitespace is collapsed; texts are kept whole (up to :data:`MAX_EXAMPLE_WORDS` words) and cut per
  prompt, so that an example can be as long as the text the row asks for.

For each synthetic row :meth:`ExamplePool.pick` draws ``k`` examples: the **most specific match** first
(most conditioning values equal to the row's; among equally many, earlier ``conditioned_on`` columns
weigh more), then, within a match level, the examples whose length is **nearest the row's target
length** (a 135M model writes about as long as its examples) and that the column's verifier recognises
as their own label best (:meth:`ExamplePool.set_typicality`), ties broken by the row's seed. Each example
is cut to the row's word budget and the prompt's example budget (:data:`PROMPT_WORDS` words in all). The
answers are still checked for copied n-grams against the *whole* training text, so an answer that
leans too close to its examples is rejected and regenerated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MAX_EXAMPLE_WORDS", "PROMPT_WORDS", "ExamplePool", "anonymize_texts", "shorten"]

#: Longest example kept in the pool (words).
MAX_EXAMPLE_WORDS = 300
#: Words of few-shot examples per prompt at most (split over the prompt's examples).
PROMPT_WORDS = 360
#: Weight of the verifier's typicality (mean probability of the example's own labels, 0-1) against the
#: length misfit |log(words / target)| when examples of one match level are ranked.
TYPICALITY_WEIGHT = 1.0

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
        pool_size: Training texts kept (a sample stratified on the conditioning values).
        max_words: Words kept per example at most (``None``: up to :data:`MAX_EXAMPLE_WORDS`; each
            prompt cuts its examples to the row's budget).
        seed: Seed for the sample and the Faker surrogates.
    """

    def __init__(self, conditioned_on: Sequence[str], *, pool_size: int = 600, max_words: int | None = None,
                 seed: int = 0) -> None:
        self.conditioned_on = list(conditioned_on)
        self.pool_size = pool_size
        self.max_words = max_words
        self.seed = seed
        self.texts_: list[str] = []
        self.contexts_: list[dict[str, str]] = []
        self.pii_replaced_ = 0
        self.words_ = np.zeros(0)
        self.typicality_ = np.zeros(0)
        #: Weight of :attr:`typicality_` in :meth:`pick` (0 turns the lever off; for measurement).
        self.typicality_weight = TYPICALITY_WEIGHT

    def fit(self, texts: pd.Series, frame: pd.DataFrame | None, format_value: Any) -> ExamplePool:
        """Sample, scrub and shorten examples from ``texts`` (index aligned with ``frame``)."""
        texts = texts.dropna().astype(str)
        texts = texts[texts.str.split().str.len() >= 3]
        cols = [c for c in self.conditioned_on if frame is not None and c in frame.columns]
        picks = self._sample(texts, frame, cols)
        scrubbed, self.pii_replaced_ = anonymize_texts(list(texts.loc[picks]), seed=self.seed)
        self.texts_ = [shorten(t, min(self.max_words or MAX_EXAMPLE_WORDS, MAX_EXAMPLE_WORDS)) for t in scrubbed]
        self.words_ = np.array([len(t.split()) for t in self.texts_], dtype=float)
        self.typicality_ = np.zeros(len(self.texts_))
        self.contexts_ = [{c: format_value(frame.at[i, c]) for c in cols} for i in picks] if cols else \
            [{} for _ in picks]
        self._codes = self._encode(self.contexts_)
        return self

    def set_typicality(self, verifier: Any) -> ExamplePool:
        """Score each example by how clearly the column's verifier recognises its own labels (the mean,
        over labelled columns, of the probability of the example's value): prompts prefer clear examples."""
        columns = list(getattr(verifier, "labelled", []) or [])
        if not self.texts_ or not columns:
            return self
        probs = []
        for column in columns:
            p, _ = verifier.probabilities(self.texts_, [c.get(column) for c in self.contexts_], column)
            probs.append(np.where(np.isnan(p), 0.5, p))
        self.typicality_ = np.mean(probs, axis=0)
        return self

    def _sample(self, texts: pd.Series, frame: pd.DataFrame | None, cols: list[str]) -> list[Any]:
        if len(texts) <= self.pool_size:
            return list(texts.index)
        rng = np.random.default_rng(self.seed)
        if not cols:
            return list(rng.choice(np.asarray(texts.index), self.pool_size, replace=False))
        strata = self._strata(frame.loc[texts.index], cols)
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

    def _strata(self, frame: pd.DataFrame, cols: list[str]) -> pd.Series:
        """Joint values of the leading conditioning columns, as many as keep ~5 examples per stratum."""
        key = frame[cols[0]].astype(str)
        for col in cols[1:]:
            joint = key + "\x00" + frame[col].astype(str)
            if joint.nunique() * 5 > self.pool_size:
                break
            key = joint
        return key

    def _encode(self, contexts: list[dict[str, str]]) -> np.ndarray:
        self._vocab: list[dict[str, int]] = [{} for _ in self.conditioned_on]
        codes = np.full((len(contexts), len(self.conditioned_on)), -1, dtype=np.int64)
        for i, ctx in enumerate(contexts):
            for j, col in enumerate(self.conditioned_on):
                if col in ctx:
                    codes[i, j] = self._vocab[j].setdefault(ctx[col], len(self._vocab[j]))
        return codes

    def __len__(self) -> int:
        return len(self.texts_)

    def pick(self, context: dict[str, str], k: int, seed: int, *, target_words: int | None = None,
             max_words: int | None = None) -> list[tuple[dict[str, str], str]]:
        """``k`` examples ``(context, text)`` for a row; the same arguments give the same picks.

        Ranked by (conditioning values matched, earlier columns first), then — within one match level —
        by nearness of the example's length to ``target_words`` and the verifier's typicality, with a
        seeded jitter so that rows (and candidates) see different examples. Each example is cut to
        ``max_words`` and to :data:`PROMPT_WORDS` / ``k`` words.
        """
        if not self.texts_ or k <= 0:
            return []
        n = len(self.texts_)
        row = np.array([self._vocab[j].get(context.get(c, "\0"), -2) for j, c in enumerate(self.conditioned_on)])
        same = (self._codes == row) if len(row) else np.zeros((n, 0), dtype=bool)
        weights = 2.0 ** np.arange(len(self.conditioned_on), 0, -1)  # lexicographic within one match count
        level = same.sum(axis=1) * 2.0 ** (len(self.conditioned_on) + 1) + (same * weights).sum(axis=1)
        cap = min(max_words or MAX_EXAMPLE_WORDS, max(PROMPT_WORDS // k, 10))
        fit = np.zeros(n)
        if target_words:
            shown = np.minimum(self.words_, cap)
            fit = -np.abs(np.log((shown + 1.0) / (min(float(target_words), cap) + 1.0)))
        fit = fit + self.typicality_weight * self.typicality_ + np.random.default_rng(seed).random(n) * 0.5
        top = np.lexsort((-fit, -level))[:k]
        return [(self.contexts_[i], shorten(self.texts_[i], cap)) for i in top[::-1]]  # best match last
