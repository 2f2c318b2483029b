"""Generators for ``pii`` and ``id`` columns: realistic values that never come from the real data.

Neither generator learns from the real values. ``fit`` keeps only

* the share of missing cells and, for PII, the *multiplicity profile*: how many distinct values
  occur once, twice, ... (counts, no values), so that a customer who appears in several rows is
  reproduced as a fake customer appearing in several rows;
* keyed digests (HMAC-SHA256 under the machine-local secret, random salt per ``fit``) of the
  normalised real values, used only to redraw any generated value that equals a real one. Without
  the secret the digests cannot be brute-forced, even for low-entropy values (SSNs, phone numbers).
  Within the fitting process the check runs on the normalised values themselves (a set lookup, not an
  HMAC per candidate); saved, pickled and copied states hold only the digests (:class:`ReplayGuard`).

Values come from Faker (``fake``, seeded from the caller's numpy generator: same seed, same
values), from a ``pattern`` (``#`` digit, ``?`` upper-case letter; drawn in NumPy batches from the same
generator) or a redaction marker (``mask``).
With a caller-held key, :meth:`PiiGenerator.map_values` maps each real value to the same fake value
every time (HMAC-SHA256 of the value seeds Faker); the key is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import string
import uuid
from collections import Counter
from datetime import date
from typing import Any, Callable

import numpy as np
import pandas as pd

from synthstruct.errors import InputError, ModelIntegrityError, Problem
from synthstruct.pii.entities import DIGIT_LIKE, ENTITIES
from synthstruct.schema.model import IdColumn, PiiColumn
from synthstruct.schema.values import prints_one_way

__all__ = ["MASK", "IdGenerator", "PiiGenerator", "ReplayGuard", "make_generator", "normalise", "seeded_faker"]

MASK = "[REDACTED]"
_DEFAULT_LOCALE = "en_US"
_MAX_TRIES = 50
_DIGEST_BYTES = 16
_DIGITS = np.array(list(string.digits), dtype="<U1")
_LETTERS = np.array(list(string.ascii_uppercase), dtype="<U1")
_MAX_ANSWERS = 200_000  # contains() answers kept per guard
_NINO_PREFIX = "ABCEGHJKLMNPRSTWXYZ"
_NUMERIFY_ONLY = frozenset("%!@")  # Faker's other numerify placeholders: such patterns are drawn by Faker


# --------------------------------------------------------------------------------------- guard
def normalise(value: Any, entity: str | None = None) -> str:
    """The form in which two values count as "the same": trimmed, case-folded, integral floats as
    integers; for number-like entities (phone, SSN, card, IBAN ...) letters and digits only."""
    if value.__class__ is int and (value >= 0 or entity not in DIGIT_LIKE):
        return str(value)  # what the general path below gives, without its string passes (sequence ids)
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        value = int(value)
    text = " ".join(str(value).split()).casefold()
    if entity in DIGIT_LIKE:
        text = re.sub(r"[^0-9a-z]", "", text)
    return text


def _guard_key() -> bytes:
    from synthstruct.synthesizers.persistence import derive_secret

    return derive_secret("replay-guard", 0)


def _normalised_cells(valid: pd.Series, entity: str | None) -> list[str]:
    """:func:`normalise` of every cell, each distinct (type, value) once (``1`` and ``True`` apart)."""
    memo: dict[tuple[type, Any], str] = {}
    keys = []
    for value in valid.tolist():
        key = (value.__class__, value)
        if key not in memo:
            memo[key] = normalise(value, entity)
        keys.append(memo[key])
    return keys


def _counts_per_text(valid: pd.Series, entity: str | None) -> dict[str, int]:
    """Cells per normalised text of the non-missing ``valid`` cells, each distinct value normalised once.
    Values are told apart by type as well as value (``1`` and ``True`` normalise apart); a column of texts
    or of integers only is counted on codes."""
    if prints_one_way(valid):
        codes, distinct = pd.factorize(valid)
        per_value = np.bincount(codes, minlength=len(distinct)) if len(codes) else np.zeros(0, dtype=np.int64)
        out: dict[str, int] = {}
        for value, n in zip(distinct.tolist(), per_value.tolist()):
            text = normalise(value, entity)
            out[text] = out.get(text, 0) + n
        return out
    return dict(Counter(_normalised_cells(valid, entity)))


class ReplayGuard:
    """Keyed digests of real values; ``contains`` tells whether a candidate equals one of them.

    Digests are HMAC-SHA256 under a key derived from the machine-local secret
    (:func:`synthstruct.signing.local_secret`) and a random per-fit salt, so a saved
    state cannot be brute-forced (low-entropy SSNs, phone numbers) without that secret. A state
    written under another key is refused on load.

    A guard built by :meth:`from_values` answers from the normalised real values while it lives in the
    process that read them (which holds the real rows anyway): a set lookup per candidate instead of an
    HMAC (a 1M-row release checks millions of candidates). Its digests are computed once, the first time
    they are needed -- :meth:`to_state`, or a pickle / copy, which carries only the digests (the values
    are never serialised).
    """

    def __init__(self, salt: bytes, digests: set[bytes], entity: str | None = None, *, key: bytes | None = None) -> None:
        self.salt = salt
        self._digest_set = digests
        self._plain: set[str] | None = None  # normalised real values, in this process only (never in a state)
        self._pending = False  # digests of ``_plain`` not computed yet
        self.entity = entity
        self._key = key if key is not None else _guard_key()
        self._answers: dict[tuple[type, Any], bool] = {}  # contains() per candidate value (drawn values repeat)

    @classmethod
    def from_values(cls, values: pd.Series, entity: str | None = None) -> "ReplayGuard":
        guard = cls(os.urandom(16), set(), entity)
        guard._plain, guard._pending = guard._texts(values), True
        return guard

    @classmethod
    def from_texts(cls, texts: set[str], entity: str | None = None) -> "ReplayGuard":
        """A guard from real values already normalised (:func:`normalise` with ``entity``)."""
        guard = cls(os.urandom(16), set(), entity)
        guard._plain, guard._pending = set(texts), True
        return guard

    @property
    def digests(self) -> set[bytes]:
        """The keyed digests of the real values (computed from the in-memory values on first use)."""
        if self._plain is not None and self._pending:
            self._digest_set |= {self._digest_text(text) for text in self._plain}
            self._pending = False
        return self._digest_set

    @digests.setter
    def digests(self, value: set[bytes]) -> None:
        self._digest_set, self._plain, self._pending = value, None, False
        self._answers.clear()

    def __getstate__(self) -> dict[str, Any]:
        """Pickles and copies hold the digests (computed once), never the real values."""
        return {**self.__dict__, "_digest_set": set(self.digests), "_plain": None, "_pending": False, "_answers": {}}

    def _texts(self, values: pd.Series) -> set[str]:
        """Normalised texts of the non-missing ``values``, each distinct value normalised once (ids and names
        repeat: a 1M-row column has far fewer distinct values than cells). Keyed by type and value, so ``1``
        and ``True`` are not taken for one another."""
        valid = values.dropna()
        if prints_one_way(valid):  # texts, integers, booleans: distinct values by hashing, normalised once each
            distinct = pd.unique(valid.to_numpy()).tolist()
            if valid.dtype.kind in "iu" and (self.entity not in DIGIT_LIKE or min(distinct, default=0) >= 0):
                return set(map(str, distinct))  # normalise() of a Python int
            return {normalise(value, self.entity) for value in distinct}
        return set(_normalised_cells(valid, self.entity))

    def _digests(self, values: pd.Series) -> set[bytes]:
        """Digests of the non-missing ``values`` (each distinct normalised text hashed once)."""
        return {self._digest_text(text) for text in self._texts(values)}

    def _digest(self, value: Any) -> bytes:
        """HMAC-SHA256(key, salt + normalised text), truncated (one-shot: ``hmac.digest`` runs in C)."""
        return self._digest_text(normalise(value, self.entity))

    def _digest_text(self, text: str) -> bytes:
        return hmac.digest(self._key, self.salt + text.encode("utf-8"), "sha256")[:_DIGEST_BYTES]

    def _key_id(self) -> str:
        return hmac.new(self._key, b"synthstruct:replay-guard:key-id", hashlib.sha256).hexdigest()[:16]

    def add(self, values: pd.Series) -> None:
        """Also guard against ``values`` (e.g. the holdout's real values)."""
        if self._plain is not None:
            texts = self._texts(values)
            self._plain |= texts
            if not self._pending:  # digests already computed: keep them complete
                self._digest_set |= {self._digest_text(text) for text in texts}
        else:
            self._digest_set |= self._digests(values)
        self._answers.clear()

    def contains(self, value: Any) -> bool:
        if self._plain is not None:
            return normalise(value, self.entity) in self._plain
        key = (value.__class__, value)
        try:
            found = self._answers.get(key)
        except TypeError:  # unhashable
            return self._digest(value) in self._digest_set
        if found is None:
            found = self._digest(value) in self._digest_set
            if len(self._answers) < _MAX_ANSWERS:
                self._answers[key] = found
        return found

    def contains_text(self, text: str) -> bool:
        """:meth:`contains` of a value whose :func:`normalise` form is ``text`` (no answer cache)."""
        if self._plain is not None:
            return text in self._plain
        return self._digest_text(text) in self._digest_set

    def __len__(self) -> int:
        return len(self._plain) if self._plain is not None else len(self._digest_set)

    def to_state(self) -> dict[str, Any]:
        return {"salt": self.salt.hex(), "entity": self.entity, "key_id": self._key_id(),
                "digests": sorted(d.hex() for d in self.digests)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "ReplayGuard":
        guard = cls(bytes.fromhex(state["salt"]), {bytes.fromhex(d) for d in state["digests"]}, state.get("entity"))
        if state.get("key_id") != guard._key_id():
            raise ModelIntegrityError("model written under another secret key", [Problem(
                "pii replay guard", "its digests of real values were keyed with another machine's secret",
                "refit on this machine, or set SYNTHSTRUCT_SECRET to the key the model was written with")])
        return guard


# --------------------------------------------------------------------------------------- faker
def seeded_faker(locale: str) -> Any:
    from faker import Faker
    from faker.config import AVAILABLE_LOCALES

    if locale not in AVAILABLE_LOCALES:
        raise InputError("unknown Faker locale", [Problem("locale", f"{locale!r} is not a Faker locale",
                                                          "use e.g. en_US, en_GB, de_DE, fr_FR")])
    return Faker(locale)


def _seed_from(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**63 - 1))


def _nino(fake: Any) -> str:
    prefix = fake.random_element(_NINO_PREFIX) + fake.random_element(_NINO_PREFIX)
    return f"{prefix}{fake.numerify('######')}{fake.random_element('ABCD')}"


#: Column recipes (``EntityType.column_faker``) that are more than one plain Faker provider call.
_RECIPES: dict[str, Callable[[Any], Any]] = {
    "safe_email": lambda f: f.email(safe=True),
    "one_line_address": lambda f: ", ".join(f.address().splitlines()),
    "birth_date": lambda f: f.date_between_dates(date(1930, 1, 1), date(2006, 12, 31)).isoformat(),
    "uk_nino": _nino,
    "medical_record_number": lambda f: f.bothify("MRN-########", letters=string.ascii_uppercase),
}


def _maker(recipe: str) -> Callable[[Any], Any]:
    """A recipe of :data:`_RECIPES`, else the Faker provider method of that name."""
    return _RECIPES.get(recipe) or (lambda f: getattr(f, recipe)())


#: Entity -> value maker of a ``pii`` column (every declarable entity of ``synthstruct.pii.entities``).
_FAKERS: dict[str, Callable[[Any], Any]] = {
    e.name: _maker(e.column_faker or e.faker or "") for e in ENTITIES if e.declarable
}


class PiiGenerator:
    """Fake values for one ``pii`` column.

    Args:
        column: The column's schema entry (entity, strategy, pattern, locale).
        locale: Faker locale when the column sets none (normally the schema's ``locale``).
    """

    def __init__(self, column: PiiColumn, *, locale: str = _DEFAULT_LOCALE) -> None:
        self.column = column
        self.locale = column.locale or locale
        self._fake: Any = None
        self._fallback: Any = None
        self._memo: dict[bytes, str] = {}

    # ------------------------------------------------------------------ fit
    def fit(self, series: pd.Series) -> "PiiGenerator":
        """Learn the missing share and multiplicity profile; remember salted digests for replay checks."""
        n = len(series)
        self.missing_share_ = float(series.isna().sum() / n) if n else 0.0
        valid = series.dropna()
        per_text = _counts_per_text(valid, self.column.entity)
        counts = Counter(per_text.values())
        self.multiplicity_ = {int(k): int(v) for k, v in sorted(counts.items())}
        self.guard_ = ReplayGuard.from_texts(set(per_text), self.column.entity)
        return self

    # ------------------------------------------------------------------ drawing
    def _faker_for(self, seed: int) -> Any:
        if self._fake is None:
            self._fake = seeded_faker(self.locale)
        self._fake.seed_instance(seed)
        return self._fake

    def _draw_one(self, fake: Any) -> str:
        strategy = self.column.strategy
        if strategy == "mask":
            return MASK
        if strategy == "pattern":
            return fake.bothify(self.column.pattern or "", letters=string.ascii_uppercase)
        entity = self.column.entity
        if entity == "MEDICAL_RECORD_NUMBER" and self.column.pattern:
            return fake.bothify(self.column.pattern, letters=string.ascii_uppercase)
        make = _FAKERS.get(entity, _FAKERS["PERSON"])
        try:
            return str(make(fake))
        except AttributeError:  # the locale lacks this provider: use en_US, same random stream
            if self._fallback is None:
                self._fallback = seeded_faker(_DEFAULT_LOCALE)
            self._fallback.seed_instance(int(fake.random_int(0, 2**31 - 1)))
            return str(make(self._fallback))

    def _draw_fresh(self, fake: Any, used: set[str]) -> str:
        """A value that is not real and, while possible, not yet used."""
        value = self._draw_one(fake)
        if self.column.strategy == "mask":
            return value
        for _ in range(_MAX_TRIES):
            if not self.guard_.contains(value) and value not in used:
                return value
            value = self._draw_one(fake)
        for _ in range(_MAX_TRIES * 20):  # the value space is small: allow repeats, never real values
            if not self.guard_.contains(value):
                return value
            value = self._draw_one(fake)
        raise InputError("cannot generate values that differ from the real ones",
                         [Problem(f"column {self.column.entity}", "every generated value equals a real value",
                                  "use a longer pattern or strategy: mask")])

    def _numpy_pattern(self) -> str | None:
        """The column's pattern when its values are drawn with NumPy (``#`` digits and ``?`` letters only),
        else ``None`` (Faker draws them, one call per value)."""
        column = self.column
        drawn = column.strategy == "pattern" or (
            column.strategy == "fake" and column.entity == "MEDICAL_RECORD_NUMBER")
        pattern = column.pattern if drawn else None
        if not pattern or set(pattern) & _NUMERIFY_ONLY or ("#" not in pattern and "?" not in pattern):
            return None
        return pattern

    def _draw_pattern(self, pattern: str, m: int, rng: np.random.Generator) -> list[str]:
        """``m`` values of ``pattern`` drawn in NumPy batches: never a real value; distinct while the pattern
        has room for them (its capacity less the real values), repeats after that (as :meth:`_draw_fresh`)."""
        room = _pattern_capacity(pattern) - len(self.guard_)
        normalised = _pattern_normaliser(pattern, self.column.entity)
        out: list[str] = []
        used: set[str] = set()
        idle, repeats = 0, False
        while len(out) < m:
            before, want = len(out), m - len(out)
            repeats = repeats or len(used) >= room
            chars = IdGenerator._fill_chars(pattern, max(16, want + want // 8), rng)
            batch = chars.view(f"<U{len(pattern)}").ravel().tolist()
            texts = normalised(chars) if normalised is not None else [normalise(v, self.column.entity) for v in batch]
            for value, text in zip(batch, texts):
                if (repeats or value not in used) and not self.guard_.contains_text(text):
                    used.add(value)
                    out.append(value)
                    if len(out) == m:
                        break
            idle = idle + 1 if len(out) == before else 0
            if idle >= _MAX_TRIES and not repeats:  # no new value in many draws: allow repeats (never real ones)
                idle, repeats = 0, True
            elif idle >= _MAX_TRIES:
                raise InputError("cannot generate values that differ from the real ones",
                                 [Problem(f"column {self.column.entity}", "every generated value equals a real value",
                                          "use a longer pattern or strategy: mask")])
        return out

    def _group_sizes(self, m: int, rng: np.random.Generator) -> np.ndarray:
        if m == 0:
            return np.zeros(0, dtype=int)
        profile = self.multiplicity_
        if not profile or set(profile) == {1}:
            return np.ones(m, dtype=int)
        sizes = np.array(list(profile), dtype=int)
        weights = np.array([profile[s] for s in profile], dtype=float)
        drawn: list[int] = []
        total = 0
        while total < m:
            batch = rng.choice(sizes, size=max(8, m // max(1, int(sizes.mean()))), p=weights / weights.sum())
            for size in batch.tolist():
                drawn.append(min(int(size), m - total))
                total += drawn[-1]
                if total >= m:
                    break
        return np.array(drawn, dtype=int)

    def generate(self, n: int, rng: np.random.Generator) -> pd.Series:
        """``n`` fake values (object dtype, ``None`` where missing), deterministic for the rng state.

        Raises:
            NotFittedError: before ``fit``.
        """
        _check_fitted(self, "guard_")
        rng = np.random.default_rng(rng)
        faker_seed = _seed_from(rng)
        n_missing = int(round(self.missing_share_ * n))
        sizes = self._group_sizes(n - n_missing, rng)
        pattern = self._numpy_pattern()
        if pattern is not None:
            entities = self._draw_pattern(pattern, len(sizes), rng)
        else:
            fake = self._faker_for(faker_seed)
            used: set[str] = set()
            entities = []
            for _ in range(len(sizes)):
                value = self._draw_fresh(fake, used)
                used.add(value)
                entities.append(value)
        values = np.repeat(np.array(entities, dtype=object), sizes)
        out = np.full(n, None, dtype=object)
        order = rng.permutation(n)
        out[order[n_missing:]] = values
        return pd.Series(out, dtype=object)

    def map_values(self, series: pd.Series, *, key: bytes) -> pd.Series:
        """Replace each real value by a fake one, the same fake for the same value (HMAC-keyed).

        Args:
            series: Real values (missing cells stay missing).
            key: Secret of at least 16 bytes, held by the caller for one release and never stored.
        """
        _check_fitted(self, "guard_")
        if not isinstance(key, bytes) or len(key) < 16:
            raise InputError("invalid consistency key", [Problem("key", "must be at least 16 random bytes",
                                                                 "pass os.urandom(32)")])
        taken = set(self._memo.values())
        out = []
        for value in series.tolist():
            if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
                out.append(None)
                continue
            mac = hmac.new(key, normalise(value, self.column.entity).encode("utf-8"), hashlib.sha256).digest()
            if mac not in self._memo:
                fake = self._faker_for(int.from_bytes(mac[:8], "big"))
                self._memo[mac] = self._draw_fresh(fake, taken)
                taken.add(self._memo[mac])
            out.append(self._memo[mac])
        return pd.Series(out, index=series.index, dtype=object)

    # ------------------------------------------------------------------ state
    def to_state(self) -> dict[str, Any]:
        """JSON-able state: column, locale, missing share, multiplicity counts, salted digests."""
        _check_fitted(self, "guard_")
        return {"type": "pii", "column": self.column.model_dump(mode="json"), "locale": self.locale,
                "missing_share": self.missing_share_,
                "multiplicity": {str(k): v for k, v in self.multiplicity_.items()},
                "guard": self.guard_.to_state()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "PiiGenerator":
        gen = cls(PiiColumn.model_validate(state["column"]), locale=state["locale"])
        gen.missing_share_ = float(state["missing_share"])
        gen.multiplicity_ = {int(k): int(v) for k, v in state["multiplicity"].items()}
        gen.guard_ = ReplayGuard.from_state(state["guard"])
        return gen


# --------------------------------------------------------------------------------------- ids
def _pattern_normaliser(pattern: str, entity: str | None) -> Callable[[np.ndarray], list[str]] | None:
    """A batch :func:`normalise` of the values of ``pattern`` given as a character matrix (one row per value;
    drawn characters are ASCII digits and upper-case letters), or ``None`` when the pattern's literal
    characters need the general path (non-ASCII, spaces)."""
    if not pattern.isascii() or any(ch.isspace() for ch in pattern):
        return None
    keep = [j for j, ch in enumerate(pattern) if ch in "#?" or ch.isalnum() or entity not in DIGIT_LIKE]
    if not keep:
        return None

    def texts(chars: np.ndarray) -> list[str]:  # number-like entities: letters and digits only
        kept = chars if len(keep) == len(pattern) else np.ascontiguousarray(chars[:, keep])
        return [text.lower() for text in kept.view(f"<U{len(keep)}").ravel().tolist()]  # str.lower beats np.char
    return texts


def _pattern_capacity(pattern: str) -> int:
    return 10 ** pattern.count("#") * 26 ** pattern.count("?")


class IdGenerator:
    """Unique identifiers for one ``id`` column: ``pattern``, ``sequence`` (integers from ``start``)
    or ``uuid`` (version 4 from the rng's bytes). Never equal to a real id."""

    def __init__(self, column: IdColumn) -> None:
        self.column = column

    def fit(self, series: pd.Series) -> "IdGenerator":
        """Remember salted digests of the real ids (nothing else is learned)."""
        self.guard_ = ReplayGuard.from_values(series)
        return self

    def generate(self, n: int, rng: np.random.Generator) -> pd.Series:
        """``n`` distinct ids, none equal to a real one.

        Raises:
            InputError: the pattern cannot produce ``n`` distinct new ids.
        """
        _check_fitted(self, "guard_")
        rng = np.random.default_rng(rng)
        if self.column.strategy == "sequence":
            return pd.Series(self._sequence(n), dtype="int64")
        if self.column.strategy == "uuid":
            return pd.Series(self._fresh(n, lambda k: [str(uuid.UUID(bytes=rng.bytes(16), version=4))
                                                        for _ in range(k)]), dtype=object)
        pattern = self.column.pattern or ""
        if _pattern_capacity(pattern) - len(self.guard_) < n or ("#" not in pattern and "?" not in pattern and n > 1):
            raise InputError("id pattern too short", [Problem(
                "pattern", f"allows fewer distinct values than the {n} ids requested",
                "add '#' (digit) or '?' (letter) positions to the pattern")])
        normalised = _pattern_normaliser(pattern, self.guard_.entity) if pattern else None
        if normalised is None:
            return pd.Series(self._fresh(n, lambda k: self._fill(pattern, k, rng)), dtype=object)
        out: list[str] = []
        seen: set[str] = set()
        while len(out) < n:  # as _fresh, with each batch normalised at once for the replay check
            chars = self._fill_chars(pattern, max(16, n - len(out)), rng)
            for value, text in zip(chars.view(f"<U{len(pattern)}").ravel().tolist(), normalised(chars)):
                if value not in seen and not self.guard_.contains_text(text):
                    seen.add(value)
                    out.append(value)
                    if len(out) == n:
                        break
        return pd.Series(out, dtype=object)

    def _sequence(self, n: int) -> list[int]:
        """``n`` integers from ``start`` upwards that are not real ids (checked a block at a time: the
        normalised text of a Python int is ``str(int)`` for the guard of an id column, which has no entity)."""
        out: list[int] = []
        value = self.column.start
        plain_ints = self.guard_.entity not in DIGIT_LIKE
        while len(out) < n:
            block = range(value, value + (n - len(out)))
            if plain_ints:
                out.extend(v for v, text in zip(block, map(str, block)) if not self.guard_.contains_text(text))
            else:  # pragma: no cover - id guards carry no entity
                out.extend(v for v in block if not self.guard_.contains(v))
            value = block.stop
        return out

    def _fresh(self, n: int, draw: Callable[[int], list[str]]) -> list[str]:
        out: list[str] = []
        seen: set[str] = set()
        while len(out) < n:
            for value in draw(max(16, n - len(out))):
                if value not in seen and not self.guard_.contains(value):
                    seen.add(value)
                    out.append(value)
                    if len(out) == n:
                        break
        return out

    @staticmethod
    def _fill_chars(pattern: str, k: int, rng: np.random.Generator) -> np.ndarray:
        """``k`` values of a non-empty ``pattern`` as a ``(k, len(pattern))`` matrix of characters."""
        chars = np.tile(np.array(list(pattern), dtype="<U1"), (k, 1))
        for j, ch in enumerate(pattern):
            if ch == "#":
                chars[:, j] = _DIGITS[rng.integers(0, 10, size=k)]
            elif ch == "?":
                chars[:, j] = _LETTERS[rng.integers(0, 26, size=k)]
        return chars

    @staticmethod
    def _fill(pattern: str, k: int, rng: np.random.Generator) -> list[str]:
        if not pattern:
            return [""] * k
        chars = IdGenerator._fill_chars(pattern, k, rng)
        return chars.view(f"<U{len(pattern)}").ravel().tolist()  # each row's characters as one string

    def to_state(self) -> dict[str, Any]:
        """JSON-able state: the column and the salted digests of real ids."""
        _check_fitted(self, "guard_")
        return {"type": "id", "column": self.column.model_dump(mode="json"), "guard": self.guard_.to_state()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "IdGenerator":
        gen = cls(IdColumn.model_validate(state["column"]))
        gen.guard_ = ReplayGuard.from_state(state["guard"])
        return gen


def make_generator(column: PiiColumn | IdColumn, *, locale: str = _DEFAULT_LOCALE) -> PiiGenerator | IdGenerator:
    """The generator for a ``pii`` or ``id`` column."""
    if isinstance(column, IdColumn):
        return IdGenerator(column)
    return PiiGenerator(column, locale=locale)


def _check_fitted(obj: Any, attribute: str) -> None:
    if not hasattr(obj, attribute):
        from synthstruct.errors import NotFittedError

        raise NotFittedError(f"This {type(obj).__name__} instance is not fitted yet. Call 'fit' first.")
