"""Whole-process benchmark: what a user waits for, next to the peer doing less work (issue 16).

Every figure is a fresh process (cold imports, nothing cached in memory), started the way a user starts
it, with runs of the two sides alternating so that load on the shared machine hits both alike. Reported:
median wall seconds, CPU seconds (user + system) and peak RSS of the process (``wait4`` rusage), and the
ratios peer / ours.

* **ours**: ``python -m synthstruct release FILE -o OUT --seed 0`` — schema *inferred*, every gate check of
  the ``default`` policy, report.json + report.html + manifest + data written.
* **peer**: ``evaluation/_peer_sdv.py FILE`` — SDV 2.0 ``Metadata.detect_from_dataframe``,
  ``GaussianCopulaSynthesizer`` fit, sample as many rows as the file has, SDMetrics ``QualityReport``
  (no privacy check at all, nothing written but a CSV).
* **help**: ``python -m synthstruct --help`` (target <= 0.5 s).

Usage::

    .venv/bin/python evaluation/bench_cli.py                       # adult.csv, 3 runs each
    .venv/bin/python evaluation/bench_cli.py --file ../shared/datasets/stroke.csv --runs 5
    .venv/bin/python evaluation/bench_cli.py --json cli.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import DEFAULT_DATA_DIR, REPO_ROOT, LoadAverage, format_table

PEER_SCRIPT = Path(__file__).resolve().parent / "_peer_sdv.py"


def run_process(cmd: list[str], *, env: dict[str, str]) -> dict[str, Any]:
    """Run one command to completion; wall seconds, peak RSS (MB) and exit code of that process alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=REPO_ROOT)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            "exit": proc.returncode,
            "stderr_tail": err.decode(errors="replace")[-400:]}


def commands(data: Path, out: Path) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "ours": [python, "-m", "synthstruct", "release", str(data), "-o", str(out), "--seed", "0", "--overwrite"],
        "peer": [python, str(PEER_SCRIPT), str(data), str(out.parent / "peer.csv")],
        "help": [python, "-m", "synthstruct", "--help"],
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [r["wall_s"] for r in runs]
    return {"median_s": statistics.median(walls), "min_s": min(walls), "max_s": max(walls),
            "cpu_median_s": statistics.median(r["cpu_s"] for r in runs),
            "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
            "exits": sorted({r["exit"] for r in runs}), "runs": len(runs)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, default=DEFAULT_DATA_DIR / "adult.csv")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        parser.error(f"no such file: {args.file} (pass --file)")

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(REPO_ROOT)}
    load = LoadAverage()
    work = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    results: dict[str, list[dict[str, Any]]] = {"ours": [], "peer": [], "help": []}
    try:
        cmds = commands(args.file, work / "bundle")
        sides = ["ours", "help"] if args.skip_peer else ["ours", "peer", "help"]
        for i in range(args.runs):
            order = sides if i % 2 == 0 else list(reversed(sides))  # alternate which side goes first
            for side in order:
                run = run_process(cmds[side], env=env)
                results[side].append(run)
                print(f"run {i + 1} {side}: {run['wall_s']:.2f} s, CPU {run['cpu_s']:.2f} s, "
                      f"{run['peak_rss_mb']:.0f} MB, exit {run['exit']}", flush=True)
                if run["exit"] not in (0, 1):
                    print(run["stderr_tail"], file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load.stop()

    summary = {side: summarise(runs) for side, runs in results.items() if runs}
    rows = [{"command": side, "median s": f"{s['median_s']:.2f}", "range s": f"{s['min_s']:.2f}-{s['max_s']:.2f}",
             "CPU s (median)": f"{s['cpu_median_s']:.2f}", "peak RSS MB": f"{s['peak_rss_mb']:.0f}",
             "exit": ",".join(map(str, s["exits"]))}
            for side, s in summary.items()]
    print(format_table(rows, markdown=args.markdown))
    if "peer" in summary:
        ratio = summary["peer"]["median_s"] / summary["ours"]["median_s"]
        summary["ratio_peer_over_ours"] = ratio
        print(f"gated release vs SDV fit+sample+QualityReport: {ratio:.2f}x (> 1 means ours is faster)")
        cpu_ratio = summary["peer"]["cpu_median_s"] / summary["ours"]["cpu_median_s"]
        summary["cpu_ratio_peer_over_ours"] = cpu_ratio
        print(f"CPU seconds, peer / ours: {cpu_ratio:.2f}x (steadier than wall time on a busy machine)")
    print(load.describe())
    summary["load"] = load.to_dict()
    summary["file"] = args.file.name
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
