"""The copy guard: while a text is written, the word that would complete a copied run is forbidden.

A text column rejects a candidate that shares an ``ngram``-word run (8 by default) with a training text,
stock phrases excepted (:class:`~synthstruct.text.checks.NgramIndex`), and a rejected candidate costs its
row another round of candidates: on 120 Harper Valley transcripts 28 % of the candidates failed this check,
and a row in round two asked five new candidates then (``candidates``; ``evaluation/bench_text_select.py``,
docs/text.md).
Most such runs are not taken from the few-shot examples in the prompt: with a guard over the prompt's runs
only, 18 of the 20 answers of 40 Harper Valley rows that still held a copied run held one from another
training text (a bank's customers phrase their requests alike; a ``/tmp`` probe).

:meth:`CopyGuard.add` therefore reads every indexed run of the training texts (at most
:data:`CORPUS_TEXTS` texts) and keeps, under the index's salted hash of its first ``n - 1`` words, the word
that completes it; :meth:`CopyGuard.next_words` answers, for the last ``n - 1`` words of an answer, the
words that must not come next. The local backend's logits processor forbids the first token of each such
word (after a space, lower case and capitalised) at that step, so the model writes another word and the run
is never completed. Words are the copy check's own (:func:`~synthstruct.text.checks.words`: lower-cased,
punctuation ignored).

The check after generation is unchanged: a run the guard cannot see (a word spelt with other tokens, a word
after punctuation with no space) is still rejected there. Forbidding the first token of a word split into
pieces also forbids, at that one step, other words that begin with that piece. The guard is memory only
(two arrays and the completing words; never saved) and is built at fit, when the training texts are there.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import numpy as np

from synthstruct.text.checks import NgramIndex, words

__all__ = ["CORPUS_TEXTS", "CopyGuard"]

#: Training texts read at most (the first ones): 50,000 texts of 100 words are ~5 M runs, 60 MB of arrays.
CORPUS_TEXTS = 50_000


class CopyGuard:
    """Forbidden next words for answers, from a column's n-gram index and its training texts.

    Args:
        index: The column's index of training-text runs (stock phrases excepted).
    """

    def __init__(self, index: NgramIndex) -> None:
        self.index = index
        self.n = int(index.n)
        self._heads = np.zeros(0, dtype=np.uint64)
        self._nexts = np.zeros(0, dtype=np.int32)
        self._words: list[str] = []

    def add(self, texts: Iterable[str]) -> CopyGuard:
        """Learn every indexed run of ``texts`` (the column's training texts)."""
        heads: list[int] = []
        nexts: list[int] = []
        vocab: dict[str, int] = {}
        for text in itertools.islice(texts, CORPUS_TEXTS):
            toks = words(text)
            for i in range(len(toks) - self.n + 1):
                run = toks[i:i + self.n]
                if self.index.holds(run):
                    heads.append(self.index.key(run[:-1]))
                    nexts.append(vocab.setdefault(run[-1], len(vocab)))
        head_array, next_array = np.array(heads, dtype=np.uint64), np.array(nexts, dtype=np.int32)
        order = np.lexsort((next_array, head_array))
        self._heads, self._nexts, self._words = head_array[order], next_array[order], list(vocab)
        return self

    def __len__(self) -> int:
        """How many runs are guarded."""
        return int(self._heads.shape[0])

    def next_words(self, answer: Sequence[str]) -> frozenset[str]:
        """Words that must not follow an answer whose words (:func:`~synthstruct.text.checks.words`) are
        ``answer``: those completing a guarded run that the answer's last ``n - 1`` words begin."""
        if len(answer) < self.n - 1 or not len(self):
            return frozenset()
        head = np.uint64(self.index.key(answer[len(answer) - self.n + 1:]))
        lo, hi = np.searchsorted(self._heads, head, "left"), np.searchsorted(self._heads, head, "right")
        return frozenset(self._words[i] for i in self._nexts[lo:hi].tolist()) if hi > lo else frozenset()
