"""Scale-out benchmark: the distributed release on a local Dask cluster (issues 8 and 16).

In-process runs (the driver is this process; peak RSS read inside each worker):

* ``release``: a 1M-row, 15-column table (Adult resampled with noise, written as Parquet partitions)
  released end to end on ``local:2`` (worker processes), with the peak RSS of each worker;
* ``sample10m``: 10M synthetic rows written to Parquet partitions with bounded memory (peak RSS per worker);
* ``scaling``: sampling throughput with 1 and 2 workers;

Whole-process CLI runs, as a user runs them (``python -m synthstruct ...`` in a child process; its
process tree is polled every 0.2 s with psutil for each Dask worker's peak RSS and CPU seconds):

* ``cli-scaling``: ``release-dask DATA --cluster local:W --rows R --no-full-distances`` for W = 1 and
  2, alternating, ``--runs`` times each; the *sampling + write path* is the report's ``timings.sample``
  (every partition drawn, written as Parquet, hashed and summarised by the workers). Reports the
  median ratio of the 1-worker to the 2-worker time, and CPU seconds per worker (less sensitive to
  the other jobs on a shared machine than wall time).
* ``cli-release``: ``release DATA --cluster local:2`` on a ``--big-rows``-row Parquet input (default
  10M), defaults otherwise: wall time, peak RSS and CPU seconds per worker, the report's stage times.

The machine load (``os.getloadavg()``) is recorded before and after every run.

Usage::

    .venv/bin/python evaluation/bench_scale.py --rows 1000000 --sample-rows 10000000 --json scale.json
    .venv/bin/python evaluation/bench_scale.py --quick      # 100k rows, 1M sampled (a smoke run)
    .venv/bin/python evaluation/bench_scale.py --only cli-scaling --scaling-rows 4000000 --runs 3 --json s.json
    .venv/bin/python evaluation/bench_scale.py --only cli-release --big-rows 10000000 --json big.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
ADULT = REPO.parent / "shared" / "datasets" / "adult.csv"
NUMERIC_NOISE = {"age": 2.0, "education-num": 0.0, "hours-per-week": 3.0}


def make_noisy_adult(directory: Path, rows: int, *, partition_rows: int = 250_000, seed: int = 0,
                     adult: Path = ADULT) -> Path:
    """Adult resampled with replacement, numbers jittered, written as Parquet partitions (chunk by chunk)."""
    adult = pd.read_csv(adult, skipinitialspace=True, na_values=["?"])
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for i, start in enumerate(range(0, rows, partition_rows)):
        n = min(partition_rows, rows - start)
        chunk = adult.iloc[rng.integers(0, len(adult), n)].reset_index(drop=True)
        for column, scale in NUMERIC_NOISE.items():
            if scale:
                chunk[column] = np.clip(np.round(chunk[column] + rng.normal(0, scale, n)), 1, None).astype("int64")
        chunk["fnlwgt"] = np.round(chunk["fnlwgt"] * rng.lognormal(0, 0.05, n)).astype("int64")
        gain = chunk["capital-gain"] > 0
        chunk.loc[gain, "capital-gain"] = np.round(chunk.loc[gain, "capital-gain"] * rng.lognormal(0, 0.05, int(gain.sum()))).astype("int64")
        chunk.to_parquet(directory / f"part-{i:05d}.parquet", index=False)
    return directory


def _worker_peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _run(data: Path, output: Path, workers: int, **options: Any) -> dict[str, Any]:
    from synthstruct.scale.cluster import open_client, parse_cluster
    from synthstruct.scale.release import run_distributed_release

    with open_client(parse_cluster(f"local:{workers}")) as client:
        start = time.perf_counter()
        result = run_distributed_release(data, output=output, client=client, overwrite=True, **options)
        seconds = time.perf_counter() - start
        peaks = client.run(_worker_peak_rss_mb)
    scale = result.report["scale"]
    return {"workers": workers, "seconds": round(seconds, 1), "passed": result.passed,
            "timings": result.report["timings"], "synthetic_rows": scale["synthetic_rows"],
            "partitions": scale["partitions"], "fit_sample_rows": scale["fit_sample"]["rows"],
            "peak_rss_mb_per_worker": sorted(round(v) for v in peaks.values()),
            "exact_copies_of_train": scale["exact_copies_of_train"], "distance_to_train": scale["distance_to_train"],
            "failed_checks": result.manifest["gate"]["failed"], "load_after": os.getloadavg()}


# ------------------------------------------------------------------------------ whole-process CLI runs
def _is_worker(cmdline: list[str]) -> bool:
    """A Dask worker process of a LocalCluster (multiprocessing spawn), not the resource tracker."""
    text = " ".join(cmdline)
    return "spawn_main" in text and "resource_tracker" not in text


def run_cli(args: list[str], *, poll: float = 0.2) -> dict[str, Any]:
    """Run ``python -m synthstruct ARGS`` as a user does; poll its process tree for RSS and CPU."""
    import psutil

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    load_before = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "synthstruct", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    main = psutil.Process(proc.pid)
    seen: dict[int, dict[str, Any]] = {}
    loads: list[float] = []

    def sample(p: psutil.Process) -> None:
        try:
            with p.oneshot():
                info = seen.setdefault(p.pid, {"cmdline": p.cmdline(), "peak_rss": 0, "cpu": 0.0})
                info["peak_rss"] = max(info["peak_rss"], p.memory_info().rss)
                times = p.cpu_times()
                info["cpu"] = max(info["cpu"], times.user + times.system)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass

    while proc.poll() is None:
        loads.append(os.getloadavg()[0])
        sample(main)
        try:
            for child in main.children(recursive=True):
                sample(child)
        except psutil.NoSuchProcess:
            pass
        time.sleep(poll)
    seconds = time.perf_counter() - start
    stderr = proc.stderr.read() if proc.stderr else ""
    workers = [v for pid, v in seen.items() if pid != proc.pid and _is_worker(v["cmdline"])]
    driver = seen.get(proc.pid, {"peak_rss": 0, "cpu": 0.0})
    return {"command": "python -m synthstruct " + " ".join(args), "exit_code": proc.returncode,
            "seconds": round(seconds, 2), "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "load_1min_during": {"mean": round(statistics.fmean(loads), 2), "max": round(max(loads), 2)} if loads else None,
            "driver": {"peak_rss_mb": round(driver["peak_rss"] / 2**20), "cpu_seconds": round(driver["cpu"], 1)},
            "workers": [{"peak_rss_mb": round(w["peak_rss"] / 2**20), "cpu_seconds": round(w["cpu"], 1)}
                        for w in sorted(workers, key=lambda w: -w["cpu"])],
            "stderr_tail": stderr[-2000:] if proc.returncode else ""}


def _report(out: Path) -> dict[str, Any]:
    report = json.loads((out / "report.json").read_text())
    scale = report.get("scale", {})
    return {"timings": report.get("timings"), "synthetic_rows": scale.get("synthetic_rows"),
            "partitions": scale.get("partitions"), "dask_workers": scale.get("workers"),
            "fit_sample_rows": (scale.get("fit_sample") or {}).get("rows"),
            "distance_to_train": scale.get("distance_to_train"), "gate_synthetic_rows": scale.get("gate_synthetic_rows"),
            "worker_tasks": scale.get("worker_tasks"), "privacy_sampling": report.get("privacy_sampling"),
            "passed": report.get("passed", report.get("gate", {}).get("passed"))}


def cli_scaling(data: Path, work: Path, *, rows: int, runs: int, fit_sample_rows: int,
                partition_rows: int) -> dict[str, Any]:
    """1 vs 2 workers on the sampling + write path, alternating (1, 2, 1, 2, ...)."""
    runs_by: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for i in range(runs):
        for workers in ((1, 2) if i % 2 == 0 else (2, 1)):
            out = work / f"cli-scaling-{workers}"
            run = run_cli(["release-dask", str(data), "-o", str(out), "--cluster", f"local:{workers}",
                           "--rows", str(rows), "--no-full-distances", "--fit-sample-rows", str(fit_sample_rows),
                           "--partition-rows", str(partition_rows), "--overwrite", "--seed", "0"])
            if run["exit_code"] == 0:
                run.update(_report(out))
                run["sample_seconds"] = run["timings"]["sample"]
                run["worker_cpu_seconds_total"] = round(sum(w["cpu_seconds"] for w in run["workers"]), 1)
                tasks = run["worker_tasks"]
                run["task_cpu_busiest_worker"] = tasks["per_worker"][0]["cpu_seconds"]
                run["task_cpu_total"] = tasks["cpu_seconds"]
            runs_by[workers].append(run)
            print(json.dumps({"cli-scaling": {k: run.get(k) for k in (
                "command", "exit_code", "seconds", "sample_seconds", "workers", "driver", "worker_tasks", "load_before",
                "load_after", "stderr_tail")}}), flush=True)
            shutil.rmtree(out, ignore_errors=True)
    ok = {w: [r for r in rs if r["exit_code"] == 0] for w, rs in runs_by.items()}
    med = {w: statistics.median(r["sample_seconds"] for r in rs) for w, rs in ok.items() if rs}
    wall = {w: statistics.median(r["seconds"] for r in rs) for w, rs in ok.items() if rs}
    cpu = {w: statistics.median(r["worker_cpu_seconds_total"] for r in rs) for w, rs in ok.items() if rs}
    task_total = {w: statistics.median(r["task_cpu_total"] for r in rs) for w, rs in ok.items() if rs}
    busiest = {w: statistics.median(r["task_cpu_busiest_worker"] for r in rs) for w, rs in ok.items() if rs}
    summary = {"rows": rows, "runs": runs, "median_sample_seconds": med, "median_wall_seconds": wall,
               "median_worker_cpu_seconds_total": cpu,
               "median_task_cpu_seconds_total": task_total,
               "median_task_cpu_seconds_busiest_worker": busiest,
               # the sampling path's speed-up if each worker had a core to itself: all task CPU of one
               # worker / task CPU of the busiest of two workers (insensitive to other jobs' load)
               "cpu_bound_ratio_1_over_2": round(busiest[1] / busiest[2], 2) if len(busiest) == 2 else None,
               "sample_ratio_1_over_2": round(med[1] / med[2], 2) if len(med) == 2 else None,
               "paired_sample_ratios": [round(a["sample_seconds"] / b["sample_seconds"], 2)
                                        for a, b in zip(ok[1], ok[2])],
               "wall_ratio_1_over_2": round(wall[1] / wall[2], 2) if len(wall) == 2 else None}
    return {"summary": summary, "runs": runs_by}


def cli_release(data: Path, work: Path, *, cluster: str, extra: list[str]) -> dict[str, Any]:
    """``release DATA --cluster local:2`` as a user runs it on the big input."""
    out = work / "cli-release"
    run = run_cli(["release", str(data), "-o", str(out), "--cluster", cluster, "--overwrite", "--seed", "0", *extra])
    if (out / "report.json").is_file():
        run.update(_report(out))
    shutil.rmtree(out, ignore_errors=True)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample-rows", type=int, default=10_000_000)
    parser.add_argument("--scaling-rows", type=int, default=2_000_000)
    parser.add_argument("--fit-sample-rows", type=int, default=20_000)
    parser.add_argument("--partition-rows", type=int, default=250_000)
    parser.add_argument("--skip", nargs="*", default=[], choices=["release", "sample10m", "scaling"])
    parser.add_argument("--only", nargs="*", default=None,
                        choices=["release", "sample10m", "scaling", "cli-scaling", "cli-release"],
                        help="run only these parts (the CLI parts run only when named here)")
    parser.add_argument("--runs", type=int, default=3, help="cli-scaling: runs per worker count (alternating)")
    parser.add_argument("--big-rows", type=int, default=10_000_000, help="cli-release: input rows")
    parser.add_argument("--cluster", default="local:2", help="cli-release: --cluster value")
    parser.add_argument("--cli-args", default="", help="cli-release: extra CLI arguments (one string)")
    parser.add_argument("--adult", type=Path, default=ADULT, help=f"adult.csv (default {ADULT})")
    parser.add_argument("--work", type=Path, default=None, help="folder for inputs and outputs (default: a temp dir)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.rows, args.sample_rows, args.scaling_rows = 100_000, 1_000_000, 500_000
    logging.basicConfig(level=logging.WARNING)
    results: dict[str, Any] = {"load_before": os.getloadavg(), "cores": os.cpu_count(), "args": vars(args) | {"json": str(args.json)}}
    parts = set(args.only) if args.only is not None else {"release", "sample10m", "scaling"} - set(args.skip)
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-scale-", dir=args.work))
    try:
        common = {"fit_sample_rows": args.fit_sample_rows, "partition_rows": args.partition_rows, "seed": 0}
        if parts & {"release", "sample10m", "scaling", "cli-scaling"}:
            t = time.perf_counter()
            data = make_noisy_adult(work / "input", args.rows, partition_rows=args.partition_rows, adult=args.adult)
            results["make_input_seconds"] = round(time.perf_counter() - t, 1)
        if "release" in parts:
            results["release"] = _run(data, work / "release", 2, rows=args.rows, **common)
            print(json.dumps({"release": results["release"]}, indent=1), flush=True)
        if "sample10m" in parts:
            results["sample10m"] = _run(data, work / "sample10m", 2, rows=args.sample_rows,
                                        full_output_distances=False, **common)
            print(json.dumps({"sample10m": results["sample10m"]}, indent=1), flush=True)
        if "scaling" in parts:
            results["scaling"] = [_run(data, work / f"scaling{w}", w, rows=args.scaling_rows,
                                       full_output_distances=False, **common) for w in (1, 2)]
            for r in results["scaling"]:
                r["sample_rows_per_s"] = round(r["synthetic_rows"] / r["timings"]["sample"])
            print(json.dumps({"scaling": results["scaling"]}, indent=1), flush=True)
        if "cli-scaling" in parts:
            results["cli_scaling"] = cli_scaling(data, work, rows=args.scaling_rows, runs=args.runs,
                                                 fit_sample_rows=args.fit_sample_rows,
                                                 partition_rows=args.partition_rows)
            print(json.dumps({"cli-scaling": results["cli_scaling"]["summary"]}, indent=1), flush=True)
        if "cli-release" in parts:
            t = time.perf_counter()
            big = make_noisy_adult(work / "big", args.big_rows, partition_rows=args.partition_rows, adult=args.adult)
            results["make_big_input_seconds"] = round(time.perf_counter() - t, 1)
            results["cli_release"] = cli_release(big, work, cluster=args.cluster, extra=args.cli_args.split())
            print(json.dumps({"cli-release": results["cli_release"]}, indent=1), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["load_after"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
