"""Harper Valley bank call transcripts as a table with structured columns derived from the text.

The shared file ``../shared/datasets/harper_valley_bank_transcripts.csv`` holds 1,446 calls, each one
lower-case string of ``agent ...`` / ``caller ...`` utterances (``[noise]`` and ``<unk>`` marks kept),
and only an id. :func:`load_harper_valley` reads it (the data is never bundled with the package) and
adds columns derived with transparent rules, so that a text column can be conditioned on them:

* ``intent`` — the caller's request, by keyword rules (:data:`INTENT_RULES`): the rule whose first
  match comes **earliest** in the transcript wins (the caller states the request near the start;
  later words such as "open" in "we have that day open" belong to the follow-up); ties go to the
  earlier rule; no match gives ``other``. The eight intents are the ones of the Harper Valley corpus.
* ``turns`` — speaker turns: runs of consecutive utterances by the same speaker count once.
* ``words`` — whitespace-separated words of the transcript (the unit of ``min_length`` / ``max_length``
  and of the text metrics).

:func:`rule_coverage` says how well the rules cover the data (shares and counts only, no text), and
:func:`caller_names` lists the full names callers give ("my name is <first> <last>") for the PII
checks of ``bench_text.py`` — names stay in memory and are never printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

__all__ = ["DEFAULT_PATH", "INTENTS", "INTENT_RULES", "caller_names", "count_turns", "derive_intent",
           "load_harper_valley", "rule_coverage"]

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "harper_valley_bank_transcripts.csv"

#: (intent, pattern) in tie-break order. Patterns are matched on the lower-case transcript.
INTENT_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(pattern)) for name, pattern in (
    ("replace_card", r"\b(?:lost|stolen|replace|replacement|new (?:debit |credit )?card)\b"),
    ("check_balance", r"\bbalance\b"),
    ("transfer_money", r"\btransfer"),
    ("pay_bill", r"\b(?:pay|bill)\b"),
    ("reset_password", r"\b(?:password|reset|locked out)\b"),
    ("schedule_appointment", r"\b(?:appointment|schedule)\b"),
    ("get_branch_hours", r"\b(?:hours|clos(?:e|es|ed|ing)|opens?(?! a\b))\b"),
    ("order_checks", r"\b(?:checks|check ?books?)\b"),
))
OTHER = "other"
INTENTS: tuple[str, ...] = tuple(name for name, _ in INTENT_RULES) + (OTHER,)

_SPEAKER = re.compile(r"\b(agent|caller)\b")
_CALLER_NAME = re.compile(r"\bcaller (?:\w+ ){0,3}?my name is ([a-z]+) ([a-z]+)\b")
_NOT_A_SURNAME = frozenset({"and", "i", "im", "um", "uh", "caller", "agent", "calling", "how", "the", "my"})


def _first_matches(text: str) -> dict[str, int]:
    """Intent -> position of its rule's first match in ``text`` (intents without a match left out)."""
    out = {}
    for name, pattern in INTENT_RULES:
        found = pattern.search(text)
        if found:
            out[name] = found.start()
    return out


def derive_intent(text: str) -> str:
    """The intent whose keyword rule matches earliest in ``text`` (``other`` when none matches)."""
    matches = _first_matches(str(text))
    if not matches:
        return OTHER
    order = {name: k for k, (name, _) in enumerate(INTENT_RULES)}
    return min(matches, key=lambda name: (matches[name], order[name]))


def count_turns(text: str) -> int:
    """Speaker turns: ``agent`` / ``caller`` markers, consecutive ones of the same speaker merged."""
    speakers = _SPEAKER.findall(str(text))
    return sum(1 for k, s in enumerate(speakers) if k == 0 or s != speakers[k - 1])


def load_harper_valley(path: str | Path | None = None) -> pd.DataFrame:
    """The transcripts with derived ``intent``, ``turns`` and ``words``.

    Args:
        path: The shared CSV (default :data:`DEFAULT_PATH`).

    Returns:
        Columns ``conversation_idx`` (id), ``intent``, ``turns``, ``words``, ``transcript``, in file order.
    """
    frame = pd.read_csv(path or DEFAULT_PATH, usecols=["conversation_idx", "transcript"])
    frame = frame.dropna(subset=["transcript"]).reset_index(drop=True)
    text = frame["transcript"].astype(str)
    return pd.DataFrame({
        "conversation_idx": frame["conversation_idx"].astype("int64"),
        "intent": text.map(derive_intent).astype(object),
        "turns": text.map(count_turns).astype("int64"),
        "words": text.str.split().str.len().astype("int64"),
        "transcript": text.astype(object),
    })


def rule_coverage(texts: Iterable[str]) -> dict[str, object]:
    """How the intent rules cover ``texts``: counts per intent, share covered, rows with several rules."""
    texts = [str(t) for t in texts]
    matched = [_first_matches(t) for t in texts]
    intents = pd.Series([derive_intent(t) for t in texts], dtype=object)
    return {
        "rows": len(texts),
        "covered_share": round(float((intents != OTHER).mean()), 4) if texts else None,
        "several_rules_match": sum(len(m) > 1 for m in matched),
        "per_intent": {name: int((intents == name).sum()) for name in INTENTS},
    }


def caller_names(texts: Iterable[str]) -> set[str]:
    """Lower-case ``"first last"`` names callers give after "my name is" (for replay checks; never print)."""
    names = set()
    for text in texts:
        for found in _CALLER_NAME.finditer(str(text).lower()):
            if found.group(1) not in _NOT_A_SURNAME and found.group(2) not in _NOT_A_SURNAME:
                names.add(f"{found.group(1)} {found.group(2)}")
    return names
