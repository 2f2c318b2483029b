"""Class-balancing benchmark (issue 7): conditional generation speed and proof of lift.

Sections:

1. **timing** -- the balance path's generator (``ClassSampler``, default engine ``fast_copula``,
   conditional strategy) fitted on the stroke training split, then 10,000 rows of the 4.9 % stroke class
   generated (best and median of ``--repeats``; target <= 30 s on 2 cores). The per-class strategy is
   timed too.
2. **lift** -- ``synthstruct.balance.balance`` on ``stroke.csv`` (target ``stroke``) and ``adult.csv``
   (target ``income``, reviewed schema ``evaluation/schemas/adult.yaml``), ratio 1:1, ``--seeds`` seeds:
   minority F1, PR-AUC and balanced accuracy of the same fixed classifier trained with no augmentation,
   class weights, SMOTE/SMOTENC and ours, tested on the real test split. ``--quick`` subsamples Adult.

The machine is shared: the load averages before and after are printed with the figures.

Usage::

    .venv/bin/python evaluation/bench_balance.py                  # full run (a few minutes)
    .venv/bin/python evaluation/bench_balance.py --quick          # Adult subsample of 8,000 rows
    .venv/bin/python evaluation/bench_balance.py --json balance.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT.parent / "shared" / "datasets"
ADULT_SCHEMA = Path(__file__).resolve().parent / "schemas" / "adult.yaml"
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

log = logging.getLogger("bench_balance")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def time_generation(rows: int, repeats: int, seed: int) -> dict[str, Any]:
    """Fit the balance generator on the stroke training split and time ``rows`` rows of class 1."""
    from synthstruct.balance.generate import ClassSampler, stratified_split
    from synthstruct.balance.plan import target_schema
    from synthstruct.dataio import read_table
    from synthstruct.release.pipeline import schema_for
    from synthstruct.schema.check import coerce_to_schema

    raw = read_table(DATA_DIR / "stroke.csv")
    schema, _ = schema_for(raw, None, name="stroke", source="stroke.csv")
    schema = target_schema(raw, schema, "stroke")
    coerced = coerce_to_schema(raw, schema)
    train_pos, test_pos = stratified_split(coerced["stroke"], test_fraction=0.2, seed=seed)
    train, test = coerced.iloc[train_pos].reset_index(drop=True), coerced.iloc[test_pos].reset_index(drop=True)
    minority = int((train["stroke"] == 1).sum())
    out: dict[str, Any] = {"train_rows": len(train), "minority_train_rows": minority,
                           "minority_share": round(minority / len(train), 4), "rows": rows}
    for strategy in ("conditional", "per_class"):
        t = time.perf_counter()
        sampler = ClassSampler(schema, strategy=strategy).fit(train, [1], seed=seed, avoid=test)
        fit = time.perf_counter() - t
        times = []
        for r in range(repeats):
            t = time.perf_counter()
            frame = sampler.sample({1: rows}, seed=seed + r)
            times.append(time.perf_counter() - t)
            assert len(frame) == rows and set(frame["stroke"]) == {1}
        out[strategy] = {"fit_s": round(fit, 3), "sample_best_s": round(min(times), 3),
                         "sample_median_s": round(statistics.median(times), 3),
                         "rows_per_s": round(rows / min(times))}
    return out


def lift(path: Path, target: str, *, schema: Path | None, seeds: int, seed: int, max_rows: int | None
         ) -> dict[str, Any]:
    from synthstruct.balance import balance
    from synthstruct.dataio import read_table

    data: Any = path
    if max_rows is not None:
        frame = read_table(path)
        data = frame.sample(n=min(max_rows, len(frame)), random_state=seed).reset_index(drop=True)
    t = time.perf_counter()
    result = balance(data, target=target, schema=schema, seed=seed, lift_seeds=seeds)
    lift_table = result.lift or {}
    return {"dataset": path.name, "rows": result.report["rows"], "classes": result.report["classes"],
            "seconds": round(time.perf_counter() - t, 1), "timings": result.report["timings"],
            "privacy_passed": result.passed,
            "privacy_warnings": [w for e in result.report["privacy"]["classes"] for w in e["gate"]["warnings"]],
            "minority_class": lift_table.get("minority_class"), "smote_variant": lift_table.get("smote_variant"),
            "methods": lift_table.get("methods"), "verdicts": lift_table.get("verdicts"),
            "fit_seconds_per_method": lift_table.get("seconds")}


def _print_lift(entry: dict[str, Any]) -> None:
    print(f"\n== lift: {entry['dataset']} (minority class {entry['minority_class']}, rows {entry['rows']}, "
          f"{entry['seconds']} s, per-class privacy passed: {entry['privacy_passed']}, "
          f"warnings: {entry['privacy_warnings']})")
    print(f"{'method':<14}{'minority F1':>22}{'PR-AUC':>22}{'balanced acc.':>22}")
    for method, scores in (entry["methods"] or {}).items():
        cells = "".join(f"{scores[s]['mean']:>14.3f} ± {scores[s]['std']:.3f}"
                        for s in ("minority_f1", "pr_auc", "balanced_accuracy"))
        print(f"{method:<14}{cells}")
    for line in entry["verdicts"] or []:
        print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="Adult subsample of 8,000 rows.")
    parser.add_argument("--rows", type=int, default=10_000, help="Minority rows to generate in the timing.")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=5, help="Seeds of the lift table.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="Write the results here.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    results: dict[str, Any] = {"load_before": _load(), "cpus": os.cpu_count()}
    timing = time_generation(args.rows, args.repeats, args.seed)
    results["timing"] = timing
    print(f"== timing: {args.rows} rows of the stroke class ({timing['minority_train_rows']} real training rows, "
          f"{100 * timing['minority_share']:.1f} %)")
    for strategy in ("conditional", "per_class"):
        t = timing[strategy]
        print(f"  {strategy:<12} fit {t['fit_s']} s, sample best {t['sample_best_s']} s "
              f"(median {t['sample_median_s']} s, {t['rows_per_s']:,} rows/s)")
    results["lift"] = [
        lift(DATA_DIR / "stroke.csv", "stroke", schema=None, seeds=args.seeds, seed=args.seed, max_rows=None),
        lift(DATA_DIR / "adult.csv", "income", schema=ADULT_SCHEMA if ADULT_SCHEMA.is_file() else None,
             seeds=args.seeds, seed=args.seed, max_rows=8_000 if args.quick else None),
    ]
    for entry in results["lift"]:
        _print_lift(entry)
    results["load_after"] = _load()
    print(f"\nload average before: {results['load_before']}, after: {results['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
