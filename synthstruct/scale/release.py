"""The distributed release: the pipeline of :mod:`synthstruct.release.pipeline`, run on Dask.

1. Input: a Parquet file, a directory of Parquet files, or a CSV (converted chunk by chunk).
2. **Fit on a sample**: a seeded uniform sample of ``fit_sample_rows`` rows (read piece by piece, in
   parallel) is split into train / holdout and fitted exactly as the in-memory release does. When the
   sample covers the table, train and holdout are the in-memory release's.
3. **Sample in partitions**: partition ``i`` is drawn with ``stream_seed(seed, "partition", i)`` and
   written by a worker straight into the bundle's temporary directory, so the output files are the
   same bytes for the same seed whatever the number of workers.
4. **Gate**: the policy's metrics run on the training sample, the holdout and the first synthetic
   partitions (``gate_rows``, by default as many rows as train; never the whole output), on the client
   while the workers sample. Every partition is also compared with the whole training sample (exact
   copies of every row; nearest-neighbour distances over train blocks, min-reduced, for a seeded sample
   of ``distance_rows`` synthetic rows spread over the partitions), profiled against train bins for
   column shapes and PII-scanned (free-text columns); the merged results are in ``report.json → scale``
   and the exact-copy share over all partitions is one more blocking check.
5. Bundle written atomically: on any failure (after Dask's retries) nothing is left at ``output``.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import reduce
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.dataio import (
    atomic_directory,
    atomic_write_bytes,
    file_sha256,
    table_name_for,
)
from synthstruct.release.bundle import write_manifest
from synthstruct.release.gate import CheckResult, GateReport, ReleaseGate
from synthstruct.release.ledger import record_gate_run
from synthstruct.release.manifest import MANIFEST_VERSION, ReleaseManifest, package_versions
from synthstruct.release.pipeline import ReleaseResult, schema_for
from synthstruct.release.policy import Policy, load_policy, policy_sha256
from synthstruct.release.report import build_report, render_html, report_json_bytes
from synthstruct.release.split import split_train_holdout
from synthstruct.scale.aggregates import ColumnProfile
from synthstruct.scale.cluster import (
    DEFAULT_RETRIES,
    open_client,
    parse_cluster,
    run_tasks,
)
from synthstruct.scale.dataset import (
    DEFAULT_PARTITION_ROWS,
    csv_to_parquet,
    list_pieces,
    parquet_files,
    typed_sample,
)
from synthstruct.scale.plan import fit_sample_positions, output_partitions
from synthstruct.scale.tasks import (
    PartitionContext,
    PartitionResult,
    draw_partition,
    sample_partition,
    sample_rows,
)
from synthstruct.schema.check import coerce_to_schema
from synthstruct.schema.io import dump_schema, load_schema, schema_sha256
from synthstruct.schema.model import Schema
from synthstruct._seeds import stream_seed
from synthstruct.synthesizers.table import DEFAULT_ENGINE, TableSynthesizer

__all__ = ["DEFAULT_DISTANCE_ROWS", "DEFAULT_FIT_SAMPLE_ROWS", "run_distributed_release"]

log = logging.getLogger(__name__)

#: Rows the synthesizer is fitted on (train + holdout) unless told otherwise.
DEFAULT_FIT_SAMPLE_ROWS = 200_000
#: Synthetic rows (spread over the partitions, seeded) whose nearest training row is searched among
#: every training row (a 20k-row sample reads the 5% quantile to about ±0.3 percentile points).
DEFAULT_DISTANCE_ROWS = 20_000
Progress = Callable[[str, int, int], None]


def _input_dataset(data: Path, staging: Path, partition_rows: int) -> tuple[Path, str, bool]:
    """The Parquet dataset to read (CSV converted into ``staging``), the input's sha256, and whether
    the dataset holds a CSV's text cells (typed after reading, as ``read_table`` types a CSV)."""
    if data.is_file() and data.suffix.lower() == ".csv":
        csv_to_parquet(data, staging, partition_rows=partition_rows)
        return staging, file_sha256(data), True
    digest = hashlib.sha256()
    for file in parquet_files(data):
        digest.update(f"{file.relative_to(data).as_posix() if data.is_dir() else file.name}:{file_sha256(file)}\n".encode())
    return data, digest.hexdigest(), False


def _full_output_check(policy: Policy, gate: GateReport, copies: int, rows: int) -> CheckResult | None:
    """The policy's exact-match check applied to the exact copies counted over every partition."""
    spec = next((s for s in policy.checks if s.metric == "exact_match"), None)
    result = gate.metrics.get("exact_match")
    if spec is None or result is None or not rows or spec.statistic not in ("value", "minus_reference"):
        return None
    share = copies / rows
    reference = result.reference if spec.statistic == "minus_reference" else 0.0
    threshold = spec.max if spec.max is not None else spec.min
    comparison = "<=" if spec.max is not None else ">="
    name = f"{spec.check_name} (all partitions)"
    if reference is None:
        return CheckResult(name, "exact_match", spec.statistic, None, float(threshold), comparison, spec.severity,
                           False, f"{name} could not be checked: no holdout reference", spec.fix or "")
    stat = share - reference
    passed = stat <= threshold if comparison == "<=" else stat >= threshold
    text = f"{name} = {stat:.4g} ({copies} of {rows} synthetic rows copy a training row; limit {comparison} " \
           f"{threshold:.4g})"
    return CheckResult(name, "exact_match", spec.statistic, float(stat), float(threshold), comparison,
                       spec.severity, bool(passed), text if passed else f"{text}. {spec.why or ''}".strip(),
                       spec.fix or "")


def _scale_summary(results: list[PartitionResult], train_profile: ColumnProfile,
                   holdout_profile: ColumnProfile, *, distance_rows: int | None = None) -> dict[str, Any]:
    """Merge the partitions' aggregates into the report's ``scale`` section (aggregates only)."""
    rows = sum(r.rows for r in results)
    output_profile = reduce(lambda a, b: a + b, (r.profile for r in results))
    scores = train_profile.scores(output_profile)
    reference = train_profile.scores(holdout_profile)
    present = [v for v in scores.values() if v is not None]
    distances = [r.distances for r in results if r.distances is not None]
    pii: dict[str, dict[str, int]] = {}
    for r in results:
        for column, counts in r.pii_counts.items():
            merged = pii.setdefault(column, {})
            for entity, n in counts.items():
                merged[entity] = merged.get(entity, 0) + n
    sampling: dict[str, int] = {}
    for r in results:
        for key, n in r.sampling.items():
            sampling[key] = sampling.get(key, 0) + n
    return {
        "synthetic_rows": rows,
        "partitions": len(results),
        "exact_copies_of_train": sum(r.copies_of_train for r in results),
        "distance_to_train": _distance_summary(distances, rows, distance_rows),
        "column_shapes": {"value": float(np.mean(present)) if present else None, "columns": scores,
                          "reference": reference,
                          "note": "numerical columns: KS read on 1000 train-quantile bins (a lower bound of "
                                  "the exact KS); categories: exact 1 - TVD"},
        "pii_spans_in_text": pii,
        "sampling": sampling,
        "worker_tasks": _task_times(results),
    }


def _task_times(results: list[PartitionResult]) -> dict[str, Any]:
    """CPU and wall seconds of the partition tasks, in all and per worker process (busiest first).

    CPU seconds per worker show how evenly the work was spread and are less sensitive than wall time
    to other jobs on shared cores; ``cpu / wall`` is the share of a core the tasks got. Workers are
    not named (host names stay out of the report).
    """
    per: dict[str, list[float]] = {}
    for r in results:
        acc = per.setdefault(r.worker, [0.0, 0.0, 0])
        acc[0] += r.cpu_seconds
        acc[1] += r.wall_seconds
        acc[2] += 1
    rows = sorted(per.values(), key=lambda a: -a[0])
    return {"cpu_seconds": round(sum(r.cpu_seconds for r in results), 3),
            "wall_seconds": round(sum(r.wall_seconds for r in results), 3),
            "per_worker": [{"tasks": int(n), "cpu_seconds": round(c, 3), "wall_seconds": round(w, 3)}
                           for c, w, n in rows],
            "note": "process CPU time of each worker during its tasks (in-process threads:N workers share one process)"}


def _distance_summary(distances: list[Any], rows: int, distance_rows: int | None) -> dict[str, Any] | None:
    """The merged distance histogram, with how many synthetic rows it covers and how they were chosen."""
    if not distances:
        return None
    merged = reduce(lambda a, b: a + b, distances).to_dict()
    sampled = distance_rows is not None and rows > distance_rows
    merged.update(of_synthetic_rows=rows, method=(
        f"seeded uniform sample of about {distance_rows} synthetic rows spread over the partitions "
        "(stream 'distance-sample' of each partition's seed), each compared with every training row"
        if sampled else "every synthetic row compared with every training row"))
    return merged


def run_distributed_release(
    data: str | Path, *, output: str | Path, cluster: str | None = "local", client: Any = None,
    partition_rows: int = DEFAULT_PARTITION_ROWS, fit_sample_rows: int = DEFAULT_FIT_SAMPLE_ROWS,
    gate_rows: int | None = None, schema: Schema | str | Path | None = None, engine: str | None = None,
    engine_params: dict[str, Any] | None = None, rows: int | None = None, seed: int = 0,
    policy: str | Path | Policy = "default", overwrite: bool = False, retries: int = DEFAULT_RETRIES,
    full_output_distances: bool = True, distance_rows: int | None = DEFAULT_DISTANCE_ROWS,
    exact_privacy: bool = False, on_progress: Progress | None = None,
) -> ReleaseResult:
    """Release a table larger than one machine on Dask (see the module docstring for the steps).

    Args:
        data: CSV file, Parquet file, or directory of Parquet files.
        output: Bundle directory; the synthetic rows go to ``data/<table>/part-NNNNN.parquet``.
        cluster: ``local`` (workers = cores), ``local:N``, ``threads:N`` or ``tcp://HOST:PORT``.
        client: An existing ``dask.distributed.Client`` (``cluster`` is then ignored).
        partition_rows: Rows per synthetic partition (and per converted CSV chunk).
        fit_sample_rows: Rows of the seeded fit sample (train + holdout); recorded in the manifest.
        gate_rows: Synthetic rows the policy's metrics see (default: as many as train).
        schema, engine, engine_params, seed, policy, overwrite: as in :func:`synthstruct.release.pipeline.release`.
        rows: Synthetic rows (default: the input's rows x the train share of the sample).
        retries: Times Dask retries a failed partition task.
        full_output_distances: Compare synthetic rows of every partition with the training sample
            (nearest neighbours over every training row).
        distance_rows: How many synthetic rows, in all, those distances cover (a seeded sample spread
            over the partitions; ``None``: every row, costing output rows x train rows distance
            evaluations). Exact copies of training rows are counted on every row either way.
        exact_privacy: The gate's distance metrics and attacks over every row of its inputs (the policy's
            ``privacy_sampling.mode`` set to ``exact``, recorded in the policy hash); by default they follow
            the policy (``auto``: stratified samples sized by the confidence interval once the exact
            passes would compare more than ``max_exact_pairs`` pairs, stated in ``report.json →
            privacy_sampling``).
        on_progress: ``on_progress(step, done, total)`` for progress bars.

    Raises:
        InputError: bad data, schema, policy, cluster or parameters (nothing is written).
    """
    if partition_rows < 1 or fit_sample_rows < 1 or (distance_rows is not None and distance_rows < 1):
        from synthstruct.errors import InputError, Problem

        raise InputError("invalid partitioning", [Problem("partition_rows / fit_sample_rows / distance_rows",
                                                          "must be >= 1", "use e.g. --partition-rows 250000")])
    if client is None:
        with open_client(parse_cluster(cluster)) as own:
            return run_distributed_release(
                data, output=output, client=own, cluster=cluster, partition_rows=partition_rows,
                fit_sample_rows=fit_sample_rows, gate_rows=gate_rows, schema=schema, engine=engine,
                engine_params=engine_params, rows=rows, seed=seed, policy=policy, overwrite=overwrite,
                retries=retries, full_output_distances=full_output_distances, distance_rows=distance_rows,
                exact_privacy=exact_privacy, on_progress=on_progress)
    progress = on_progress or (lambda *_: None)
    data, output = Path(data), Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.input-"))
    try:
        return _release(data, output, staging, client, dict(
            partition_rows=partition_rows, fit_sample_rows=fit_sample_rows, gate_rows=gate_rows, schema=schema,
            engine=engine, engine_params=engine_params, rows=rows, seed=seed, policy=policy, overwrite=overwrite,
            retries=retries, full_output_distances=full_output_distances, distance_rows=distance_rows,
            cluster=cluster, exact_privacy=exact_privacy), progress)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fit_sample(client: Any, dataset: Path, opts: dict[str, Any], progress: Progress) -> tuple[pd.DataFrame, int]:
    pieces = list_pieces(dataset)
    positions = fit_sample_positions([p.rows for p in pieces], opts["fit_sample_rows"], seed=opts["seed"])
    items = [(p, pos) for p, pos in zip(pieces, positions) if len(pos)]
    parts = run_tasks(client, sample_rows, items, retries=opts["retries"], label="read fit sample",
                      on_progress=progress)
    return pd.concat(parts, ignore_index=True), int(sum(p.rows for p in pieces))


def _release(data: Path, output: Path, staging: Path, client: Any, opts: dict[str, Any],
             progress: Progress) -> ReleaseResult:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    cpu: dict[str, float] = {}  # the client's process CPU seconds per stage (all its threads)
    mark = time.process_time()
    seed = opts["seed"]
    progress("load input", 0, 1)
    dataset, input_sha, from_csv = _input_dataset(data, staging, opts["partition_rows"])
    sample, n_input = _fit_sample(client, dataset, opts, progress)
    if from_csv:  # text cells: typed on the sample like read_table types a CSV (leading zeros stay)
        sample = typed_sample(sample, source=data)
    schema = opts["schema"]
    if schema is not None and not isinstance(schema, Schema):
        schema = load_schema(schema)
    schema_obj, inferred = schema_for(sample, schema, name=table_name_for(data), source=str(data))
    policy = opts["policy"]
    policy_obj, policy_label = (policy, policy.name) if isinstance(policy, Policy) else (load_policy(policy)[0], str(policy))
    if opts["exact_privacy"]:  # as release(exact_privacy=True): one run's mode, recorded in the policy hash
        policy_obj = policy_obj.model_copy(
            update={"privacy_sampling": policy_obj.privacy_sampling.model_copy(update={"mode": "exact"})})
    coerced = coerce_to_schema(sample, schema_obj, source=str(data))
    stratify = schema_obj.target if schema_obj.target in schema_obj.structured_columns else None
    train, holdout = split_train_holdout(coerced, spec=policy_obj.split, seed=stream_seed(seed, "split"),
                                         stratify_on=stratify)
    timings["load"] = time.perf_counter() - t0
    cpu["load"], mark = time.process_time() - mark, time.process_time()

    engine_name = opts["engine"] or DEFAULT_ENGINE
    progress(f"fit {engine_name} on {len(train)} sampled rows", 0, 1)
    t = time.perf_counter()
    synth = TableSynthesizer(engine=engine_name, engine_params=opts["engine_params"],
                             protect_k=policy_obj.value_protection.k)
    synth.fit(train, schema=schema_obj, seed=seed, source=str(data), avoid=holdout)
    synth.sample(min(len(train), 100), seed=seed)  # build the sampling tables once, before scattering
    timings["fit"] = time.perf_counter() - t
    n_rows = opts["rows"] if opts["rows"] is not None else int(round(n_input * len(train) / len(sample)))
    parts = output_partitions(n_rows, partition_rows=opts["partition_rows"], seed=seed)

    from synthstruct.evaluation.encoding import MixedEncoder

    encoder = MixedEncoder().fit(schema_obj, train, holdout)
    bins = ColumnProfile.bins_from(schema_obj, train)
    table_dir_name = schema_obj.name
    with atomic_directory(output, overwrite=opts["overwrite"]) as tmp:
        out_dir = tmp / "data" / table_dir_name
        out_dir.mkdir(parents=True)
        ctx = PartitionContext(
            synthesizer=synth, columns=[c for c in sample.columns if c in schema_obj.columns],
            directory=str(out_dir), encoder=encoder, train_encoded=encoder.transform(train),
            train_keys=np.unique(encoder.row_keys(train)), profile_bins=bins,
            distances=opts["full_output_distances"],
            text_columns=[c for c, col in schema_obj.columns.items() if col.kind == "text"],
            distance_rows=opts["distance_rows"], total_rows=n_rows)
        cpu["fit_and_context"], mark = time.process_time() - mark, time.process_time()
        t = time.perf_counter()
        [shared] = client.scatter([ctx], broadcast=True)  # the model travels once to each worker

        gate_model = copy.deepcopy(synth)  # in-process (threads:N) workers share ``synth``: no shared state

        def run_gate() -> tuple[pd.DataFrame, GateReport, float]:
            """The policy's gate on the gate sample: on the client, while the workers sample."""
            started = time.perf_counter()
            gate_rows = _gate_sample(gate_model, parts, opts["gate_rows"] or len(train))
            report = ReleaseGate(policy_obj).evaluate(train=train, synthetic=gate_rows, schema=schema_obj,
                                                      holdout=holdout, seed=stream_seed(seed, "gate"))
            return gate_rows, report, time.perf_counter() - started

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="synthstruct-gate")
        try:
            gate_future = pool.submit(run_gate)
            results = run_tasks(client, sample_partition, parts, shared, retries=opts["retries"],
                                label="sample partitions", on_progress=progress)
            timings["sample"] = time.perf_counter() - t
            cpu["sample"], mark = time.process_time() - mark, time.process_time()
            t = time.perf_counter()
            progress("gate", 0, 1)
            gate_synth, gate, timings["gate"] = gate_future.result()  # the gate ran during "sample"
            timings["gate_after_sample"] = time.perf_counter() - t
            cpu["gate_after_sample"], mark = time.process_time() - mark, time.process_time()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)  # a failed sampling step does not wait for the gate

        schema_sha, pol_sha = schema_sha256(schema_obj), policy_sha256(policy_obj)
        attempts = record_gate_run(hashlib.sha256(f"{input_sha}:{schema_sha}:{pol_sha}".encode()).hexdigest())
        scale = _scale_summary(results, bins.count(train), bins.count(holdout), distance_rows=opts["distance_rows"]
                               if opts["full_output_distances"] else None)
        extra = _full_output_check(policy_obj, gate, scale["exact_copies_of_train"], n_rows)
        if extra is not None:
            gate.checks.append(extra)
            gate.passed = all(c.passed for c in gate.checks if c.severity == "block")

        n_workers = len(client.scheduler_info().get("workers", {}))
        cpu["merge"] = time.process_time() - mark  # summaries merged, full-output check added
        scale.update(workers=n_workers, partition_rows=opts["partition_rows"], gate_synthetic_rows=len(gate_synth),
                     fit_sample={"rows": len(sample), "of_input_rows": n_input,
                                 "method": "seeded uniform sample without replacement (stream 'fit-sample')"})
        report = build_report(
            gate, table=schema_obj.name, engine=engine_name,
            rows={"input": n_input, "fit_sample": len(sample), "train": len(train), "holdout": len(holdout),
                  "synthetic": n_rows, "gate_synthetic": len(gate_synth)},
            timings={k: round(v, 3) for k, v in timings.items()}, sampling=scale["sampling"], attempts=attempts,
            value_protection={"k": synth.protect_k, "rare_categories_merged": synth.codec_.rare_counts,
                              "clipped_columns": sorted(synth.codec_.bounds)})
        report["scale"] = scale
        report["timings"]["client_cpu"] = {k: round(v, 3) for k, v in cpu.items()}  # this process, all threads
        progress("write bundle", 0, 1)
        manifest = _write_bundle(tmp, gate, report, schema_obj, results, table_dir_name)
        manifest.update({
            "manifest_version": MANIFEST_VERSION, "released": gate.passed, "table": schema_obj.name,
            "input": {"file": data.name, "sha256": input_sha, "rows": n_input, "columns": len(sample.columns)},
            "schema": {"sha256": schema_sha, "inferred": inferred},
            "policy": {"name": policy_obj.name, "source": policy_label, "sha256": pol_sha}, "seed": seed,
            "engine": {"name": engine_name, "params": opts["engine_params"] or {}, "protect_k": synth.protect_k},
            "split": {"holdout_fraction": policy_obj.split.holdout_fraction, "train_rows": len(train),
                      "holdout_rows": len(holdout), "stratified_on": stratify},
            "gate": {"passed": gate.passed, "attempts": attempts, "failed": [c.name for c in gate.failed_checks()]},
            "scale": {"fit_sample_rows": len(sample), "input_rows": n_input, "partition_rows": opts["partition_rows"],
                      "partitions": len(parts), "partition_seeds": "stream_seed(seed, 'partition', i)",
                      "gate_synthetic_rows": len(gate_synth), "synthetic_rows": n_rows},
            "timings": report["timings"], "versions": package_versions(),
        })
        manifest = ReleaseManifest.model_validate(manifest).to_dict()  # field order: outputs last
        write_manifest(tmp, manifest)
    log.info("distributed release %s: %s", "passed" if gate.passed else "blocked", output)
    return ReleaseResult(passed=gate.passed, output=output, gate=gate, report=report, manifest=manifest)


def _gate_sample(synth: TableSynthesizer, parts: list[Any], rows: int) -> pd.DataFrame:
    """The first ``rows`` synthetic rows, redrawn from the first partitions' seeds (same rows as written)."""
    frames, have = [], 0
    for part in parts:
        if have >= rows:
            break
        frames.append(draw_partition(synth, part))
        have += part.rows
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame.iloc[:rows].reset_index(drop=True) if len(frame) > rows else frame


def _write_bundle(tmp: Path, gate: GateReport, report: dict[str, Any], schema: Schema,
                  results: list[PartitionResult], table_dir: str) -> dict[str, Any]:
    """Write schema and reports; drop the data when blocked; list every output with its hash."""
    outputs: list[dict[str, Any]] = []
    if gate.passed:
        outputs += [{"path": f"data/{table_dir}/{r.file}", "sha256": r.sha256, "bytes": r.bytes, "rows": r.rows,
                     "reproducible": True} for r in results]
    else:
        shutil.rmtree(tmp / "data")
    (tmp / "schema.yaml").write_text(dump_schema(schema), encoding="utf-8")
    atomic_write_bytes(tmp / "report.json", report_json_bytes(report))
    (tmp / "report.html").write_text(render_html(report), encoding="utf-8")
    for name in ("schema.yaml", "report.json", "report.html"):
        path = tmp / name
        outputs.append({"path": name, "sha256": file_sha256(path), "bytes": path.stat().st_size,
                        "reproducible": name == "schema.yaml"})
    return {"outputs": sorted(outputs, key=lambda o: o["path"])}
