"""Corpus conventions that look like personal data to a detector but are not.

Precision matters as much as recall: a scrubber that replaces every ``XXXX`` redaction mask with a fake
name destroys the corpus's own conventions, and a report that counts masks, order numbers and title-case
menu items ("Cancel Order") as people hides the real findings among thousands of false ones. This module
holds the evidence rules :func:`synthstruct.pii.scanner.scan_texts` applies to its spans:

* **redaction masks** (:data:`MASK`): runs of ``X`` (``XXXX``, ``XX/XX/XXXX``), template placeholders
  (``{{Order Number}}``, ``[NAME]``, ``<PERSON>``), runs of ``*`` or ``#``. A span made only of masks,
  spaces and punctuation is not personal data (a span that mixes a mask and a real word is kept);
* **NER shape**: a person, place, group or organisation has a letter in it (spaCy tags dates such as
  ``03/12/2019`` as places);
* **common words**: a PERSON span whose every word is used in lower case elsewhere in the same batch of
  texts ("check", "balance", "order") and none of whose words is on Faker's first-name / surname lists
  (:mod:`synthstruct.pii.name_lists`) is a title-case phrase, not a name;
* **common place words**: a one-word LOCATION span by the same evidence ("Cozy", "Intarsia" in a
  title-cased review); multi-word places ("Main Street") are always kept;
* **sentence joins**: a bare two-label host with no scheme, ``www.`` or path whose labels are a single
  letter and a word (``J.Crew``, ``t.la``), or two common words (``short.in`` — "short. In") is a
  missing space or an abbreviation, not a URL; ``amazon.com``, ``etsy.it`` and every URL with a
  scheme or path are kept;
* **number context**: a phone- or card-shaped number right after a currency sign, or after a word that
  names another kind of number (order, ticket, invoice, reference, tracking, confirmation, receipt,
  transaction) with no phone/card word nearby, is that other kind of number.

Nothing here logs or returns a cell value.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from synthstruct.pii.entities import NAME_LIKE

__all__ = ["MASK", "WORD_RULED", "is_convention_span", "lower_case_words", "mask_spans", "not_pii_by_context"]

#: Redaction masks and template placeholders used by public corpora (CFPB complaints: ``XXXX``,
#: ``XX/XX/XXXX``; Bitext customer support: ``{{Order Number}}``; de-identified notes: ``[NAME]``).
MASK = re.compile(
    r"\{\{\s*[^{}\n]{1,60}?\s*\}\}"
    r"|\[\s*[A-Z][A-Z0-9 _\-]{0,40}\]"
    r"|<\s*[A-Z][A-Z0-9_\-]{1,40}\s*>"
    r"|(?<![A-Za-z0-9])(?:X{2,}|x{4,})(?:[/\-.,: ](?:X{2,}|x{4,}))*(?![A-Za-z0-9])"
    r"|\*{3,}|#{3,}")

_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_NER_ENTITIES = NAME_LIKE
_NUMBER_ENTITIES = frozenset({"PHONE_NUMBER", "CREDIT_CARD"})
#: Entities whose spans the common-word rules below may drop (the scanner counts the batch's lower-case
#: words only when it found one of these).
WORD_RULED = frozenset({"PERSON", "LOCATION", "URL"})
#: Words that name a number that is neither a phone nor a card.
_OTHER_NUMBER_WORDS = frozenset({"order", "orders", "ticket", "invoice", "reference", "ref", "tracking",
                                 "confirmation", "receipt", "transaction", "case", "claim", "item", "sku",
                                 "po", "booking", "reservation", "amount", "total", "balance"})
#: Words that confirm a phone or a card; when present, context never lowers a span.
_CONFIRMING_WORDS = frozenset({"phone", "call", "cell", "mobile", "tel", "telephone", "fax", "card",
                               "visa", "mastercard", "amex", "credit", "debit", "contact", "reach"})
_CURRENCY_BEFORE = re.compile(r"[$€£¥₹]\s?$|(?:usd|eur|gbp)\s?$", re.IGNORECASE)
_CONTEXT_WORDS = 3
#: Lower-case uses a word needs in the batch before it counts as a common word.
MIN_LOWER_USES = 2
#: A host of exactly two alphabetic labels (``word.word``): nothing else can be a sentence join.
_BARE_HOST = re.compile(r"[^\W\d_]+\.[^\W\d_]+")
#: Top-level domains people write bare (``shop.com``): never read as a word.
_WRITTEN_TLDS = frozenset({"com", "org", "net", "edu", "gov", "io", "co", "info", "biz"})


def mask_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every redaction mask or placeholder in ``text``."""
    return [m.span() for m in MASK.finditer(text)]


def lower_case_words(texts: Iterable[str]) -> Counter[str]:
    """How often each word appears entirely in lower case in ``texts`` (the batch's own vocabulary)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w for w in _WORD.findall(text) if w.islower())
    return counts


def _only_masks(value: str, start: int, masks: Sequence[tuple[int, int]]) -> bool:
    keep = [True] * len(value)
    for s, e in masks:
        for k in range(max(s - start, 0), min(e - start, len(value))):
            keep[k] = False
    return not any(ok and ch.isalnum() for ok, ch in zip(keep, value))


@functools.lru_cache(maxsize=1)
def base_vocabulary() -> frozenset[str]:
    """Common English words known without any corpus: Faker's en_US word list and spaCy's stop words."""
    from faker.providers.lorem.en_US import Provider
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(w.casefold() for w in Provider.word_list) | frozenset(STOP_WORDS)


def _common_phrase(value: str, vocabulary: Counter[str]) -> bool:
    from synthstruct.pii.name_lists import known_names

    words = [w.casefold() for w in _WORD.findall(value)]
    if not words:
        return False
    first, last = known_names()
    if any(w in first or w in last for w in words):
        return False
    return all(_common_word(w, vocabulary) for w in words)


def _common_word(word: str, vocabulary: Counter[str]) -> bool:
    return word in base_vocabulary() or vocabulary.get(word, 0) >= MIN_LOWER_USES


def _sentence_join(value: str, vocabulary: Counter[str]) -> bool:
    """A bare ``word.word`` host that is a missing space or an abbreviation (see the module docstring)."""
    if not _BARE_HOST.fullmatch(value):
        return False
    name, tld = value.casefold().split(".")
    if tld in _WRITTEN_TLDS:
        return False
    return len(name) == 1 or (_common_word(name, vocabulary) and _common_word(tld, vocabulary))


def not_pii_by_context(text: str, start: int) -> bool:
    """A phone/card-shaped number at ``start`` is another kind of number by the words before it."""
    before = text[max(0, start - 80):start]
    if _CURRENCY_BEFORE.search(before):
        return True
    words = [w.casefold() for w in _WORD.findall(before)][-_CONTEXT_WORDS:]
    return bool(set(words) & _OTHER_NUMBER_WORDS) and not set(words) & _CONFIRMING_WORDS


def is_convention_span(text: str, span: tuple[int, int, str, float], masks: Sequence[tuple[int, int]],
                       vocabulary: Counter[str]) -> bool:
    """True when ``span`` (start, end, entity, score) of ``text`` is a corpus convention, not personal data."""
    start, end, entity, _ = span
    value = text[start:end]
    if _only_masks(value, start, masks):
        return True
    if entity in _NER_ENTITIES and not any(c.isalpha() for c in value):
        return True
    if entity == "PERSON" and _common_phrase(value, vocabulary):
        return True
    if entity == "LOCATION" and len(_WORD.findall(value)) == 1 and _common_phrase(value, vocabulary):
        return True
    if entity == "URL" and _sentence_join(value, vocabulary):
        return True
    return entity in _NUMBER_ENTITIES and not_pii_by_context(text, start)
