"""Benchmark of free-text generation (``python evaluation/bench_text.py``).

1. Throughput of the embedded model (``local`` backend): rows/s for ~60-token texts, batched; the
   machine is shared, so the load average before and after is printed with the result.
2. Womens clothing reviews: ``Review Text`` conditioned on Rating, Department Name and Recommended IND,
   written for real holdout rows' conditioning values, then measured: copied 8-grams against the
   training text, PII replay (PII values found in training text that appear in generated text), and
   label consistency (TF-IDF + logistic regression trained on real text -> Recommended IND; accuracy
   on a real holdout vs on the synthetic texts with the labels they were conditioned on).

Options: ``--backend local|template|openai``, ``--rows`` (texts for part 2), ``--throughput-rows``,
``--batch-size``, ``--threads``, ``--skip-throughput``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from synthstruct.schema.model import TextColumn  # noqa: E402
from synthstruct.text.base import TextRequest  # noqa: E402
from synthstruct.text.checks import NgramIndex  # noqa: E402
from synthstruct.text.column import TextColumnGenerator  # noqa: E402

CONDITIONS = ["Rating", "Department Name", "Recommended IND"]
log = logging.getLogger("bench_text")


def throughput(rows: int, batch_size: int, threads: int) -> dict[str, float]:
    from synthstruct.text.local import LocalTextGenerator, load_model

    t = time.perf_counter()
    load_model()
    load_s = time.perf_counter() - t
    gen = LocalTextGenerator(options={"batch_size": batch_size, "threads": threads, "max_new_tokens": 60})
    items = ["dress", "jacket", "sweater", "skirt", "blouse", "jeans"]
    reqs = [TextRequest(messages=({"role": "system", "content": "You write realistic product reviews."},
                                  {"role": "user", "content": f"Write a review of a {items[i % 6]}. Rating {1 + i % 5} "
                                                              "of 5. About 40 words."}),
                        max_words=40, target_words=40, seed=i) for i in range(rows)]
    before = os.getloadavg()
    t = time.perf_counter()
    gen.generate(reqs, seed=0)
    dt = time.perf_counter() - t
    return {"load_s": round(load_s, 2), "rows": rows, "seconds": round(dt, 2), "rows_per_s": round(rows / dt, 3),
            "tokens_per_s": round(gen.stats_["generated_tokens"] / dt, 1), "batch_size": batch_size,
            "threads": threads, "loadavg_before": before, "loadavg_after": os.getloadavg()}


def clothing(data_dir: Path, backend: str, rows: int, seed: int) -> dict[str, float]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from synthstruct.privacy.scanner import scan_texts

    frame = pd.read_csv(data_dir / "womens_clothing_reviews.csv").dropna(subset=["Review Text"] + CONDITIONS)
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    holdout, train = frame.iloc[:2000], frame.iloc[2000:]
    spec = TextColumn(kind="text", generator=backend, conditioned_on=CONDITIONS, description="a customer review of a "
                      "clothing item bought online", style="first person, informal", min_length=10, max_length=60)
    gen = TextColumnGenerator(spec, column="Review Text")
    t = time.perf_counter()
    gen.fit(train["Review Text"], train)
    gen.missing_share_ = 0.0
    rows_df = holdout.iloc[:rows][CONDITIONS].reset_index(drop=True)
    texts = gen.generate(rows_df, np.random.default_rng(seed))
    gen_s = time.perf_counter() - t
    ok = texts.notna().to_numpy()
    synth = texts[ok].astype(str).tolist()
    fresh = NgramIndex(8).add(train["Review Text"])
    copied = sum(fresh.copied(s) > 0 for s in synth)
    train_pii = {train["Review Text"].iloc[i][a:b].lower() for i, spans in
                 enumerate(scan_texts(train["Review Text"].tolist()[:5000])) for a, b, _e, _s in spans if b - a >= 4}
    replay = sum(any(v in s.lower() for v in train_pii) for s in synth)
    vec = TfidfVectorizer(min_df=2, ngram_range=(1, 2), max_features=50000)
    x = vec.fit_transform(train["Review Text"])
    clf = LogisticRegression(max_iter=1000).fit(x, train["Recommended IND"])
    real_acc = float((clf.predict(vec.transform(holdout["Review Text"].iloc[rows:])) ==
                      holdout["Recommended IND"].iloc[rows:]).mean())
    syn_acc = float((clf.predict(vec.transform(synth)) == rows_df["Recommended IND"][ok].to_numpy()).mean())
    return {"backend": backend, "texts": len(synth), "generate_s": round(gen_s, 1),
            "rows_per_s": round(len(synth) / gen_s, 2), "texts_with_copied_8gram": int(copied),
            "pii_replay_texts": int(replay), "train_pii_values": len(train_pii),
            "label_consistency_real_holdout": round(real_acc, 3), "label_consistency_synthetic": round(syn_acc, 3),
            **{f"stat.{k}": v for k, v in gen.stats_.items()}, "loadavg": os.getloadavg()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "datasets")
    p.add_argument("--backend", default="local")
    p.add_argument("--rows", type=int, default=64)
    p.add_argument("--throughput-rows", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-throughput", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not args.skip_throughput:
        for k, v in throughput(args.throughput_rows, args.batch_size, args.threads).items():
            sys.stdout.write(f"throughput {k}: {v}\n")
    for k, v in clothing(args.data_dir, args.backend, args.rows, args.seed).items():
        sys.stdout.write(f"clothing {k}: {v}\n")


if __name__ == "__main__":
    main()
