"""Benchmark the differentially private engine ``dp`` on Adult against our non-DP default.

For each ε (δ fixed): fit :class:`~synthstruct.synthesizers.table.TableSynthesizer` with engine ``dp``
on the 80 % training split of ``adult.csv`` (schema ``evaluation/schemas/adult_dp.yaml``: public
category lists and bounds, so no budget goes to domains), sample as many rows, and score

* TSTR: the fixed boosting model of :func:`synthstruct.evaluation.utility.tstr_scores` trained on the
  synthetic rows and tested on ``adult_test.csv``, as a ratio to the same model trained on the real
  training rows (AUC ratio);
* column shapes and pair trends (:mod:`synthstruct.evaluation.fidelity`, against the training rows);
* fit time (on a shared 2-core machine: the load average is printed beside the figures).

``fast_copula`` (our default, not private) runs on the same split for comparison. smartnoise-synth
MST/AIM run in a separate environment when ``--smartnoise PYTHON`` names its interpreter (see
``docs/dp.md``); their synthetic rows come back as CSV and are scored here by the same code.

Usage::

    .venv/bin/python evaluation/bench_dp.py                         # ε = 1 and 4, δ = 1e-6, 3 repeats
    .venv/bin/python evaluation/bench_dp.py --epsilons 1 --repeats 1
    .venv/bin/python evaluation/bench_dp.py --smartnoise /work/benchenv-smartnoise/bin/python \
        --smartnoise-methods mst aim --smartnoise-timeout 1800
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from _common import REPO_ROOT, LoadAverage, add_data_dir_argument, load_adult_coerced, split_adult
from synthstruct.evaluation.fidelity import column_shapes, pair_trends
from synthstruct.evaluation.metric import EvaluationContext
from synthstruct.evaluation.utility import tstr_scores
from synthstruct.schema import load_schema
from synthstruct.schema.model import Schema
from synthstruct.synthesizers.table import TableSynthesizer

LOG = logging.getLogger("bench_dp")
DP_SCHEMA = REPO_ROOT / "evaluation" / "schemas" / "adult_dp.yaml"
SMARTNOISE_RUNNER = REPO_ROOT / "evaluation" / "_smartnoise_runner.py"


def score(train: pd.DataFrame, synthetic: pd.DataFrame, test: pd.DataFrame, schema: Schema) -> dict[str, float]:
    ctx = EvaluationContext(train=train, synthetic=synthetic, schema=schema, holdout=None, seed=0)
    tstr = tstr_scores(train, synthetic, test, schema, seed=0, n_threads=2)
    return {"tstr_auc_ratio": tstr["ratio"].get("roc_auc") or tstr["ratio"].get("auc"),
            "column_shapes": column_shapes(ctx).value, "pair_trends": pair_trends(ctx).value}


def run_ours(train: pd.DataFrame, schema: Schema, engine: str, params: dict[str, Any], seed: int
             ) -> tuple[pd.DataFrame, float, dict[str, Any] | None]:
    synth = TableSynthesizer(engine=engine, engine_params=params, protect_k=0 if engine == "dp" else 5)
    start = time.perf_counter()
    synth.fit(train, schema=schema, seed=seed)
    seconds = time.perf_counter() - start
    return synth.sample(len(train), seed=seed), seconds, synth.privacy_


def run_smartnoise(python: str, train: pd.DataFrame, schema: Schema, synth: str, epsilon: float, delta: float,
                   seed: int, timeout: float) -> tuple[pd.DataFrame | None, float, str | None]:
    """Run smartnoise-synth in its own interpreter; returns (coerced rows or None, seconds, error)."""
    from synthstruct.schema import coerce_to_schema

    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "train.csv", Path(tmp) / "synthetic.csv"
        train.to_csv(src, index=False)
        cmd = [python, str(SMARTNOISE_RUNNER), str(src), str(out), str(DP_SCHEMA), synth, str(epsilon), str(delta),
               str(seed)]
        start = time.perf_counter()
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, time.perf_counter() - start, f"not finished within {timeout:.0f} s"
        seconds = time.perf_counter() - start
        if done.returncode != 0 or not out.is_file():
            return None, seconds, (done.stderr.strip().splitlines() or ["no output"])[-1]
        frame = pd.read_csv(out)
        fit_seconds = json.loads(done.stdout.strip().splitlines()[-1]).get("fit_s", seconds)
        return coerce_to_schema(frame, schema), fit_seconds, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_dir_argument(parser)
    parser.add_argument("--epsilons", type=float, nargs="+", default=[1.0, 4.0])
    parser.add_argument("--delta", type=float, default=1e-6)
    parser.add_argument("--repeats", type=int, default=3, help="fits per ε (DP noise differs per fit)")
    parser.add_argument("--no-baseline", action="store_true", help="skip fast_copula")
    parser.add_argument("--smartnoise", default=None, help="python of an environment with smartnoise-synth")
    parser.add_argument("--smartnoise-methods", nargs="+", default=["mst", "aim"])
    parser.add_argument("--smartnoise-timeout", type=float, default=1800.0, help="seconds per smartnoise fit")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    LOG.setLevel(logging.INFO)
    load = LoadAverage()
    schema = load_schema(DP_SCHEMA)
    train, _ = split_adult(load_adult_coerced(args.data_dir / "adult.csv", schema), schema, seed=0)
    test = load_adult_coerced(args.data_dir / "adult_test.csv", schema)
    rows: list[dict[str, Any]] = []
    if not args.no_baseline:
        synthetic, seconds, _ = run_ours(train, schema, "fast_copula", {}, 0)
        rows.append({"method": "fast_copula (not DP)", "epsilon": float("inf"), "repeat": 0, "fit_s": seconds,
                     **score(train, synthetic, test, schema)})
    for epsilon in args.epsilons:
        for repeat in range(args.repeats):
            params = {"epsilon": epsilon, "delta": args.delta}
            synthetic, seconds, privacy = run_ours(train, schema, "dp", params, repeat)
            rows.append({"method": "synthstruct dp", "epsilon": epsilon, "repeat": repeat, "fit_s": seconds,
                         "epsilon_spent": privacy["epsilon_spent"], **score(train, synthetic, test, schema)})
            LOG.info("%s", rows[-1])
        if args.smartnoise:
            for method in args.smartnoise_methods:
                synthetic, seconds, error = run_smartnoise(args.smartnoise, train, schema, method, epsilon,
                                                           args.delta, 0, args.smartnoise_timeout)
                row = {"method": f"smartnoise {method}", "epsilon": epsilon, "repeat": 0, "fit_s": seconds}
                row.update(score(train, synthetic, test, schema) if synthetic is not None else {"error": error})
                rows.append(row)
                LOG.info("%s", row)
    table = pd.DataFrame(rows)
    metrics = [c for c in ("fit_s", "tstr_auc_ratio", "column_shapes", "pair_trends") if c in table]
    summary = table.groupby(["method", "epsilon"], sort=False)[metrics].agg(["mean", "min"])
    LOG.info("\nAdult, %d train rows, delta=%g, %s\n%s", len(train), args.delta, load.stop().describe(),
             summary.to_string(float_format=lambda v: f"{v:.3f}"))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "delta": args.delta, "load": load.describe()},
                                        indent=1, default=float), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
