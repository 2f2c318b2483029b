"""Column mapping for data-driven use of the packs (``release real.csv --schema schemas/... --map``).

When a user's file names its columns differently from a pack (``bp_sys`` for ``systolic_bp``),
``--map bp_sys=systolic_bp,...`` renames them before the schema is applied.
"""

from __future__ import annotations

import pandas as pd

from synthstruct.errors import InputError, Problem
from synthstruct.schema.model import Schema

__all__ = ["apply_column_mapping", "parse_mapping"]


def parse_mapping(text: str | None) -> dict[str, str]:
    """Parse ``real_name=schema_name,...`` (whitespace around names is ignored).

    Raises:
        InputError: an item is not ``a=b`` or a name is mapped twice.
    """
    mapping: dict[str, str] = {}
    problems = []
    for i, item in enumerate(p.strip() for p in (text or "").split(",") if p.strip()):
        real, eq, target = (part.strip() for part in item.partition("="))
        if not eq or not real or not target:
            problems.append(Problem(f"--map item {i + 1}", "is not of the form real_name=schema_name",
                                    "write e.g. --map bp_sys=systolic_bp,bp_dia=diastolic_bp"))
        elif real in mapping:
            problems.append(Problem(f"--map item {i + 1}", "maps a column that is already mapped", "map it once"))
        else:
            mapping[real] = target
    targets = list(mapping.values())
    for target in sorted({t for t in targets if targets.count(t) > 1}):
        problems.append(Problem("--map", f"two columns map to {target!r}", "map one column to each schema name"))
    if problems:
        raise InputError("invalid column mapping", problems)
    return mapping


def apply_column_mapping(frame: pd.DataFrame, mapping: dict[str, str], schema: Schema | None = None) -> pd.DataFrame:
    """Rename ``frame``'s columns by ``mapping``; with a schema, every target must be a schema column.

    Raises:
        InputError: a mapped column is not in the data, a target is not in the schema, or a target
            already exists in the data under another column.
    """
    problems = []
    for real, target in mapping.items():
        if real not in frame.columns:
            problems.append(Problem(f"--map {real}", "is not a column of the data", "check the column name"))
        if schema is not None and target not in schema.columns:
            problems.append(Problem(f"--map {real}", f"target {target!r} is not a column of the schema",
                                    "use a column name from the schema pack"))
        if target in frame.columns and target not in mapping:
            problems.append(Problem(f"--map {real}", f"the data already has a column {target!r}",
                                    "map or drop that column first"))
    if problems:
        raise InputError("invalid column mapping", problems)
    return frame.rename(columns=mapping)
