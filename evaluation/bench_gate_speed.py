"""Time every metric of a policy's gate on Adult (default engine output), in process.

Loads ``adult.csv`` with the reviewed schema, splits 80 / 20 as ``release`` does, fits the default
engine on train, samples as many rows as train, then runs :class:`~synthstruct.release.gate.ReleaseGate`
and prints the per-metric wall timings, the gate's wall and CPU seconds and the load average before
and after (the machine is shared: compare CPU seconds when the load differs).

Usage::

    .venv/bin/python evaluation/bench_gate_speed.py [--policy default] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time

from _common import DEFAULT_DATA_DIR, adult_schema, load_adult_coerced, split_adult


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="default")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR))
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    from pathlib import Path

    from synthstruct.release.gate import ReleaseGate
    from synthstruct.release.policy import load_policy
    from synthstruct.synthesizers.table import TableSynthesizer

    schema = adult_schema()
    frame = load_adult_coerced(Path(args.data_dir) / "adult.csv", schema)
    train, holdout = split_adult(frame, schema)
    synthetic = TableSynthesizer().fit(train, schema=schema, seed=0).sample(len(train), seed=0)
    policy = load_policy(args.policy)[0]
    load_before = os.getloadavg()
    start, cpu = time.perf_counter(), time.process_time()
    report = ReleaseGate(policy).evaluate(train=train, synthetic=synthetic, schema=schema, holdout=holdout, seed=0)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    load_after = os.getloadavg()
    out = {"policy": args.policy, "gate_seconds": round(total, 2), "gate_cpu_seconds": round(cpu, 2),
           "passed": report.passed,
           "timings": report.timings, "load_before": load_before, "load_after": load_after,
           "failed": [c.name for c in report.failed_checks()], "warnings": [c.name for c in report.warnings()]}
    for name, seconds in sorted(report.timings.items(), key=lambda kv: -kv[1]):
        print(f"{name:24s} {seconds:7.2f} s")
    print(f"gate total {total:.2f} s wall, {cpu:.2f} s CPU (all threads); load before {load_before}, after {load_after}; passed={report.passed}")
    print("failed:", out["failed"], "warnings:", out["warnings"])
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
