"""Time every metric of a policy's gate on Adult (default engine output), in process.

Loads ``adult.csv`` with the reviewed schema, splits 80 / 20 as ``release`` does, fits the default
engine on train, samples as many rows as train, then runs :class:`~synthstruct.release.gate.ReleaseGate`
and prints the per-metric wall timings, the gate's wall and CPU seconds and the load average before
and after (the machine is shared: compare CPU seconds when the load differs).

With ``--cpu-per-metric`` it instead computes the policy's metrics one by one on one evaluation
context (as the gate does) and prints wall and CPU seconds per metric, child processes included (the
utility models run in one from 20,000 training rows; ``--skip utility`` leaves out the model-training
metric, whose time swamps the rest on a loaded machine).

Usage::

    .venv/bin/python evaluation/bench_gate_speed.py [--policy default] [--json out.json]
    .venv/bin/python evaluation/bench_gate_speed.py --cpu-per-metric --skip utility
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
    parser.add_argument("--cpu-per-metric", action="store_true")
    parser.add_argument("--skip", action="append", default=[])
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
    if args.cpu_per_metric:
        per_metric(policy, train, holdout, synthetic, schema, args)
        return
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


def per_metric(policy, train, holdout, synthetic, schema, args) -> None:
    """Wall and CPU seconds of each metric, computed in the gate's order on one shared context."""
    from synthstruct.evaluation.metric import METRICS, EvaluationContext

    k = policy.value_protection.k
    ctx = EvaluationContext(train=train, synthetic=synthetic, schema=schema, holdout=holdout, seed=0,
                            options={"rare_k": k, "extreme_k": k, "block_entities": list(policy.pii.block_entities)})
    load_before = os.getloadavg()
    rows: dict = {}

    def cpu_now() -> float:  # this process and its finished children (the utility models' child process)
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    wall, cpu = time.perf_counter(), cpu_now()
    for name in policy.metric_names():
        if name in args.skip:
            continue
        w, c = time.perf_counter(), cpu_now()
        METRICS.get(name)(ctx)
        rows[name] = {"wall": round(time.perf_counter() - w, 2), "cpu": round(cpu_now() - c, 2)}
    wall, cpu = time.perf_counter() - wall, cpu_now() - cpu
    for name, row in sorted(rows.items(), key=lambda kv: -kv[1]["cpu"]):
        print(f"{name:24s} {row['wall']:7.2f} s wall {row['cpu']:7.2f} s CPU")
    print(f"metrics total {wall:.2f} s wall, {cpu:.2f} s CPU (skipped: {args.skip}); load before {load_before}, "
          f"after {os.getloadavg()}")
    if args.json:
        from pathlib import Path

        Path(args.json).write_text(json.dumps({"policy": args.policy, "metrics": rows, "wall": wall, "cpu": cpu,
                                               "skipped": args.skip, "load_before": load_before,
                                               "load_after": os.getloadavg()}, indent=2))


if __name__ == "__main__":
    main()
