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

#: Faker person providers read for the lists (Latin-script locales of the Americas, Europe, Africa,
#: South and South-East Asia).
LOCALES = ("en_US", "en_GB", "en_IE", "en_IN", "en_AU", "en_CA", "en_NZ", "en_NG", "en_PK", "es_ES", "es_MX",
           "es_AR", "es_CO", "es_CL", "de_DE", "de_AT", "de_CH", "fr_FR", "fr_CA", "fr_CH", "it_IT", "nl_NL",
           "nl_BE", "pt_BR", "pt_PT", "pl_PL", "sv_SE", "da_DK", "no_NO", "fi_FI", "cs_CZ", "sk_SK", "sl_SI",
           "hr_HR", "tr_TR", "ro_RO", "hu_HU", "id_ID", "fil_PH", "vi_VN", "lt_LT", "lv_LV", "et_EE", "ga_IE",
           "sw", "yo_NG", "zu_ZA")


def _locales() -> tuple[str, ...]:
    return LOCALES


_PARTICLES = {"van", "der", "den", "de", "del", "della", "di", "da", "dos", "das", "du", "la", "le", "von", "zu",
              "ten", "ter", "op", "het", "y", "e", "mc", "st", "bin", "al", "el"}


def _names(provider: type, kind: str) -> set[str]:
    out: set[str] = set()
    for attr in dir(provider):
        if not attr.startswith(kind) or attr.endswith("_formats"):
            continue
        values = getattr(provider, attr, None)
        if isinstance(values, (list, tuple, dict, set, frozenset)):
            out.update(str(v).strip().casefold() for v in values if str(v).strip())
    return out


def _latin(names: set[str]) -> bool:
    sample = list(names)[:200]
    return bool(sample) and sum(all(ord(ch) < 0x250 or not ch.isalpha() for ch in n) for n in sample) >= 0.9 * len(sample)


@lru_cache(maxsize=64)
def known_names(exclude: tuple[str, ...] = ()) -> tuple[frozenset[str], frozenset[str]]:
    """(first names, surnames), lower-cased, from the Latin-script locales of :data:`LOCALES` except ``exclude``
    (used by the benchmark to measure recall on locales whose lists were left out)."""
    first: set[str] = set()
    last: set[str] = set()
    for locale in _locales():
        if locale in exclude:
            continue
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except (ImportError, AttributeError):
            continue
        f, s = _names(provider, "first_name"), _names(provider, "last_name")
        if _latin(f | s):
            first |= f
            last |= s
    return frozenset(first), frozenset(last)



def name_share(texts: list[str], exclude: tuple[str, ...] = ()) -> dict[str, float]:
    """Shares of ``texts`` that are a known first name, a known surname, or a full name (a first name
    followed by a surname, 2-3 words). A value that is both a first name and a surname counts for
    both."""
    if not texts:
        return {"FIRST_NAME": 0.0, "LAST_NAME": 0.0, "PERSON": 0.0}
    first, last = known_names(tuple(exclude))
    n_first = n_last = n_full = 0
    for text in texts:
        words = text.replace(",", " ").split()
        lowered_all = [w.casefold().strip(".") for w in words]
        if len(words) > 1 and all(w in _PARTICLES for w in lowered_all[:-1]) and lowered_all[-1] in last:
            n_last += 1  # van der Berg, de la Cruz
            continue
        if len(words) == 1 or (len(words) == 2 and "-" in text):
            word = text.casefold().strip(".")
            parts = word.split("-")
            n_first += word in first or all(p in first for p in parts)
            n_last += word in last or all(p in last for p in parts)
        elif 2 <= len(words) <= 3:
            lowered = [w.casefold().strip(".") for w in words]
            if (lowered[0] in first and lowered[-1] in last) or (lowered[-1] in first and lowered[0] in last):
                n_full += 1
    n = len(texts)
    return {"FIRST_NAME": n_first / n, "LAST_NAME": n_last / n, "PERSON": n_full / n}
