"""``pii_in_output``: personal data of blocked entity types found in generated free text.

``pii`` and ``id`` columns are fake by construction; free text written by a model is not, and may
contain anything. The policy lists entity types that must not appear in any ``text`` column of a
release at all (``pii.block_entities``, e.g. card numbers and national ids), whether they look fake
or not. This metric scans the synthetic ``text`` columns cell by cell with the PII scanner and
counts cells holding a blocked entity. Findings are counts by column and entity, never values.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from synthstruct.evaluation.metric import EvaluationContext, MetricResult

__all__ = ["pii_in_output"]


def pii_in_output(ctx: EvaluationContext) -> MetricResult:
    """Cells of synthetic ``text`` columns that contain an entity from ``options["block_entities"]``."""
    blocked = [str(e) for e in ctx.options.get("block_entities", [])]
    text_columns = [c for c in ctx.schema.columns_of("text") if c in ctx.synthetic.columns]

    def result(value: float | None, details: dict[str, Any], note: str | None) -> MetricResult:
        return MetricResult(name="pii_in_output", category="privacy", goal="minimize", value=value,
                            min_value=0.0, max_value=float(max(len(ctx.synthetic), 1)), details=details, note=note)

    if not blocked:
        return result(0.0, {"block_entities": []}, "the policy blocks no entity types (pii.block_entities is empty)")
    if not text_columns:
        return result(0.0, {"block_entities": blocked, "text_columns": []}, "the schema has no text column to scan")
    from synthstruct.pii.scanner import scan_frame

    frame = ctx.synthetic[text_columns]
    frame = frame[frame.notna().any(axis=1)]
    if frame.empty:
        return result(0.0, {"block_entities": blocked, "text_columns": text_columns}, "every text cell is empty")
    report = scan_frame(frame, schema=ctx.schema.model_copy(update={
        "columns": {c: ctx.schema.columns[c] for c in text_columns}, "constraints": [], "primary_key": None,
        "target": None, "quasi_identifiers": [], "sensitive": []}), entities=blocked, seed=ctx.seed)
    hits = [f for f in report.findings if f.entity in blocked]
    cells = {(f.column, f.row) for f in hits}
    per_column = {c: dict(sorted(Counter(f.entity for f in hits if f.column == c).items())) for c in text_columns}
    return result(float(len(cells)), {"block_entities": blocked, "text_columns": text_columns,
                                      "cells_scanned": int(frame.notna().sum().sum()), "by_column": per_column}, None)
