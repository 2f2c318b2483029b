"""Sampled vs exact privacy metrics (issue 16, item 3): the error sampling makes, and the time it saves.

Runs what ``synthstruct release FILE --seed 0`` runs up to the gate (schema inferred, the policy's split,
the default engine fitted on train, as many synthetic rows as train rows), then computes the distance-based
privacy metrics and the attacks in ``exact`` mode (every row) and in ``sampled`` mode for several gate
seeds, with the ``default`` policy's ``privacy_sampling`` settings unless overridden. Prints per metric the
exact value, the sampled values (mean, min, max over seeds), the largest absolute difference, and the
seconds of each mode, plus the machine load (it is shared: timings are indicative).

Usage::

    .venv/bin/python evaluation/bench_sampling.py                                   # Adult
    .venv/bin/python evaluation/bench_sampling.py --file big.csv --modes sampled --seeds 0 1 2
    .venv/bin/python evaluation/bench_sampling.py --half-width 0.005 --reference-rows 5000 --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _common import DEFAULT_DATA_DIR, REPO_ROOT, LoadAverage, format_table

sys.path.insert(0, str(REPO_ROOT))

METRICS = ["near_copies", "dcr", "dcr_share", "nndr", "membership_inference", "membership_auc", "linkability",
           "attribute_inference"]
#: The number each check of the default policy compares, per metric (value, and the statistic checked).
STATISTICS = {"near_copies": "minus_reference_lower", "dcr": "over_reference", "membership_inference": "ci_lower",
              "membership_auc": "ci_lower", "linkability": "ci_lower", "attribute_inference": "ci_lower"}


def prepare(path: Path, seed: int) -> tuple[Any, Any, Any, Any]:
    import pandas as pd  # noqa: F401

    from synthstruct.dataio import read_table
    from synthstruct.release.pipeline import choose_schema
    from synthstruct.release.policy import load_policy
    from synthstruct.release.split import split_train_holdout
    from synthstruct.schema.check import coerce_to_schema
    from synthstruct._seeds import stream_seed
    from synthstruct.synthesizers.table import TableSynthesizer

    frame = read_table(path)
    schema = choose_schema(frame, None, name=path.stem, source=str(path)).schema
    coerced = coerce_to_schema(frame, schema)
    policy, _ = load_policy("default")
    stratify = schema.target if schema.target in schema.structured_columns else None
    train, holdout = split_train_holdout(coerced, spec=policy.split, seed=stream_seed(seed, "split"),
                                         stratify_on=stratify)
    synth = TableSynthesizer(protect_k=policy.value_protection.k).fit(train, schema=schema, seed=seed, avoid=holdout)
    synthetic = synth.sample(len(train), seed=seed)
    return train, holdout, synthetic, schema


def evaluate(train: Any, holdout: Any, synthetic: Any, schema: Any, *, sampling: dict[str, Any],
             seed: int) -> tuple[dict[str, dict[str, float | None]], float, dict[str, Any]]:
    from synthstruct.evaluation.metric import METRICS as REGISTRY
    from synthstruct.privacy.distances import neighbour_distances
    from synthstruct.evaluation.metric import EvaluationContext
    from synthstruct.release.gate import statistic_of

    ctx = EvaluationContext(train=train, synthetic=synthetic, schema=schema, holdout=holdout, seed=seed,
                            options={"privacy_sampling": sampling})
    start = time.perf_counter()
    out: dict[str, dict[str, float | None]] = {}
    for name in METRICS:
        result = REGISTRY.get(name)(ctx)
        out[name] = {"value": result.value}
        if name in STATISTICS:
            out[name][STATISTICS[name]] = statistic_of(result, STATISTICS[name])
    return out, time.perf_counter() - start, neighbour_distances(ctx).plan.to_dict()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, default=DEFAULT_DATA_DIR / "adult.csv")
    parser.add_argument("--modes", nargs="+", default=["exact", "sampled"], choices=["exact", "sampled"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="gate seeds of the sampled runs")
    parser.add_argument("--half-width", type=float)
    parser.add_argument("--reference-rows", type=int)
    parser.add_argument("--attack-synthetic-rows", type=int)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from synthstruct.release.policy import load_policy

    load = LoadAverage()
    base = load_policy("default")[0].privacy_sampling.model_dump()
    for key in ("half_width", "reference_rows", "attack_synthetic_rows"):
        if getattr(args, key) is not None:
            base[key] = getattr(args, key)
    t = time.perf_counter()
    train, holdout, synthetic, schema = prepare(args.file, 0)
    print(f"{args.file.name}: train {len(train):,}, holdout {len(holdout):,}, synthetic {len(synthetic):,} rows "
          f"(prepared in {time.perf_counter() - t:.1f} s)", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {}
    for mode in args.modes:
        for seed in args.seeds:
            values, seconds, plan = evaluate(train, holdout, synthetic, schema, sampling={**base, "mode": mode},
                                             seed=seed)
            runs.setdefault(mode, []).append({"seed": seed, "seconds": seconds, "values": values, "plan": plan})
            print(f"{mode} seed {seed}: {seconds:.1f} s (query rows {plan['query_rows']}, reference rows "
                  f"{plan['reference_rows']})", flush=True)
    load.stop()
    rows = []
    for name in METRICS:
        for stat in ["value"] + ([STATISTICS[name]] if name in STATISTICS else []):
            row: dict[str, Any] = {"metric": name, "statistic": stat}
            per_mode = {mode: [r["values"][name][stat] for r in runs.get(mode, [])] for mode in ("exact", "sampled")}
            for mode, values in per_mode.items():
                known = [v for v in values if v is not None]
                if known:
                    row[f"{mode} mean"] = f"{statistics.mean(known):.4f}"
                    row[f"{mode} min-max"] = f"{min(known):.4f}-{max(known):.4f}"
            pairs = [(e, s) for e, s in zip(per_mode["exact"], per_mode["sampled"]) if e is not None and s is not None]
            if pairs:  # same gate seed: same attack targets, so the difference is the sampling's
                row["max |diff|, same seed"] = f"{max(abs(e - s) for e, s in pairs):.4f}"
            rows.append(row)
    print(format_table(rows, markdown=True))
    for mode, mode_runs in runs.items():
        print(f"{mode}: median {statistics.median(r['seconds'] for r in mode_runs):.2f} s over {len(mode_runs)} run(s)")
    print(load.describe())
    if args.json:
        args.json.write_text(json.dumps({"file": args.file.name, "runs": runs, "load": load.to_dict()}, indent=2,
                                        default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
