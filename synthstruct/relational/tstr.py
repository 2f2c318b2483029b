"""TSTR on a task that needs the join: predict a column of one table from the rows it is joined to.

A task (``tasks:`` in the relational schema, or every synthesized table whose own schema declares a
``target``) names a table ``T`` and a target column of ``T``. Its feature frame has one row per row of
``T``:

* ``T``'s own structured columns (not keys, not the target);
* per child relationship of ``T``: the number of children and the mean of each numerical / date column
  of the children (``<child>__n``, ``<child>__mean_<col>``);
* ``T``'s driving parent ``P``: ``P``'s structured columns (``<P>__<col>``) and, per child table of
  ``P`` (``T`` itself included: how many rows of ``T`` the parent has), the count and means as above
  (``<P>__<child>__n`` ...).

For Berka, ``{table: loan, target: status}`` reads each loan's amount and duration, its account's
frequency and opening date, and the account's orders (how many, mean amount) and dispositions;
``{table: disp, target: type}`` (owner or disponent) has no column of its own and is predicted from the
account only (an account with one disposition has only its owner).

One fixed model (sklearn ``HistGradientBoostingClassifier`` / ``Regressor``, as the single-table
utility metric) is trained on the real training tables joined (TRTR) and on the synthetic tables joined
(TSTR) and both are tested on the **real holdout** joined (whole entities the synthesizer never saw).
``own_columns_only`` repeats TRTR without the joined features: when the joined model is not better,
the task does not really need the join (reported, not hidden). Informative: not a gate check.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.relational.frames import norm_keys
from synthstruct.relational.model import JoinTask, RelationalSchema
from synthstruct.schema.model import Schema

__all__ = ["join_frame", "join_tasks", "join_tstr"]

log = logging.getLogger(__name__)
_STRUCTURED = ("numerical", "datetime", "categorical", "ordinal", "boolean")
_MIN_TEST_ROWS = 20


def join_tasks(schema: RelationalSchema) -> list[JoinTask]:
    """The schema's ``tasks``, else one per synthesized table whose own schema declares a target."""
    if schema.tasks:
        return list(schema.tasks)
    return [JoinTask(table=t, target=schema.schema_of(t).target) for t in schema.synthesized()
            if schema.schema_of(t).target]


def _keys(schema: RelationalSchema, table: str) -> set[str]:
    out = {r.child_column for r in schema.relationships if r.child == table}
    if schema.schema_of(table).primary_key:
        out.add(schema.schema_of(table).primary_key)
    return out


def _number(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series):
        out = series.astype("int64").to_numpy(dtype=np.float64) / 86_400e9
        out[series.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)


def _own(frame: pd.DataFrame, schema: RelationalSchema, table: str, prefix: str, skip: str | None,
         kinds: dict[str, str]) -> dict[str, Any]:
    sch = schema.schema_of(table)
    refs = {r.child_column for r in schema.reference_keys(table)}
    keys = _keys(schema, table) - refs
    out: dict[str, Any] = {}
    for c, col in sch.columns.items():
        if c in keys or c == skip or (col.kind not in _STRUCTURED and c not in refs):
            continue
        name = f"{prefix}{c}"
        if c in refs or col.kind in ("categorical", "ordinal", "boolean"):
            out[name] = pd.Series(frame[c].to_numpy(dtype=object)).astype(str).where(frame[c].notna().to_numpy())
            kinds[name] = "categorical"
        else:
            out[name] = _number(frame[c])
            kinds[name] = "numerical"
    return out


def _children(tables: dict[str, pd.DataFrame], schema: RelationalSchema, table: str, keys: np.ndarray, prefix: str,
              skip: str | None, kinds: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for rel in schema.children_of(table):
        if rel.child == skip:
            continue
        child = tables[rel.child]
        ck = norm_keys(child[rel.child_column])
        counts = pd.Series(ck).value_counts()
        name = f"{prefix}{rel.child}__n"
        out[name] = pd.Series(keys).map(counts).fillna(0).to_numpy(dtype=np.float64)
        kinds[name] = "numerical"
        sch = schema.schema_of(rel.child)
        ckeys = _keys(schema, rel.child)
        numeric = {c: _number(child[c]) for c, col in sch.columns.items()
                   if col.kind in ("numerical", "datetime") and c not in ckeys}
        if numeric:
            agg = pd.DataFrame(numeric)
            agg["__k"] = ck
            means = agg.dropna(subset=["__k"]).groupby("__k").mean()
            for c in numeric:
                name = f"{prefix}{rel.child}__mean_{c}"
                out[name] = pd.Series(keys).map(means[c]).to_numpy(dtype=np.float64)
                kinds[name] = "numerical"
    return out


def join_frame(tables: dict[str, pd.DataFrame], schema: RelationalSchema, task: JoinTask,
               *, joined: bool = True) -> tuple[pd.DataFrame, Schema]:
    """The task's feature frame (one row per row of ``task.table``) and a single-table schema for it."""
    t = task.table
    frame = tables[t].reset_index(drop=True)
    kinds: dict[str, str] = {}
    data = _own(frame, schema, t, "", task.target, kinds)
    if joined:
        pk = schema.schema_of(t).primary_key
        if pk:
            data.update(_children(tables, schema, t, norm_keys(frame[pk]), "", None, kinds))
        drive = schema.driving(t)
        if drive is not None:
            parent = tables[drive.parent]
            pkeys = norm_keys(parent[drive.parent_column])
            row = pd.Series(np.arange(len(pkeys)), index=pkeys)
            row = row[~row.index.duplicated()]
            where = pd.Series(norm_keys(frame[drive.child_column])).map(row).to_numpy(dtype=np.float64)
            linked = np.isfinite(where)
            idx = np.where(linked, where, 0).astype(np.int64)
            pfeat = _own(parent, schema, drive.parent, f"{drive.parent}__", None, kinds)
            pfeat.update(_children(tables, schema, drive.parent, pkeys, f"{drive.parent}__", None, kinds))
            for name, values in pfeat.items():
                values = np.asarray(values, dtype=object if kinds[name] == "categorical" else np.float64)
                picked = values[idx] if len(values) else np.full(len(frame), np.nan)
                if kinds[name] == "categorical":
                    data[name] = pd.Series(picked, dtype=object).where(linked)
                else:
                    data[name] = np.where(linked, picked, np.nan)
    target_kind = schema.schema_of(t).columns[task.target].kind
    data[task.target] = frame[task.target].to_numpy()
    out = pd.DataFrame(data, index=range(len(frame)))
    columns = {name: {"kind": kind} for name, kind in kinds.items()}
    columns[task.target] = {"kind": "numerical" if target_kind == "numerical" else "categorical"}
    if target_kind != "numerical":
        out[task.target] = pd.Series(out[task.target], dtype=object).astype(str).where(out[task.target].notna())
    sch = Schema.model_validate({"schema_version": 1, "name": f"{t}_join", "columns": columns, "target": task.target})
    return out, sch


def join_tstr(train: dict[str, pd.DataFrame], holdout: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
              schema: RelationalSchema, *, seed: int = 0, max_iter: int = 60) -> dict[str, Any]:
    """TSTR / TRTR per task on the joined tables, tested on the real holdout (see the module docstring)."""
    from synthstruct.evaluation.utility import tstr_scores

    out: dict[str, Any] = {}
    for task in join_tasks(schema):
        name = f"{task.table}.{task.target}"
        real, sch = join_frame(train, schema, task)
        syn, _ = join_frame(synthetic, schema, task)
        test, _ = join_frame(holdout, schema, task)
        classes = test[task.target].dropna().nunique()
        if test[task.target].notna().sum() < _MIN_TEST_ROWS or classes < 2 or real[task.target].nunique() < 2:
            out[name] = {"value": None, "note": f"not computed: the holdout has {int(test[task.target].notna().sum())} "
                         f"rows with a target and {int(classes)} classes (needs {_MIN_TEST_ROWS} rows, 2 classes)"}
            continue
        try:
            scores = tstr_scores(real, syn, test, sch, seed=seed, max_iter=max_iter)
        except ValueError as exc:  # informative metric: a degenerate task is reported, never fails the release
            out[name] = {"value": None, "note": f"not computed: the model could not be fitted ({type(exc).__name__})"}
            continue
        own_real, own_sch = join_frame(train, schema, task, joined=False)
        own_test, _ = join_frame(holdout, schema, task, joined=False)
        if [c for c in own_sch.structured_columns if c != task.target]:
            own = tstr_scores(own_real, own_real, own_test, own_sch, seed=seed, max_iter=max_iter)["trtr"]
        else:
            own = None
        key = "f1" if scores["task"] == "classification" else "r2"
        out[name] = {"task": scores["task"], "features": [c for c in sch.columns if c != task.target],
                     "metric": key, "trtr": scores["trtr"], "tstr": scores["tstr"], "ratio": scores["ratio"],
                     "value": scores["ratio"].get(key), "own_columns_only_trtr": own,
                     "n_train_real": scores["n_train_real"], "n_train_synthetic": scores["n_train_synthetic"],
                     "n_test": scores["n_test"]}
    return out
