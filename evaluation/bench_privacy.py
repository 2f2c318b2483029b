"""Benchmark the nearest-neighbour distances of the privacy metrics on Adult, against SDMetrics' DCR.

1. Speed of :func:`synthstruct.privacy.distances.nearest_neighbours`: Adult (32,561 rows) against
   Adult resampled with noise (same size), and with ``--large`` 100k x 100k (both resampled with
   noise). Reports pairs/s for the neighbour pass and for encoding + pass.
2. SDMetrics (0.32) ``DCRBaselineProtection`` and ``DCROverfittingProtection`` on a small size
   (``--sdm-rows``, default 2,000) and our distances on the same rows: pairs/s of both and the ratio.
   SDMetrics uses min-max ranges of the reference and a pandas cross join; we use robust ranges, so
   the medians are close but not identical.

Usage::

    .venv/bin/python evaluation/bench_privacy.py                 # 32k x 32k + SDMetrics at 2k
    .venv/bin/python evaluation/bench_privacy.py --large         # also 100k x 100k
    .venv/bin/python evaluation/bench_privacy.py --json out.json --data-dir /path/to/datasets
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from _common import ADULT_NUMERICAL as NUMERICAL
from _common import LoadAverage, add_data_dir_argument, load_adult, timed
from _common import adult_schema as _adult_schema
from synthstruct.privacy.distances import nearest_neighbours
from synthstruct.evaluation.encoding import MixedEncoder
from synthstruct.schema.model import Schema

logger = logging.getLogger("bench_privacy")


def adult_schema(frame: pd.DataFrame | None = None) -> Schema:
    """The reviewed Adult schema (``evaluation/schemas/adult.yaml``); ``frame`` is ignored (kept for callers)."""
    return _adult_schema()


def sdmetrics_metadata(schema: Schema) -> dict[str, Any]:
    """SDMetrics single-table metadata: numerical / datetime columns as numerical, the rest categorical."""
    numeric = set(schema.columns_of("numerical", "datetime"))
    return {"columns": {c: {"sdtype": "numerical" if c in numeric else "categorical"} for c in schema.columns}}


def resample_with_noise(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` rows drawn with replacement; numbers jittered by 5 % of their std, 10 % of categories
    replaced by a value drawn from the column."""
    rng = np.random.default_rng(seed)
    out = frame.iloc[rng.integers(0, len(frame), n)].reset_index(drop=True)
    for col in out.columns:
        if col in NUMERICAL:
            values = out[col].to_numpy(float)
            out[col] = np.round(values + rng.normal(0, 0.05 * np.nanstd(values), n))
        else:
            swap = rng.random(n) < 0.10
            donors = frame[col].to_numpy(object)[rng.integers(0, len(frame), int(swap.sum()))]
            values = out[col].to_numpy(object).copy()
            values[swap] = donors
            out[col] = values
    return out


def time_ours(schema: Schema, query: pd.DataFrame, reference: pd.DataFrame) -> dict[str, Any]:
    """Encode both frames and run the nearest-neighbour pass; timings and pairs/s."""
    start = time.perf_counter()
    encoder = MixedEncoder().fit(schema, reference, query)
    q, r = encoder.transform(query), encoder.transform(reference)
    encoded = time.perf_counter()
    nn = nearest_neighbours(q, r, n_columns=encoder.n_columns)
    done = time.perf_counter()
    pairs = len(query) * len(reference)
    return {
        "rows": [len(query), len(reference)],
        "encode_s": round(encoded - start, 3),
        "neighbours_s": round(done - encoded, 3),
        "pairs_per_s_neighbours": round(pairs / (done - encoded)),
        "pairs_per_s_total": round(pairs / (done - start)),
        "median_dcr": float(np.median(nn.distance)),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def time_sdmetrics(frame: pd.DataFrame, n: int, seed: int) -> dict[str, Any]:
    """SDMetrics DCR metrics and ours on ``n``-row train / validation / synthetic sets drawn from ``frame``
    (synthetic = train resampled with noise)."""
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    train, validation = shuffled.iloc[:n].reset_index(drop=True), shuffled.iloc[n:2 * n].reset_index(drop=True)
    synthetic = resample_with_noise(train, n, seed + 1)
    return compare_dcr(train, validation, synthetic, adult_schema())


def compare_dcr(train: pd.DataFrame, validation: pd.DataFrame, synthetic: pd.DataFrame,
                schema: Schema) -> dict[str, Any]:
    """SDMetrics ``DCRBaselineProtection`` + ``DCROverfittingProtection`` and our distances on the same
    equal-size sets: seconds, pairs/s, medians, share closer to train, and the speed-up."""
    from sdmetrics.single_table import DCRBaselineProtection, DCROverfittingProtection

    n = len(train)
    metadata = sdmetrics_metadata(schema)
    out: dict[str, Any] = {"rows": n}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        baseline, seconds = timed(lambda: DCRBaselineProtection.compute_breakdown(train, synthetic, metadata, None))
        out["sdm_baseline_s"] = round(seconds, 2)
        overfit, seconds = timed(lambda: DCROverfittingProtection.compute_breakdown(
            train, synthetic, validation, metadata, None))
        out["sdm_overfitting_s"] = round(seconds, 2)
    # Each SDMetrics metric computes two n x n DCR passes.
    out["sdm_pairs_per_s"] = round(4 * n * n / (out["sdm_baseline_s"] + out["sdm_overfitting_s"]))
    out["sdm_median_dcr_synthetic"] = float(baseline["median_DCR_to_real_data"]["synthetic_data"])
    out["sdm_share_closer_to_train"] = float(overfit["synthetic_data_percentages"]["closer_to_training"])
    start = time.perf_counter()
    encoder = MixedEncoder().fit(schema, train, validation, synthetic)
    syn, tr, va = encoder.transform(synthetic), encoder.transform(train), encoder.transform(validation)
    to_train = nearest_neighbours(syn, tr, n_columns=encoder.n_columns)
    to_validation = nearest_neighbours(syn, va, n_columns=encoder.n_columns)
    ours_s = time.perf_counter() - start
    out["ours_s"] = round(ours_s, 4)
    out["ours_pairs_per_s"] = round(2 * n * n / ours_s)
    out["ours_median_dcr_synthetic"] = float(np.median(to_train.distance))
    out["ours_share_closer_to_train"] = float(np.mean(to_train.distance < to_validation.distance))
    out["speedup"] = round(out["ours_pairs_per_s"] / out["sdm_pairs_per_s"], 1)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_dir_argument(parser)
    parser.add_argument("--large", action="store_true", help="also time 100k x 100k")
    parser.add_argument("--sdm-rows", type=int, default=2000)
    parser.add_argument("--skip-sdmetrics", action="store_true")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    adult = load_adult(args.data_dir / "adult.csv")
    schema = adult_schema(adult)
    load = LoadAverage()
    results: dict[str, Any] = {"cpu_count": os.cpu_count(), "load_before": load.before[0]}
    noisy = resample_with_noise(adult, len(adult), args.seed)
    results["adult_32k"] = time_ours(schema, noisy, adult)
    logger.info("32k x 32k: %s", results["adult_32k"])
    if args.large:
        big_q = resample_with_noise(adult, 100_000, args.seed + 1)
        big_r = resample_with_noise(adult, 100_000, args.seed + 2)
        results["adult_100k"] = time_ours(schema, big_q, big_r)
        logger.info("100k x 100k: %s", results["adult_100k"])
    if not args.skip_sdmetrics:
        results["sdmetrics"] = time_sdmetrics(adult, args.sdm_rows, args.seed)
        logger.info("SDMetrics vs ours at %d rows: %s", args.sdm_rows, results["sdmetrics"])
    results["load_after"] = load.stop().after[0]
    results["load_average"] = load.to_dict()
    logger.info("%s", load.describe())
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
