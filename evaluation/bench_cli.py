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
    # A/B of a change: a checkout of the code before it (git worktree add /tmp/base <commit>) as a fourth side,
    # alternating with ours; its bundle's report metrics and data must match ours when the change claims so
    .venv/bin/python evaluation/bench_cli.py --skip-peer --baseline /tmp/base --runs 5
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


def run_process(cmd: list[str], *, env: dict[str, str], cwd: Path = REPO_ROOT) -> dict[str, Any]:
    """Run one command to completion; wall seconds, peak RSS (MB) and exit code of that process alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
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
        "baseline": [python, "-m", "synthstruct", "release", str(data), "-o", str(out.parent / "baseline"),
                     "--seed", "0", "--overwrite"],
        "peer": [python, str(PEER_SCRIPT), str(data), str(out.parent / "peer.csv")],
        "help": [python, "-m", "synthstruct", "--help"],
    }


#: report.json keys that differ between two runs of the same release whatever the code (times, run counters).
_VOLATILE_KEYS = frozenset({"timings", "attempts"})


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _VOLATILE_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def same_bundle(ours: Path, baseline: Path) -> str:
    """Whether two bundles hold the same data bytes and report metrics (times and run counters aside)."""
    if not (ours / "report.json").is_file() or not (baseline / "report.json").is_file():
        return "not compared (a side wrote no report.json)"
    data = sorted(p.relative_to(ours) for p in (ours / "data").rglob("*") if p.is_file())
    same_data = all((baseline / p).is_file() and (ours / p).read_bytes() == (baseline / p).read_bytes() for p in data)
    reports = [_strip(json.loads((side / "report.json").read_text())) for side in (ours, baseline)]
    return (f"data files {'identical' if same_data else 'DIFFER'}, "
            f"report.json {'identical' if reports[0] == reports[1] else 'DIFFERS'} (times and run counters aside)")


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
    parser.add_argument("--baseline", type=Path, help="a checkout of another commit, run as the side 'baseline' "
                                                       "(same interpreter, its own code on PYTHONPATH)")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        parser.error(f"no such file: {args.file} (pass --file)")

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(REPO_ROOT)}
    load = LoadAverage()
    work = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    results: dict[str, list[dict[str, Any]]] = {"ours": [], "baseline": [], "peer": [], "help": []}
    if args.baseline is not None and not (args.baseline / "synthstruct" / "__init__.py").is_file():
        parser.error(f"--baseline {args.baseline}: not a checkout of this repository")
    envs = {"baseline": {**env, "PYTHONPATH": str(args.baseline.resolve())}} if args.baseline else {}
    try:
        cmds = commands(args.file, work / "bundle")
        sides = ["ours"] + (["baseline"] if args.baseline else []) + ([] if args.skip_peer else ["peer"]) + ["help"]
        for i in range(args.runs):
            order = sides if i % 2 == 0 else list(reversed(sides))  # alternate which side goes first
            for side in order:
                run = run_process(cmds[side], env=envs.get(side, env),
                                  cwd=args.baseline.resolve() if side == "baseline" else REPO_ROOT)
                results[side].append(run)
                print(f"run {i + 1} {side}: {run['wall_s']:.2f} s, CPU {run['cpu_s']:.2f} s, "
                      f"{run['peak_rss_mb']:.0f} MB, exit {run['exit']}", flush=True)
                if run["exit"] not in (0, 1):
                    print(run["stderr_tail"], file=sys.stderr)
        if args.baseline is not None:
            summary_same = same_bundle(work / "bundle", work / "baseline")
            print(f"baseline vs ours: {summary_same}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load.stop()

    summary = {side: summarise(runs) for side, runs in results.items() if runs}
    rows = [{"command": side, "median s": f"{s['median_s']:.2f}", "range s": f"{s['min_s']:.2f}-{s['max_s']:.2f}",
             "CPU s (median)": f"{s['cpu_median_s']:.2f}", "peak RSS MB": f"{s['peak_rss_mb']:.0f}",
             "exit": ",".join(map(str, s["exits"]))}
            for side, s in summary.items()]
    print(format_table(rows, markdown=args.markdown))
    if "baseline" in summary:
        summary["ratio_baseline_over_ours"] = summary["baseline"]["median_s"] / summary["ours"]["median_s"]
        summary["baseline_vs_ours"] = summary_same
        print(f"baseline / ours: {summary['ratio_baseline_over_ours']:.2f}x wall, "
              f"{summary['baseline']['cpu_median_s'] / summary['ours']['cpu_median_s']:.2f}x CPU")
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
