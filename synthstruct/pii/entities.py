"""The one table of personal-data entity types.

Every list of entity names in synthstruct is derived from :data:`ENTITIES` (checked by
``tests/contracts/test_entity_table.py``): the entities a ``pii`` column may declare, the ones the
scanner reports by default, the ones the default policy blocks, their Faker providers and SDV names,
and which ones are compared on letters and digits only. Adding an entity type is one row here (plus a
recognizer for the scanner, docs/scanning.md).

This module imports nothing from synthstruct: it sits at the bottom of the import graph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ALL_ENTITIES",
    "DEFAULT_BLOCKED",
    "DEFAULT_SCANNED",
    "DIGIT_LIKE",
    "ENTITIES",
    "NAME_LIKE",
    "NER",
    "PII_ENTITIES",
    "EntityType",
    "entity",
    "normalise_span",
]


@dataclass(frozen=True)
class EntityType:
    """One kind of personal data.

    Attributes:
        name: Presidio-style name (``PERSON``, ``US_SSN`` ...), as written in schemas and policies.
        faker: Faker provider method that draws a stand-in value (``None``: no stand-in), used for PII
            spans replaced in generated text and, unless ``column_faker`` says otherwise, for ``pii`` columns.
        column_faker: A recipe of :mod:`synthstruct.synthesizers.pii` for ``pii`` columns when the plain
            provider is not right (safe e-mail domains, one-line addresses, birth dates in a range ...).
        sdv: SDV ``sdtype`` of a column holding it (``None``: SDV has none).
        digit_like: Two values are the same when their letters and digits are (``(415) 555-0132`` ==
            ``415.555.0132``): phone, card, account and document numbers.
        declarable: A ``pii`` column of a schema may declare it (synthstruct can generate it).
        scanned: Reported by the scanner by default (:data:`DEFAULT_SCANNED`).
        blocked: Blocked in generated text by the ``default`` policy (``pii.block_entities``).
        ner: Found by the NER model (spaCy labels mapped by Presidio), not by a pattern.
        name_like: Found by NER and made of words (people, places, organisations, groups): a span of
            it without any letter is not one.
    """

    name: str
    faker: str | None = None
    column_faker: str | None = None
    sdv: str | None = None
    digit_like: bool = False
    declarable: bool = False
    scanned: bool = False
    blocked: bool = False
    ner: bool = False
    name_like: bool = False


_E = EntityType
#: Declarable entities first, in the order schema errors list them.
ENTITIES: tuple[EntityType, ...] = (
    _E("PERSON", faker="name", sdv="name", declarable=True, scanned=True, ner=True, name_like=True),
    _E("FIRST_NAME", column_faker="first_name", sdv="first_name", declarable=True),
    _E("LAST_NAME", column_faker="last_name", sdv="last_name", declarable=True),
    _E("EMAIL_ADDRESS", faker="email", column_faker="safe_email", sdv="email", declarable=True, scanned=True),
    _E("PHONE_NUMBER", faker="phone_number", sdv="phone_number", digit_like=True, declarable=True, scanned=True),
    _E("US_SSN", faker="ssn", sdv="ssn", digit_like=True, declarable=True, scanned=True, blocked=True),
    _E("CREDIT_CARD", faker="credit_card_number", sdv="credit_card_number", digit_like=True, declarable=True,
       scanned=True, blocked=True),
    _E("IBAN_CODE", faker="iban", sdv="iban", digit_like=True, declarable=True, scanned=True, blocked=True),
    _E("LOCATION", faker="city", sdv="city", declarable=True, scanned=True, ner=True, name_like=True),
    _E("ADDRESS", column_faker="one_line_address", sdv="address", declarable=True),
    _E("CITY", column_faker="city", sdv="city", declarable=True),
    _E("ZIP_CODE", column_faker="postcode", sdv="postcode", digit_like=True, declarable=True),
    _E("DATE_OF_BIRTH", column_faker="birth_date", sdv="date_of_birth", declarable=True),
    _E("IP_ADDRESS", faker="ipv4", sdv="ipv4_address", declarable=True, scanned=True),
    _E("URL", faker="url", sdv="url", declarable=True, scanned=True),
    _E("USERNAME", column_faker="user_name", sdv="user_name", declarable=True),
    _E("UK_NINO", column_faker="uk_nino", digit_like=True, declarable=True, scanned=True, blocked=True),
    _E("MEDICAL_RECORD_NUMBER", column_faker="medical_record_number", digit_like=True, declarable=True,
       scanned=True),
    _E("ORGANIZATION", column_faker="company", declarable=True, ner=True, name_like=True),
    # found by the scanner only (no pii column declares them)
    _E("US_PASSPORT", faker="passport_number", digit_like=True, scanned=True),
    _E("US_DRIVER_LICENSE", digit_like=True, scanned=True),
    _E("US_ITIN", digit_like=True, scanned=True),
    _E("US_BANK_NUMBER", faker="bban", digit_like=True, scanned=True),
    _E("CRYPTO", scanned=True),
    _E("MEDICAL_LICENSE", scanned=True),
    _E("MAC_ADDRESS", faker="mac_address", scanned=True),
    _E("UK_NHS"),
    _E("NRP", ner=True, name_like=True),
    _E("DATE_TIME", ner=True),
)

_BY_NAME = {e.name: e for e in ENTITIES}

#: Entities a ``pii`` column may declare; each has a generator in ``synthesizers/pii.py``.
PII_ENTITIES: tuple[str, ...] = tuple(e.name for e in ENTITIES if e.declarable)
#: Entities the scanner reports by default. Left out: dates, nationalities and organisations (not personal
#: data on their own, and the noisiest NER labels) and ``UK_NHS`` (Presidio's checksum accepts one in
#: eleven random 10-digit numbers and outscores phone numbers); pass ``entities=`` to add them.
DEFAULT_SCANNED: tuple[str, ...] = tuple(e.name for e in ENTITIES if e.scanned)
#: Entities the ``default`` policy blocks in generated text (kept equal to its YAML by a test).
DEFAULT_BLOCKED: tuple[str, ...] = tuple(e.name for e in ENTITIES if e.blocked)
#: Every entity name synthstruct knows (what a policy's ``pii.block_entities`` may list).
ALL_ENTITIES: frozenset[str] = frozenset(_BY_NAME)
#: Entities compared on letters and digits only.
DIGIT_LIKE: frozenset[str] = frozenset(e.name for e in ENTITIES if e.digit_like)
#: Entities found by the NER model.
NER: frozenset[str] = frozenset(e.name for e in ENTITIES if e.ner)
#: NER entities made of words.
NAME_LIKE: frozenset[str] = frozenset(e.name for e in ENTITIES if e.name_like)

_EDGE = " \t\n.,;:!?'\"()[]{}<>"


def entity(name: str) -> EntityType | None:
    """The entity type called ``name`` (``None`` if there is none)."""
    return _BY_NAME.get(name)


def normalise_span(entity: str, span: str) -> str:
    """Comparison key of a PII span: case-folded, whitespace collapsed, edge punctuation dropped;
    number-like entities (phone, card, SSN, IBAN ...) keep only letters and digits."""
    if entity in DIGIT_LIKE:
        return re.sub(r"[^0-9a-z]", "", span.casefold())
    return " ".join(span.casefold().split()).strip(_EDGE)
