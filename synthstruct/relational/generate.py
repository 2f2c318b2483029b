"""Schema-only relational generation: a whole database from a relational pack, no data (``generate-db``).

A relational pack is a relational schema (``relational_version: 1``) whose tables carry single-table
priors and rules (as the packs of ``synthstruct generate``) plus, for child tables:

* ``relationships[].children``: how many children a parent has (a numerical column spec with a prior;
  ``depends_on`` may name a column of the parent, e.g. more encounters for chronic patients);
* ``tables.<t>.generate.context``: child columns copied from the parent row, which the child's priors
  (``depends_on``) and rules read (a diagnosis that depends on the patient's condition);
* sequence tables (``sequence_key``): ``generate.start`` (the parent's date the history starts from),
  ``generate.first_gap`` and ``generate.gap`` (time to the first event and between events, in ``unit``),
  and ``generate.gap_column`` (a column that receives the gap, for rules such as a rapid-succession flag).

Generation walks the tables parents first: a root table gets ``n`` rows from ``generate_table``; a child
draws each parent's number of children, then its context and event times, and ``generate_table`` fills
the other columns with those given (rules are kept: rows breaking one are regenerated around the given
values). Event times are the parent's start plus cumulated gaps, so a parent's events are in order; events
after the sequence key's ``max`` are cut (the observed history ends there). Foreign keys are the parent's
keys (100 % integrity); a second parent (a link) is drawn uniformly.

The quality-control report holds each table's single-table report plus the cross-table checks:
primary keys unique and present, referential integrity, sequences in order, context agreement (a child's
copied columns equal its parent's), and child-count summaries. ``passed`` needs all of them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.errors import Problem, SchemaError
from synthstruct.relational.frames import norm_keys
from synthstruct.relational.model import RelationalSchema, Relationship, TableGeneration
from synthstruct.schema.model import NumericalColumn, Schema
from synthstruct._seeds import stream_seed

__all__ = ["RelationalGeneration", "generate_relational", "generation_problems"]

log = logging.getLogger(__name__)
_UNIT_SECONDS = {"days": 86_400.0, "hours": 3_600.0, "minutes": 60.0}
_TIME_CODES = ("%H", "%M", "%S", "%I", "%p", "%T", "%X", "%c")


@dataclass
class RelationalGeneration:
    """Generated tables (output representation, parents first) and the quality-control report."""

    tables: dict[str, pd.DataFrame]
    report: dict[str, Any]


def _spec_problems(spec: NumericalColumn | None, path: str, parent: Schema | None) -> list[Problem]:
    if spec is None:
        return []
    problems = []
    if spec.prior is None:
        problems.append(Problem(path + ".prior", "has no prior", "add e.g. {distribution: poisson, lam: 2}"))
    if spec.depends_on is not None and (parent is None or spec.depends_on not in parent.columns):
        problems.append(Problem(path + ".depends_on", "names no column of the parent table",
                                "name a column of the driving parent"))
    return problems


def generation_problems(schema: RelationalSchema) -> list[Problem]:
    """What keeps a relational schema from schema-only generation, all problems at once."""
    problems: list[Problem] = []
    for name, spec in schema.tables.items():
        if spec.reference:
            problems.append(Problem(f"tables.{name}.reference", "a reference table holds real rows, which a pack "
                                    "has not", "declare its columns with priors and drop reference: true"))
    for name in schema.synthesized():
        spec = schema.tables[name]
        sch = spec.schema_
        drive = schema.driving(name)
        gen = spec.generate or TableGeneration()
        path = f"tables.{name}.generate"
        if schema.self_reference(name) is not None:
            problems.append(Problem(f"tables.{name}", "self-references are not generated from a schema alone",
                                    "drop the self-reference from the pack"))
        if drive is None:
            if spec.generate is not None:
                problems.append(Problem(path, "the table has no parent", "drop generate: (it is for child tables)"))
            continue
        index = schema.relationships.index(drive)
        parent = schema.schema_of(drive.parent)
        if drive.children is None:
            problems.append(Problem(f"relationships[{index}].children", "how many children a parent has is not "
                                    "declared", "add children: {kind: numerical, dtype: int, min: 0, prior: "
                                    "{distribution: poisson, lam: 2}}"))
        problems += _spec_problems(drive.children, f"relationships[{index}].children", parent)
        for child_col, parent_col in gen.context.items():
            if child_col not in sch.columns:
                problems.append(Problem(f"{path}.context.{child_col}", "is not a column of the table",
                                        "declare the column in the table's schema"))
            elif sch.columns[child_col].kind in ("id", "pii", "text"):
                problems.append(Problem(f"{path}.context.{child_col}", "is an id, PII or text column",
                                        "copy structured columns only"))
            if parent_col not in parent.columns:
                problems.append(Problem(f"{path}.context.{child_col}", f"names {parent_col!r}, which is not a column "
                                        f"of the parent {drive.parent!r}", "fix the parent column name"))
        seq = spec.sequence_key
        if seq is None:
            for field in ("start", "first_gap", "gap", "gap_column"):
                if getattr(gen, field) is not None:
                    problems.append(Problem(f"{path}.{field}", "is for sequence tables",
                                            "set sequence_key or drop it"))
            continue
        if gen.gap is None:
            problems.append(Problem(f"{path}.gap", "a sequence table needs the time between events",
                                    "add gap: {kind: numerical, min: 0, prior: {distribution: lognormal, median: 30, "
                                    "sigma: 0.8}}"))
        problems += _spec_problems(gen.gap, f"{path}.gap", parent)
        for field in ("gap", "first_gap"):
            gap_spec = getattr(gen, field)
            if gap_spec is not None and (gap_spec.min is None or gap_spec.min < 0):
                problems.append(Problem(f"{path}.{field}.min", "a gap may be negative, so events could go back in "
                                        "time", "set min: 0"))
        problems += _spec_problems(gen.first_gap, f"{path}.first_gap", parent)
        if sch.columns[seq].kind == "datetime" and gen.start is None and sch.columns[seq].min is None:
            problems.append(Problem(f"{path}.start", "the history has no start (no start column, no min of the "
                                    "sequence key)", "name a datetime column of the parent, or set the key's min"))
        if gen.start is not None and (gen.start not in parent.columns or parent.columns[gen.start].kind != "datetime"):
            problems.append(Problem(f"{path}.start", "is not a datetime column of the parent",
                                    "name a datetime column of the driving parent"))
        if gen.gap_column is not None and (gen.gap_column not in sch.columns
                                           or sch.columns[gen.gap_column].kind != "numerical"):
            problems.append(Problem(f"{path}.gap_column", "is not a numerical column of the table",
                                    "declare it as kind: numerical"))
    return problems


def _sample_spec(spec: NumericalColumn, parent: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Values of a count / gap spec, one per row of ``parent`` (its depends_on column read from it)."""
    from synthstruct.generate.priors import sample_column

    columns: dict[str, Any] = {"__value": spec.model_dump(mode="json", exclude_none=True)}
    frame = pd.DataFrame(index=range(len(parent)))
    if spec.depends_on is not None:
        columns[spec.depends_on] = {"kind": "categorical"}
        values = parent[spec.depends_on]
        frame[spec.depends_on] = values.astype(object).where(values.notna(), None).to_numpy()
    temp = Schema.model_validate({"schema_version": 1, "name": "spec", "columns": columns})
    return np.asarray(sample_column(temp, "__value", frame, len(parent), rng), dtype=np.float64)


def _typed(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Datetimes of an output frame parsed back (for context columns and event starts)."""
    out = frame.copy()
    for name, col in schema.columns.items():
        if col.kind == "datetime" and name in out.columns:
            out[name] = pd.to_datetime(out[name], format=col.format, errors="coerce")
    return out


def _seconds(values: pd.Series | np.ndarray) -> np.ndarray:
    stamps = pd.to_datetime(pd.Series(values))
    out = stamps.astype("int64").to_numpy(dtype=np.float64) / 1e9
    out[stamps.isna().to_numpy()] = np.nan
    return out


def _events(schema: RelationalSchema, table: str, drive: Relationship, parent: pd.DataFrame, owner: np.ndarray,
            rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Given columns of a sequence table (key, gap column) and the mask of rows kept (not past ``max``)."""
    spec = schema.tables[table]
    gen = spec.generate or TableGeneration()
    key = spec.sequence_key
    col = spec.schema_.columns[key]
    unit = _UNIT_SECONDS[gen.unit] if col.kind == "datetime" else 1.0
    rows = parent.iloc[owner].reset_index(drop=True)
    n = len(owner)
    first = np.ones(n, dtype=bool)
    first[1:] = owner[1:] != owner[:-1]
    step = _sample_spec(gen.gap, rows, rng) if gen.gap is not None else np.zeros(n)
    if gen.first_gap is not None:
        step = np.where(first, _sample_spec(gen.first_gap, rows, rng), step)
    else:
        step = np.where(first, 0.0, step)
    total = np.cumsum(step)
    before = np.maximum.accumulate(np.where(first, total - step, -np.inf)) if n else total
    within = total - before
    if col.kind == "datetime":
        if gen.start is not None:
            start = _seconds(rows[gen.start])
        else:
            start = np.full(n, _seconds(np.array([col.min]))[0])
        seconds = start + within * unit
        stamps = pd.to_datetime(np.round(seconds), unit="s")
        if not any(code in col.format for code in _TIME_CODES):
            stamps = stamps.floor("D")
        times = _seconds(stamps)
        limit = _seconds(np.array([col.max]))[0] if col.max is not None else np.inf
        values: np.ndarray = np.asarray(stamps)
        origin = start
    else:
        origin = np.full(n, col.min if col.min is not None else 0.0)
        times = origin + within
        limit = col.max if col.max is not None else np.inf
        values = times
    keep = np.isfinite(times) & (times <= limit)
    given = {key: values}
    if gen.gap_column is not None:  # the realised gap: since the previous event, since the start for the first
        previous = np.where(first, origin, np.concatenate([[np.nan], times[:-1]]))
        gap = (times - previous) / unit
        gcol = spec.schema_.columns[gen.gap_column]
        gap = np.round(gap) if gcol.dtype == "int" else (np.round(gap, gcol.decimals) if gcol.decimals is not None else gap)
        given[gen.gap_column] = gap
    return given, keep


def _empty(schema: Schema) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in schema.columns})


def generate_relational(schema: RelationalSchema, n: int, *, seed: int = 0) -> RelationalGeneration:
    """Generate every table of a relational pack: ``n`` rows per root table, children per parent.

    Raises:
        SchemaError: the pack cannot be generated from alone (every problem at once, before drawing).
        DataValidationError: a table's rules cannot be met (from ``generate_table``).
    """
    from synthstruct.generate import generate_table

    if n < 1:
        raise SchemaError("no row count", [Problem("rows", "must be at least 1", "pass -n N")])
    problems = generation_problems(schema)
    if problems:
        raise SchemaError("relational schema cannot be used for schema-only generation", problems)
    out: dict[str, pd.DataFrame] = {}
    typed: dict[str, pd.DataFrame] = {}
    table_reports: dict[str, Any] = {}
    counts: dict[str, np.ndarray] = {}
    cut: dict[str, int] = {}
    for t in schema.synthesized():
        spec = schema.tables[t]
        sch = spec.schema_
        drive = schema.driving(t)
        rng = np.random.default_rng(stream_seed(seed, "structure", t))
        given: pd.DataFrame | None = None
        owner: np.ndarray | None = None
        if drive is None:
            rows = n
        else:
            parent = typed[drive.parent]
            drawn = np.clip(np.round(_sample_spec(drive.children, parent, rng)), 0, None).astype(np.int64)
            if drive.one_to_one:
                drawn = np.minimum(drawn, 1)
            owner = np.repeat(np.arange(len(parent)), drawn)
            values: dict[str, np.ndarray] = {}
            gen = spec.generate or TableGeneration()
            for child_col, parent_col in gen.context.items():
                values[child_col] = parent[parent_col].to_numpy()[owner]
            if spec.sequence_key is not None:
                events, keep = _events(schema, t, drive, parent, owner, rng)
                cut[t] = int((~keep).sum())
                owner = owner[keep]
                values = {c: v[keep] for c, v in values.items()}
                values.update({c: np.asarray(v)[keep] for c, v in events.items()})
            counts[f"{t}.{drive.child_column}->{drive.parent}"] = np.bincount(owner, minlength=len(parent))
            given = pd.DataFrame(values) if values else None
            rows = len(owner)
        if rows == 0:
            frame, report = _empty(sch), {"schema": sch.name, "rows": 0, "passed": True}
        else:
            result = generate_table(sch, rows, seed=stream_seed(seed, "generate", t), given=given)
            frame, report = result.data, result.report
        if drive is not None:
            frame[drive.child_column] = out[drive.parent][drive.parent_column].to_numpy()[owner]
        for rel in schema.links(t):
            parent_keys = out[rel.parent][rel.parent_column].to_numpy()
            frame[rel.child_column] = parent_keys[rng.integers(0, len(parent_keys), len(frame))] \
                if len(parent_keys) else None
        if rows and (drive is not None or schema.links(t)):
            report = _table_report(frame, sch, result)
        out[t] = frame
        typed[t] = _typed(frame, sch)
        table_reports[t] = report
    return RelationalGeneration(tables=out, report=relational_qc(out, schema, table_reports, counts, cut))


def _table_report(frame: pd.DataFrame, schema: Schema, result: Any) -> dict[str, Any]:
    """The single-table report again, now that the foreign keys are the parents' keys."""
    from synthstruct.generate.compose import text_requirements
    from synthstruct.generate.qc import quality_report

    reqs = {c: text_requirements(schema, c, None) for c in schema.columns_of("text")}
    return quality_report(frame, schema, text_requirements=reqs, regeneration=result.regeneration)


def relational_qc(tables: dict[str, pd.DataFrame], schema: RelationalSchema, table_reports: dict[str, Any],
                  counts: dict[str, np.ndarray], cut: dict[str, int]) -> dict[str, Any]:
    """Cross-table quality control of generated tables (counts and shares only, never a value)."""
    from synthstruct.relational.fidelity import referential_integrity, sequence_order

    keys = {}
    for t in schema.synthesized():
        pk = schema.schema_of(t).primary_key
        if pk:
            values = norm_keys(tables[t][pk])
            missing = int(sum(v is None for v in values))
            keys[t] = {"missing": missing, "duplicates": int(len(values) - missing - len(set(values) - {None})),
                       "passed": missing == 0 and len(set(values) - {None}) == len(values)}
    ri = referential_integrity(tables, schema)
    seq = {t: {"in_order": v["in_order"], "events": len(tables[t]), "cut_after_max": cut.get(t, 0)}
           for t, v in sequence_order(tables, tables, schema).items()}
    context: dict[str, dict[str, float]] = {}
    for t in schema.synthesized():
        spec, drive = schema.tables[t], schema.driving(t)
        if drive is None or spec.generate is None or not spec.generate.context:
            continue
        parent = tables[drive.parent].set_index(drive.parent_column)
        child = tables[t]
        context[t] = {}
        for child_col, parent_col in spec.generate.context.items():
            expected = parent[parent_col].reindex(child[drive.child_column]).to_numpy(dtype=object)
            got = child[child_col].to_numpy(dtype=object)
            agree = [str(a) == str(b) for a, b in zip(expected, got)]
            context[t][child_col] = round(float(np.mean(agree)), 4) if agree else 1.0
    child_counts = {rel: {"parents": int(len(c)), "mean": round(float(c.mean()), 3) if len(c) else None,
                          "min": int(c.min()) if len(c) else None, "max": int(c.max()) if len(c) else None,
                          "without_children": int((c == 0).sum())} for rel, c in counts.items()}
    passed = (all(r.get("passed", False) for r in table_reports.values())
              and all(k["passed"] for k in keys.values()) and ri["value"] == 1.0
              and all(s["in_order"] == 1.0 for s in seq.values())
              and all(v == 1.0 for cols in context.values() for v in cols.values()))
    return {"report_version": 1, "kind": "relational_generation", "database": schema.name,
            "rows": {t: len(tables[t]) for t in schema.synthesized()}, "tables": table_reports,
            "primary_keys": keys, "referential_integrity": ri, "sequences": seq, "context_agreement": context,
            "child_counts": child_counts, "passed": bool(passed)}
