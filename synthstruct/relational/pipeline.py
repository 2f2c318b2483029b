"""Relational release: read → schema → entity split → fit → sample → gate per table → bundle (+ database).

``release_relational(source, output=...)`` returns a :class:`RelationalResult` whether or not the gate
passed. The bundle (``relational_schema.yaml``, ``report.json``, ``manifest.json`` and, only when every
check passed, ``data/<table>.csv|.parquet``) is written atomically; with ``to=URL`` the synthetic
tables also go to a new SQLite file or PostgreSQL schema in one transaction, and only when the release
passed. Nothing is written when the gate blocks except the report bundle.

The gate runs per synthesized table on its model frame (columns plus child counts, so a root table's
row is an entity: the person and a summary of their histories), with the holdout made of whole unseen
entities; then the cross-table checks: referential integrity, no real key reused, sequences in order
(blocking) and child-count KS, parent-child trends (warnings).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from synthstruct.dataio import atomic_directory, atomic_write_bytes, write_table
from synthstruct.errors import DataFileError, InputError, Problem
from synthstruct.relational.fidelity import relational_fidelity
from synthstruct.relational.frames import add_hierarchy_columns, model_frame, norm_keys
from synthstruct.relational.model import RelationalSchema, dump_relational, load_relational
from synthstruct.relational.sources import check_target, is_database_url, mask_url, read_source, write_database
from synthstruct.relational.split import split_entities
from synthstruct.relational.synth import RelationalSynthesizer
from synthstruct.release.bundle import bundle_outputs, write_manifest
from synthstruct.release.gate import GateReport, ReleaseGate
from synthstruct.release.policy import Policy, load_policy, policy_sha256
from synthstruct.schema.check import coerce_to_schema, to_output
from synthstruct._seeds import stream_seed

__all__ = ["RELATIONAL_CHECKS", "RelationalResult", "coerce_tables", "release_relational"]

log = logging.getLogger(__name__)

#: Cross-table checks: (name, summary key, comparison, limit, severity).
RELATIONAL_CHECKS = (
    ("referential_integrity", "referential_integrity", ">=", 1.0, "block"),
    ("real_keys_reused", "real_keys_reused", "<=", 0, "block"),
    ("sequence_in_order", "sequence_in_order_min", ">=", 1.0, "block"),
    ("child_count_ks", "child_count_ks_max", "<=", 0.1, "warn"),
    ("table_shapes", "table_shapes_min", ">=", 0.9, "warn"),
    ("parent_child_trends", "parent_child_trends_mean", ">=", 0.85, "warn"),
)


@dataclass
class RelationalResult:
    """What a relational release produced."""

    passed: bool
    output: Path
    gates: dict[str, GateReport]
    checks: list[dict[str, Any]]
    report: dict[str, Any]
    manifest: dict[str, Any]
    synthetic: dict[str, pd.DataFrame]
    database: str | None = None


def coerce_tables(tables: dict[str, pd.DataFrame], schema: RelationalSchema, *, source: str = "") -> dict[str, pd.DataFrame]:
    """Check every synthesized table against its schema (every problem of every table at once)."""
    from synthstruct.errors import DataValidationError

    missing = [t for t in schema.tables if t not in tables]
    if missing:
        raise DataFileError("table not found", [Problem(f"table {t!r}", "is in the relational schema but not in "
                                                        "the source", "add it or remove it from the schema")
                                                for t in missing], source=source)
    out, problems = {}, []
    for t, spec in schema.tables.items():
        if spec.reference:
            out[t] = tables[t]
            continue
        try:
            out[t] = coerce_to_schema(tables[t], spec.schema_, source=t)
        except DataValidationError as exc:
            problems += [Problem(f"{t}.{p.location}", p.message, p.fix) for p in exc.problems]
    if problems:
        raise DataValidationError("the data does not match the relational schema", problems, source=source)
    return out


def _orphans(tables: dict[str, pd.DataFrame], schema: RelationalSchema) -> dict[str, int]:
    """Real child keys that name no parent row, per relationship (reported; kept as parentless children)."""
    out = {}
    for rel in schema.relationships:
        parent = set(k for k in norm_keys(tables[rel.parent][rel.parent_column]) if k is not None)
        out[f"{rel.child}.{rel.child_column}->{rel.parent}"] = int(sum(
            k is not None and k not in parent for k in norm_keys(tables[rel.child][rel.child_column])))
    return out


def _data_sha(tables: dict[str, pd.DataFrame]) -> str:
    digest = hashlib.sha256()
    for name in sorted(tables):
        digest.update(name.encode())
        digest.update(pd.util.hash_pandas_object(tables[name].astype(str), index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _check(name: str, value: Any, comparison: str, limit: float, severity: str) -> dict[str, Any]:
    if value is None:
        return {"name": name, "value": None, "comparison": comparison, "threshold": limit, "severity": severity,
                "passed": True, "explanation": f"{name}: not applicable"}
    ok = value >= limit if comparison == ">=" else value <= limit
    text = f"{name} = {value:.4g} (limit {comparison} {limit:g})" if ok else \
        f"{name} = {value:.4g}, which breaks the limit {comparison} {limit:g}"
    return {"name": name, "value": float(value), "comparison": comparison, "threshold": float(limit),
            "severity": severity, "passed": bool(ok), "explanation": text}


def release_relational(source: str | Path, *, output: str | Path, schema: RelationalSchema | str | Path | None = None,
                       policy: str | Path | Policy = "default", seed: int = 0, scale: float = 1.0,
                       to: str | None = None, to_schema: str | None = None, overwrite: bool = False,
                       detect_pii: bool = True, synthetic_hook: Any = None, engine: str | None = None) -> RelationalResult:
    """Release a whole database.

    Args:
        source: Directory of CSV/Parquet files, SQLite file, or SQLAlchemy URL (PostgreSQL, SQLite).
        output: Bundle directory to create.
        schema: Relational schema object, YAML path, or SDV multi-table metadata (``.json``); inferred (keys
            from the database's constraints or from the data) when omitted.
        policy: Built-in policy name, policy YAML path, or a :class:`Policy` (applied to every table).
        seed: Seed of split, fit, sample and gate.
        scale: Root tables get ``scale x`` their training rows.
        to: Also write the synthetic tables to this database (new SQLite file or PostgreSQL URL).
        to_schema: PostgreSQL schema to create for ``to`` (default ``?schema=`` of the URL or ``synthetic``).
        overwrite: Replace an existing non-empty output directory.
        detect_pii: Run Presidio while inferring column kinds.
        synthetic_hook: Test hook ``f(synthetic_tables, train_tables) -> synthetic_tables`` before the gate.
        engine: ``fast_copula`` or ``hma`` (SDV's HMASynthesizer); default the schema's ``engine``, else
            ``fast_copula``.

    Raises:
        InputError: bad source, schema, policy or keys (nothing is written).
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    output = Path(output)
    if output.exists() and output.is_dir() and any(output.iterdir()) and not overwrite:
        raise DataFileError("output directory exists and is not empty", [Problem(
            output.name, "output directory exists and is not empty", "choose a new directory or pass --overwrite")],
            source=str(output))
    label = mask_url(str(source)) if is_database_url(str(source)) else str(source)
    if to:
        check_target(to, db_schema=to_schema)
    src = read_source(source)
    inferred = schema is None
    if isinstance(schema, (str, Path)) and Path(schema).suffix.lower() == ".json":  # SDV multi-table metadata
        import json

        from synthstruct.relational.sdv_metadata import from_sdv_multi_table

        try:
            metadata = json.loads(Path(schema).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise DataFileError("cannot read SDV metadata", [Problem(Path(schema).name, "is not a readable JSON file",
                                                                     "pass SDV multi-table metadata JSON")],
                                source=str(schema)) from None
        schema = from_sdv_multi_table(metadata, name=Path(schema).stem)
    elif isinstance(schema, (str, Path)):
        schema = load_relational(schema)
    if schema is None:
        from synthstruct.relational.infer import infer_relational

        name = Path(str(source).split("?")[0].rstrip("/")).stem if not is_database_url(str(source)) else "database"
        schema, _comments = infer_relational(src.tables, declared=src.declared, name=name or "database",
                                             detect_pii=detect_pii)
    tables = add_hierarchy_columns(coerce_tables(src.tables, schema, source=label), schema)  # cycles: typed error
    if isinstance(policy, Policy):
        policy_obj, policy_label = policy, policy.name
    else:
        policy_obj, _ = load_policy(policy)
        policy_label = str(policy)
    orphans = _orphans(tables, schema)
    for rel, count in orphans.items():
        if count:
            log.warning("%s: %d child row(s) name no parent; kept as children without a parent", rel, count)
    train, holdout, split_info = split_entities(tables, schema, holdout_fraction=policy_obj.split.holdout_fraction,
                                                min_holdout_rows=policy_obj.split.min_holdout_rows,
                                                seed=stream_seed(seed, "split"))
    timings["load"] = time.perf_counter() - t0
    t = time.perf_counter()
    real_keys = {tn: norm_keys(tables[tn][spec.schema_.primary_key]) for tn, spec in schema.tables.items()
                 if not spec.reference and spec.schema_.primary_key}
    engine_name = engine or schema.engine or "fast_copula"
    if engine_name == "hma":
        from synthstruct.relational.hma import HMARelationalSynthesizer

        synth: Any = HMARelationalSynthesizer(protect_k=policy_obj.value_protection.k)
    elif engine_name == "fast_copula":
        synth = RelationalSynthesizer(protect_k=policy_obj.value_protection.k)
    else:
        raise InputError("unknown relational engine", [Problem("engine", f"{engine_name!r} is not an engine of "
                                                               "relational releases", "use fast_copula or hma")])
    synth.fit(train, schema, seed=seed, real_keys=real_keys)
    timings["fit"] = time.perf_counter() - t
    t = time.perf_counter()
    synthetic = synth.sample(scale=scale, seed=seed)
    timings["sample"] = time.perf_counter() - t
    if synthetic_hook is not None:
        synthetic = synthetic_hook(synthetic, train)

    t = time.perf_counter()
    gates: dict[str, GateReport] = {}
    for tn in schema.synthesized():
        real_mf = model_frame(train, schema, tn)
        hold_mf = model_frame(holdout, schema, tn)
        syn_mf = model_frame(synthetic, schema, tn)
        gates[tn] = ReleaseGate(policy_obj).evaluate(
            train=real_mf.frame, holdout=hold_mf.frame, synthetic=syn_mf.frame, schema=real_mf.schema,
            seed=stream_seed(seed, "gate", tn))
    fidelity = relational_fidelity(train, synthetic, schema)
    checks = [_check(name, fidelity["summary"][key], cmp, limit, sev) for name, key, cmp, limit, sev in RELATIONAL_CHECKS]
    from synthstruct.relational.tstr import join_tstr

    fidelity["tstr"] = join_tstr(train, holdout, synthetic, schema, seed=stream_seed(seed, "tstr") % (2**31))
    timings["gate"] = time.perf_counter() - t
    passed = all(g.passed for g in gates.values()) and all(c["passed"] for c in checks if c["severity"] == "block")

    from synthstruct.release.report import json_safe

    pol_sha = policy_sha256(policy_obj)
    report = json_safe({
        "report_version": 1,
        "kind": "relational",
        "database": schema.name,
        "passed": passed,
        "policy": policy_obj.name,
        "rows": {tn: {"input": len(tables[tn]), "train": len(train[tn]), "holdout": len(holdout[tn]),
                      "synthetic": len(synthetic[tn])} for tn in schema.synthesized()},
        "split": split_info,
        "orphans_in_input": orphans,
        "tables": {tn: {"gate": g.to_dict(), "metrics": {m: r.to_dict() for m, r in g.metrics.items()}}
                   for tn, g in gates.items()},
        "relational_checks": checks,
        "fidelity": fidelity,
        "timings": {k: round(v, 3) for k, v in timings.items()},
    })
    database = None
    with atomic_directory(output, overwrite=overwrite) as tmp:
        outputs_frames = {tn: to_output(synthetic[tn], schema.schema_of(tn)) if not schema.tables[tn].reference
                          else synthetic[tn] for tn in schema.tables}
        if passed:
            (tmp / "data").mkdir()
            for tn, frame in outputs_frames.items():
                for suffix in (".parquet", ".csv"):
                    write_table(frame, tmp / "data" / f"{tn}{suffix}")
        (tmp / "relational_schema.yaml").write_text(dump_relational(schema), encoding="utf-8")
        import json

        atomic_write_bytes(tmp / "report.json", (json.dumps(report, indent=1, sort_keys=True) + "\n").encode())
        if passed and to:
            database = write_database(to, outputs_frames, schema, db_schema=to_schema)
        manifest = {
            "manifest_version": 1,
            "kind": "relational",
            "released": passed,
            "database": schema.name,
            "input": {"source": label, "sha256": _data_sha(src.tables),
                      "tables": {tn: len(f) for tn, f in src.tables.items()}},
            "schema": {"inferred": inferred, "tables": list(schema.tables)},
            "policy": {"name": policy_obj.name, "source": policy_label, "sha256": pol_sha},
            "seed": seed,
            "scale": scale,
            "engine": {"name": synth.engine, "protect_k": synth.protect_k, "max_contexts": synth.max_contexts},
            "gate": {"passed": passed, "failed": [f"{tn}: {c.name}" for tn, g in gates.items()
                                                  for c in g.failed_checks()]
                     + [c["name"] for c in checks if not c["passed"] and c["severity"] == "block"]},
            "written_to": database,
            "timings": report["timings"],
            "outputs": bundle_outputs(tmp),
        }
        write_manifest(tmp, manifest)
    log.info("relational release %s: %s", "passed" if passed else "blocked", output)
    return RelationalResult(passed=passed, output=output, gates=gates, checks=checks, report=report,
                            manifest=manifest, synthetic=synthetic, database=database)
