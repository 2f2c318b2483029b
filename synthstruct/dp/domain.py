"""The public domain of a table, read from its schema (never from the data).

The ``dp`` engine needs, for each structured column, either declared bounds (numerical, datetime) or
a declared list of values (categorical ``categories``, ordinal ``order``, boolean); whatever the schema
does not declare is estimated with differential privacy and charged to the budget. The schema itself is
treated as public: a schema inferred from the private data carries its values and bounds, so review it
(see ``docs/dp.md``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from synthstruct.schema.model import Schema

__all__ = ["public_domain"]


def _seconds(text: str | None, fmt: str) -> float | None:
    if text is None:
        return None
    stamp = pd.to_datetime(text, format=fmt, errors="coerce")
    if pd.isna(stamp):
        stamp = pd.to_datetime(text, errors="coerce")
    return None if pd.isna(stamp) else float(pd.Timestamp(stamp).value) / 1e9


def public_domain(schema: Schema) -> dict[str, dict[str, Any]]:
    """Column -> declared domain in engine units, for every structured column of ``schema``.

    Numerical and datetime columns give ``{"low", "high", "integer"}`` (``None`` where not declared;
    datetimes in seconds); categorical, ordinal and boolean columns give ``{"categories": [...]}`` or
    ``{"categories": None}``.
    """
    out: dict[str, dict[str, Any]] = {}
    for name in schema.structured_columns:
        col = schema.columns[name]
        if col.kind == "numerical":
            out[name] = {"low": col.min, "high": col.max, "integer": col.dtype == "int"}
        elif col.kind == "datetime":
            out[name] = {"low": _seconds(col.min, col.format), "high": _seconds(col.max, col.format),
                         "integer": True}
        elif col.kind == "boolean":
            out[name] = {"categories": [False, True]}
        elif col.kind == "ordinal":
            out[name] = {"categories": list(col.order)}
        else:
            out[name] = {"categories": list(col.categories) if col.categories is not None else None}
    return out
