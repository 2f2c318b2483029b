"""``balance(...)``: real training rows plus synthetic rows of the classes that need them.

Flow: load → schema (given or inferred) with the target checked → stratified split of a real test
split (held out before anything is fitted) → plan (rows to add per class) → fit the generator on the
training rows → sample the plan (conditional generation, no rejection) → per-class privacy gate →
proof of lift on the test split → bundle (atomic): ``data/`` (only when the gate passed),
``report.json``, ``report.html``, ``manifest.json``.

The output never replaces real data: its first ``n_train`` rows are the real training rows exactly as
read, followed by the synthetic rows.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from synthstruct.balance.generate import (
    ClassSampler,
    Strategy,
    check_class_sizes,
    stratified_split,
)
from synthstruct.balance.lift import SMOTE_NEIGHBOURS, lift_table, verdicts
from synthstruct.balance.plan import (
    ClassCounts,
    class_counts,
    parse_counts,
    parse_ratio,
    plan_rows,
    target_schema,
)
from synthstruct.balance.privacy import (
    ClassPrivacy,
    class_policy,
    class_privacy,
    summary,
)
from synthstruct.balance.report import BALANCE_REPORT_VERSION, render_balance_html
from synthstruct.dataio import (
    atomic_directory,
    check_output_dir,
    atomic_write_bytes,
    file_sha256,
    read_table,
    table_name_for,
    write_table,
)
from synthstruct.errors import DataFileError, InputError, Problem
from synthstruct.release.bundle import bundle_outputs, write_manifest
from synthstruct.release.manifest import MANIFEST_VERSION, BalanceManifest, package_versions
from synthstruct.release.policy import Policy
from synthstruct.release.report import report_json_bytes
from synthstruct.schema.check import coerce_to_schema, to_output
from synthstruct.schema.model import Schema
from synthstruct._seeds import stream_seed
from synthstruct.synthesizers.table import DEFAULT_ENGINE

__all__ = ["BalanceResult", "balance"]

log = logging.getLogger(__name__)



@dataclass
class BalanceResult:
    """What a balance run produced.

    Attributes:
        passed: Whether every augmented class passed the per-class privacy gate.
        data: The balanced table: real training rows (unchanged, first) then synthetic rows.
        test: The real test split (held out; never used for fitting).
        synthetic: The synthetic rows alone (coerced representation).
        plan: Class -> synthetic rows added.
        privacy: The per-class gate runs.
        lift: The lift table (None when not measured).
        report: ``report.json`` content.
        manifest: ``manifest.json`` content (None when nothing was written).
        output: The bundle directory (None when ``output`` was not given).
    """

    passed: bool
    data: pd.DataFrame
    test: pd.DataFrame
    synthetic: pd.DataFrame
    plan: dict[Any, int]
    privacy: ClassPrivacy
    lift: dict[str, Any] | None
    report: dict[str, Any]
    manifest: dict[str, Any] | None
    output: Path | None


def _load(data: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, str, str | None, str | None]:
    """(frame, table name, source for messages, input sha256)."""
    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True), "table", None, None
    path = Path(data)
    return read_table(path), table_name_for(path), str(path), file_sha256(path)


def _schema(frame: pd.DataFrame, schema: Schema | str | Path | None, *, name: str, target: str,
            source: str | None) -> tuple[Schema, bool]:
    if target not in frame.columns:  # before inference: the most likely mistake gets the clearest message
        raise InputError("cannot balance", [Problem(f"target {target!r}", "is not a column of the data",
                                                    "pass the name of the label column with --target")],
                         source=source)
    class_counts(frame[target], target=target, source=source)  # a single-class target, before inference
    from synthstruct.release.pipeline import schema_for

    schema_obj, inferred = schema_for(frame, schema, name=name, source=source or "data")
    return target_schema(frame, schema_obj, target, source=source), inferred


def _check_output(output: Path, overwrite: bool) -> None:
    if output.exists() and (not output.is_dir() or (any(output.iterdir()) and not overwrite)):
        raise DataFileError("output directory exists and is not empty", [Problem(
            str(output), "exists and is not an empty directory", "choose a new output directory or pass --overwrite")])


def _stack(real: pd.DataFrame, synthetic: pd.DataFrame) -> pd.DataFrame:
    """Real rows (as read) then synthetic rows, with the synthetic columns cast to the real dtypes."""
    synthetic = synthetic[list(real.columns)].copy()
    real = real.reset_index(drop=True)
    for col in real.columns:
        dtype = real[col].dtype
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            synthetic[col] = pd.to_numeric(synthetic[col], errors="coerce")
            if pd.api.types.is_integer_dtype(dtype):
                if synthetic[col].isna().any():
                    real[col] = real[col].astype("Int64")
                    synthetic[col] = synthetic[col].round().astype("Int64")
                else:
                    synthetic[col] = synthetic[col].round().astype(dtype)
    return pd.concat([real, synthetic], ignore_index=True)


def _label_texts(classes: ClassCounts, k: int) -> dict[Any, str]:
    """Class labels for reports; classes held by fewer than ``k`` training rows are shown by rank."""
    return {label: str(label) if n >= max(k, 1) else f"(rare class ranked {rank})"
            for rank, (label, n) in enumerate(zip(classes.labels, classes.counts), 1)}


def _resolve_plan(classes: ClassCounts, ratio: str | float | None, counts: str | dict[Any, int] | None
                  ) -> dict[Any, int]:
    ratio_value = parse_ratio(ratio) if isinstance(ratio, str) else ratio
    counts_value = parse_counts(counts) if isinstance(counts, str) else counts
    if ratio_value is not None and not 0 < float(ratio_value) <= 1:
        raise InputError("invalid ratio", [Problem("ratio", "must be in (0, 1]", "use e.g. 1.0 or '1:2'")])
    return plan_rows(classes, ratio=ratio_value, counts=counts_value)


def balance(data: str | Path | pd.DataFrame, *, target: str, ratio: str | float | None = None,
            counts: str | dict[Any, int] | None = None, engine: str | None = None,
            engine_params: dict[str, Any] | None = None, schema: Schema | str | Path | None = None,
            seed: int = 0, output: str | Path | None = None, test_fraction: float = 0.2,
            policy: str | Path | Policy = "default", protect_k: int = 5, strategy: Strategy = "auto",
            min_class_rows: int = 10, lift_seeds: int = 5, lift_max_iter: int = 100,
            overwrite: bool = False) -> BalanceResult:
    """Balance a table for a downstream classifier, with proof of lift and per-class privacy.

    Args:
        data: CSV/Parquet path or a DataFrame with the real rows.
        target: The label column.
        ratio: Minority:majority ratio to reach, ``"1:1"`` (default) or a float in (0, 1].
        counts: Rows wanted per class in the output (real + synthetic), ``"1=4000"`` or ``{1: 4000}``.
        engine: Engine name (default ``fast_copula``).
        engine_params: Engine keyword arguments.
        schema: Schema object or YAML path; inferred when omitted.
        seed: Seed for the split, fitting, sampling and the lift seeds.
        output: Bundle directory to write; nothing is written when omitted.
        test_fraction: Share of each class held out as the real test split.
        policy: Release policy whose per-class checks form the gate.
        protect_k: Value protection of the synthesizer.
        strategy: ``auto``, ``conditional`` (one model sampled per class) or ``per_class`` (a model per class).
        min_class_rows: Fewest training rows an augmented class may have (at least SMOTE's 6).
        lift_seeds: Seeds for the lift table (0 skips it).
        lift_max_iter: Boosting iterations of the lift model.
        overwrite: Replace an existing non-empty output directory.

    Raises:
        InputError: a missing, continuous or single-class target, a class smaller than
            ``min_class_rows``, a bad ratio/counts request, an unknown engine, or an existing output
            (nothing is written).
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if output is not None:
        _check_output(Path(output), overwrite)
        check_output_dir(Path(output), overwrite=overwrite)  # read-only or impossible paths, before work
    gate_policy = class_policy(policy)  # a bad policy fails before the data is read and models fitted
    if not isinstance(min_class_rows, int) or min_class_rows < SMOTE_NEIGHBOURS + 1:
        raise InputError("invalid min_class_rows", [Problem("--min-class-rows", f"must be an integer >= "
                                                            f"{SMOTE_NEIGHBOURS + 1} (SMOTE uses 5 neighbours)",
                                                            "use e.g. 10")])
    raw, name, source, input_sha = _load(data)
    schema_obj, inferred = _schema(raw, schema, name=name, target=target, source=source)
    coerced = coerce_to_schema(raw, schema_obj, source=source)
    train_pos, test_pos = stratified_split(coerced[target], test_fraction=test_fraction,
                                           seed=stream_seed(seed, "balance-split"))
    train = coerced.iloc[train_pos].reset_index(drop=True)
    test = coerced.iloc[test_pos].reset_index(drop=True)
    classes = class_counts(train[target], target=target, source=source)
    plan = _resolve_plan(classes, ratio, counts)
    check_class_sizes(classes.as_dict(), plan, needed=min_class_rows, target=target, source=source)
    labels = _label_texts(classes, protect_k)
    timings["load"] = time.perf_counter() - t0

    t = time.perf_counter()
    sampler = ClassSampler(schema_obj, engine=engine, engine_params=engine_params, protect_k=protect_k,
                           strategy=strategy, min_class_rows=min_class_rows)
    sampler.fit(train, list(plan), seed=seed, avoid=test, source=source)
    timings["fit"] = time.perf_counter() - t
    t = time.perf_counter()
    synthetic = sampler.sample(plan, seed=stream_seed(seed, "balance-sample"))
    timings["sample"] = time.perf_counter() - t
    sampling = sampler.sampling_stats

    t = time.perf_counter()
    privacy = class_privacy(train, synthetic, test, schema_obj, classes=list(plan), policy=gate_policy,
                            seed=stream_seed(seed, "balance-gate"))
    timings["privacy"] = time.perf_counter() - t

    lift = None
    if lift_seeds and plan:
        t = time.perf_counter()
        seeds = [seed + i for i in range(int(lift_seeds))]

        def synthetic_for_seed(s: int) -> pd.DataFrame:
            return synthetic if s == seed else sampler.sample(plan, seed=stream_seed(s, "balance-sample"))

        lift = lift_table(train, test, schema_obj, plan=plan, synthetic_for_seed=synthetic_for_seed, seeds=seeds,
                          minority=classes.minority, max_iter=lift_max_iter)
        lift["minority_class"] = labels[classes.minority]
        lift["verdicts"] = verdicts(lift)
        timings["lift"] = time.perf_counter() - t

    out_columns = list(raw.columns)
    balanced = _stack(raw.iloc[train_pos], to_output(synthetic, schema_obj)[out_columns])
    test_raw = raw.iloc[test_pos].reset_index(drop=True)
    test_counts = test[target].value_counts()
    report = _clean_report({
        "report_kind": "balance",
        "report_version": BALANCE_REPORT_VERSION,
        "table": schema_obj.name, "target": target, "engine": engine or DEFAULT_ENGINE,
        "strategy": sampler.strategy_, "seed": seed, "protect_k": protect_k,
        "rows": {"input": len(raw), "train": len(train), "test": len(test), "synthetic": len(synthetic),
                 "output": len(balanced)},
        "classes": [{"class": labels[label], "train_rows": n, "added_rows": plan.get(label, 0),
                     "output_rows": n + plan.get(label, 0), "test_rows": int(test_counts.get(label, 0))}
                    for label, n in zip(classes.labels, classes.counts)],
        "privacy": summary(privacy, label_text=labels),
        "lift": lift,
        "sampling": sampling,
        "timings": {k: round(v, 3) for k, v in timings.items()},
    })
    manifest = None
    if output is not None:
        manifest = _write_bundle(Path(output), report=report, balanced=balanced, test=test_raw,
                                 passed=privacy.passed, name=schema_obj.name, overwrite=overwrite,
                                 about={"input": {"file": Path(source).name if source else None, "sha256": input_sha,
                                                  "rows": len(raw), "columns": len(raw.columns)},
                                        "schema_inferred": inferred, "seed": seed,
                                        "engine": {"name": engine or DEFAULT_ENGINE, "params": engine_params or {},
                                                   "protect_k": protect_k, "strategy": sampler.strategy_},
                                        "policy": gate_policy.name, "test_fraction": test_fraction})
    log.info("balance %s: %d synthetic rows added", "passed" if privacy.passed else "blocked", len(synthetic))
    return BalanceResult(passed=privacy.passed, data=balanced, test=test_raw, synthetic=synthetic, plan=plan,
                         privacy=privacy, lift=lift, report=report, manifest=manifest,
                         output=Path(output) if output is not None else None)


def _clean_report(report: dict[str, Any]) -> dict[str, Any]:
    from synthstruct.release.report import json_safe

    return json_safe(report)


def _write_bundle(output: Path, *, report: dict[str, Any], balanced: pd.DataFrame, test: pd.DataFrame,
                  passed: bool, name: str, overwrite: bool, about: dict[str, Any]) -> dict[str, Any]:
    with atomic_directory(output, overwrite=overwrite) as tmp:
        if passed:
            (tmp / "data").mkdir()
            for suffix in (".parquet", ".csv"):
                write_table(balanced, tmp / "data" / f"{name}_balanced{suffix}")
                write_table(test, tmp / "data" / f"{name}_test{suffix}")
        atomic_write_bytes(tmp / "report.json", report_json_bytes(report))
        (tmp / "report.html").write_text(render_balance_html(report), encoding="utf-8")
        outputs = bundle_outputs(tmp)
        manifest = BalanceManifest.model_validate({
            "manifest_version": MANIFEST_VERSION, "kind": "balance", "written": passed, "table": name, **about,
            "rows": {**report["rows"], "real_rows_first": report["rows"]["train"]},
            "classes": report["classes"],
            "gate": {"passed": passed, "failed": [f"{e['class']}: {c}" for e in report["privacy"]["classes"]
                                                  for c in e["gate"]["failed"]]},
            "timings": report["timings"], "versions": package_versions(), "outputs": outputs,
        }).to_dict()
        write_manifest(tmp, _clean_report(manifest))
    return manifest

