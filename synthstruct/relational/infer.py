"""Propose a relational schema from tables: keys, relationships, reference tables and sequence keys.

Keys come from the database's declared constraints when there are any; otherwise from the data:

* **primary key**: a column with unique, non-missing values whose name says it is an identifier
  (``<table>_id`` first, then ``id``, then any ``*_id``/``*id``);
* **foreign key**: a column of another table, named like the parent's key (the same name, or
  ``<parent>_id``), whose values are included in the parent's key values (at least 95 %; below 100 %
  the relationship is marked ``optional`` and the orphans are reported as a count);
* **reference table**: a table without parents, of at most 1000 rows, referenced by tables with at least
  ten times as many rows (a lookup list such as districts) - released unchanged, so check it is public;
* **sequence key**: the only datetime column of a table that has a parent, when at least 5 % of the
  parents have two or more rows (a history, not one row per parent).

Every guess is explained in a comment (counts, never values).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pandas as pd

from synthstruct.relational.model import RelationalSchema, relational_from_dict
from synthstruct.relational.sources import Declared

__all__ = ["infer_relational"]

log = logging.getLogger(__name__)

_REFERENCE_MAX_ROWS = 1000
_MIN_INCLUSION = 0.95


def _table_key(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.-") or "table"


def _unique_key(series: pd.Series) -> bool:
    if series.isna().any() or len(series) == 0:
        return False
    if pd.api.types.is_float_dtype(series) and not (series % 1 == 0).all():
        return False
    return bool(series.is_unique)


def _guess_primary_key(table: str, frame: pd.DataFrame) -> str | None:
    candidates = [c for c in frame.columns if _unique_key(frame[c])]
    lowered = {c: str(c).lower() for c in candidates}
    for rule in (lambda n: n == f"{table.lower()}_id", lambda n: n == "id",
                 lambda n: n.endswith("_id") or n.endswith("id")):
        for c in candidates:
            if rule(lowered[c]):
                return str(c)
    return None


def _key_set(series: pd.Series) -> set[str]:
    values = series.dropna()
    if pd.api.types.is_float_dtype(values) and (values % 1 == 0).all():
        values = values.astype("int64")
    return set(values.astype(str))


def _inclusion(child: pd.Series, parent_keys: set[str]) -> tuple[float, int]:
    present = child.dropna()
    if len(present) == 0:
        return 0.0, 0
    if pd.api.types.is_float_dtype(present) and (present % 1 == 0).all():
        present = present.astype("int64")
    keys = present.astype(str)
    inside = keys.isin(parent_keys)
    return float(inside.mean()), int((~inside).sum())


def infer_relational(tables: dict[str, pd.DataFrame], *, declared: Declared | None = None, name: str = "database",
                     detect_pii: bool = True) -> tuple[RelationalSchema, dict[str, str]]:
    """Propose a relational schema for ``tables`` and explain each guess.

    Args:
        tables: Table name -> frame.
        declared: Keys a database declares (used instead of guesses when given).
        name: Name of the relational schema.
        detect_pii: Passed to the single-table inference (Presidio on sampled values).

    Returns:
        The schema and comments keyed ``table`` or ``table.column``.
    """
    from synthstruct.schema.infer import infer_schema

    comments: dict[str, str] = {}
    pks: dict[str, str] = {}
    for table, frame in tables.items():
        if declared is not None and table in declared.primary_keys:
            pks[table] = declared.primary_keys[table]
            comments[f"{table}.{pks[table]}"] = "primary key (declared by the database)"
        else:
            pk = _guess_primary_key(table, frame)
            if pk is not None:
                pks[table] = pk
                comments[f"{table}.{pk}"] = "primary key (unique, no missing values, named like an id)"
    rels: list[dict[str, Any]] = []
    if declared is not None and declared.foreign_keys:
        for child, col, parent, parent_col in declared.foreign_keys:
            include, orphans = _inclusion(tables[child][col], _key_set(tables[parent][parent_col]))
            rels.append({"parent": parent, "parent_column": parent_col, "child": child, "child_column": col,
                         "optional": bool(orphans or tables[child][col].isna().any())})
            comments[f"{child}.{col}"] = f"foreign key to {parent}.{parent_col} (declared); {orphans} orphan value(s)"
    else:
        for child, frame in tables.items():
            for col in frame.columns:
                col = str(col)
                if col == pks.get(child):
                    continue
                for parent, pk in pks.items():
                    if parent == child:
                        continue
                    named = col.lower() in (pk.lower(), f"{parent.lower()}_id", f"{parent.lower()}_{pk.lower()}")
                    if not named:
                        continue
                    include, orphans = _inclusion(frame[col], _key_set(tables[parent][pk]))
                    if include >= _MIN_INCLUSION:
                        rels.append({"parent": parent, "parent_column": pk, "child": child, "child_column": col,
                                     "optional": bool(orphans or frame[col].isna().any())})
                        comments[f"{child}.{col}"] = (f"foreign key to {parent}.{pk} ({include:.1%} of the values are "
                                                      f"parent keys; {orphans} orphan value(s))")
                        break
    # The driving parent of a child comes first: the parent with the most child tables (account before
    # client for disp), so that a child is generated under the main entity and linked to the other.
    fanout = {t: sum(r["parent"] == t for r in rels) for t in tables}
    rels.sort(key=lambda r: (list(tables).index(r["child"]), -fanout[r["parent"]], r["parent"]))
    key_columns: dict[str, set[str]] = {t: ({pks[t]} if t in pks else set()) for t in tables}
    for r in rels:
        key_columns[r["child"]].add(r["child_column"])
    specs: dict[str, Any] = {}
    for table, frame in tables.items():
        schema, col_comments = infer_schema(frame, name=_table_key(table), detect_pii=detect_pii)
        data = schema.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        data |= {"schema_version": 1, "name": _table_key(table)}
        for col in key_columns[table]:
            data["columns"][col] = {"kind": "id", "strategy": "sequence"}
        data["primary_key"] = pks.get(table)
        if data["primary_key"] is None:
            data.pop("primary_key")
        for field in ("quasi_identifiers", "sensitive"):
            if field in data:
                data[field] = [c for c in data[field] if c not in key_columns[table]]
        if data.get("target") in key_columns[table]:
            data.pop("target")
        for col, text in col_comments.items():
            comments.setdefault(f"{table}.{col}", text)
        specs[table] = {"schema": data}
    parents_of = {t: [r["parent"] for r in rels if r["child"] == t] for t in tables}
    for table in tables:
        child_rows = sum(len(tables[r["child"]]) for r in rels if r["parent"] == table)
        if (not parents_of[table] and child_rows and len(tables[table]) <= _REFERENCE_MAX_ROWS
                and child_rows >= 10 * len(tables[table])):
            specs[table]["reference"] = True
            comments[table] = (f"reference table ({len(tables[table])} rows referenced by {child_rows} rows): "
                               "released unchanged - make sure it is public, or set reference: false")
    for table in tables:
        if not parents_of[table] or specs[table].get("reference"):
            continue
        if not any(not specs[p].get("reference") for p in parents_of[table]):
            continue
        dates = [c for c, spec in specs[table]["schema"]["columns"].items() if spec["kind"] == "datetime"]
        drive = next(r for r in rels if r["child"] == table and not specs[r["parent"]].get("reference"))
        per_parent = tables[table][drive["child_column"]].value_counts()
        if len(dates) == 1 and len(per_parent) and (per_parent >= 2).mean() >= 0.05:  # histories, not 1:1
            specs[table]["sequence_key"] = dates[0]
            comments[f"{table}.{dates[0]}"] = comments.get(f"{table}.{dates[0]}", "") + "; sequence key (events per parent)"
    data = {"relational_version": 1, "name": _table_key(name), "tables": {_table_key(t): s for t, s in specs.items()},
            "relationships": [{**r, "parent": _table_key(r["parent"]), "child": _table_key(r["child"])} for r in rels]}
    return relational_from_dict(data, source="inferred relational schema"), comments
