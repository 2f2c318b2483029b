"""Known first names and surnames from Faker's locale name lists, for content-based name detection.

Presidio's NER model recognises full names in context but often misses a bare surname (``Garcia``)
or first name in a table cell. A column whose values are mostly names on these lists is a name
column whatever it is called. The lists are built once per process from the Faker locales in
:data:`LOCALES` (Latin-script locales; about 20k names) and lower-cased.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

__all__ = ["LOCALES", "name_share"]

#: Faker person providers read for the lists.
LOCALES = ("en_US", "en_GB", "en_IE", "en_IN", "es_ES", "es_MX", "de_DE", "fr_FR", "it_IT", "nl_NL",
           "pt_BR", "pt_PT", "pl_PL", "sv_SE", "da_DK", "no_NO", "fi_FI", "cs_CZ", "tr_TR", "en_NG",
           "ro_RO", "hu_HU", "id_ID", "fil_PH", "vi_VN")


def _names(provider: type, attributes: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for attr in attributes:
        values = getattr(provider, attr, None)
        if values:
            out.update(str(v).strip().casefold() for v in values if str(v).strip())
    return out


@lru_cache(maxsize=1)
def known_names() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, surnames), lower-cased, from :data:`LOCALES`."""
    first: set[str] = set()
    last: set[str] = set()
    for locale in LOCALES:
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except (ImportError, AttributeError):
            continue
        first |= _names(provider, ("first_names", "first_names_male", "first_names_female"))
        last |= _names(provider, ("last_names", "last_names_male", "last_names_female"))
    return frozenset(first), frozenset(last)


def name_share(texts: list[str]) -> dict[str, float]:
    """Shares of ``texts`` that are a known first name, a known surname, or a full name (a first name
    followed by a surname, 2-3 words). A value that is both a first name and a surname counts for
    both."""
    if not texts:
        return {"FIRST_NAME": 0.0, "LAST_NAME": 0.0, "PERSON": 0.0}
    first, last = known_names()
    n_first = n_last = n_full = 0
    for text in texts:
        words = text.replace(",", " ").split()
        if len(words) == 1:
            word = words[0].casefold().strip(".")
            n_first += word in first
            n_last += word in last
        elif 2 <= len(words) <= 3:
            lowered = [w.casefold().strip(".") for w in words]
            if (lowered[0] in first and lowered[-1] in last) or (lowered[-1] in first and lowered[0] in last):
                n_full += 1
    n = len(texts)
    return {"FIRST_NAME": n_first / n, "LAST_NAME": n_last / n, "PERSON": n_full / n}
