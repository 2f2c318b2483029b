"""Identifier formats: Luhn-valid masked card numbers and pattern matching for the quality report.

A ``pii`` column with entity ``CREDIT_CARD`` whose pattern contains ``*`` (e.g. ``4#####******####``)
is generated as a full card number that passes the Luhn check (check digit computed last) and is
then masked at the ``*`` positions, so the stored value shows only issuer prefix and last digits.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["luhn_valid", "masked_card_numbers", "pattern_regex"]


def luhn_valid(number: str) -> bool:
    """Whether a digit string passes the Luhn checksum."""
    digits = [int(d) for d in number if d.isdigit()]
    if len(digits) < 2 or len(digits) != len([c for c in number if not c.isspace() and c != "-"]):
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _check_digit(body: list[int]) -> int:
    total = 0
    for i, d in enumerate(reversed(body)):  # the check digit will sit right of body[-1]
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return (10 - total % 10) % 10


def full_card_numbers(pattern: str, n: int, rng: np.random.Generator) -> list[str]:
    """``n`` Luhn-valid numbers shaped by ``pattern`` (``#`` and ``*`` are random digits, other
    digits are fixed; the last digit position holds the check digit)."""
    slots = [i for i, ch in enumerate(pattern) if ch in "#*" or ch.isdigit()]
    out = []
    for _ in range(n):
        chars = list(pattern)
        digits = [int(ch) if ch.isdigit() else int(rng.integers(10)) for ch in (pattern[i] for i in slots)]
        digits[-1] = _check_digit(digits[:-1])
        for pos, d in zip(slots, digits):
            chars[pos] = str(d)
        out.append("".join(chars))
    return out


def masked_card_numbers(pattern: str, n: int, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """(masked, full) card numbers; ``masked`` has ``*`` wherever ``pattern`` has ``*``."""
    full = full_card_numbers(pattern, n, rng)
    masked = ["".join("*" if p == "*" else c for p, c in zip(pattern, number)) for number in full]
    return masked, full


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A regex for values written from ``pattern`` (``#`` digit, ``?`` upper-case letter, ``*`` literal)."""
    parts = []
    for ch in pattern:
        parts.append(r"\d" if ch == "#" else "[A-Z]" if ch == "?" else re.escape(ch))
    return re.compile("^" + "".join(parts) + "$")
