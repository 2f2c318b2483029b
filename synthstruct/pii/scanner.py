"""Find personal data in a table: column-level verdicts and cell-level spans in free text.

:func:`scan_frame` splits the columns in two:

* **structured / short columns** get one verdict each from
  :func:`~synthstruct.pii.column_pii.classify_column` (sampled distinct values, vote, name
  hints), plus the share of cells the entity covers (exact for pattern entities);
* **free-text columns** (schema kind ``text``, or long texts) get **cell-level spans**. The same
  recognizers Presidio would run are applied in bulk instead of once per cell: identical cells are
  scanned once; every regex runs once over a batch of cells joined into one string; matches are
  validated (Luhn, mod-97 ...) and context-boosted like Presidio does; phone numbers are only parsed
  on phone-shaped digit runs; spaCy NER runs through ``nlp.pipe`` with only the ``ner`` component,
  and only on sentences that hold a capitalised word (other than a sentence-initial stop word).

Findings are data (entity, column, row, start, end, score); a raw value is only included with
``show_values=True``. Nothing here logs a cell value.
"""

from __future__ import annotations

import functools
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from synthstruct.errors import DataValidationError, Problem
from synthstruct.pii._ner_fast import WORD as _WORD
from synthstruct.pii._ner_fast import ner_candidates as _ner_candidates
from synthstruct.pii._ner_fast import ner_pipes as _ner_pipes
from synthstruct.pii._ner_fast import numpy_matmul as _numpy_matmul
from synthstruct.pii._ner_fast import numpy_ops as _numpy_ops  # noqa: F401 - tests reach it here
from synthstruct.pii.conventions import WORD_RULED, is_convention_span, lower_case_words, mask_spans
from synthstruct.pii.entities import DEFAULT_SCANNED, NER

if TYPE_CHECKING:  # pragma: no cover
    from presidio_analyzer import AnalyzerEngine


class Schema(Protocol):
    """What the scanner reads of a :class:`synthstruct.schema.Schema` (this layer sits below schema):
    ``columns[name].kind`` (``text`` columns are scanned cell by cell) and a ``pii`` column's ``entity``."""

    @property
    def columns(self) -> Mapping[str, Any]: ...

__all__ = [
    "DEFAULT_ENTITIES", "MIN_SCORE", "ColumnFinding", "Finding", "ScanReport", "get_scan_analyzer", "scan_frame",
    "scan_texts",
]

logger = logging.getLogger(__name__)

#: Lowest score reported (same as the column classifier).
MIN_SCORE = 0.35
#: Entities reported by default (:data:`synthstruct.pii.entities.DEFAULT_SCANNED`); pass ``entities=`` to add others.
DEFAULT_ENTITIES = DEFAULT_SCANNED
_NER_ENTITIES = NER
_CONTEXT_BOOST, _CONTEXT_MIN, _CONTEXT_WORDS = 0.35, 0.4, 5
_TEXT_MIN_WORDS, _TEXT_MIN_CHARS = 6, 60
_CHUNK = 5000
_SEP = "\n\x00\n"
#: Cheap tests a cell must pass before an entity's (costly) regexes run on it: Presidio's URL
#: patterns all end in a dot and a top-level domain (``example.org``), e-mail patterns need an ``@``.
_GATES = {"URL": re.compile(r"[\w-]\.[^\W\d_]"), "EMAIL_ADDRESS": re.compile(r"@")}


@dataclass(frozen=True)
class Finding:
    """A span of personal data in one cell (``row`` is the 0-based position in the frame)."""

    entity: str
    column: str
    row: int
    start: int
    end: int
    score: float
    value: str | None = None


@dataclass(frozen=True)
class ColumnFinding:
    """A column-level verdict: ``share`` of non-null cells holding ``entity`` (see ``share_basis``)."""

    column: str
    entity: str
    score: float
    share: float
    share_basis: str
    evidence: str


@dataclass
class ScanReport:
    """Everything :func:`scan_frame` found. Serialise with :meth:`to_dict` (JSON-ready)."""

    n_rows: int
    columns: list[ColumnFinding] = field(default_factory=list)
    text_columns: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    ner_model: str | None = None
    min_score: float = MIN_SCORE

    def text_counts(self, column: str) -> dict[str, int]:
        """Spans per entity in one text column."""
        return dict(sorted(Counter(f.entity for f in self.findings if f.column == column).items()))

    def to_dict(self) -> dict[str, Any]:
        text: dict[str, Any] = {}
        for name, n_cells in self.text_columns.items():
            rows = {f.row for f in self.findings if f.column == name}
            text[name] = {"cells": n_cells, "cells_with_pii": len(rows),
                          "share_of_cells_with_pii": round(len(rows) / n_cells, 4) if n_cells else 0.0,
                          "counts": self.text_counts(name)}
        spans = [{k: v for k, v in asdict(f).items() if k != "value" or v is not None} for f in self.findings]
        return {"version": 1, "n_rows": self.n_rows, "ner_model": self.ner_model, "min_score": self.min_score,
                "columns": {c.column: {k: v for k, v in asdict(c).items() if k != "column"} for c in self.columns},
                "text_columns": text, "findings": spans}


# --------------------------------------------------------------------------------------- analyzer
@functools.lru_cache(maxsize=4)
def get_scan_analyzer(model: str | None = None, recognizer_paths: tuple[str, ...] | None = None) -> AnalyzerEngine:
    """Presidio's analyzer plus the YAML recognizers (shares the spaCy pipeline of ``get_analyzer``).

    Presidio's own ``PhoneRecognizer`` is replaced by the YAML phone recognizer (more regions).
    """
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    from synthstruct.pii.presidio_engine import get_analyzer
    from synthstruct.pii.recognizers import build_recognizers, load_recognizer_specs

    base = get_analyzer(model)
    custom = build_recognizers(load_recognizer_specs(list(recognizer_paths) if recognizer_paths else None))
    replaced = {"PhoneRecognizer"} if any(type(r).__name__ == "RegionPhoneRecognizer" for r in custom) else set()
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.recognizers = [r for r in base.registry.recognizers if type(r).__name__ not in replaced] + custom
    engine = AnalyzerEngine(registry=registry, nlp_engine=base.nlp_engine, supported_languages=["en"])
    engine._synthstruct_nlp_model = getattr(base, "_synthstruct_nlp_model", None)
    return engine


class _BulkRecognizers:
    """The analyzer's recognizers, prepared to run over many cells at once."""

    def __init__(self, analyzer: AnalyzerEngine, entities: Sequence[str]) -> None:
        import regex
        from presidio_analyzer import PatternRecognizer

        self.entities = set(entities)
        self.patterns: list[tuple[Any, Any, float]] = []
        self.phones: list[Any] = []
        self.others: list[Any] = []
        self.nlp = None
        for rec in analyzer.registry.recognizers:
            if not self.entities & set(rec.supported_entities):
                continue
            if isinstance(rec, PatternRecognizer):
                self.patterns += [(rec, regex.compile(p.regex, flags=rec.global_regex_flags), p.score)
                                  for p in rec.patterns]
            elif type(rec).__name__ in ("RegionPhoneRecognizer", "PhoneRecognizer"):
                self.phones.append(rec)
            elif type(rec).__name__ == "SpacyRecognizer":
                self.nlp = getattr(analyzer.nlp_engine, "nlp", {}).get("en")
                config = analyzer.nlp_engine.ner_model_configuration
                self.label_map = config.model_to_presidio_entity_mapping
                self.ignored = set(config.labels_to_ignore)
                self.ner_score = config.default_score
            else:
                self.others.append(rec)
        #: Acronyms that name a kind of personal data (``IBAN``, ``SSN``): context words of the
        #: pattern recognizers, never a name or place themselves.
        self.descriptors = frozenset(c.lower() for r in [p[0] for p in self.patterns] + self.phones
                                     for c in (r.context or []) if " " not in c)
        self.gated: dict[Any, list[tuple[Any, Any, float]]] = {}
        for pattern in self.patterns:
            self.gated.setdefault(_GATES.get(pattern[0].supported_entities[0]), []).append(pattern)

    # ------------------------------------------------------------------ patterns
    def pattern_spans(self, texts: list[str]) -> list[list[tuple[int, int, str, float]]]:
        """Spans per text from every regex, validated and context-boosted (above the threshold)."""
        from synthstruct.pii.recognizers import PHONE_CANDIDATE

        out: list[list[tuple[int, int, str, float]]] = [[] for _ in texts]
        for lo in range(0, len(texts), _CHUNK):
            part = texts[lo:lo + _CHUNK]
            verdicts: dict[tuple[int, str], float] = {}
            for gate, patterns in self.gated.items():
                rows = [i for i, t in enumerate(part) if gate is None or gate.search(t)]
                if rows:
                    self._run_patterns(patterns, [part[i] for i in rows], rows, out, lo, verdicts)
            if self.phones:
                for i, text in enumerate(part):
                    if PHONE_CANDIDATE.search(text):
                        out[lo + i] += self._phone_spans(text)
            for rec in self.others:
                for i, text in enumerate(part):
                    out[lo + i] += [(r.start, r.end, r.entity_type, _boost(text, r.start, r.score, rec.context))
                                    for r in rec.analyze(text, list(self.entities), None)]
        return out

    def _run_patterns(self, patterns: list[tuple[Any, Any, float]], part: list[str], rows: list[int],
                      out: list[list[tuple[int, int, str, float]]], lo: int,
                      verdicts: dict[tuple[int, str], float]) -> None:
        """Each regex once over ``part`` joined into one string; spans go to ``out[lo + rows[i]]``."""
        joined = _SEP.join(part)
        starts = np.cumsum([0] + [len(t) + len(_SEP) for t in part[:-1]])
        for rec, compiled, score in patterns:
            matches = [m for m in compiled.finditer(joined) if m.end() > m.start()]
            if not matches:
                continue
            entity = rec.supported_entities[0]
            where = np.searchsorted(starts, [m.start() for m in matches], side="right") - 1
            for m, i in zip(matches, where.tolist()):
                s, e, value = m.start() - int(starts[i]), m.end() - int(starts[i]), m.group()
                if e > len(part[i]) or not _plausible(entity, value) or _cut_word(entity, part[i], e):
                    continue  # crossed into the separator, implausible, or a host cut out of a longer word
                final = self._validated(rec, value, score, verdicts)
                if final > 0:
                    out[lo + rows[i]].append((s, e, entity, _boost(part[i], s, final, rec.context)))

    @staticmethod
    def _validated(rec: Any, text: str, score: float, cache: dict[tuple[int, str], float]) -> float:
        key = (id(rec), text)
        if key not in cache:
            valid = rec.validate_result(text)
            factor = 1.0 if valid else (0.0 if valid is False else None)
            if rec.invalidate_result(text):
                factor = 0.0
            cache[key] = -1.0 if factor is None else factor
        flag = cache[key]
        return score if flag < 0 else flag

    def _phone_spans(self, text: str) -> list[tuple[int, int, str, float]]:
        spans = []
        for rec in self.phones:
            for r in rec.analyze(text, ["PHONE_NUMBER"], None):
                if _UNIT_AFTER.match(text, r.end):
                    continue  # "5'7 145-150 lbs": a measurement, not a number to call
                spans.append((r.start, r.end, "PHONE_NUMBER", _boost(text, r.start, r.score, rec.context)))
        return spans

    # ------------------------------------------------------------------ NER
    def ner_spans(self, texts: list[str], masks: list[list[tuple[int, int, str, float]]],
                  batch_size: int) -> list[list[tuple[int, int, str, float]]]:
        """NER spans per text; only sentences with a candidate capitalised word go through spaCy."""
        out: list[list[tuple[int, int, str, float]]] = [[] for _ in texts]
        if self.nlp is None or not self.entities & _NER_ENTITIES:
            return out
        where: dict[str, list[tuple[int, int]]] = {}
        for i, text in enumerate(texts):
            for offset, sentence in _ner_candidates(text, masks[i], self.descriptors):
                where.setdefault(sentence, []).append((i, offset))
        if not where:
            return out
        pipes = _ner_pipes(self.nlp)
        with self.nlp.select_pipes(enable=pipes), _numpy_matmul(self.nlp, pipes):
            for sentence, doc in zip(where, self.nlp.pipe(list(where), batch_size=batch_size)):
                for ent in doc.ents:
                    entity = self.label_map.get(ent.label_)
                    if ent.label_ in self.ignored or entity not in self.entities:
                        continue
                    for i, offset in where[sentence]:
                        out[i].append((offset + ent.start_char, offset + ent.end_char, entity, self.ner_score))
        return out


def _plausible(entity: str, text: str) -> bool:
    """Cheap sanity rules Presidio lacks: a URL/host never has an empty label (``dress...it``)."""
    return not (entity in ("URL", "EMAIL_ADDRESS") and (".." in text or text.startswith(".")))


#: A unit of weight, length or size right after a number: what precedes it is a measurement.
_UNIT_AFTER = re.compile(r"\s*(?:lbs?|pounds?|kgs?|kilos?|kilograms?|cm|mm|inch(?:es)?|in|ft|feet|oz)\b",
                         re.IGNORECASE)


def _cut_word(entity: str, text: str, end: int) -> bool:
    """A URL or e-mail match that stops inside a word: ``size up.very`` gives the "host" ``up.ve`` (``.ve`` is a
    country domain) followed by ``ry``. A real address ends at a space, punctuation or the end of the text."""
    return entity in ("URL", "EMAIL_ADDRESS") and end < len(text) and text[end].isalnum()


def _boost(text: str, start: int, score: float, context: Sequence[str] | None) -> float:
    """Presidio-style context enhancement: a context word among the five words before the span."""
    if not context or score <= 0:
        return score
    words = _WORD.findall(text[max(0, start - 100):start].lower())[-_CONTEXT_WORDS:]
    window = f" {' '.join(words)} "
    if any(f" {c.lower()} " in window or f" {c.lower()}s " in window for c in context):
        return min(1.0, max(score + _CONTEXT_BOOST, _CONTEXT_MIN))
    return score


def _resolve(spans: list[tuple[int, int, str, float]], min_score: float) -> list[tuple[int, int, str, float]]:
    """Keep spans above ``min_score``; of overlapping spans keep the higher score (then the longer)."""
    kept: list[tuple[int, int, str, float]] = []
    for span in sorted(spans, key=lambda s: (-s[3], -(s[1] - s[0]), s[0], s[2])):
        if span[3] >= min_score and all(span[1] <= k[0] or span[0] >= k[1] for k in kept):
            kept.append(span)
    return sorted(kept)




# --------------------------------------------------------------------------------------- text scanning
def _case_restored(text: str) -> str:
    """``text`` in title case when it has no upper-case letter at all (offsets unchanged), else as is.

    The NER model finds names by their capitals: in all-lower-case text (transcripts, normalised
    notes) it finds none. Title case makes it over-detect instead, the safe side for scrubbing.
    """
    if any(c.isupper() for c in text):
        return text
    titled = text.title()
    return titled if len(titled) == len(text) else text


def scan_texts(texts: Sequence[str], *, analyzer: AnalyzerEngine | None = None,
               entities: Sequence[str] = DEFAULT_ENTITIES, batch_size: int = 1000,
               min_score: float = MIN_SCORE, restore_case: bool = False) -> list[list[tuple[int, int, str, float]]]:
    """Spans ``(start, end, entity, score)`` for each text (identical texts are scanned once).

    Args:
        restore_case: Scan all-lower-case texts as title-cased copies (same offsets), so that names
            in lower-case text are found; more false positives, which scrubbing can afford.
    """
    bulk = _bulk(analyzer or get_scan_analyzer(), tuple(entities))
    if restore_case:
        texts = [_case_restored(str(t)) for t in texts]
    codes, uniques = pd.factorize(pd.Series(list(texts), dtype=object))
    distinct = [str(u) for u in uniques]
    patterns = bulk.pattern_spans(distinct)
    conventions = [mask_spans(text) for text in distinct]
    masks = [[s for s in spans if s[3] >= min_score] + [(a, b, "MASK", 1.0) for a, b in conv]
             for spans, conv in zip(patterns, conventions)]
    ner = bulk.ner_spans(distinct, masks, batch_size)
    # the common-word rules read the batch's lower-case vocabulary; only PERSON, LOCATION and URL spans need it
    vocabulary = lower_case_words(distinct) if any(s[2] in WORD_RULED for spans in (*patterns, *ner)
                                                   for s in spans) else Counter()
    resolved = [[s for s in _resolve(p + n, min_score) if not is_convention_span(text, s, conv, vocabulary)]
                for text, p, n, conv in zip(distinct, patterns, ner, conventions)]
    return [resolved[c] if c >= 0 else [] for c in codes]


_BULK_CACHE: dict[tuple[int, tuple[str, ...]], _BulkRecognizers] = {}


def _bulk(analyzer: AnalyzerEngine, entities: tuple[str, ...]) -> _BulkRecognizers:
    key = (id(analyzer), entities)
    if key not in _BULK_CACHE:
        _BULK_CACHE[key] = _BulkRecognizers(analyzer, entities)
    return _BULK_CACHE[key]


# --------------------------------------------------------------------------------------- table scanning
def _is_free_text(series: pd.Series) -> bool:
    texts = series.dropna().astype(str).head(5000)
    if texts.empty or pd.api.types.is_numeric_dtype(series):
        return False
    return float(texts.str.split().str.len().median()) >= _TEXT_MIN_WORDS or \
        float(texts.str.len().median()) >= _TEXT_MIN_CHARS


def _cell_share(series: pd.Series, entity: str, analyzer: AnalyzerEngine) -> float | None:
    """Share of non-null cells whose value is mostly one ``entity`` span (pattern entities only)."""
    valid = series.dropna().astype(str).str.strip()
    if valid.empty or entity in _NER_ENTITIES:
        return None
    counts = valid.value_counts(sort=False)
    bulk = _bulk(analyzer, (entity,))
    if not bulk.patterns and not bulk.phones:
        return None
    spans = bulk.pattern_spans(list(counts.index))
    hit = [any(s[2] == entity and s[3] >= MIN_SCORE and (s[1] - s[0]) >= 0.6 * len(t) for s in sp)
           for t, sp in zip(counts.index, spans)]
    return round(float(counts[np.array(hit, dtype=bool)].sum() / counts.sum()), 4)


def _column_finding(name: str, series: pd.Series, declared: str | None, analyzer: AnalyzerEngine,
                    seed: int) -> ColumnFinding | None:
    from synthstruct.pii.column_pii import classify_column

    guess = classify_column(series, name, analyzer=analyzer, seed=seed)
    entity = declared or guess.entity
    if entity is None:
        return None
    evidence = "schema" if declared else str(guess.evidence)
    exact = _cell_share(series, entity, analyzer)
    if exact is not None:
        return ColumnFinding(name, entity, guess.score if not declared else 1.0, exact, "cells", evidence)
    return ColumnFinding(name, entity, guess.score if not declared else 1.0, guess.share,
                         "sampled_distinct_values", evidence)


def _plan(frame: pd.DataFrame, schema: Schema | None, columns: Sequence[str] | None) -> dict[str, tuple[str, str | None]]:
    """Column -> (mode, declared entity); mode is ``cell`` (free text) or ``column``."""
    names = list(columns) if columns is not None else list(frame.columns)
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise DataValidationError("unknown columns to scan", [
            Problem(f"column {c!r}", "is not in the data", "check the column names") for c in missing])
    plan = {}
    for name in names:
        spec = schema.columns.get(name) if schema is not None else None
        if spec is not None:
            plan[name] = ("cell" if spec.kind == "text" else "column", getattr(spec, "entity", None))
        else:
            plan[name] = ("cell" if _is_free_text(frame[name]) else "column", None)
    return plan


def scan_frame(frame: pd.DataFrame, *, schema: Schema | None = None, columns: Sequence[str] | None = None,
               analyzer: AnalyzerEngine | None = None, batch_size: int = 1000, show_values: bool = False,
               entities: Sequence[str] = DEFAULT_ENTITIES, min_score: float = MIN_SCORE,
               seed: int = 0) -> ScanReport:
    """Scan a table for personal data.

    Args:
        frame: The table.
        schema: Optional schema: ``text`` columns are scanned cell by cell, ``pii`` columns are
            reported with their declared entity, other columns are classified by content.
            Without a schema, columns with long texts are scanned cell by cell.
        columns: Only these columns (default: all).
        analyzer: A Presidio analyzer (default: :func:`get_scan_analyzer`).
        batch_size: Sentences per ``nlp.pipe`` batch.
        show_values: Include the raw matched text in each finding (off by default).
        entities: Entities reported in free text.
        min_score: Lowest span score reported.
        seed: Seed for the value samples of the column classifier.

    Returns:
        A :class:`ScanReport`.

    Raises:
        DataValidationError: the frame is empty or ``columns`` names a missing column.
    """
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise DataValidationError("nothing to scan", [Problem("data", "the table has no rows or no columns",
                                                              "pass a table with data")])
    plan = _plan(frame, schema, columns)
    analyzer = analyzer or get_scan_analyzer()
    report = ScanReport(n_rows=len(frame), ner_model=getattr(analyzer, "_synthstruct_nlp_model", None),
                        min_score=min_score)
    for name, (mode, declared) in plan.items():
        series = frame[name]
        if mode == "column":
            found = _column_finding(name, series, declared, analyzer, seed)
            if found is not None:
                report.columns.append(found)
            continue
        valid = series.dropna()
        texts = valid.astype(str).tolist()
        positions = np.flatnonzero(series.notna().to_numpy())
        report.text_columns[name] = len(texts)
        spans = scan_texts(texts, analyzer=analyzer, entities=entities, batch_size=batch_size, min_score=min_score)
        for pos, text, cell in zip(positions, texts, spans):
            report.findings += [Finding(entity, name, int(pos), s, e, round(float(score), 4),
                                        text[s:e] if show_values else None) for s, e, entity, score in cell]
    logger.info("scanned %d columns (%d as free text), %d spans", len(plan), len(report.text_columns),
                len(report.findings))
    return report
