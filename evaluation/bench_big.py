"""A large single-machine release as a user runs it (issue 16: 1M rows on one machine <= 90 s).

Writes the table if it does not exist yet (``evaluation/hospital.py``: the 50-column hospital-encounters
export with ids, names, ICD-9 codes, ZIP codes, money and percentages written as text, dates with
sentinels, constant and empty columns), then runs ``python -m synthstruct release FILE -o OUT --seed 0``
as a fresh process (schema inferred, every ``default`` check, report, Parquet + CSV written) and prints:

* the whole-process wall time, the process's CPU seconds (user + system, ``wait4``) and peak RSS;
* the stages from ``report.json`` (``load`` = read + inference + coercion, ``fit``, ``sample``, ``gate``
  and each gate metric), and the rest (start-up, writing the bundle) as the difference; the data files are
  written on a thread of their own while the gate runs, so the rest holds only the part of that writing
  still running when the gate ends (plus start-up and the report);
* how the privacy metrics sampled (``report.json`` -> ``privacy_sampling``), the engine's row sample
  (``fit_sample``, tables over 200k training rows) and the utility test rows scored;
* the machine load before and after (the machine is shared: CPU seconds are the steadier figure).

Usage::

    .venv/bin/python evaluation/bench_big.py                           # 1M rows in /tmp/synthstruct-big
    .venv/bin/python evaluation/bench_big.py --rows 100000 --json big.json
    .venv/bin/python evaluation/bench_big.py --file my.csv --exact-privacy
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, LoadAverage, format_table
from bench_cli import run_process


def ensure_table(path: Path, rows: int) -> Path:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        subprocess.run([sys.executable, str(REPO_ROOT / "evaluation" / "hospital.py"), str(path), "--rows", str(rows)],
                       check=True, cwd=REPO_ROOT)
        print(f"wrote {path} ({rows:,} rows) in {time.perf_counter() - start:.0f} s", flush=True)
    return path


def run_release(data: Path, out: Path, extra: list[str]) -> dict[str, Any]:
    """One whole-process ``synthstruct release`` (cold start), timed by :func:`bench_cli.run_process`."""
    cmd = [sys.executable, "-m", "synthstruct", "release", str(data), "-o", str(out), "--seed", "0", "--overwrite",
           *extra]
    run = run_process(cmd, env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)})
    return {"command": " ".join(cmd[1:]), **run}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, help="table to release (default: the hospital table, written once)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the generated hospital table")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "synthstruct-big")
    parser.add_argument("--exact-privacy", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    data = args.file or ensure_table(args.work / f"hospital_{args.rows}.csv", args.rows)
    out = Path(tempfile.mkdtemp(prefix="bench-big-")) / "bundle"
    load = LoadAverage()
    try:
        run = run_release(data, out, ["--exact-privacy"] if args.exact_privacy else [])
        report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    load.stop()
    print(f"{data.name}: exit {run['exit']}, wall {run['wall_s']:.1f} s, CPU {run['cpu_s']:.1f} s, "
          f"peak RSS {run['peak_rss_mb']:.0f} MB")
    if run["exit"] not in (0, 1):
        print(run["stderr_tail"], file=sys.stderr)
    timings = report.get("timings", {})
    stages = {k: v for k, v in timings.items() if k != "metrics"}
    rows = [{"stage": k, "seconds": f"{v:.2f}"} for k, v in stages.items()]
    rows.append({"stage": "start-up + write (rest)", "seconds": f"{run['wall_s'] - sum(stages.values()):.2f}"})
    rows.append({"stage": "total (wall)", "seconds": f"{run['wall_s']:.2f}"})
    print(format_table(rows, markdown=True))
    metrics = sorted(timings.get("metrics", {}).items(), key=lambda kv: -kv[1])
    print("gate metrics (s): " + ", ".join(f"{k} {v:.2f}" for k, v in metrics if v >= 0.05))
    print("rows:", report.get("rows"), "verdict:", "released" if report.get("gate", {}).get("passed") else "blocked")
    print("privacy_sampling:", json.dumps(report.get("privacy_sampling")))
    print("fit_sample:", json.dumps(report.get("fit_sample")))  # the engine's row sample on large tables
    utility = (report.get("metrics", {}).get("utility") or {}).get("details") or {}
    print("utility test rows:", utility.get("n_test"), "of", utility.get("n_test_available", utility.get("n_test")))
    print(load.describe())
    if args.json:
        args.json.write_text(json.dumps({"file": data.name, "run": run, "timings": timings, "rows": report.get("rows"),
                                         "privacy_sampling": report.get("privacy_sampling"),
                                         "fit_sample": report.get("fit_sample"),
                                         "load": load.to_dict()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
