"""Benchmark the structured-data engines on Adult: utility (TSTR vs TRTR), fit time, sampling speed.

For each engine: fit on ``adult.csv``, sample ``len(train)`` rows, train a fixed
``HistGradientBoostingClassifier`` (native categorical support, ``random_state=0``) on the synthetic
rows and test it on the real ``adult_test.csv`` (train-synthetic-test-real, TSTR); compare with the
same model trained on the real training rows (TRTR). For fast engines, also time sampling 1M rows and
record the peak RSS growth while sampling.

Usage::

    .venv/bin/python evaluation/bench_engines.py            # full run (a few minutes)
    .venv/bin/python evaluation/bench_engines.py --quick    # small rows, 2 epochs
    .venv/bin/python evaluation/bench_engines.py --engines fast_copula gaussian_copula
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd

from _common import ADULT_NUMERICAL as NUMERICAL
from _common import ADULT_POSITIVE as POSITIVE
from _common import ADULT_TARGET as TARGET
from _common import LoadAverage, PeakRSS, add_data_dir_argument, load_adult
from synthstruct._registry import ENGINES

logger = logging.getLogger("bench_engines")


def kinds_of(frame: pd.DataFrame) -> dict[str, str]:
    return {c: "numerical" if c in NUMERICAL else "categorical" for c in frame.columns}


def _features(frame: pd.DataFrame, categories: dict[str, list[Any]]) -> pd.DataFrame:
    x = frame.drop(columns=[TARGET]).copy()
    for col, cats in categories.items():
        x[col] = pd.Categorical(x[col], categories=cats)
    return x


def utility(train: pd.DataFrame, test: pd.DataFrame, categories: dict[str, list[Any]]) -> dict[str, float]:
    """Accuracy, F1 and AUC on ``test`` of the fixed model trained on ``train``."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    y_train = (train[TARGET] == POSITIVE).to_numpy()
    y_test = (test[TARGET] == POSITIVE).to_numpy()
    if y_train.all() or not y_train.any():
        return {"accuracy": float("nan"), "f1": 0.0, "auc": 0.5}
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    model.fit(_features(train, categories), y_train)
    x_test = _features(test, categories)
    proba = model.predict_proba(x_test)[:, 1]
    predicted = proba >= 0.5
    return {"accuracy": accuracy_score(y_test, predicted), "f1": f1_score(y_test, predicted),
            "auc": roc_auc_score(y_test, proba)}


def make_engine(name: str, epochs: int) -> Any:
    cls = ENGINES.get(name)
    return cls(epochs=epochs, batch_size=500) if name in ("ctgan", "tvae") else cls()


def bench_engine(name: str, train: pd.DataFrame, test: pd.DataFrame, categories: dict[str, list[Any]], *,
                 epochs: int, speed_rows: int) -> dict[str, Any]:
    engine = make_engine(name, epochs)
    start = time.perf_counter()
    engine.fit(train, kinds=kinds_of(train), target=TARGET, seed=0)
    fit_seconds = time.perf_counter() - start
    synthetic = engine.sample(len(train), seed=1)
    row: dict[str, Any] = {"engine": name, "fit_s": fit_seconds, **utility(synthetic, test, categories)}
    if name in ("fast_copula", "gaussian_copula") and speed_rows:
        with PeakRSS() as memory:
            start = time.perf_counter()
            big = engine.sample(speed_rows, seed=2)
            seconds = time.perf_counter() - start
        row.update(sample_rows_per_s=speed_rows / seconds, sample_peak_rss_mb=memory.growth_mb)
        del big
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_dir_argument(parser)
    parser.add_argument("--quick", action="store_true", help="5,000 training rows, 2 epochs, 100k speed rows")
    parser.add_argument("--engines", nargs="+", default=["fast_copula", "gaussian_copula", "ctgan", "tvae"])
    parser.add_argument("--epochs", type=int, default=None, help="epochs for ctgan/tvae (default 30; quick 2)")
    parser.add_argument("--speed-rows", type=int, default=None, help="rows for the speed test (default 1M)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logger.setLevel(logging.INFO)
    load = LoadAverage()
    epochs = args.epochs if args.epochs is not None else (2 if args.quick else 30)
    speed_rows = args.speed_rows if args.speed_rows is not None else (100_000 if args.quick else 1_000_000)

    train = load_adult(args.data_dir / "adult.csv")
    test = load_adult(args.data_dir / "adult_test.csv")
    if args.quick:
        train = train.sample(5000, random_state=0).reset_index(drop=True)
    categories = {c: sorted(train[c].dropna().unique()) for c in train.columns
                  if c not in NUMERICAL and c != TARGET}
    reference = utility(train, test, categories)
    rows = [{"engine": "real (TRTR)", "fit_s": float("nan"), **reference}]
    for name in args.engines:
        logger.info("benchmarking %s ...", name)
        rows.append(bench_engine(name, train, test, categories, epochs=epochs, speed_rows=speed_rows))
    table = pd.DataFrame(rows).set_index("engine")
    for metric in ("accuracy", "f1", "auc"):
        table[f"{metric}_ratio"] = table[metric] / reference[metric]
    logger.info("\nAdult (%d train rows, test %d rows, epochs=%d, %s)\n%s", len(train), len(test), epochs,
                load.stop().describe(), table.to_string(float_format=lambda v: f"{v:.4g}"))
    if "fast_copula" in table.index and "gaussian_copula" in table.index:
        ours, sdv = table.loc["fast_copula"], table.loc["gaussian_copula"]
        logger.info("fast_copula vs SDV GaussianCopula: F1 ratio %.2f vs %.2f; AUC ratio %.3f vs %.3f%s",
                    ours["f1_ratio"], sdv["f1_ratio"], ours["auc_ratio"], sdv["auc_ratio"],
                    f"; sampling {ours['sample_rows_per_s'] / sdv['sample_rows_per_s']:.1f}x faster"
                    if "sample_rows_per_s" in table else "")
    if args.json:
        args.json.write_text(table.reset_index().to_json(orient="records", indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
