"""The release pipeline: load → validate → split → fit → sample → gate → bundle.

``release(...)`` returns a :class:`ReleaseResult` whether or not the gate passed; the bundle is
written atomically (temporary directory + rename), and ``data/`` exists only when the gate passed. The data
files are written while the gate runs, into a private staging folder next to the bundle (``.<name>.tmp-<pid>-
staging-*``), and moved into the bundle only when the gate passes; a blocked or failed run removes the folder.

Generated free text is checkpointed chunk by chunk in a per-run directory outside the bundle
(:class:`~synthstruct.text.checkpoint.ResumeDirectory`), so an interrupted release rerun with the same
arguments continues where it stopped and writes the same bytes; the directory is removed once the
bundle is written.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from synthstruct._limits import check_rows
from synthstruct.dataio import (
    atomic_directory,
    check_output_dir,
    atomic_write_bytes,
    file_sha256,
    read_table,
    staging_directory,
    table_name_for,
    write_table,
)
from synthstruct.release.bundle import bundle_outputs, write_manifest
from synthstruct.release.gate import GateReport, ReleaseGate
from synthstruct.release.ledger import record_gate_run
from synthstruct.release.manifest import MANIFEST_VERSION, ReleaseManifest, package_versions
from synthstruct.release.policy import Policy, load_policy, policy_sha256
from synthstruct.release.report import build_report, render_html, report_json_bytes
from synthstruct.release.split import split_train_holdout
from synthstruct.schema.check import coerce_to_schema, to_output, validate_table
from synthstruct.schema.io import dump_schema, load_schema, schema_sha256
from synthstruct.schema.model import Schema
from synthstruct._seeds import stream_seed
from synthstruct.synthesizers.table import DEFAULT_ENGINE, TableSynthesizer
from synthstruct.text.checkpoint import ResumeDirectory

__all__ = ["MANIFEST_VERSION", "ReleaseResult", "release", "schema_for"]

log = logging.getLogger(__name__)



@dataclass
class ReleaseResult:
    """What a release run produced."""

    passed: bool
    output: Path
    gate: GateReport
    report: dict[str, Any]
    manifest: dict[str, Any]


class _Steps:
    """Counts pipeline steps for an optional progress callback."""

    def __init__(self, callback: Callable[[str, int, int], None] | None) -> None:
        self.callback, self.done, self.total = callback, 0, 5

    def __call__(self, name: str) -> None:
        if self.callback is not None:
            self.callback(name, self.done, max(self.total, self.done + 1))
        self.done += 1


@dataclass
class SchemaChoice:
    """The schema of a run and where it came from: ``inference`` holds every inference decision when
    the schema was inferred; ``target_reason`` says why the target is what it is."""

    schema: Schema
    inferred: bool
    inference: Any = None
    target_reason: str = ""

    def record(self) -> dict[str, Any]:
        """The ``inference`` section of ``report.json``."""
        out: dict[str, Any] = {"inferred": self.inferred, "target": self.schema.target,
                               "target_reason": self.target_reason}
        if self.inference is not None:
            out.update({k: v for k, v in self.inference.to_dict().items() if k not in ("target", "target_reason")})
        return out


def _with_target(schema: Schema, target: str | None) -> tuple[Schema, str]:
    if target is None:
        return schema, "from the schema" if schema.target else "the schema names no target"
    from synthstruct.schema.io import schema_from_dict

    data = schema.model_dump(mode="json")
    data["target"] = None if target.lower() == "none" else target
    reason = "switched off (--target none)" if data["target"] is None else "chosen by the user (--target)"
    return schema_from_dict(data, source="--target"), reason


#: Training rows beyond which the engine learns the structured columns from a seeded random sample of this
#: many rows (value protection, constraints and id / pii generators still see every row).
MAX_FIT_ROWS = 200_000


def choose_schema(frame: pd.DataFrame, schema: Schema | str | Path | None, *, name: str, source: str,
                  target: str | None = None, hierarchies: bool = True) -> SchemaChoice:
    """The schema to use: given, loaded, or inferred from the data; ``target`` (a column or ``"none"``)
    overrides the schema's target; ``hierarchies=False`` leaves inferred fixed combinations out (audits
    of other generators' output are not held to constraints nobody declared).

    Raises:
        SchemaError: the schema (or the target override) is invalid.
    """
    if isinstance(schema, Schema) or schema is not None:
        loaded = schema if isinstance(schema, Schema) else load_schema(schema)
        chosen, reason = _with_target(loaded, target)
        return SchemaChoice(chosen, False, None, reason)
    validate_table(frame, source=source)
    from synthstruct.schema.infer import infer_table

    inference = infer_table(frame, name=name, target=target, hierarchies=hierarchies)
    for decision in inference.decisions.values():
        log.info("inferred %s: %s", decision.column, decision.comment())
    return SchemaChoice(inference.schema, True, inference, inference.target_reason)


def schema_for(frame: pd.DataFrame, schema: Schema | str | Path | None, *, name: str, source: str,
               target: str | None = None) -> tuple[Schema, bool]:
    """The schema to use: loaded, given, or inferred from the data (returns ``(schema, inferred)``)."""
    choice = choose_schema(frame, schema, name=name, source=source, target=target)
    return choice.schema, choice.inferred


def _check_output(output: Path, *, overwrite: bool) -> None:
    """Fail before hours of fitting and text generation, not when the bundle is written."""
    check_output_dir(output, overwrite=overwrite)


def _resume_directory(schema: Schema, key: list[Any]) -> ResumeDirectory | None:
    """The checkpoint directory of this run, or ``None`` when no column writes text with a generator."""
    if not any(c.kind == "text" and c.generator != "placeholder" for c in schema.columns.values()):
        return None
    return ResumeDirectory(["release", *key])


def _sample_resumably(synth: TableSynthesizer, n_rows: int, *, seed: int, run_dir: ResumeDirectory | None,
                      resume: bool, on_text_progress: Callable[[str, int, int], None] | None) -> pd.DataFrame:
    """``synth.sample`` with text checkpoints in ``run_dir``; on failure, a note on what is kept for a rerun."""
    if run_dir is None:
        return synth.sample(n_rows, seed=seed)
    found = run_dir.finished_texts() if resume else 0
    if found:
        log.info("resuming text generation: %d finished texts found in %s", found, run_dir.path)
    with run_dir.claim(fresh=not resume) as directory:
        synth.set_text_hooks(progress=on_text_progress, checkpoint_dir=directory)
        try:
            return synth.sample(n_rows, seed=seed)
        except BaseException as exc:
            kept = run_dir.finished_texts()
            if kept:
                exc.add_note(f"{kept} generated texts are kept in {run_dir.path}: run the same release again to "
                             "continue from there (--no-resume / resume=False starts over)")
            else:
                run_dir.discard()
            raise
        finally:
            synth.set_text_hooks(progress=None, checkpoint_dir=None)


def _text_manifest(synth: TableSynthesizer) -> dict[str, Any] | None:
    """Per generated text column: generator, fallback backend, whether and how often it was used."""
    columns: dict[str, Any] = {}
    for name, gen in synth.generators_.items():
        if not getattr(gen, "conditions_on_rows", False):
            continue
        stats = getattr(gen, "stats_", {})
        used = int(stats.get("fallback_texts", 0))
        configured = gen.spec.backend.get("fallback")
        fallback = configured if configured is not None else ("template" if used else None)
        columns[name] = {"generator": gen.spec.generator, "fallback": fallback, "fallback_used": used > 0,
                         "fallback_texts": used, "texts": int(stats.get("texts", 0))}
        if used:
            log.warning("text column %s: %d of %d texts were written by the fallback backend %s",
                        name, used, stats.get("texts", 0), fallback)
    return columns or None


def _write_data(synthetic: pd.DataFrame, schema: Schema, columns: list[str], folder: Path, *,
                escape_formulas: bool, stop: threading.Event) -> None:
    """``folder/data/<table>.parquet`` and ``.csv`` in the output representation and the input's column order
    (on the bundle-data thread, while the gate runs; stops between files once ``stop`` is set)."""
    out_frame = to_output(synthetic, schema)[columns]
    (folder / "data").mkdir()
    for suffix in (".parquet", ".csv"):
        if stop.is_set():
            return
        write_table(out_frame, folder / "data" / f"{schema.name}{suffix}", escape_csv_formulas=escape_formulas)


def _blocked_too_small(data: Path, output: Path, frame: pd.DataFrame, schema_obj: Schema, choice: SchemaChoice,
                       policy_obj: Policy, policy_label: str, *, seed: int, engine: str, input_sha: str,
                       overwrite: bool, n_holdout: int, load_seconds: float) -> ReleaseResult:
    """A table too small for the policy's privacy reference (the holdout) is a gate verdict, not an
    input error: the bundle holds the schema, the inference decisions and the one failed check, no data."""
    from synthstruct.release.gate import CheckResult

    needed = policy_obj.split.min_holdout_rows
    check = CheckResult(
        name="rows.value", metric="rows", statistic="value", value=float(min(n_holdout, len(frame) - n_holdout)),
        threshold=float(needed), comparison=">=", severity="block", passed=False,
        explanation=(f"{len(frame)} rows give a holdout of {n_holdout} rows; at least {needed} are needed on each "
                     "side to measure privacy against unseen real rows, so nothing can be released."),
        fix="provide more rows, or lower split.min_holdout_rows / raise holdout_fraction in the policy")
    gate = GateReport(passed=False, policy=policy_obj.name, checks=[check], metrics={})
    report = build_report(gate, table=schema_obj.name, engine=engine,
                          rows={"input": len(frame), "train": 0, "holdout": 0, "synthetic": 0},
                          timings={"load": round(load_seconds, 3)})
    report["inference"] = choice.record()
    schema_sha, pol_sha = schema_sha256(schema_obj), policy_sha256(policy_obj)
    with atomic_directory(output, overwrite=overwrite) as tmp:
        (tmp / "schema.yaml").write_text(dump_schema(schema_obj), encoding="utf-8")
        atomic_write_bytes(tmp / "report.json", report_json_bytes(report))
        (tmp / "report.html").write_text(render_html(report), encoding="utf-8")
        manifest = ReleaseManifest.model_validate({
            "manifest_version": MANIFEST_VERSION, "released": False, "table": schema_obj.name,
            "input": {"file": data.name, "sha256": input_sha, "rows": len(frame), "columns": len(frame.columns)},
            "schema": {"sha256": schema_sha, "inferred": choice.inferred},
            "policy": {"name": policy_obj.name, "source": policy_label, "sha256": pol_sha},
            "seed": seed, "engine": {"name": engine, "params": {}, "protect_k": policy_obj.value_protection.k},
            "text": None,
            "split": {"holdout_fraction": policy_obj.split.holdout_fraction, "train_rows": 0, "holdout_rows": 0,
                      "stratified_on": None},
            "gate": {"passed": False, "attempts": 1, "failed": [check.name]},
            "canaries": None, "timings": report["timings"], "versions": package_versions(),
            "outputs": bundle_outputs(tmp),
        }).to_dict()
        write_manifest(tmp, manifest)
    log.info("release blocked: %d rows are too few for a holdout of %d", len(frame), needed)
    return ReleaseResult(passed=False, output=output, gate=gate, report=report, manifest=manifest)


def release(data: str | Path, *, output: str | Path, schema: Schema | str | Path | None = None,
            engine: str | None = None, engine_params: dict[str, Any] | None = None, rows: int | None = None,
            seed: int = 0, policy: str | Path | Policy = "default", overwrite: bool = False,
            synthetic_hook: Any = None, canaries: int = 0,
            on_progress: Callable[[str, int, int], None] | None = None,
            column_map: dict[str, str] | None = None, resume: bool = True,
            on_text_progress: Callable[[str, int, int], None] | None = None,
            escape_formulas: bool = True, target: str | None = None,
            exact_privacy: bool = False) -> ReleaseResult:
    """Run a full release of one table.

    Args:
        data: CSV or Parquet file with the real rows.
        output: Bundle directory to create.
        schema: Schema object or YAML path; inferred from the data when omitted.
        engine: Engine name (default ``fast_copula``).
        engine_params: Engine keyword arguments.
        rows: Synthetic rows to generate (default: as many as the training split).
        seed: Seed for split, fit and sample; the same input, schema and seed give the same bytes.
        policy: Built-in policy name, policy YAML path, or a :class:`Policy`.
        overwrite: Replace an existing non-empty output directory.
        synthetic_hook: Test hook ``f(synthetic, train) -> synthetic`` applied before the gate (used to
            prove that the gate blocks leaky output).
        canaries: Plant this many artificial unique rows (each kept in train with probability 1/2) and
            report how many leak (``canary_leakage``). A canary run is an audit of the engine and
            settings: release data from a run without canaries.
        column_map: Real column name -> schema column name, for a schema pack whose names differ
            from the data's (``--map real=schema,...``).
        on_progress: Called as ``on_progress(step, done, total)`` before each step (load, fit, sample,
            each gate metric, write), for progress bars.
        resume: Continue text generation from the checkpoints of an earlier, interrupted run with the
            same input file, schema, policy, seed, rows and engine (kept in
            ``<state dir>/resume/<run hash>``); ``False`` discards them and starts over.
        on_text_progress: Called as ``on_text_progress(column, texts_done, texts_total)`` after each
            chunk of generated text (columns with a text generator other than ``placeholder``).
        escape_formulas: Escape CSV cells a spreadsheet would run as formulas (see
            :func:`synthstruct.dataio.escape_formulas`); the Parquet file is never changed.
        target: Target column for the stratified split and utility metrics, overriding the schema's
            (or the inferred proposal); ``"none"`` for no target.
        exact_privacy: Distance metrics over every row whatever the table's size (the policy's
            ``privacy_sampling.mode`` set to ``exact``; recorded in the policy hash).

    Raises:
        InputError: bad data, schema, policy or parameters (nothing is written).
    """
    timings: dict[str, float] = {}
    step = _Steps(on_progress)
    step("load and validate")
    t0 = time.perf_counter()
    data, output = Path(data), Path(output)
    # every option and file is checked before the data is read, inferred or fitted
    _check_output(output, overwrite=overwrite)
    check_rows(rows, 1)
    if engine is not None:
        from synthstruct._registry import ENGINES

        ENGINES.get(engine)  # an unknown engine name is a typed error before any work
    if isinstance(policy, Policy):
        policy_obj, policy_label = policy, policy.name
    else:
        policy_obj, _text = load_policy(policy)
        policy_label = str(policy)
    if exact_privacy:
        policy_obj = policy_obj.model_copy(
            update={"privacy_sampling": policy_obj.privacy_sampling.model_copy(update={"mode": "exact"})})
    if schema is not None and not isinstance(schema, Schema):
        schema = load_schema(schema)
    frame = read_table(data)
    check_rows(rows, len(frame.columns))
    input_sha = file_sha256(data)
    name = table_name_for(data)
    if column_map:
        from synthstruct.generate.mapping import apply_column_mapping

        frame = apply_column_mapping(frame, column_map, schema)
    choice = choose_schema(frame, schema, name=name, source=str(data), target=target)
    schema_obj, inferred = choice.schema, choice.inferred
    step.total = 4 + len(policy_obj.metric_names())
    coerced = coerce_to_schema(frame, schema_obj, source=str(data))
    timings["load"] = time.perf_counter() - t0

    stratify = schema_obj.target if schema_obj.target in schema_obj.structured_columns else None
    n_holdout = int(round(len(coerced) * policy_obj.split.holdout_fraction))
    if min(n_holdout, len(coerced) - n_holdout) < policy_obj.split.min_holdout_rows and not canaries:
        return _blocked_too_small(data, output, frame, schema_obj, choice, policy_obj, policy_label, seed=seed,
                                  engine=engine or DEFAULT_ENGINE, input_sha=input_sha, overwrite=overwrite,
                                  n_holdout=n_holdout, load_seconds=time.perf_counter() - t0)
    train, holdout = split_train_holdout(coerced, spec=policy_obj.split, seed=stream_seed(seed, "split"),
                                         stratify_on=stratify)
    canary_table = None
    if canaries:
        from synthstruct.privacy.canaries import insert_canaries

        train, canary_table = insert_canaries(train, schema_obj, canaries, seed=stream_seed(seed, "canaries"))
    engine_name = engine or DEFAULT_ENGINE
    from synthstruct.dp.guard import check_policy, is_private, require_declared_schema

    check_policy(policy_obj, engine_name, engine_params)
    private = is_private(engine_name)
    if private:  # value protection reads the rows; the DP noise replaces it (docs/dp.md)
        require_declared_schema(inferred)
    protect_k = 0 if private else policy_obj.value_protection.k
    large = len(train) > MAX_FIT_ROWS and not private  # the engine learns from a row sample (docs/scale.md)
    synth = TableSynthesizer(engine=engine_name, engine_params=engine_params, protect_k=protect_k,
                             max_fit_rows=MAX_FIT_ROWS if large else None)
    step(f"fit {engine_name}")
    t = time.perf_counter()
    synth.fit(train, schema=schema_obj, seed=seed, source=str(data), avoid=holdout, coerced=canary_table is None)
    timings["fit"] = time.perf_counter() - t
    n_rows = len(train) if rows is None else rows
    if rows is None and synth.privacy_ is not None:  # the exact count of training rows is private too
        n_rows = max(1, int(round(synth.privacy_["n_estimate"])))
    schema_sha, pol_sha = schema_sha256(schema_obj), policy_sha256(policy_obj)
    run_dir = _resume_directory(schema_obj, [input_sha, schema_sha, pol_sha, seed, n_rows, engine_name,
                                             engine_params or {}, canaries, column_map or {}])
    step(f"sample {n_rows} rows")
    t = time.perf_counter()
    synthetic = _sample_resumably(synth, n_rows, seed=seed, run_dir=run_dir, resume=resume,
                                  on_text_progress=on_text_progress)
    timings["sample"] = time.perf_counter() - t
    if synthetic_hook is not None:
        synthetic = synthetic_hook(synthetic, train)

    attempts = record_gate_run(hashlib.sha256(f"{input_sha}:{schema_sha}:{pol_sha}".encode()).hexdigest())
    # The data files are written while the gate runs (a thread of their own: Arrow, NumPy and the file writes
    # release the GIL), into a private staging folder next to the bundle; they move into the bundle only when
    # the gate passes. A blocked release stops the writer and removes the folder: no data is released.
    stop = threading.Event()
    with staging_directory(output) as staging, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="bundle-data") as writer:
        data_written = writer.submit(_write_data, synthetic.copy(deep=False), schema_obj, list(frame.columns),
                                     staging, escape_formulas=escape_formulas, stop=stop)
        try:
            t = time.perf_counter()
            gate_options = {"canaries": canary_table} if canary_table is not None else None
            if synth.privacy_ is not None:
                gate_options = {**(gate_options or {}), "differential_privacy": synth.privacy_}
            gate = ReleaseGate(policy_obj).evaluate(
                train=train, synthetic=synthetic, schema=schema_obj, holdout=holdout, seed=stream_seed(seed, "gate"),
                options=gate_options, on_metric=lambda name: step(f"gate: {name}"))
            timings["gate"] = time.perf_counter() - t

            report = build_report(
                gate, table=schema_obj.name, engine=engine_name,
                rows={"input": len(frame), "train": len(train), "holdout": len(holdout),
                      "synthetic": len(synthetic)},
                timings={k: round(v, 3) for k, v in timings.items()},
                sampling=getattr(synth, "sampling_stats_", {}),
                attempts=attempts,
                value_protection={"k": synth.protect_k, "rare_categories_merged": synth.codec_.rare_counts,
                                  "clipped_columns": sorted(synth.codec_.bounds)},
            )
            if synth.privacy_ is not None:
                from synthstruct.dp.report import privacy_record

                report["differential_privacy"] = privacy_record(synth.privacy_)
            report["inference"] = choice.record()
            if getattr(synth, "fit_rows_", None):
                report["fit_sample"] = synth.fit_rows_
        except BaseException:
            stop.set()
            data_written.cancel()
            raise
        if not gate.passed:
            stop.set()
        step("write bundle")
        with atomic_directory(output, overwrite=overwrite) as tmp:
            if gate.passed:
                data_written.result()  # a write error surfaces here
                os.replace(staging / "data", tmp / "data")
            (tmp / "schema.yaml").write_text(dump_schema(schema_obj), encoding="utf-8")
            atomic_write_bytes(tmp / "report.json", report_json_bytes(report))
            (tmp / "report.html").write_text(render_html(report), encoding="utf-8")
            outputs = bundle_outputs(tmp)
            manifest = ReleaseManifest.model_validate({
                "manifest_version": MANIFEST_VERSION,
                "released": gate.passed,
                "table": schema_obj.name,
                "input": {"file": data.name, "sha256": input_sha, "rows": len(frame),
                          "columns": len(frame.columns)},
                "schema": {"sha256": schema_sha, "inferred": inferred},
                "policy": {"name": policy_obj.name, "source": policy_label, "sha256": pol_sha},
                "seed": seed,
                "engine": {"name": engine_name, "params": engine_params or {}, "protect_k": synth.protect_k},
                "text": _text_manifest(synth),
                **({"differential_privacy": report["differential_privacy"]} if synth.privacy_ is not None else {}),
                "split": {"holdout_fraction": policy_obj.split.holdout_fraction, "train_rows": len(train),
                          "holdout_rows": len(holdout), "stratified_on": stratify},
                "gate": {"passed": gate.passed, "attempts": attempts,
                         "failed": [c.name for c in gate.failed_checks()]},
                "canaries": ({"planted": canaries, "members": int(canary_table.n_members)}
                             if canary_table is not None else None),
                "timings": report["timings"],
                "versions": package_versions(),
                "outputs": outputs,
            }).to_dict()
            write_manifest(tmp, manifest)
    if run_dir is not None:
        run_dir.discard()  # the texts are in the bundle now
    log.info("release %s: %s", "passed" if gate.passed else "blocked", output)
    return ReleaseResult(passed=gate.passed, output=output, gate=gate, report=report, manifest=manifest)
