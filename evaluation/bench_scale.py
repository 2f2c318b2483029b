"""Scale-out benchmark: the distributed release on a local Dask cluster (issue 8).

Measures, on this machine (record the load: it is shared):

* ``release``: a 1M-row, 15-column table (Adult resampled with noise, written as Parquet partitions)
  released end to end on ``local:2`` (worker processes), with the peak RSS of each worker;
* ``sample10m``: 10M synthetic rows written to Parquet partitions with bounded memory (peak RSS per worker);
* ``scaling``: sampling throughput with 1 and 2 workers;
* per-partition costs (sampling rows/s, nearest-neighbour pairs/s) for the estimate in docs/scale.md.

Usage::

    .venv/bin/python evaluation/bench_scale.py --rows 1000000 --sample-rows 10000000 --json scale.json
    .venv/bin/python evaluation/bench_scale.py --quick      # 100k rows, 1M sampled (a smoke run)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ADULT = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "adult.csv"
NUMERIC_NOISE = {"age": 2.0, "education-num": 0.0, "hours-per-week": 3.0}


def make_noisy_adult(directory: Path, rows: int, *, partition_rows: int = 250_000, seed: int = 0) -> Path:
    """Adult resampled with replacement, numbers jittered, written as Parquet partitions (chunk by chunk)."""
    adult = pd.read_csv(ADULT, skipinitialspace=True, na_values=["?"])
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample-rows", type=int, default=10_000_000)
    parser.add_argument("--scaling-rows", type=int, default=2_000_000)
    parser.add_argument("--fit-sample-rows", type=int, default=20_000)
    parser.add_argument("--partition-rows", type=int, default=250_000)
    parser.add_argument("--skip", nargs="*", default=[], choices=["release", "sample10m", "scaling"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.rows, args.sample_rows, args.scaling_rows = 100_000, 1_000_000, 500_000
    logging.basicConfig(level=logging.WARNING)
    results: dict[str, Any] = {"load_before": os.getloadavg(), "cores": os.cpu_count(), "args": vars(args) | {"json": str(args.json)}}
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        t = time.perf_counter()
        data = make_noisy_adult(work / "input", args.rows, partition_rows=args.partition_rows)
        results["make_input_seconds"] = round(time.perf_counter() - t, 1)
        common = {"fit_sample_rows": args.fit_sample_rows, "partition_rows": args.partition_rows, "seed": 0}
        if "release" not in args.skip:
            results["release"] = _run(data, work / "release", 2, rows=args.rows, **common)
            print(json.dumps({"release": results["release"]}, indent=1), flush=True)
        if "sample10m" not in args.skip:
            results["sample10m"] = _run(data, work / "sample10m", 2, rows=args.sample_rows,
                                        full_output_distances=False, **common)
            print(json.dumps({"sample10m": results["sample10m"]}, indent=1), flush=True)
        if "scaling" not in args.skip:
            results["scaling"] = [_run(data, work / f"scaling{w}", w, rows=args.scaling_rows,
                                       full_output_distances=False, **common) for w in (1, 2)]
            for r in results["scaling"]:
                r["sample_rows_per_s"] = round(r["synthetic_rows"] / r["timings"]["sample"])
            print(json.dumps({"scaling": results["scaling"]}, indent=1), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["load_after"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
