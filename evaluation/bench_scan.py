"""PII scanning benchmark: Presidio ``analyze`` once per cell vs ``scan_frame``, same cells, interleaved.

The labelled set (also used by ``tests/unit/privacy/test_scanner.py``) is generated with Faker:
sentence templates around pattern entities (e-mail, phone numbers of several locales, card numbers
of ten brands including Mastercard 2-series, Maestro and 15-digit JCB, IBANs of six countries, US
SSNs, IPv4/IPv6 addresses) and around people's names and cities. Gold phone numbers are the Faker
numbers that ``phonenumbers`` calls *possible* for the locale's region (Faker also writes
impossible ones, e.g. German numbers starting ``0000``).

A gold span counts as found when a predicted span of the same entity overlaps it; a predicted span
is correct when it overlaps a gold span of the same entity.

The baseline is Presidio's ``AnalyzerEngine.analyze`` called once per cell with its default
recognizers and the full spaCy pipeline (``presidio_engine.get_analyzer``). Both sides are timed in
alternating rounds on the same cells, with the 1-minute load average recorded per round, because
the machines this runs on are shared.

Run::

    .venv/bin/python evaluation/bench_scan.py --cells 2000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

PATTERN_ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS")
PHONE_LOCALES = {"en_US": "US", "en_GB": "GB", "de_DE": "DE", "fr_FR": "FR", "es_ES": "ES", "it_IT": "IT",
                 "nl_NL": "NL", "en_CA": "CA", "en_IN": "IN", "en_AU": "AU"}
IBAN_LOCALES = ("en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL")
CARD_TYPES = ("visa16", "visa13", "visa19", "mastercard", "maestro", "amex", "discover", "diners", "jcb15", "jcb16")
NAME_LOCALES = ("en_US", "en_GB", "en_US", "en_GB", "fr_FR", "de_DE")

TEMPLATES = {
    "EMAIL_ADDRESS": ["Please reply to {v} before Friday.", "My email is {v} if you need it.",
                      "Contact: {v}", "I wrote to {v} twice and got no answer."],
    "PHONE_NUMBER": ["Call me on {v} after six.", "My phone number is {v}.", "You can reach her at {v} tomorrow.",
                     "tel: {v}", "Please ring {v} to confirm the booking."],
    "CREDIT_CARD": ["The card number is {v}.", "I paid with card {v} yesterday.", "card: {v}",
                    "Please refund it to {v} as soon as possible."],
    "IBAN_CODE": ["Transfer the money to IBAN {v} please.", "My account is {v}.", "iban {v}",
                  "Send the refund to {v} by Monday."],
    "US_SSN": ["My SSN is {v}.", "social security number {v}", "The form shows {v} as the SSN.",
               "ssn: {v}"],
    "IP_ADDRESS": ["The login came from {v} at night.", "Server {v} is down.", "blocked ip {v}",
                   "We saw traffic from {v} again."],
    "PERSON": ["Yesterday {v} called about the invoice.", "Please forward this to {v}.",
               "The nurse said {v} was discharged early.", "I spoke with {v} on the phone.",
               "{v} asked for a refund."],
    "LOCATION": ["We moved to {v} last year.", "The parcel was sent from {v}.", "She lives in {v} now.",
                 "Our office in {v} is closed."],
    "PERSON+LOCATION": ["{p} flew from {l} on Monday.", "My neighbour {p} grew up in {l}."],
}


@dataclass
class Cell:
    """A sentence with its gold spans ``(start, end, entity)``."""

    text: str
    gold: list[tuple[int, int, str]] = field(default_factory=list)


def _fill(template: str, values: dict[str, tuple[str, str]]) -> Cell:
    text, gold, pos = "", [], 0
    while True:
        i = template.find("{", pos)
        if i < 0:
            return Cell(text + template[pos:], gold)
        j = template.index("}", i)
        value, entity = values[template[i + 1:j]]
        text += template[pos:i]
        gold.append((len(text), len(text) + len(value), entity))
        text += value
        pos = j + 1


def _fakers(seed: int) -> dict[str, object]:
    from faker import Faker

    out = {}
    for i, loc in enumerate(sorted(set(PHONE_LOCALES) | set(IBAN_LOCALES) | set(NAME_LOCALES))):
        fake = Faker(loc)
        fake.seed_instance(seed * 1000 + i)
        out[loc] = fake
    return out


def _possible_phone(fake: object, region: str, rng: random.Random) -> str:
    import phonenumbers

    for _ in range(50):
        value = fake.phone_number()  # type: ignore[attr-defined]
        try:
            if phonenumbers.is_possible_number(phonenumbers.parse(value, region)):
                return value
        except phonenumbers.NumberParseException:
            continue
    raise RuntimeError(f"no possible phone number from Faker for {region}")


def _value(entity: str, fakers: dict[str, object], rng: random.Random) -> str:
    f = fakers
    if entity == "EMAIL_ADDRESS":
        return f[rng.choice(NAME_LOCALES)].email()  # type: ignore[attr-defined]
    if entity == "PHONE_NUMBER":
        loc = rng.choice(sorted(PHONE_LOCALES))
        return _possible_phone(f[loc], PHONE_LOCALES[loc], rng)
    if entity == "CREDIT_CARD":
        return f["en_US"].credit_card_number(card_type=rng.choice(CARD_TYPES))  # type: ignore[attr-defined]
    if entity == "IBAN_CODE":
        return f[rng.choice(IBAN_LOCALES)].iban()  # type: ignore[attr-defined]
    if entity == "US_SSN":
        return f["en_US"].ssn()  # type: ignore[attr-defined]
    if entity == "IP_ADDRESS":
        fake = f["en_US"]
        return rng.choice([fake.ipv4_public, fake.ipv4_private, fake.ipv4, fake.ipv6])()  # type: ignore[attr-defined]
    if entity == "PERSON":
        return f[rng.choice(NAME_LOCALES)].name()  # type: ignore[attr-defined]
    return f[rng.choice(NAME_LOCALES)].city()  # type: ignore[attr-defined]


def make_labelled_set(n: int, *, seed: int = 0) -> list[Cell]:
    """``n`` labelled sentences, cycling through the template groups (deterministic for ``seed``)."""
    rng = random.Random(seed)
    fakers = _fakers(seed)
    groups = sorted(TEMPLATES)
    cells = []
    for k in range(n):
        group = groups[k % len(groups)]
        template = rng.choice(TEMPLATES[group])
        if group == "PERSON+LOCATION":
            values = {"p": (_value("PERSON", fakers, rng), "PERSON"), "l": (_value("LOCATION", fakers, rng), "LOCATION")}
        else:
            values = {"v": (_value(group, fakers, rng), group)}
        cells.append(_fill(template, values))
    return cells


def span_metrics(cells: Sequence[Cell], predicted: Sequence[Sequence[tuple[int, int, str]]]) -> dict[str, object]:
    """Recall per entity, pattern-entity recall, overall span recall and precision (overlap match)."""
    found, total = defaultdict(int), defaultdict(int)
    tp = fp = 0
    for cell, spans in zip(cells, predicted):
        for s, e, ent in cell.gold:
            total[ent] += 1
            found[ent] += any(p[2] == ent and p[0] < e and s < p[1] for p in spans)
        for ps, pe, pent in spans:
            if any(ent == pent and ps < e and s < pe for s, e, ent in cell.gold):
                tp += 1
            else:
                fp += 1
    pattern_total = sum(total[e] for e in PATTERN_ENTITIES)
    return {
        "recall_by_entity": {e: round(found[e] / total[e], 4) for e in sorted(total)},
        "pattern_recall": round(sum(found[e] for e in PATTERN_ENTITIES) / pattern_total, 4) if pattern_total else None,
        "span_recall": round(sum(found.values()) / sum(total.values()), 4),
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "gold_spans": sum(total.values()),
    }


def presidio_per_cell(texts: Sequence[str], analyzer: object, entities: Sequence[str],
                      min_score: float) -> list[list[tuple[int, int, str]]]:
    """The baseline: ``AnalyzerEngine.analyze`` once per cell."""
    out = []
    for text in texts:
        results = analyzer.analyze(text, language="en", entities=list(entities), score_threshold=min_score)  # type: ignore[attr-defined]
        out.append([(r.start, r.end, r.entity_type) for r in results])
    return out


def _time_ours(frame: object, schema: object, analyzer: object) -> tuple[float, list[list[tuple[int, int, str]]]]:
    from synthstruct.pii.scanner import scan_frame

    t0 = time.perf_counter()
    report = scan_frame(frame, schema=schema, analyzer=analyzer)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    spans: list[list[tuple[int, int, str]]] = [[] for _ in range(report.n_rows)]
    for f in report.findings:
        spans[f.row].append((f.start, f.end, f.entity))
    return seconds, spans


def _time_presidio(texts: Sequence[str], analyzer: object) -> tuple[float, list[list[tuple[int, int, str]]]]:
    from synthstruct.pii.scanner import DEFAULT_ENTITIES, MIN_SCORE

    t0 = time.perf_counter()
    spans = presidio_per_cell(texts, analyzer, DEFAULT_ENTITIES, MIN_SCORE)
    return time.perf_counter() - t0, spans


def run(n_cells: int, seed: int, baseline_cells: int | None, repeats: int = 3) -> dict[str, object]:
    """Time both sides ``repeats`` times, interleaved (order alternating), on the same cells.

    Each round times Presidio per cell on the baseline cells and ``scan_frame`` on all cells
    (fresh call; nothing is cached between calls); the speed-up is the ratio of the per-cell times
    summed over rounds, so background load hits both sides alike. The load average is recorded
    before each round.
    """
    import pandas as pd

    from synthstruct.pii.presidio_engine import get_analyzer
    from synthstruct.pii.scanner import get_scan_analyzer, scan_frame
    from synthstruct.schema.model import Schema

    cells = make_labelled_set(n_cells, seed=seed)
    texts = [c.text for c in cells]
    base_cells = cells[:baseline_cells] if baseline_cells else cells
    base_texts = [c.text for c in base_cells]
    presidio, ours_analyzer = get_analyzer(), get_scan_analyzer()
    presidio.analyze("warm up", language="en")
    frame = pd.DataFrame({"note": texts})
    schema = Schema.model_validate({"schema_version": 1, "name": "notes", "columns": {"note": {"kind": "text"}}})
    scan_frame(frame.head(20), schema=schema, analyzer=ours_analyzer)  # warm caches like the baseline

    rounds, base, ours = [], [], []
    for r in range(repeats):
        load = os.getloadavg()
        if r % 2 == 0:
            t_base, base = _time_presidio(base_texts, presidio)
            t_ours, ours = _time_ours(frame, schema, ours_analyzer)
        else:
            t_ours, ours = _time_ours(frame, schema, ours_analyzer)
            t_base, base = _time_presidio(base_texts, presidio)
        rounds.append({"loadavg_1min": round(load[0], 2), "presidio_ms_per_cell": 1000 * t_base / len(base_cells),
                       "scan_frame_ms_per_cell": 1000 * t_ours / len(cells)})
    _, same = _time_presidio(base_texts, ours_analyzer)
    base_ms = sum(r["presidio_ms_per_cell"] for r in rounds) / repeats
    ours_ms = sum(r["scan_frame_ms_per_cell"] for r in rounds) / repeats
    for r in rounds:
        r["ratio"] = round(r["presidio_ms_per_cell"] / r["scan_frame_ms_per_cell"], 1)
        r["presidio_ms_per_cell"] = round(r["presidio_ms_per_cell"], 3)
        r["scan_frame_ms_per_cell"] = round(r["scan_frame_ms_per_cell"], 3)
    return {
        "cells": len(cells), "baseline_cells": len(base_cells), "seed": seed, "repeats": repeats,
        "cpu_count": os.cpu_count(), "loadavg_after": [round(x, 2) for x in os.getloadavg()], "rounds": rounds,
        "presidio_default": {"ms_per_cell": round(base_ms, 3), **span_metrics(base_cells, base)},
        "presidio_with_our_recognizers": span_metrics(base_cells, same),
        "scan_frame": {"ms_per_cell": round(ours_ms, 3), **span_metrics(cells, ours)},
        "scan_frame_on_baseline_cells": span_metrics(base_cells, ours[:len(base_cells)]),
        "speedup_vs_presidio_default": round(base_ms / ours_ms, 1),
        "speedup_per_round": [r["ratio"] for r in rounds],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=2000)
    parser.add_argument("--baseline-cells", type=int, default=None,
                        help="time Presidio on the first N cells only (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timing rounds (default: 3)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = run(args.cells, args.seed, args.baseline_cells, args.repeats)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
