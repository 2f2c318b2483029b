"""Printing inference decisions (``synthstruct infer`` and ``release``/``audit``/``fit`` without a schema)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["print_inference"]


def print_inference(record: dict[str, Any], console: Console, *, explain: bool = False) -> None:
    """Print the inference section of a report (or ``Inference.to_dict()`` plus target fields) as a
    table: column, kind, evidence, alternatives; notes (target, keys, hierarchies, warnings) with
    ``explain`` or when they carry a warning. Nothing here holds a cell value."""
    columns = record.get("columns") or {}
    if columns:
        table = Table(title="inferred schema", show_lines=explain)
        for head in ("column", "kind", "evidence", "alternatives"):
            table.add_column(head, overflow="fold")
        for name, d in columns.items():
            evidence = d["evidence"]
            notes = d.get("notes") or []
            shown = notes if explain else [n for n in notes if n.startswith(("WARNING", "target", "determines",
                                                                             "proposed"))]
            if shown:
                evidence += "; " + "; ".join(shown)
            if not explain and len(evidence) > 160:
                evidence = evidence[:157] + "..."
            table.add_row(name, d["label"], evidence, ", ".join(d.get("alternatives") or []) or "—")
        console.print(table)
    target = record.get("target")
    reason = record.get("target_reason") or ""
    if target:
        console.print(f"target: {target} ({reason}); --target COL or --target none to change it", markup=False)
    else:
        console.print(f"target: none ({reason})", markup=False)
    for group in record.get("hierarchies") or []:
        console.print(f"hierarchy: {group[0]} → {', '.join(group[1:])} (kept as fixed combinations)", markup=False)
    constants = record.get("constants") or []
    if constants:
        console.print(f"constants (carried through, not modelled): {', '.join(constants)}", markup=False)
