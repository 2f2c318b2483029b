"""Benchmark: synthstruct's fidelity metrics vs SDMetrics' QualityReport on Adult (same data, same run).

Steps: read Adult, coerce it to `evaluation/schemas/adult.yaml`, split 80/20 into train / holdout (seeded,
stratified on income, as `release` does),
make a synthetic table, then time

* ours: ``column_shapes`` + ``pair_trends`` (default 20 000-row pair sample, and with no sampling),
  and ``discriminator_auc`` separately;
* SDMetrics 0.32 ``QualityReport`` (Column Shapes + Column Pair Trends) on synthetic vs train, once
  scoring every pair (thresholds 0, comparable with ours) and once with its defaults (only pairs
  whose real |Pearson| > 0.5 or Cramér's V > 0.3 count; the others are NaN and left out).

Remaining differences in pair trends: SDMetrics cuts numerical columns into 10 equal-width bins
computed separately on the real and on the synthetic frame (``_get_processed_data`` in
``column_pair_trends.py``), so "bin 3" can mean different ranges in the two; we cut both frames at
the train deciles.

Synthetic data: ``--synth copula`` (default) fits SDV's GaussianCopulaSynthesizer on the train split;
``--synth independent`` resamples every column independently from train (fast, no SDV; keeps the
column shapes and destroys the pair trends).

Usage::

    .venv/bin/python evaluation/bench_fidelity.py [--data-dir DIR] [--synth copula|independent]
        [--seed 0] [--json-out results.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from _common import LoadAverage, add_data_dir_argument, adult_schema, load_adult_coerced, split_adult, timed
from synthstruct.evaluation.fidelity import column_shapes, discriminator_auc, pair_trends
from synthstruct.evaluation.metric import EvaluationContext
from synthstruct.schema import coerce_to_schema, to_sdv_metadata
from synthstruct.schema.model import Schema

LOG = logging.getLogger("bench_fidelity")


def load_adult(data_dir: Path, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, Schema]:
    """Coerced Adult (schema ``evaluation/schemas/adult.yaml``) split 80 / 20 into train and holdout."""
    schema = adult_schema()
    train, holdout = split_adult(load_adult_coerced(data_dir / "adult.csv", schema), schema, seed=seed)
    return train, holdout, schema


def synthesize(train: pd.DataFrame, schema: Schema, method: str, seed: int) -> tuple[pd.DataFrame, float]:
    """A synthetic table with as many rows as ``train`` and the seconds it took."""
    start = time.perf_counter()
    if method == "independent":
        rng = np.random.default_rng(seed)
        synthetic = pd.DataFrame({c: train[c].to_numpy()[rng.integers(0, len(train), len(train))]
                                  for c in train.columns})
    else:
        from sdv.metadata import Metadata
        from sdv.single_table import GaussianCopulaSynthesizer

        logging.getLogger("SingleTableSynthesizer").setLevel(logging.WARNING)
        metadata = Metadata.load_from_dict(to_sdv_metadata(schema))
        model = GaussianCopulaSynthesizer(metadata)
        np.random.seed(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit({schema.name: train})  # SDV 2.0 takes and returns {table name: frame}
            sampled = model.sample(num_rows=len(train))
        synthetic = coerce_to_schema(sampled[schema.name], schema)
    return synthetic, time.perf_counter() - start


def run_ours(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, schema: Schema,
             seed: int, max_rows: int | None) -> dict[str, Any]:
    options = {} if max_rows is None else {"pair_trends_max_rows": max_rows}
    ctx = EvaluationContext(train=train, synthetic=synthetic, schema=schema, holdout=holdout, seed=seed,
                            options=options)
    shapes, t_shapes = timed(lambda: column_shapes(ctx))
    pairs, t_pairs = timed(lambda: pair_trends(ctx))
    numeric = set(schema.columns_of("numerical", "datetime"))
    by_type = pd.DataFrame([{"type": _pair_type(p["columns"], numeric), "score": p["score"]}
                            for p in pairs.details["pairs"]])
    return {"pair_trends_by_type": by_type.groupby("type")["score"].mean().round(4).to_dict(),
            "column_shapes": shapes.value, "column_shapes_reference": shapes.reference,
            "pair_trends": pairs.value, "pair_trends_reference": pairs.reference,
            "seconds_column_shapes": t_shapes, "seconds_pair_trends": t_pairs,
            "seconds": t_shapes + t_pairs}


def _pair_type(columns: list[str], numeric: set[str]) -> str:
    n_numeric = sum(c in numeric for c in columns)
    return ("categorical-categorical", "numerical-categorical", "numerical-numerical")[n_numeric]


def run_sdmetrics(train: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, *,
                  all_pairs: bool) -> dict[str, Any]:
    """SDMetrics' QualityReport. Its defaults score only the pairs whose real |Pearson| > 0.5 or
    real Cramér's V > 0.3; ``all_pairs`` sets both thresholds to 0 (every pair, like ours)."""
    from sdmetrics.reports.single_table import QualityReport

    metadata = to_sdv_metadata(schema)["tables"][schema.name]
    report = QualityReport()
    if all_pairs:
        report.real_correlation_threshold = 0
        report.real_association_threshold = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, seconds = timed(lambda: report.generate(train, synthetic, metadata, verbose=False))
    props = report.get_properties().set_index("Property")["Score"]
    details = report.get_details("Column Pair Trends")
    numeric = set(schema.columns_of("numerical", "datetime"))
    details["type"] = [_pair_type([a, b], numeric) for a, b in zip(details["Column 1"], details["Column 2"])]
    return {"pair_trends_by_type": details.groupby("type")["Score"].mean().round(4).to_dict(),
            "column_shapes": float(props["Column Shapes"]), "pair_trends": float(props["Column Pair Trends"]),
            "overall": float(report.get_score()), "seconds": seconds}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_dir_argument(parser)
    parser.add_argument("--synth", choices=("copula", "independent"), default="copula")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    load = LoadAverage()
    train, holdout, schema = load_adult(args.data_dir, args.seed)
    synthetic, t_synth = synthesize(train, schema, args.synth, args.seed)
    ours = run_ours(train, synthetic, holdout, schema, args.seed, None)
    ours_full = run_ours(train, synthetic, holdout, schema, args.seed, len(train))
    ctx = EvaluationContext(train=train, synthetic=synthetic, schema=schema, holdout=holdout, seed=args.seed)
    disc, t_disc = timed(lambda: discriminator_auc(ctx))
    sdm = run_sdmetrics(train, synthetic, schema, all_pairs=True)
    sdm_default = run_sdmetrics(train, synthetic, schema, all_pairs=False)
    results = {
        "dataset": "adult", "rows_train": len(train), "rows_holdout": len(holdout), "synth": args.synth,
        "seconds_synthesize": t_synth, "load_avg_1min_before": load.before[0],
        "load_avg_1min_after": load.stop().after[0], "cpu_count": os.cpu_count(), "load_average": load.to_dict(),
        "ours": ours, "ours_no_pair_sampling": ours_full,
        "discriminator_auc": {"value": disc.value, "reference": disc.reference, "seconds": t_disc},
        "sdmetrics": sdm, "sdmetrics_default_thresholds": sdm_default,
        "speedup_sdmetrics_over_ours": sdm["seconds"] / ours["seconds"],
        "speedup_sdmetrics_over_ours_no_pair_sampling": sdm["seconds"] / ours_full["seconds"],
    }
    print(f"Adult: {len(train)} train / {len(holdout)} holdout rows, synthetic = {args.synth} "
          f"({t_synth:.1f} s); {load.describe()}")
    print(f"{'':28}{'column_shapes':>15}{'pair_trends':>13}{'seconds':>10}")
    print(f"{'synthstruct (20k pair rows)':28}{ours['column_shapes']:15.4f}{ours['pair_trends']:13.4f}"
          f"{ours['seconds']:10.2f}")
    print(f"{'synthstruct (all rows)':28}{ours_full['column_shapes']:15.4f}{ours_full['pair_trends']:13.4f}"
          f"{ours_full['seconds']:10.2f}")
    print(f"{'  holdout reference':28}{ours['column_shapes_reference']:15.4f}{ours['pair_trends_reference']:13.4f}")
    print(f"{'SDMetrics (all pairs)':28}{sdm['column_shapes']:15.4f}{sdm['pair_trends']:13.4f}{sdm['seconds']:10.2f}")
    print(f"{'SDMetrics (default thresh.)':28}{sdm_default['column_shapes']:15.4f}"
          f"{sdm_default['pair_trends']:13.4f}{sdm_default['seconds']:10.2f}")
    print(f"pair trends by pair type, synthstruct: {ours_full['pair_trends_by_type']}")
    print(f"pair trends by pair type, SDMetrics:   {sdm['pair_trends_by_type']}")
    print(f"time ratio SDMetrics (all pairs) / synthstruct: {results['speedup_sdmetrics_over_ours']:.0f}x "
          f"({results['speedup_sdmetrics_over_ours_no_pair_sampling']:.0f}x without pair sampling)")
    print(f"discriminator AUC synthetic vs holdout {disc.value:.4f} (train vs holdout {disc.reference:.4f}), "
          f"{t_disc:.2f} s")
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
