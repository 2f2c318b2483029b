"""Does clean default-engine output pass the strict (and default) policy? One ``release`` per table.

For each table: ``synthstruct.release.pipeline.release(csv, policy=..., engine=default)`` with the
bundled schema (``synthstruct/datasets/*.yaml``) or, for the shared datasets, the inferred schema (the
Adult run uses the reviewed ``evaluation/schemas/adult.yaml``). Prints one row per table and policy:
verdict, failed checks, checks not computed, gate seconds.

Usage::

    .venv/bin/python evaluation/bench_strict.py [--policy strict] [--data-dir ../shared/datasets] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

from _common import ADULT_SCHEMA_PATH, DEFAULT_DATA_DIR, REPO_ROOT

BUNDLED = REPO_ROOT / "synthstruct" / "datasets"
SHARED = ("adult", "stroke", "heart_disease_uci", "pima_diabetes", "german_credit")
BUNDLED_TABLES = ("german_credit", "heart_disease")


def run(csv: Path, schema: Path | None, policy: str) -> dict:
    from synthstruct.release.pipeline import release

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = release(csv, output=Path(tmp) / "out", schema=schema, policy=policy, seed=0)
        seconds = time.perf_counter() - start
        report = json.loads((Path(tmp) / "out" / "report.json").read_text())
    gate = report["gate"]
    return {"passed": bool(result.passed), "failed": gate["failed"], "warnings": gate["warnings"],
            "not_computed": gate.get("not_computed", []), "seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", action="append", default=None)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--tables", default=None, help="comma-separated subset (bundled:NAME or NAME)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    policies = args.policy or ["strict"]
    jobs = [(f"bundled:{t}", BUNDLED / f"{t}.csv", BUNDLED / f"{t}.yaml") for t in BUNDLED_TABLES]
    jobs += [(t, args.data_dir / f"{t}.csv", ADULT_SCHEMA_PATH if t == "adult" else None) for t in SHARED]
    if args.tables:
        wanted = set(args.tables.split(","))
        jobs = [j for j in jobs if j[0] in wanted]
    rows = []
    for policy in policies:
        for name, csv, schema in jobs:
            try:
                row = run(csv, schema, policy)
            except Exception as exc:  # noqa: BLE001 - a benchmark row, not a crash
                row = {"passed": None, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
            row.update(table=name, policy=policy, load=round(os.getloadavg()[0], 2))
            rows.append(row)
            print(json.dumps(row), flush=True)
    for policy in policies:
        shared = [r for r in rows if r["policy"] == policy and not r["table"].startswith("bundled:")]
        bundled = [r for r in rows if r["policy"] == policy and r["table"].startswith("bundled:")]
        print(f"{policy}: bundled {sum(bool(r['passed']) for r in bundled)}/{len(bundled)} pass, "
              f"shared {sum(bool(r['passed']) for r in shared)}/{len(shared)} pass")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
