"""Our singling-out, linkability and inference risks next to anonymeter's, on the same data.

German credit (bundled) is split 50 / 50 into train and holdout (seeded); three "synthetic" tables are
audited: the default engine's output (clean), the training data itself (total leak) and a fresh real
sample (the holdout's other half against a quarter: no leak). Our attacks run as in the gate (all
column sets, worst case). Anonymeter 1.1.0 runs in ``/work/benchenv-anonymeter`` (its numpy < 1.27 pin
conflicts with the project's environment) through ``evaluation/_anonymeter_runner.py`` on the same
CSV files, with our worst linkability halves and our worst inference (secret, columns) as its
auxiliary columns, so that both tools attack with the same knowledge.

Usage::

    .venv/bin/python evaluation/bench_attacks.py [--anonymeter-python /work/benchenv-anonymeter/bin/python]
                                                 [--n-attacks 500] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _common import REPO_ROOT

BUNDLED = REPO_ROOT / "synthstruct" / "datasets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anonymeter-python", default="/work/benchenv-anonymeter/bin/python")
    parser.add_argument("--table", default="german_credit")
    parser.add_argument("--n-attacks", type=int, default=500)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from synthstruct.evaluation.metric import EvaluationContext
    from synthstruct.privacy import attacks
    from synthstruct.schema.check import coerce_to_schema, to_output
    from synthstruct.schema.io import load_schema
    from synthstruct.synthesizers.table import TableSynthesizer

    schema = load_schema(BUNDLED / f"{args.table}.yaml")
    raw = pd.read_csv(BUNDLED / f"{args.table}.csv")
    order = np.random.default_rng(0).permutation(len(raw))
    half = len(raw) // 2
    train, holdout = raw.iloc[order[:half]].reset_index(drop=True), raw.iloc[order[half:]].reset_index(drop=True)
    control, fresh = holdout.iloc[: half // 2].reset_index(drop=True), holdout.iloc[half // 2:].reset_index(drop=True)
    engine = TableSynthesizer().fit(coerce_to_schema(train, schema), schema=schema, seed=0).sample(len(train), seed=0)
    cases = {"clean_engine": to_output(engine, schema), "training_data": train.copy(), "fresh_real_sample": fresh}
    columns = [c for c in schema.structured_columns if c in raw.columns]
    ours: dict = {}
    linkability_sets, inference_sets = [], []
    with tempfile.TemporaryDirectory() as tmp:
        spec: dict = {"cases": {}, "n_attacks": args.n_attacks}
        for name, synthetic in cases.items():
            paths = {}
            for role, frame in (("train", train), ("synthetic", synthetic), ("holdout", control)):
                paths[role] = str(Path(tmp) / f"{name}-{role}.csv")
                frame[columns].to_csv(paths[role], index=False)
            spec["cases"][name] = paths
            ctx = EvaluationContext(train=coerce_to_schema(train, schema), synthetic=coerce_to_schema(synthetic, schema),
                                    schema=schema, holdout=coerce_to_schema(control, schema), seed=0,
                                    options={"attack_rows": args.n_attacks})
            start = time.perf_counter()
            row = {}
            for fn in (attacks.singling_out, attacks.linkability, attacks.attribute_inference):
                result = fn(ctx)
                row[result.name] = {"risk": result.value, "ci": list(result.ci) if result.ci else None,
                                    "worst_set": result.details.get("worst_set"),
                                    "worst_columns": result.details.get("worst_columns"),
                                    "by_set": {r["set"]: r["risk"] for r in result.details.get("column_sets", [])}}
                if result.name == "linkability" and name == "training_data":
                    linkability_sets = [[r["part_a"], r["part_b"]] for r in result.details["column_sets"]]
                if result.name == "attribute_inference" and name == "training_data":
                    inference_sets = [[r["secret"], r["columns"]] for r in result.details["column_sets"]]
            row["seconds"] = round(time.perf_counter() - start, 2)
            ours[name] = row
        spec["linkability"], spec["inference"] = linkability_sets, inference_sets
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        start = time.perf_counter()
        done = subprocess.run([args.anonymeter_python, str(Path(__file__).with_name("_anonymeter_runner.py")),
                               str(spec_path)], capture_output=True, text=True, check=False)
        anon_seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"anonymeter runner failed: {done.stderr[-2000:]}")
        theirs = json.loads(done.stdout.strip().splitlines()[-1])
    out = {"table": args.table, "n_attacks": args.n_attacks, "ours": ours, "anonymeter": theirs,
           "linkability_sets": linkability_sets, "inference_sets": inference_sets,
           "anonymeter_seconds": round(anon_seconds, 1), "load": os.getloadavg()}
    for name in cases:
        print(f"== {name}")
        for metric in ("singling_out", "linkability", "attribute_inference"):
            o = ours[name][metric]
            print(f"  ours {metric:20s} worst={_f(o['risk'])} ci={_ci(o['ci'])} set={o['worst_set']}  by set: "
                  + ", ".join(f"{k}={_f(v)}" for k, v in o["by_set"].items()))
        for key, value in theirs[name].items():
            print(f"  anonymeter {key:24s} " + (f"risk={_f(value['risk'])} ci={_ci(value['ci'])}" if "risk" in value
                                                 else value.get("error", "")))
    print(f"anonymeter seconds {anon_seconds:.1f}; load {os.getloadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=float))


def _f(x) -> str:
    return "None" if x is None else f"{x:.3f}"


def _ci(ci) -> str:
    return "None" if not ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


if __name__ == "__main__":
    main()
