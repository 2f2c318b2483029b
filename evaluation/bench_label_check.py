"""How often real texts pass the text verifier's label check (``python evaluation/bench_label_check.py``).

For each dataset the verifier (:class:`synthstruct.text.verifier.TextVerifier`) is fitted on the same
train split as ``bench_text_select.py`` (rows shuffled with ``--seed``, the first 2,000 held out), and
scores the 2,000 real holdout texts against their own rows' labels: per labelled column and over all of
them, under the most-probable-value rule (before calibrated bars) and under the calibrated bars (the rule
since session 10: most probable value, or the value's probability at least its bar). A check that real
text fails half the time sends rows back for candidates that were already as recognisable as real text.
Datasets come from ``../shared/datasets``: ``clothing`` (Review Text | Department Name, Rating,
Recommended IND), ``airline`` (text | airline_sentiment, airline). One JSON line per dataset.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from synthstruct.text.prompts import format_value  # noqa: E402 - after the sys.path set-up above
import synthstruct.text.verifier as verifier_module  # noqa: E402 - after the sys.path set-up above
from synthstruct.text.verifier import TextVerifier  # noqa: E402 - after the sys.path set-up above

HOLDOUT = 2000


def _load(name: str, data_dir: Path) -> tuple[pd.DataFrame, list[str], str]:
    if name == "clothing":
        conds, text = ["Department Name", "Rating", "Recommended IND"], "Review Text"
        frame = pd.read_csv(data_dir / "womens_clothing_reviews.csv").dropna(subset=[text, *conds])
    else:
        conds, text = ["airline_sentiment", "airline"], "text"
        frame = pd.read_csv(data_dir / "airline_tweets.csv").drop_duplicates("tweet_id").dropna(subset=[text, *conds])
    return frame[[*conds, text]], conds, text


def run(name: str, data_dir: Path, seed: int) -> dict[str, object]:
    frame, conds, text = _load(name, data_dir)
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    cut = min(HOLDOUT, len(frame) // 5)
    holdout, train = frame.iloc[:cut], frame.iloc[cut:]
    t = time.perf_counter()
    ver = TextVerifier(conds, seed=seed).fit(train[text], train, format_value)
    fit_s = time.perf_counter() - t
    texts = holdout[text].astype(str).tolist()
    rule = np.ones(len(texts), dtype=bool)
    bars = np.ones(len(texts), dtype=bool)
    per_column: dict[str, dict[str, float]] = {}
    for col in ver.labelled:
        labels = [format_value(v) for v in holdout[col]]
        _, agree = ver.probabilities(texts, labels, col)
        top = np.array(ver.predict(texts, col)) == np.array(labels)
        known = np.array([lab in ver.classifiers_[col]["classes"] for lab in labels])
        top |= ~known  # a value without a classifier class is not checked (as in probabilities)
        rule &= top
        bars &= agree
        per_column[col] = {"most_probable_rule": round(float(top.mean()), 3), "calibrated_bars": round(float(agree.mean()), 3)}
    return {"dataset": name, "seed": seed, "train_texts": len(train), "holdout_texts": len(texts),
            "fit_s": round(fit_s, 1), "calibration": ver.calibration_, "per_column": per_column,
            "all_labels": {"most_probable_rule": round(float(rule.mean()), 3),
                           "calibrated_bars": round(float(bars.mean()), 3)}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "datasets")
    p.add_argument("--dataset", action="append", choices=["clothing", "airline"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--real-pass", type=float, default=0.8, help="REAL_PASS of the bars (off by default in the package)")
    args = p.parse_args()
    verifier_module.REAL_PASS = args.real_pass
    for name in args.dataset or ["clothing", "airline"]:
        print(json.dumps(run(name, args.data_dir, args.seed)), flush=True)


if __name__ == "__main__":
    main()
