"""Decide whether a column holds personal data, from its content first and its name second.

:func:`classify_column` samples distinct values (seeded), runs them through Presidio in one batch
and votes: the share of sampled values in which an entity covers most of the value. Name hints
(``email``, ``first_name``, ``zip`` ...) break ties and rescue entities Presidio cannot see
(surnames, cities, addresses, zip codes), but only when the values are plausible for that entity.
Content beats names: a column named ``contact`` full of e-mail addresses is ``EMAIL_ADDRESS``; a
column named ``name`` holding two product codes is not a person.

Rules worth knowing:

* Pattern entities (e-mail, phone, SSN, card, IBAN, IP, URL, NINO) count from any cardinality.
  Entities from the NER model (person, location, organisation) count only when the column has an
  identifying number of distinct values (see :data:`MIN_DISTINCT_NER`), so ``country`` or
  ``hospital`` codes with a handful of values stay categorical.
* ``DATE_TIME`` is not personal data by itself; it becomes ``DATE_OF_BIRTH`` only with a
  ``dob``/``birth`` name hint.
* Numeric columns (ages, amounts) are only checked for phone / SSN / card patterns, and must match
  them in most rows.

Nothing here logs or returns a cell value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from synthstruct.pii.entities import PII_ENTITIES

if TYPE_CHECKING:  # pragma: no cover
    from presidio_analyzer import AnalyzerEngine

__all__ = ["ColumnPiiGuess", "classify_column", "name_hint", "name_tokens"]

Evidence = Literal["content", "name", "both"]

#: Share of sampled distinct values an entity must cover for content evidence alone.
CONTENT_SHARE = 0.5
#: Share needed in numeric columns (they hit phone/SSN patterns by accident more easily).
NUMERIC_CONTENT_SHARE = 0.8
#: Share that supports a matching name hint.
SUPPORT_SHARE = 0.2
#: Lowest Presidio score counted as a match.
MIN_SCORE = 0.35
#: Share of a value's characters an entity span must cover (a long text that mentions an e-mail
#: address is text, not an e-mail column).
MIN_COVERAGE = 0.6
#: Before a digit entity (``_NUMERIC_ENTITIES``), a letter, or a letter and one joining ``-``, ``_`` or
#: ``#``: the digits are part of an identifier. ``MRN-0595436`` is a record number's digits, not a phone
#: number (Presidio's phone matcher sees one there).
_CODE_PREFIX = re.compile(r"[A-Za-z][-_#]?$")
#: Distinct values an NER entity (person, place, organisation) needs, unless every value is distinct.
MIN_DISTINCT_NER = 20
#: Without a name hint, an NER entity also needs this share of distinct values among the rows (or
#: :data:`MANY_DISTINCT` distinct values): 85 time zones over 14k rows are categories, not people.
MIN_DISTINCT_RATIO_NER = 0.05
MANY_DISTINCT = 1000
#: Values longer than this are cut before analysis (keeps the batch fast).
MAX_VALUE_CHARS = 200

_PATTERN_ENTITIES = {
    "EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "URL",
    "UK_NINO",
}
_NUMERIC_ENTITIES = {"PHONE_NUMBER", "US_SSN", "CREDIT_CARD"}
#: Presidio entity -> ours (entities not listed are not personal data for a whole column).
_PRESIDIO_TO_OURS = {
    "PERSON": "PERSON", "EMAIL_ADDRESS": "EMAIL_ADDRESS", "PHONE_NUMBER": "PHONE_NUMBER",
    "US_SSN": "US_SSN", "CREDIT_CARD": "CREDIT_CARD", "IBAN_CODE": "IBAN_CODE",
    "IP_ADDRESS": "IP_ADDRESS", "URL": "URL", "UK_NINO": "UK_NINO", "LOCATION": "LOCATION",
    "ORGANIZATION": "ORGANIZATION", "DATE_TIME": "DATE_TIME",
}
#: Name token(s) -> entity. Multi-word hints are matched on consecutive tokens.
_NAME_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("first", "name"), "FIRST_NAME"), (("given", "name"), "FIRST_NAME"), (("firstname",), "FIRST_NAME"),
    (("forename",), "FIRST_NAME"), (("fname",), "FIRST_NAME"),
    (("last", "name"), "LAST_NAME"), (("family", "name"), "LAST_NAME"), (("lastname",), "LAST_NAME"),
    (("surname",), "LAST_NAME"), (("lname",), "LAST_NAME"),
    (("user", "name"), "USERNAME"), (("username",), "USERNAME"), (("screen", "name"), "USERNAME"),
    (("login",), "USERNAME"), (("handle",), "USERNAME"),
    (("email",), "EMAIL_ADDRESS"), (("e", "mail"), "EMAIL_ADDRESS"), (("mail",), "EMAIL_ADDRESS"),
    (("phone",), "PHONE_NUMBER"), (("telephone",), "PHONE_NUMBER"), (("mobile",), "PHONE_NUMBER"),
    (("cell",), "PHONE_NUMBER"), (("tel",), "PHONE_NUMBER"), (("fax",), "PHONE_NUMBER"),
    (("ssn",), "US_SSN"), (("social", "security"), "US_SSN"),
    (("iban",), "IBAN_CODE"),
    (("card", "number"), "CREDIT_CARD"), (("card", "no"), "CREDIT_CARD"), (("credit", "card"), "CREDIT_CARD"),
    (("cc", "number"), "CREDIT_CARD"), (("pan",), "CREDIT_CARD"), (("card",), "CREDIT_CARD"),
    (("ip",), "IP_ADDRESS"), (("ip", "address"), "IP_ADDRESS"),
    (("url",), "URL"), (("website",), "URL"), (("homepage",), "URL"),
    (("nino",), "UK_NINO"), (("national", "insurance"), "UK_NINO"),
    (("mrn",), "MEDICAL_RECORD_NUMBER"), (("medical", "record"), "MEDICAL_RECORD_NUMBER"),
    (("dob",), "DATE_OF_BIRTH"), (("birth",), "DATE_OF_BIRTH"), (("birthday",), "DATE_OF_BIRTH"),
    (("birthdate",), "DATE_OF_BIRTH"),
    (("zip",), "ZIP_CODE"), (("zipcode",), "ZIP_CODE"), (("postcode",), "ZIP_CODE"),
    (("postal",), "ZIP_CODE"),
    (("address",), "ADDRESS"), (("street",), "ADDRESS"), (("addr",), "ADDRESS"),
    (("city",), "CITY"), (("town",), "CITY"),
    (("location",), "LOCATION"),
    (("company",), "ORGANIZATION"), (("employer",), "ORGANIZATION"), (("organization",), "ORGANIZATION"),
    (("organisation",), "ORGANIZATION"),
    (("name",), "PERSON"), (("fullname",), "PERSON"), (("person",), "PERSON"), (("patient",), "PERSON"),
    (("customer",), "PERSON"), (("contact",), "PERSON"),
)
_PERSONISH = {"PERSON", "FIRST_NAME", "LAST_NAME", "USERNAME"}
_HANDLE = re.compile(r"^@?[A-Za-z0-9_.]{2,30}$")
_NAME_CHARS = re.compile(r"^[^\W\d_]+(?:[ '.\-][^\W\d_]+)*\.?$")


@dataclass(frozen=True)
class ColumnPiiGuess:
    """The verdict on one column.

    Attributes:
        entity: One of :data:`~synthstruct.pii.entities.PII_ENTITIES`, or ``None`` (not PII).
        score: Confidence in ``[0, 1]`` (content share, boosted when the name agrees).
        share: Share of the sampled distinct values in which the content entity matched.
        evidence: ``"content"``, ``"name"`` or ``"both"`` (``None`` when not PII).
        n_sampled: How many distinct values were analysed.
    """

    entity: str | None
    score: float
    share: float
    evidence: Evidence | None
    n_sampled: int = 0

    @property
    def is_pii(self) -> bool:
        return self.entity is not None

    def describe(self) -> str:
        """A one-line explanation with counts only (safe to log or write into a schema comment)."""
        if self.entity is None:
            return f"no personal data found ({self.n_sampled} distinct values checked)"
        how = {"content": "by content", "name": "by column name", "both": "by content and column name"}
        return (f"{self.entity} {how[self.evidence or 'name']}: {self.share:.0%} of "
                f"{self.n_sampled} sampled distinct values matched")


# --------------------------------------------------------------------------------------- names
def name_tokens(name: str) -> list[str]:
    """Lower-case word tokens of a column name (splits camelCase, snake_case, kebab and spaces)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(name))
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def name_hint(name: str) -> str | None:
    """The entity a column name suggests, or ``None`` (longest matching hint wins)."""
    tokens = name_tokens(name)
    best: tuple[int, str] | None = None
    for hint, entity in _NAME_HINTS:
        k = len(hint)
        if any(tuple(tokens[i:i + k]) == hint for i in range(len(tokens) - k + 1)):
            if best is None or k > best[0]:
                best = (k, entity)
    if best is None:
        return None
    if best[1] == "PERSON" and not _person_name(tokens):
        return None  # customer_id, class_name, product name ... are not people's names
    return best[1]


_PERSON_QUALIFIERS = {"full", "customer", "patient", "person", "contact", "client", "user", "employee",
                      "owner", "holder", "member", "account", "my", "your", "their", "display", "real"}


def _person_name(tokens: list[str]) -> bool:
    """``name``, ``full_name``, ``customer_name``, ``patient`` ... but not ``class_name``."""
    others = [t for t in tokens if t not in ("name", "names")]
    if len(others) == len(tokens):  # a person word without 'name': patient, customer, contact
        return len(tokens) == 1
    return all(t in _PERSON_QUALIFIERS for t in others)


# --------------------------------------------------------------------------------------- content
def _sample_distinct(series: pd.Series, sample_size: int, seed: int) -> list[str]:
    values = pd.unique(series.dropna())
    texts = [str(v).strip() for v in values]
    texts = list(dict.fromkeys(t[:MAX_VALUE_CHARS] for t in texts if t))
    if len(texts) > sample_size:
        rng = np.random.default_rng(seed)
        picked = rng.choice(len(texts), size=sample_size, replace=False)
        texts = [texts[i] for i in sorted(picked)]
    return texts


def _entities_per_value(texts: list[str], analyzer: AnalyzerEngine) -> list[set[str]]:
    from presidio_analyzer import BatchAnalyzerEngine

    batch = BatchAnalyzerEngine(analyzer_engine=analyzer)
    results = batch.analyze_iterator(texts, language="en", batch_size=64)
    found: list[set[str]] = []
    for text, recognized in zip(texts, results):
        entities = set()
        for result in recognized or []:
            ours = _PRESIDIO_TO_OURS.get(result.entity_type)
            if ours and result.score >= MIN_SCORE and (result.end - result.start) >= MIN_COVERAGE * len(text):
                if ours in _NUMERIC_ENTITIES and _CODE_PREFIX.search(text[:result.start]):
                    continue  # the digits of an identifier such as MRN-0595436 or ACC_12345678
                entities.add(ours)
        found.append(entities)
    return found


def _content_shares(texts: list[str], analyzer: AnalyzerEngine) -> dict[str, float]:
    if not texts:
        return {}
    per_value = _entities_per_value(texts, analyzer)
    counts: dict[str, int] = {}
    for entities in per_value:
        for entity in entities:
            counts[entity] = counts.get(entity, 0) + 1
    return {entity: count / len(texts) for entity, count in counts.items()}


# --------------------------------------------------------------------------------------- plausibility
def _share(texts: list[str], predicate: Any) -> float:
    return sum(1 for t in texts if predicate(t)) / len(texts) if texts else 0.0


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _plausible_for(entity: str, texts: list[str], n_distinct: int, n_valid: int) -> bool:
    """Whether values could be ``entity`` when only the column name says so (no value is logged)."""
    if not texts:
        return False
    identifying = n_distinct >= min(MIN_DISTINCT_NER, max(2, n_valid)) and (
        n_distinct >= MIN_DISTINCT_RATIO_NER * n_valid or n_distinct >= MANY_DISTINCT)
    checks = {
        "PERSON": lambda t: bool(_NAME_CHARS.match(t)) and len(t) >= 3,
        "FIRST_NAME": lambda t: bool(_NAME_CHARS.match(t)) and len(t) >= 2,
        "LAST_NAME": lambda t: bool(_NAME_CHARS.match(t)) and len(t) >= 2,
        "USERNAME": lambda t: bool(_HANDLE.match(t)) and len(t) >= 3,
        "EMAIL_ADDRESS": lambda t: "@" in t,
        "PHONE_NUMBER": lambda t: 7 <= _digits(t) <= 15,
        "US_SSN": lambda t: _digits(t) == 9,
        "CREDIT_CARD": lambda t: 12 <= _digits(t) <= 19,
        "IBAN_CODE": lambda t: 15 <= len(t.replace(" ", "")) <= 34 and t[:2].isalpha(),
        "IP_ADDRESS": lambda t: t.count(".") == 3 or t.count(":") >= 2,
        "URL": lambda t: "." in t and " " not in t,
        "UK_NINO": lambda t: len(t.replace(" ", "")) == 9,
        "MEDICAL_RECORD_NUMBER": lambda t: _digits(t) >= 4,
        "ZIP_CODE": lambda t: 3 <= len(t) <= 10 and _digits(t) >= 2,
        "ADDRESS": lambda t: _digits(t) >= 1 and len(t.split()) >= 2,
        "CITY": lambda t: any(ch.isalpha() for ch in t),
        "LOCATION": lambda t: any(ch.isalpha() for ch in t),
        "ORGANIZATION": lambda t: any(ch.isalpha() for ch in t),
        "DATE_OF_BIRTH": lambda t: _digits(t) >= 4,
    }
    check = checks.get(entity)
    if check is None or _share(texts, check) < 0.8:
        return False
    if entity in _PERSONISH | {"CITY", "LOCATION", "ORGANIZATION", "ADDRESS"}:
        return identifying
    return True


def _refine_person(hint: str, texts: list[str]) -> str:
    """A generic ``name`` column of single-token handles (``jnardino``, ``JetBlueNews``) is USERNAME."""
    if hint != "PERSON":
        return hint
    single = _share(texts, lambda t: " " not in t and bool(_HANDLE.match(t)))
    return "USERNAME" if single >= 0.8 else hint


# --------------------------------------------------------------------------------------- verdict
def _best_content_entity(shares: dict[str, float], *, numeric: bool, n_distinct: int,
                         n_valid: int, hint: str | None) -> tuple[str, float] | None:
    identifying = n_distinct >= min(MIN_DISTINCT_NER, max(2, n_valid)) and (
        n_distinct >= MIN_DISTINCT_RATIO_NER * n_valid or n_distinct >= MANY_DISTINCT)
    pattern = {e: s for e, s in shares.items() if e in _PATTERN_ENTITIES}
    if numeric:  # bare numbers: a 10-digit amount "is" a phone number; only SSN / card stand alone
        allowed = _NUMERIC_ENTITIES - {"PHONE_NUMBER"} if hint != "PHONE_NUMBER" else _NUMERIC_ENTITIES
        pattern = {e: s for e, s in pattern.items() if e in allowed}
        threshold = NUMERIC_CONTENT_SHARE
    else:
        threshold = CONTENT_SHARE
    if pattern:
        entity, share = max(pattern.items(), key=lambda item: (item[1], item[0]))
        if share >= threshold:
            return entity, share
    if numeric or not identifying:
        return None
    ner = {e: s for e, s in shares.items() if e in ("PERSON", "LOCATION", "ORGANIZATION")}
    if ner:
        entity, share = max(ner.items(), key=lambda item: (item[1], item[0]))
        if share >= threshold:
            return entity, share
    return None


#: A content entity and a name hint that agree (the hint is the more specific of the two).
_COMPATIBLE = {
    "PERSON": {"PERSON", "FIRST_NAME", "LAST_NAME", "USERNAME"},
    "LOCATION": {"LOCATION", "CITY", "ADDRESS"},
    "DATE_TIME": {"DATE_OF_BIRTH"},
}


def _combine(content: tuple[str, float] | None, shares: dict[str, float], hint: str | None,
             texts: list[str], n_distinct: int, n_valid: int) -> tuple[str | None, float, float, Evidence | None]:
    if content is not None:
        entity, share = content
        if hint is not None and (hint == entity or hint in _COMPATIBLE.get(entity, ())):
            specific = _refine_person(hint, texts) if entity == "PERSON" else hint
            return specific, min(1.0, share + 0.2), share, "both"
        return entity, share, share, "content"
    if hint is None:
        return None, 0.0, 0.0, None
    support = max([shares.get(e, 0.0) for e, targets in _COMPATIBLE.items() if hint in targets]
                  + [shares.get(hint, 0.0)])
    if hint == "DATE_OF_BIRTH" and shares.get("DATE_TIME", 0.0) >= CONTENT_SHARE:
        return hint, min(1.0, shares["DATE_TIME"] + 0.2), shares["DATE_TIME"], "both"
    entity = _refine_person(hint, texts)
    if not _plausible_for(entity, texts, n_distinct, n_valid):
        return None, 0.0, support, None
    evidence: Evidence = "both" if support >= SUPPORT_SHARE else "name"
    return entity, (0.6 if evidence == "both" else 0.4) + 0.2 * support, support, evidence


#: Share of sampled distinct values on Faker's name lists that makes a column a name column by content.
NAME_LIST_SHARE = 0.6


def _listed_names(texts: list[str], hint: str | None, n_distinct: int,
                  n_valid: int) -> tuple[str | None, float, float, Evidence | None]:
    """Names by content from Faker's locale lists (surnames, first names, full names), for columns
    Presidio did not flag; needs an identifying number of distinct values."""
    from synthstruct.pii.name_lists import name_share

    if n_distinct < min(MIN_DISTINCT_NER, max(2, n_valid)) or not texts or (
            hint is not None and hint not in _COMPATIBLE["PERSON"]):
        return None, 0.0, 0.0, None  # a list match is strong evidence: no distinct-ratio rule here
    shares = name_share(texts)
    entity, share = max(shares.items(), key=lambda item: (item[1], item[0] == "LAST_NAME"))
    if share < NAME_LIST_SHARE:
        return None, 0.0, 0.0, None
    if shares["LAST_NAME"] >= NAME_LIST_SHARE and shares["LAST_NAME"] >= shares["FIRST_NAME"]:
        entity, share = "LAST_NAME", shares["LAST_NAME"]
    agrees = hint is not None and hint in _COMPATIBLE["PERSON"]
    return entity, round(min(1.0, share + (0.2 if agrees else 0.0)), 4), share, ("both" if agrees else "content")


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _has_fractions(series: pd.Series) -> bool:
    values = series.dropna().to_numpy(dtype="float64", na_value=np.nan)
    return bool(values.size) and bool(np.any(np.mod(values, 1) != 0))


def classify_column(series: pd.Series, name: str, *, analyzer: AnalyzerEngine | None = None,
                    sample_size: int = 200, seed: int = 0, use_content: bool = True,
                    n_valid: int | None = None) -> ColumnPiiGuess:
    """Guess whether ``series`` holds personal data, and which entity.

    Args:
        series: The column.
        name: Its name (used for hints only; content wins).
        analyzer: A Presidio analyzer; defaults to :func:`~synthstruct.pii.presidio_engine.get_analyzer`.
        sample_size: Distinct non-null values analysed (sampled with ``seed`` when there are more).
        seed: Seed for the sample.
        use_content: ``False`` skips Presidio and decides from the name and value shapes only.
        n_valid: Non-missing rows of the column when ``series`` holds its distinct values only
            (cardinality rules compare distinct values with rows).

    Returns:
        The guess; ``entity`` is ``None`` when the column does not look like personal data.
    """
    hint = name_hint(name)
    valid = series.dropna()
    n_valid = len(valid) if n_valid is None else max(int(n_valid), len(valid))
    if len(valid) == 0 or pd.api.types.is_bool_dtype(series):
        return ColumnPiiGuess(None, 0.0, 0.0, None, 0)
    try:
        n_distinct = int(valid.nunique())
    except TypeError:  # unhashable cells (lists, dicts)
        return ColumnPiiGuess(None, 0.0, 0.0, None, 0)
    numeric = _is_numeric(series)
    if numeric and _has_fractions(series):  # amounts, measurements: never an identifier pattern
        return ColumnPiiGuess(None, 0.0, 0.0, None, 0)
    texts = _sample_distinct(series, sample_size, seed)
    shares: dict[str, float] = {}
    if use_content:
        if analyzer is None:
            from synthstruct.pii.presidio_engine import get_analyzer

            analyzer = get_analyzer()
        shares = _content_shares(texts, analyzer)
    if numeric and hint is not None and hint not in _NUMERIC_ENTITIES | {"ZIP_CODE", "MEDICAL_RECORD_NUMBER"}:
        hint = None  # a numeric 'name_count' or 'birth_year' is not a name / date of birth
    content = _best_content_entity(shares, numeric=numeric, n_distinct=n_distinct, n_valid=n_valid,
                                   hint=hint)
    entity, score, share, evidence = _combine(content, shares, hint, texts, n_distinct, n_valid)
    if entity is None and not numeric:
        entity, score, share, evidence = _listed_names(texts, hint, n_distinct, n_valid)
    if entity is not None and entity not in PII_ENTITIES:  # defensive: only declared entities
        entity, evidence = None, None
    return ColumnPiiGuess(entity, round(float(score), 4), round(float(share), 4), evidence, len(texts))
