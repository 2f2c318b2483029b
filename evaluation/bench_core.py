"""Core-pipeline benchmark (issue 2): our path and the incumbent doing the same work on Adult, in one process.

Sections (all on ``adult.csv`` coerced to ``evaluation/schemas/adult.yaml``, split 80 / 20 into train /
holdout with ``split_train_holdout`` as ``release`` does):

1. **sampling** -- ``TableSynthesizer`` (default engine ``fast_copula``) fit on train, ``sample(1M)``
   rows/s and peak RSS growth (psutil polling thread); SDV 2.0 ``GaussianCopulaSynthesizer`` fit on the
   same rows and ``sample(100k)``. Ratios: fit time, sampling rate. Targets: >= 1M rows/s, <= 1 GB.
2. **fidelity** -- our ``column_shapes`` + ``pair_trends`` vs SDMetrics ``QualityReport`` (every pair
   scored) on the same synthetic rows (our sample of ``len(train)`` rows): scores and time ratio.
3. **DCR** -- SDMetrics ``DCRBaselineProtection`` + ``DCROverfittingProtection`` vs our
   ``nearest_neighbours`` on the same 2k-row train / holdout / synthetic sets (pairs/s ratio); then our
   ``dcr`` metric on the full sets (26k synthetic x 6.5k train sample / holdout).
4. **release** -- ``synthstruct.release.pipeline.release`` of ``adult.csv`` end to end (policy
   ``default``, imports already warm): wall time (target <= 60 s), verdict, per-stage timings.
5. **engines** -- per engine through ``TableSynthesizer``: fit on all of ``adult.csv``, sample as many
   rows, TSTR vs TRTR accuracy / F1 / AUC for ``income`` on ``adult_test.csv`` (the fixed model of
   ``bench_engines.utility``), column shapes and pair trends against ``adult_test.csv`` as the fresh-real
   reference. ``fast_copula`` and SDV ``gaussian_copula`` always; ``ctgan`` / ``tvae`` with
   ``--all-engines``.

The machine is shared: the 1/5/15-minute load averages before and after are printed with the figures.

Usage::

    .venv/bin/python evaluation/bench_core.py                      # full run (a few minutes)
    .venv/bin/python evaluation/bench_core.py --quick              # small sizes, ~1 minute
    .venv/bin/python evaluation/bench_core.py --all-engines --epochs 30 --json core.json
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from _common import (ADULT_SCHEMA_PATH, LoadAverage, PeakRSS, add_data_dir_argument, adult_schema,
                     format_table, load_adult_coerced, split_adult, timed)

logger = logging.getLogger("bench_core")

ROWS_TARGET_PER_S = 1_000_000
MEMORY_TARGET_MB = 1024
RELEASE_TARGET_S = 60.0


# ---------------------------------------------------------------------------- 1. sampling
def _sdv_gaussian_copula(schema: Any) -> Any:
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    from synthstruct.schema import to_sdv_metadata

    logging.getLogger("SingleTableSynthesizer").setLevel(logging.WARNING)
    return GaussianCopulaSynthesizer(Metadata.load_from_dict(to_sdv_metadata(schema)))


def bench_sampling(train: pd.DataFrame, schema: Any, *, rows: int, sdv_rows: int, repeats: int,
                   seed: int) -> tuple[dict[str, Any], Any]:
    """Fit time and sampling rate / memory of ours vs SDV GaussianCopula; returns results and our model."""
    from synthstruct.synthesizers.table import TableSynthesizer

    ours, fit_s = timed(lambda: TableSynthesizer().fit(train, schema=schema, seed=seed))
    rates, peaks = [], []
    for i in range(repeats):
        gc.collect()
        with PeakRSS() as memory:
            sample, seconds = timed(lambda: ours.sample(rows, seed=seed + 100 + i))
        rates.append(rows / seconds)
        peaks.append(memory.growth_mb)
        del sample
    gc.collect()
    sdv = _sdv_gaussian_copula(schema)
    np.random.seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, sdv_fit_s = timed(lambda: sdv.fit({schema.name: train}))  # SDV 2.0: {table name: frame}
        with PeakRSS() as sdv_memory:
            _, sdv_sample_s = timed(lambda: sdv.sample(num_rows=sdv_rows))
    ours_rate = float(np.median(rates))
    sdv_rate = sdv_rows / sdv_sample_s
    result = {
        "train_rows": len(train), "rows": rows, "repeats": repeats, "sdv_rows": sdv_rows,
        "ours_fit_s": fit_s, "ours_rows_per_s_median": ours_rate, "ours_rows_per_s_best": max(rates),
        "ours_rows_per_s_all": rates, "ours_peak_rss_growth_mb": max(peaks),
        "sdv_fit_s": sdv_fit_s, "sdv_sample_s": sdv_sample_s, "sdv_rows_per_s": sdv_rate,
        "sdv_peak_rss_growth_mb": sdv_memory.growth_mb,
        "fit_time_ratio_sdv_over_ours": sdv_fit_s / fit_s, "sampling_rate_ratio_ours_over_sdv": ours_rate / sdv_rate,
        "meets_rate_target": ours_rate >= ROWS_TARGET_PER_S, "meets_memory_target": max(peaks) <= MEMORY_TARGET_MB,
    }
    return result, ours


# ---------------------------------------------------------------------------- 2. fidelity
def bench_fidelity(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, schema: Any, *,
                   seed: int) -> dict[str, Any]:
    """Our column shapes + pair trends (default pair sample) vs SDMetrics QualityReport (all pairs)."""
    import bench_fidelity as bf

    ours = bf.run_ours(train, synthetic, holdout, schema, seed, None)
    sdm = bf.run_sdmetrics(train, synthetic, schema, all_pairs=True)
    return {"ours": ours, "sdmetrics": sdm, "time_ratio_sdmetrics_over_ours": sdm["seconds"] / ours["seconds"]}


# ---------------------------------------------------------------------------- 3. DCR
def bench_dcr(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, schema: Any, *,
              rows: int, seed: int) -> dict[str, Any]:
    """SDMetrics DCR metrics vs ours on the same ``rows``-row sets, and our ``dcr`` metric on the full sets."""
    import bench_privacy as bp
    from synthstruct.evaluation.metric import EvaluationContext
    from synthstruct.privacy.distances import neighbour_distances
    from synthstruct.privacy.metrics import dcr

    pick = lambda frame: frame.sample(rows, random_state=seed).reset_index(drop=True)  # noqa: E731
    small = bp.compare_dcr(pick(train), pick(holdout), pick(synthetic), schema)
    ctx = EvaluationContext(train=train, synthetic=synthetic, schema=schema, holdout=holdout, seed=seed)
    metric, seconds = timed(lambda: dcr(ctx))
    n_ref = len(neighbour_distances(ctx).train_index)
    n_hold = len(neighbour_distances(ctx).holdout_index) if neighbour_distances(ctx).holdout_index is not None else 0
    pairs = len(synthetic) * n_ref + len(synthetic) * n_hold + n_hold * n_ref
    full = {"synthetic_rows": len(synthetic), "train_rows_used": n_ref, "holdout_rows": n_hold, "pairs": pairs,
            "seconds": seconds, "pairs_per_s": pairs / seconds, "median_dcr_synthetic_to_train": metric.value,
            "median_dcr_synthetic_to_holdout": metric.reference}
    return {"same_sets": small, "full": full}


# ---------------------------------------------------------------------------- 4. release
def bench_release(data: Path, *, policy: str, seed: int) -> dict[str, Any]:
    """One ``release`` of ``data`` into a temporary bundle; the gate ledger goes to a temporary home too."""
    from synthstruct.release.pipeline import release

    with tempfile.TemporaryDirectory(prefix="bench_core_") as tmp:
        previous = os.environ.get("SYNTHSTRUCT_HOME")
        os.environ["SYNTHSTRUCT_HOME"] = str(Path(tmp) / "home")
        try:
            with PeakRSS() as memory:
                result, seconds = timed(lambda: release(data, schema=ADULT_SCHEMA_PATH, output=Path(tmp) / "bundle",
                                                        policy=policy, seed=seed))
        finally:
            if previous is None:
                os.environ.pop("SYNTHSTRUCT_HOME", None)
            else:
                os.environ["SYNTHSTRUCT_HOME"] = previous
        return {"wall_s": seconds, "passed": bool(result.passed), "policy": policy,
                "failed_checks": [c.name for c in result.gate.failed_checks()],
                "timings": dict(result.report.get("timings", {})), "rows": dict(result.report.get("rows", {})),
                "peak_rss_growth_mb": memory.growth_mb, "meets_target": seconds <= RELEASE_TARGET_S}


# ---------------------------------------------------------------------------- 5. engines
def bench_engines(data_dir: Path, schema: Any, engines: list[str], *, epochs: int, max_rows: int | None,
                  seed: int) -> list[dict[str, Any]]:
    """TSTR / TRTR and fidelity per engine; train = ``adult.csv``, test = ``adult_test.csv``."""
    import bench_engines as be
    from synthstruct.evaluation.fidelity import column_shapes, pair_trends
    from synthstruct.evaluation.metric import EvaluationContext
    from synthstruct.synthesizers.table import TableSynthesizer

    train = load_adult_coerced(data_dir / "adult.csv", schema)
    test = load_adult_coerced(data_dir / "adult_test.csv", schema)
    if max_rows is not None and len(train) > max_rows:
        train = train.sample(max_rows, random_state=seed).reset_index(drop=True)
    categories = {c: sorted(train[c].dropna().unique()) for c in schema.columns_of("categorical")
                  if c != schema.target}
    reference = be.utility(train, test, categories)
    rows: list[dict[str, Any]] = [{"engine": "real (TRTR)", **reference}]
    for name in engines:
        logger.info("engine %s ...", name)
        params = {"epochs": epochs, "batch_size": 500} if name in ("ctgan", "tvae") else None
        model, fit_s = timed(lambda: TableSynthesizer(engine=name, engine_params=params).fit(
            train, schema=schema, seed=seed))
        synthetic, sample_s = timed(lambda: model.sample(len(train), seed=seed + 1))
        scores = be.utility(synthetic, test, categories)
        ctx = EvaluationContext(train=train, synthetic=synthetic, schema=schema, holdout=test, seed=seed)
        shapes, pairs = column_shapes(ctx), pair_trends(ctx)
        rows.append({"engine": name, **scores,
                     **{f"{k}_ratio": scores[k] / reference[k] for k in ("accuracy", "f1", "auc")},
                     "column_shapes": shapes.value, "pair_trends": pairs.value,
                     "column_shapes_ref": shapes.reference, "pair_trends_ref": pairs.reference,
                     "fit_s": fit_s, "sample_s": sample_s})
    return rows


# ---------------------------------------------------------------------------- printing
def summary_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline table: one row per comparison, ours vs the incumbent and the ratio."""
    s, f, d, r = (results.get(k) for k in ("sampling", "fidelity", "dcr", "release"))
    rows: list[dict[str, Any]] = []
    if s:
        rows += [
            {"measure": "fit on train (s)", "synthstruct": s["ours_fit_s"], "incumbent": s["sdv_fit_s"],
             "ratio": s["fit_time_ratio_sdv_over_ours"], "target": "-"},
            {"measure": f"sampling rows/s ({s['rows']:,} vs {s['sdv_rows']:,} rows)",
             "synthstruct": s["ours_rows_per_s_median"], "incumbent": s["sdv_rows_per_s"],
             "ratio": s["sampling_rate_ratio_ours_over_sdv"], "target": ">= 1M rows/s"},
            {"measure": "sampling peak RSS growth (MB)", "synthstruct": s["ours_peak_rss_growth_mb"],
             "incumbent": s["sdv_peak_rss_growth_mb"], "ratio": None, "target": "<= 1024 MB"},
        ]
    if f:
        ours, sdm = f["ours"], f["sdmetrics"]
        rows += [
            {"measure": "column shapes score", "synthstruct": ours["column_shapes"], "incumbent": sdm["column_shapes"],
             "ratio": None, "target": "-"},
            {"measure": "pair trends score", "synthstruct": ours["pair_trends"], "incumbent": sdm["pair_trends"],
             "ratio": None, "target": "-"},
            {"measure": "shapes + pair trends time (s)", "synthstruct": ours["seconds"], "incumbent": sdm["seconds"],
             "ratio": f["time_ratio_sdmetrics_over_ours"], "target": "-"},
        ]
    if d:
        same = d["same_sets"]
        rows += [
            {"measure": f"DCR pairs/s ({same['rows']:,}-row sets)", "synthstruct": same["ours_pairs_per_s"],
             "incumbent": same["sdm_pairs_per_s"], "ratio": same["speedup"], "target": "-"},
            {"measure": f"DCR metric, full sets: {d['full']['pairs']:,} pairs (s)", "synthstruct": d["full"]["seconds"],
             "incumbent": None, "ratio": None, "target": "-"},
        ]
    if r:
        rows.append({"measure": f"release end to end (s), verdict {'released' if r['passed'] else 'blocked'}",
                     "synthstruct": r["wall_s"], "incumbent": None, "ratio": None, "target": "<= 60 s"})
    return rows


ENGINE_COLUMNS = ["engine", "accuracy", "f1", "auc", "accuracy_ratio", "f1_ratio", "auc_ratio", "column_shapes",
                  "pair_trends", "fit_s", "sample_s"]


def report(results: dict[str, Any]) -> str:
    """Everything worth printing, as text."""
    parts = [f"Adult core benchmark ({results['mode']}); {results['load_average_text']}",
             "ratio = incumbent time / ours for times, ours / incumbent for rates",
             format_table(summary_rows(results), ["measure", "synthstruct", "incumbent", "ratio", "target"])]
    if "release" in results:
        r = results["release"]
        parts.append(f"release stages (s): {_stage_text(r['timings'])}; "
                     f"failed checks: {r['failed_checks'] or 'none'}; peak RSS growth {r['peak_rss_growth_mb']:.0f} MB")
    if "fidelity" in results:
        f = results["fidelity"]
        parts.append(f"fidelity holdout reference: column shapes {f['ours']['column_shapes_reference']:.4f}, "
                     f"pair trends {f['ours']['pair_trends_reference']:.4f}")
    if "dcr" in results:
        same = results["dcr"]["same_sets"]
        parts.append(f"DCR on the same sets: median synthetic->train ours {same['ours_median_dcr_synthetic']:.4f} / "
                     f"SDMetrics {same['sdm_median_dcr_synthetic']:.4f}; share closer to train ours "
                     f"{same['ours_share_closer_to_train']:.3f} / SDMetrics {same['sdm_share_closer_to_train']:.3f}")
    if "engines" in results:
        parts.append("per engine (TSTR on adult_test.csv; ratios = TSTR / TRTR; fidelity vs adult_test reference "
                     f"shapes {results['engines'][1]['column_shapes_ref']:.4f}, pairs "
                     f"{results['engines'][1]['pair_trends_ref']:.4f})" if len(results["engines"]) > 1 else "")
        parts.append(format_table(results["engines"], ENGINE_COLUMNS))
    return "\n".join(p for p in parts if p)


def _stage_text(timings: dict[str, Any]) -> str:
    """``load 0.4, fit 1.2, gate 9.8 (dcr 2.1, utility 3.0, ...)``: stages, and the slowest parts of nested ones."""
    parts = []
    for name, value in timings.items():
        if isinstance(value, dict):
            slowest = sorted(((k, v) for k, v in value.items() if isinstance(v, (int, float))), key=lambda kv: -kv[1])
            parts.append(f"{name}: " + ", ".join(f"{k} {v:.2f}" for k, v in slowest[:6]))
        elif isinstance(value, (int, float)):
            parts.append(f"{name} {value:.2f}")
    return "; ".join(parts)


# ---------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_dir_argument(parser)
    parser.add_argument("--quick", action="store_true",
                        help="100k sampling rows, 10k SDV rows, 500-row DCR sets, 5k-row engines section")
    parser.add_argument("--all-engines", action="store_true", help="also ctgan and tvae in the engines section")
    parser.add_argument("--epochs", type=int, default=None, help="ctgan/tvae epochs (default 30; quick 2)")
    parser.add_argument("--sections", nargs="+", default=["sampling", "fidelity", "dcr", "release", "engines"],
                        choices=["sampling", "fidelity", "dcr", "release", "engines"])
    parser.add_argument("--policy", default="default", help="policy for the release section")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logger.setLevel(logging.INFO)
    load = LoadAverage()
    quick = args.quick
    schema = adult_schema()
    train, holdout = split_adult(load_adult_coerced(args.data_dir / "adult.csv", schema), schema, seed=args.seed)
    results: dict[str, Any] = {"mode": "quick" if quick else "full", "train_rows": len(train),
                               "holdout_rows": len(holdout), "seed": args.seed}
    if {"sampling", "fidelity", "dcr"} & set(args.sections):
        logger.info("1. sampling ...")
        sampling, model = bench_sampling(train, schema, rows=100_000 if quick else 1_000_000,
                                         sdv_rows=10_000 if quick else 100_000, repeats=1 if quick else 3,
                                         seed=args.seed)
        if "sampling" in args.sections:
            results["sampling"] = sampling
        synthetic = model.sample(len(train), seed=args.seed + 1)
        eval_train, eval_holdout, eval_synthetic = train, holdout, synthetic
        if quick:
            eval_train, eval_synthetic = train.iloc[:5000], synthetic.iloc[:5000]
            eval_holdout = holdout.iloc[:2000]
        if "fidelity" in args.sections:
            logger.info("2. fidelity ...")
            results["fidelity"] = bench_fidelity(eval_train, eval_holdout, eval_synthetic, schema, seed=args.seed)
        if "dcr" in args.sections:
            logger.info("3. DCR ...")
            results["dcr"] = bench_dcr(eval_train, eval_holdout, eval_synthetic, schema,
                                       rows=500 if quick else 2000, seed=args.seed)
    if "release" in args.sections:
        logger.info("4. release ...")
        results["release"] = bench_release(args.data_dir / "adult.csv", policy=args.policy, seed=args.seed)
    if "engines" in args.sections:
        logger.info("5. engines ...")
        engines = ["fast_copula", "gaussian_copula"] + (["ctgan", "tvae"] if args.all_engines else [])
        epochs = args.epochs if args.epochs is not None else (2 if quick else 30)
        results["engines_epochs"] = epochs
        results["engines"] = bench_engines(args.data_dir, schema, engines, epochs=epochs,
                                           max_rows=5000 if quick else None, seed=args.seed)
    results["load_average"] = load.stop().to_dict()
    results["load_average_text"] = load.describe()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))
    print(report(results))
    return results


if __name__ == "__main__":
    main()
