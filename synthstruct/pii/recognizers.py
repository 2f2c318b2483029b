"""Custom PII recognizers declared in YAML and turned into Presidio recognizers.

A recognizer file (``privacy/recognizers/*.yaml``; the built-in ones ship in
``synthstruct/_defaults/recognizers``) is strict and versioned::

    version: 1
    recognizers:
      - name: MastercardSeries2Recognizer
        entity: CREDIT_CARD
        patterns:
          - {name: mastercard 2-series, regex: '\\b2(?:22[1-9]|...)\\d{12}\\b', score: 0.3}
        context: [card, mastercard]
        validator: luhn          # drop matches that fail the check
        on_valid: max_score      # and raise those that pass to 1.0 (default: keep_score)
      - name: RegionPhoneRecognizer
        entity: PHONE_NUMBER
        kind: phone
        regions: [US, GB, DE, FR]

``kind: pattern`` recognizers become :class:`presidio_analyzer.PatternRecognizer` objects whose
``validate_result`` runs the named validator (:data:`VALIDATORS`); ``kind: phone`` recognizers use
``phonenumbers`` for each listed region. Unknown keys, bad regexes, unknown validators or regions
are reported together, with YAML paths, as an :class:`~synthstruct.errors.InputError`.

Presidio is imported lazily (only :func:`build_recognizers` needs it).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from synthstruct._resources import PACKAGE_DIR
from synthstruct.errors import InputError, Problem

if TYPE_CHECKING:  # pragma: no cover
    from presidio_analyzer import EntityRecognizer

__all__ = [
    "BUILTIN_RECOGNIZERS_DIR",
    "RECOGNIZERS_VERSION",
    "VALIDATORS",
    "PHONE_CANDIDATE",
    "PatternSpec",
    "RecognizerFile",
    "RecognizerSpec",
    "build_recognizers",
    "iban_valid",
    "ip_valid",
    "load_recognizer_file",
    "load_recognizer_specs",
    "luhn_valid",
    "uk_nino_valid",
    "us_ssn_valid",
]

RECOGNIZERS_VERSION = 1
BUILTIN_RECOGNIZERS_DIR = PACKAGE_DIR / "_defaults" / "recognizers"


# --------------------------------------------------------------------------------------- validators
def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def luhn_valid(text: str) -> bool:
    """Card number check: 12-19 digits (separators ignored) with a valid Luhn checksum."""
    digits = _digits(text)
    if not 12 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


#: IBAN lengths of common countries (others: any length from 15 to 34).
_IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "ES": 24, "FI": 18, "FR": 27, "GB": 22,
    "GR": 27, "HU": 28, "IE": 22, "IT": 27, "LU": 20, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "SE": 24,
}


def iban_valid(text: str) -> bool:
    """IBAN check: country code, known length, and the ISO 7064 mod-97 checksum equals 1."""
    compact = re.sub(r"[\s-]", "", text).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


_SSN_NEVER_ISSUED = {"078051120", "219099999", "123456789", "111111111", "333333333"}


def us_ssn_valid(text: str) -> bool:
    """US SSN rules: 9 digits; area not 000, 666 or 900-999; group not 00; serial not 0000."""
    digits = _digits(text)
    if len(digits) != 9 or digits in _SSN_NEVER_ISSUED or len(set(digits)) == 1:
        return False
    area, group, serial = int(digits[:3]), int(digits[3:5]), int(digits[5:])
    return area not in (0, 666) and area < 900 and group != 0 and serial != 0


_NINO = re.compile(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]")
_NINO_BAD_PREFIXES = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def uk_nino_valid(text: str) -> bool:
    """UK National Insurance number: two allowed prefix letters, six digits, suffix A-D."""
    compact = re.sub(r"\s", "", text).upper()
    return bool(_NINO.fullmatch(compact)) and compact[:2] not in _NINO_BAD_PREFIXES


def ip_valid(text: str) -> bool:
    """An IPv4 or IPv6 address that :mod:`ipaddress` parses (no leading zeros in IPv4 octets)."""
    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        return False
    return True


#: Validator name (``validator:`` in YAML) -> check on the matched text.
VALIDATORS: dict[str, Callable[[str], bool]] = {
    "iban": iban_valid, "ip": ip_valid, "luhn": luhn_valid, "uk_nino": uk_nino_valid, "us_ssn": us_ssn_valid,
}


# --------------------------------------------------------------------------------------- models
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PatternSpec(_Strict):
    """One regular expression (Python ``regex`` syntax) and the score of a bare match."""

    name: str = Field(min_length=1)
    regex: str = Field(min_length=1)
    score: float = Field(ge=0.0, le=1.0)


class RecognizerSpec(_Strict):
    """One recognizer: ``kind: pattern`` (regexes + optional validator) or ``kind: phone``."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    entity: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    kind: Literal["pattern", "phone"] = "pattern"
    description: str | None = None
    patterns: list[PatternSpec] = Field(default_factory=list)
    context: list[str] = Field(default_factory=list)
    validator: Literal["iban", "ip", "luhn", "uk_nino", "us_ssn"] | None = None
    on_valid: Literal["keep_score", "max_score"] = "keep_score"
    ignore_case: bool = False
    regions: list[str] = Field(default_factory=list)
    score_valid_number: float = Field(default=0.6, ge=0.0, le=1.0)
    score_formatted: float = Field(default=0.4, ge=0.0, le=1.0)
    score_possible: float = Field(default=0.1, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _check_kind(self) -> RecognizerSpec:
        if self.kind == "pattern":
            if not self.patterns:
                raise ValueError("a 'pattern' recognizer needs at least one entry under 'patterns'")
            if self.regions:
                raise ValueError("'regions' only applies to kind 'phone'")
            for pattern in self.patterns:
                try:
                    _regex_module().compile(pattern.regex)
                except Exception as exc:  # noqa: BLE001 - regex raises its own error type
                    raise ValueError(f"pattern {pattern.name!r} is not a valid regex ({exc})") from None
        else:
            if self.patterns or self.validator:
                raise ValueError("kind 'phone' takes 'regions', not 'patterns' or 'validator'")
            if not self.regions:
                raise ValueError("kind 'phone' needs a non-empty 'regions' list (e.g. [US, GB, DE])")
            import phonenumbers

            unknown = [r for r in self.regions if r not in phonenumbers.SUPPORTED_REGIONS]
            if unknown:
                raise ValueError(f"unknown phone regions {unknown}; use ISO 3166 codes such as GB, DE")
        return self


class RecognizerFile(_Strict):
    """A recognizer YAML file (``version: 1``)."""

    version: Literal[1]
    description: str | None = None
    recognizers: list[RecognizerSpec] = Field(min_length=1)


def _regex_module() -> Any:
    import regex

    return regex


# --------------------------------------------------------------------------------------- loading
def _problems(exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors(include_input=False, include_url=False):
        path = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            problems.append(Problem(path, "unknown key", "remove it or check its spelling (docs/scanning.md)"))
        elif err["type"] == "missing":
            problems.append(Problem(path, "required key is missing", "add it"))
        else:
            problems.append(Problem(path, err["msg"], "see docs/scanning.md for the recognizer format"))
    return problems


def load_recognizer_file(path: str | Path) -> RecognizerFile:
    """Read and validate one recognizer YAML file.

    Raises:
        InputError: missing file, invalid YAML, or every schema problem with its YAML path.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("recognizer file not found", [Problem(path.name, "no such file", "check the path")],
                         source=str(path))
    from synthstruct._yaml import load_yaml_file

    data = load_yaml_file(path, what="recognizer file")
    if not isinstance(data, dict):
        raise InputError("a recognizer file must be a mapping with 'version' and 'recognizers'",
                         source=str(path))
    try:
        return RecognizerFile.model_validate(data)
    except ValidationError as exc:
        raise InputError("invalid recognizer file", _problems(exc), source=str(path)) from None


def load_recognizer_specs(paths: list[str | Path] | None = None) -> list[RecognizerSpec]:
    """Every recognizer in ``paths`` (files or folders of ``*.yaml``), the built-in ones by default.

    Raises:
        InputError: a file is invalid, or two recognizers share a name.
    """
    files: list[Path] = []
    for entry in [BUILTIN_RECOGNIZERS_DIR] if paths is None else paths:
        entry = Path(entry)
        files += sorted(entry.glob("*.yaml")) if entry.is_dir() else [entry]
    specs: list[RecognizerSpec] = []
    seen: dict[str, str] = {}
    problems: list[Problem] = []
    for file in files:
        for i, spec in enumerate(load_recognizer_file(file).recognizers):
            if spec.name in seen:
                problems.append(Problem(f"{file.name}: recognizers[{i}].name",
                                        f"recognizer {spec.name!r} is also defined in {seen[spec.name]}",
                                        "give each recognizer a unique name"))
            seen[spec.name] = file.name
            specs.append(spec)
    if problems:
        raise InputError("duplicate recognizer names", problems)
    return specs


# --------------------------------------------------------------------------------------- presidio
#: A phone-shaped run: optional ``+``/``00``/``(``, digits with separators, optional extension.
_PHONE_CANDIDATE = re.compile(
    r"(?<![\w+.\-/])(?:\+|\(\+?)?\d[\d ().\-/]{4,22}\d(?:\s?(?:x|ext\.?|#)\s?\d{1,6})?(?![\w.\-/]\d|\w)")
#: Written like a phone number: leading +, ( or 00, or groups split by space, dash, slash or two dots.
_PHONE_FORMATTED = re.compile(r"^(?:\+|\(|00)|\d[ \-/)]+\(?\d|\d\.\d+\.\d")
#: Dates, IPv4 addresses, dashed US SSNs (3-2-4) and runs with a one-digit decimal fraction (body
#: measurements ``32-24.5-32``, ranges ``5.5-7``: no phone has a one-digit group after a dot) are digit runs
#: too, but not phone numbers.
_NOT_PHONE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,3}(?:\.\d{1,3}){3}"
                        r"|\d{3}-\d{2}-\d{4}|[\d ()\-/.]*\d\.\d(?!\d)[\d ()\-/.]*")
PHONE_CANDIDATE = _PHONE_CANDIDATE

@functools.lru_cache(maxsize=1)
def _recognizer_classes() -> tuple[type, type]:
    """Presidio subclasses, defined on first use so that importing this module stays light."""
    import phonenumbers
    from presidio_analyzer import (AnalysisExplanation, EntityRecognizer, LocalRecognizer, PatternRecognizer,
                                   RecognizerResult)

    class ValidatedPatternRecognizer(PatternRecognizer):
        """A pattern recognizer whose matches must pass ``validator`` (others are dropped)."""

        def __init__(self, spec: RecognizerSpec) -> None:
            from presidio_analyzer import Pattern

            flags = _regex_module().DOTALL | _regex_module().MULTILINE
            if spec.ignore_case:
                flags |= _regex_module().IGNORECASE
            super().__init__(supported_entity=spec.entity, name=spec.name, supported_language="en",
                             patterns=[Pattern(p.name, p.regex, p.score) for p in spec.patterns],
                             context=list(spec.context), global_regex_flags=flags)
            self.validator = VALIDATORS[spec.validator] if spec.validator else None
            self.boost_when_valid = spec.on_valid == "max_score"

        def validate_result(self, pattern_text: str) -> bool | None:
            if self.validator is None:
                return None
            if not self.validator(pattern_text):
                return False
            return True if self.boost_when_valid else None

    class RegionPhoneRecognizer(LocalRecognizer):
        """Phone numbers of the listed regions: phone-shaped digit runs parsed with ``phonenumbers``.

        A number valid in one of the regions (or internationally, with ``+``/``00``) scores
        ``score_valid_number``; a merely possible number written like a phone number (leading
        ``+``/``(``/``00``, or digit groups split by spaces, dashes, slashes or two dots) scores
        ``score_formatted``; other possible numbers ``score_possible`` (below the report
        threshold unless a context word is near). Dates are skipped.
        """

        def __init__(self, spec: RecognizerSpec) -> None:
            self.regions = tuple(spec.regions)
            self.scores = (spec.score_valid_number, spec.score_formatted, spec.score_possible)
            super().__init__(supported_entities=[spec.entity], supported_language="en",
                             context=list(spec.context), name=spec.name)

        def load(self) -> None:
            pass

        def _parse(self, raw: str, region: str | None) -> Any:
            try:
                return phonenumbers.parse(raw, region)
            except phonenumbers.NumberParseException:
                return None

        def score_candidate(self, raw: str) -> float:
            """The score of one phone-shaped candidate (0.0 when it is not a possible number)."""
            digits = _digits(raw.split("x")[0].split("ext")[0])
            if not 7 <= len(digits) <= 15 or _NOT_PHONE.fullmatch(raw):
                return 0.0
            valid, formatted, possible = self.scores
            regions: tuple[str | None, ...] = (None,) if raw.startswith("+") else self.regions
            best = 0.0
            for region in regions:
                number = self._parse(raw, region)
                if number is None or not phonenumbers.is_possible_number(number):
                    continue
                if phonenumbers.is_valid_number(number):
                    return valid
                best = possible
            if best and _PHONE_FORMATTED.search(raw):
                best = formatted
            return best

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            results = []
            for match in _PHONE_CANDIDATE.finditer(text):
                score = self.score_candidate(match.group())
                if score > 0:
                    explanation = AnalysisExplanation(recognizer=self.name, original_score=score,
                                                      textual_explanation="phone-shaped number parsed by phonenumbers")
                    results.append(RecognizerResult(
                        self.supported_entities[0], match.start(), match.end(), score, explanation,
                        recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                              RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}))
            return EntityRecognizer.remove_duplicates(results)

    return ValidatedPatternRecognizer, RegionPhoneRecognizer


def build_recognizers(specs: list[RecognizerSpec] | None = None) -> list[EntityRecognizer]:
    """Presidio recognizers for ``specs`` (the built-in YAML files by default)."""
    pattern_cls, phone_cls = _recognizer_classes()
    specs = load_recognizer_specs() if specs is None else specs
    return [phone_cls(spec) if spec.kind == "phone" else pattern_cls(spec) for spec in specs]
