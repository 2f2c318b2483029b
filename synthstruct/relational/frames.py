"""The per-table *model frame*: what a table's synthesizer learns and what its gate compares.

For a table ``T`` the model frame holds

* ``T``'s own columns without its primary key and without keys into synthesized tables (those are
  generated); keys into reference tables stay, learned as categories;
* for each child relationship ``child.col -> T``: ``__n__<child>__<col>``, the number of children of
  the row (so the number of children is learned jointly with the parent's columns), and for a
  sequence child driven by ``T``: ``__first__<child>``, the date of the row's first event;
* for a sequence table: ``__gap__<key>`` (days, or units of a numerical key) since the previous event of
  the same parent instead of the sequence key itself (missing for the first event);
* for a self-referencing table (``employee.manager_id -> employee.id``): ``__depth__<col>``, the row's
  level in the hierarchy (0 = no parent row), next to ``__n__<table>__<col>``, its number of direct
  children. Both are taken from the input frame when present (the pipeline computes them on the whole
  table before the train/holdout split, so a holdout row keeps its real level).

The same function builds the frames of the training rows, the holdout and the synthetic output, so the
per-table gate compares like with like, and for root tables each row is an *entity*: its columns plus a
summary of its children (entity-level distances and copies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.relational.model import RelationalSchema
from synthstruct.schema.model import FixedCombinations, Inequality, Positive, Range, Schema

__all__ = ["ModelFrame", "add_hierarchy_columns", "count_column", "depth_column", "first_column", "gap_column",
           "hierarchy_depth", "model_frame", "norm_keys"]


def count_column(child: str, column: str) -> str:
    return f"__n__{child}__{column}"


def first_column(child: str) -> str:
    return f"__first__{child}"


def gap_column(key: str) -> str:
    return f"__gap__{key}"


def depth_column(column: str) -> str:
    return f"__depth__{column}"


def hierarchy_depth(keys: np.ndarray, parent_keys: np.ndarray, *, table: str = "", column: str = "") -> np.ndarray:
    """Level of every row in a self-referencing hierarchy: 0 for rows without a parent row (a missing
    key, or a key naming no row), else the parent's level + 1.

    Raises:
        DataValidationError: some rows never reach a root (the keys form a cycle); names the table,
            the column and how many rows, never a key.
    """
    from synthstruct.errors import DataValidationError, Problem

    lookup = pd.Series(np.arange(len(keys)), index=pd.Index(keys, dtype=object))
    lookup = lookup[~lookup.index.duplicated()]
    parent = pd.Series(parent_keys, dtype=object).map(lookup).fillna(-1).to_numpy(dtype=np.int64)
    depth = np.where(parent < 0, 0, -1).astype(np.int64)
    while True:
        todo = np.flatnonzero(depth < 0)
        ready = todo[depth[parent[todo]] >= 0] if len(todo) else todo
        if not len(ready):
            break
        depth[ready] = depth[parent[ready]] + 1
    stuck = int((depth < 0).sum())
    if stuck:
        raise DataValidationError("a self-reference forms a cycle", [Problem(
            f"{table}.{column}", f"{stuck} row(s) never reach a row without a parent: the references form a "
            "cycle (a row is its own ancestor)", f"fix the data so that following {column} always ends at a row "
            "whose value is empty, or drop the self-reference from the relational schema")], source=table or None)
    return depth


def add_hierarchy_columns(tables: dict[str, pd.DataFrame], schema: RelationalSchema) -> dict[str, pd.DataFrame]:
    """Tables with the level and direct-children count of every row of a self-referencing table (computed
    on the whole table; see :func:`hierarchy_depth` for the cycle error)."""
    out = dict(tables)
    for table in schema.synthesized():
        rel = schema.self_reference(table)
        if rel is None:
            continue
        frame = tables[table].copy()
        keys = norm_keys(frame[rel.parent_column])
        refs = norm_keys(frame[rel.child_column])
        frame[depth_column(rel.child_column)] = hierarchy_depth(keys, refs, table=table, column=rel.child_column)
        counts = pd.Series(refs).value_counts()
        frame[count_column(table, rel.child_column)] = pd.Series(keys).map(counts).fillna(0).to_numpy(dtype=np.float64)
        out[table] = frame
    return out


def norm_keys(series: pd.Series) -> np.ndarray:
    """Key values as strings (``5``, ``5.0`` and ``"5"`` are one key); missing keys are ``None``."""
    out = np.empty(len(series), dtype=object)
    values = series.to_numpy(dtype=object)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            out[i] = None
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            out[i] = str(int(v))
        else:
            out[i] = str(v)
    return out


@dataclass
class ModelFrame:
    """A table's model frame, its schema, and per row the key of its driving parent (or ``None``)."""

    frame: pd.DataFrame
    schema: Schema
    parent_keys: np.ndarray | None
    keys: np.ndarray | None


def _sequence_gaps(values: pd.Series, groups: np.ndarray) -> np.ndarray:
    """Gap to the previous event of the same group (rows sorted by group, then value); NaN for the first."""
    if pd.api.types.is_datetime64_any_dtype(values):
        numeric = values.astype("int64").to_numpy(dtype=np.float64) / 86_400e9
        numeric[values.isna().to_numpy()] = np.nan
    else:
        numeric = values.to_numpy(dtype=np.float64)
    gaps = np.full(len(values), np.nan)
    if len(values) > 1:
        same = np.asarray(groups[1:] == groups[:-1], dtype=bool)
        diff = numeric[1:] - numeric[:-1]
        gaps[1:][same] = diff[same]
    return gaps


def model_frame(tables: dict[str, pd.DataFrame], schema: RelationalSchema, table: str) -> ModelFrame:
    """Build the model frame of ``table`` from coerced ``tables`` (see the module docstring)."""
    spec = schema.tables[table]
    sch = spec.schema_
    frame = tables[table]
    drive = schema.driving(table)
    generated_keys = {r.child_column for r in schema.relationships
                      if r.child == table and not schema.tables[r.parent].reference}
    if sch.primary_key:
        generated_keys.add(sch.primary_key)
    reference_keys = {r.child_column for r in schema.reference_keys(table)}
    seq = spec.sequence_key if drive is not None else None
    order = np.arange(len(frame))
    parent_keys = norm_keys(frame[drive.child_column]) if drive is not None else None
    if seq is not None:  # rows of one parent together, in event order
        sort_frame = pd.DataFrame({"p": pd.Series(parent_keys, dtype=object).fillna("\x00"), "s": frame[seq].values,
                                   "i": np.arange(len(frame))})
        order = sort_frame.sort_values(["p", "s", "i"], kind="mergesort")["i"].to_numpy()
        frame = frame.iloc[order].reset_index(drop=True)
        parent_keys = parent_keys[order]
    columns: dict[str, Any] = {}
    data: dict[str, pd.Series] = {}
    for name, col in sch.columns.items():
        if name in generated_keys:
            continue
        if name == seq:
            data[gap_column(name)] = pd.Series(_sequence_gaps(frame[name], parent_keys))
            columns[gap_column(name)] = {"kind": "numerical", "dtype": "float", "min": 0.0}
            continue
        if name in reference_keys:
            data[name] = pd.Series(norm_keys(frame[name]), dtype=object)
            columns[name] = {"kind": "categorical"}
            continue
        data[name] = frame[name].reset_index(drop=True)
        columns[name] = col.model_dump(mode="json", exclude_none=True)
    keys = norm_keys(frame[sch.primary_key]) if sch.primary_key else None
    own = schema.self_reference(table)
    if own is not None:
        name = depth_column(own.child_column)
        depth = frame[name].to_numpy(dtype=np.float64) if name in frame.columns else hierarchy_depth(
            keys, norm_keys(frame[own.child_column]), table=table, column=own.child_column).astype(np.float64)
        data[name] = pd.Series(depth)
        columns[name] = {"kind": "numerical", "dtype": "int", "min": 0.0}
    for rel in schema.children_of(table):
        child = frame if rel is own else tables[rel.child]
        name = count_column(rel.child, rel.child_column)
        if rel is own and name in frame.columns:
            data[name] = frame[name].reset_index(drop=True).astype(np.float64)
            columns[name] = {"kind": "numerical", "dtype": "int", "min": 0.0}
            continue
        counts = pd.Series(norm_keys(child[rel.child_column])).value_counts()
        n = pd.Series(keys).map(counts).fillna(0).to_numpy(dtype=np.float64) if keys is not None else np.zeros(len(frame))
        data[name] = pd.Series(n)
        columns[count_column(rel.child, rel.child_column)] = {"kind": "numerical", "dtype": "int", "min": 0.0}
        child_spec = schema.tables[rel.child]
        if child_spec.sequence_key and schema.driving(rel.child) is rel:
            key_col = child_spec.sequence_key
            firsts = pd.DataFrame({"k": norm_keys(child[rel.child_column]), "v": child[key_col].values})
            firsts = firsts.dropna(subset=["k"]).groupby("k")["v"].min()
            values = pd.Series(keys).map(firsts) if keys is not None else pd.Series([np.nan] * len(frame))
            key_spec = child_spec.schema_.columns[key_col]
            if key_spec.kind == "datetime":
                values = pd.to_datetime(values)
            data[first_column(rel.child)] = values.reset_index(drop=True)
            columns[first_column(rel.child)] = key_spec.model_dump(mode="json", exclude_none=True)
    kept = set(columns)

    def keeps(con: Any) -> bool:
        if isinstance(con, Inequality):
            return {con.low, con.high} <= kept
        if isinstance(con, Range):
            return {con.low, con.middle, con.high} <= kept
        if isinstance(con, FixedCombinations):
            return set(con.columns) <= kept
        if isinstance(con, Positive):
            return con.column in kept
        return False

    schema_data: dict[str, Any] = {
        "schema_version": 1, "name": sch.name, "locale": sch.locale, "columns": columns,
        "quasi_identifiers": [c for c in sch.quasi_identifiers if c in kept],
        "sensitive": [c for c in sch.sensitive if c in kept],
        "constraints": [c.model_dump(mode="json") for c in sch.constraints if keeps(c)],
    }
    if sch.target in kept and sch.target not in reference_keys:
        schema_data["target"] = sch.target
    model_schema = Schema.model_validate(schema_data)
    out = pd.DataFrame(data, index=range(len(frame))) if data else pd.DataFrame(index=range(len(frame)))
    return ModelFrame(frame=out, schema=model_schema, parent_keys=parent_keys, keys=keys)
