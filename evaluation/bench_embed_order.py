"""Embedding texts in length order vs as given (``python evaluation/bench_embed_order.py``).

:meth:`synthstruct.text.checks.Embedder.encode` (the report's embedding similarity and the text column's
near-duplicate check) embeds texts in batches of 64 padded to their longest text. Since session 17 it
sorts the texts by length first and puts the vectors back in order, so a batch is padded to about its own
texts' length. This times both on ``--rows`` clothing reviews (``../shared/datasets``), alternating, in one
process after a warm-up, and prints seconds, their ratio and the largest difference between the vectors.
Numbers only, no text.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from _common import DEFAULT_DATA_DIR, REPO_ROOT

sys.path.insert(0, str(REPO_ROOT))


def as_given(embedder, texts: list[str], batch_size: int = 64) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The encoding before session 17: batches in the given order."""
    import torch

    tok, model = embedder._load()
    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            enc = tok(texts[i:i + batch_size], padding=True, truncation=True, max_length=128, return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=1).numpy())
    return np.concatenate(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    p.add_argument("--rows", type=int, default=500)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    import torch

    from synthstruct.text.checks import Embedder

    torch.set_num_threads(args.threads)
    texts = pd.read_csv(f"{args.data_dir}/womens_clothing_reviews.csv")["Review Text"].dropna()
    texts = texts.sample(args.rows, random_state=0).astype(str).tolist()
    embedder = Embedder()
    embedder.encode(texts[:4])  # load the model
    for _ in range(args.runs):
        t = time.perf_counter()
        before = as_given(embedder, texts)
        given = time.perf_counter() - t
        t = time.perf_counter()
        after = embedder.encode(texts)
        ordered = time.perf_counter() - t
        print(f"{args.rows} texts: as given {given:.2f} s, length order {ordered:.2f} s ({given / ordered:.2f}x), "
              f"largest vector difference {float(np.abs(before - after).max()):.1e}", flush=True)


if __name__ == "__main__":
    main()
