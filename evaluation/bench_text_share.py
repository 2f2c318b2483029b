"""Candidates of a row with shared vs their own few-shot examples (``python evaluation/bench_text_share.py``).

The ``local`` backend prefills a prompt once for every request of a batch that asks it
(``share_prefill``). Since session 15 the ``k`` candidates of one row in one round share their few-shot
examples, hence their prompt (:data:`synthstruct.text.column.SHARED_CANDIDATE_EXAMPLES`); before, each
candidate drew its own examples, so every candidate's prompt was prefilled. This measures the generation
alone: a clothing-review column (conditioned on Rating and Department Name, default few-shot examples,
``--candidates`` per row in one round, no regeneration) is fitted once per process on ``--train``
training reviews, then writes texts for ``--rows`` other rows' conditions; each setting runs in a fresh
process, alternating (own, shared, shared, own, ...). Printed per run: generation seconds, the backend's
counts (requests, decode steps, generated tokens, rows whose prefill was shared, steps decoded with cascade
attention) and the load average; then the median seconds per setting and their ratio to the first setting.
Numbers only, no text.

Settings (``--settings``, comma-separated, the first is the reference):

* ``own`` — each candidate draws its own examples (before session 15);
* ``shared`` — a row's candidates share their examples, each row's cache holds a copy of the prompt
  (session 15; cascade attention off: ``synthstruct.text.decode.CASCADE_ROWS_PER_PROMPT`` = inf);
* ``cascade`` — shared examples, and the rows of one prompt read its keys and values once per step
  (:mod:`synthstruct.text.cascade`, session 16), linear layers not packed;
* ``packed`` — cascade, and the bfloat16 model's linear layers hold their weights in oneDNN's layout
  (:mod:`synthstruct.text.packed_linear`, session 17, the default).

Usage::

    .venv/bin/python evaluation/bench_text_share.py                  # own vs packed, 24 rows x 4 candidates, 2 runs each
    .venv/bin/python evaluation/bench_text_share.py --settings cascade,packed --runs 3
    .venv/bin/python evaluation/bench_text_share.py --settings packed --candidates 1 --cascade-rows-per-prompt 1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import DEFAULT_DATA_DIR, REPO_ROOT

TEXT, CONDITIONS = "Review Text", ["Rating", "Department Name"]
SETTINGS = ("own", "shared", "cascade", "packed")


def one(args: argparse.Namespace, setting: str) -> dict[str, object]:
    """One setting in this process: fit, then time the generation."""
    sys.path.insert(0, str(REPO_ROOT))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import numpy as np
    import pandas as pd

    import synthstruct.text.column as column_module
    import synthstruct.text.decode as decode_module
    import synthstruct.text.packed_linear as packed_module
    from synthstruct.schema.model import TextColumn
    from synthstruct.text.column import TextColumnGenerator

    frame = pd.read_csv(args.data_dir / "womens_clothing_reviews.csv").dropna(subset=[TEXT, *CONDITIONS])
    train = frame.iloc[:args.train]
    rows = frame.iloc[args.train + 1000:args.train + 1000 + args.rows][CONDITIONS].reset_index(drop=True)
    column_module.SHARED_CANDIDATE_EXAMPLES = setting != "own"  # type: ignore[misc]  # the setting measured
    if setting == "shared":
        decode_module.CASCADE_ROWS_PER_PROMPT = float("inf")  # type: ignore[misc]
    packed_module.ENABLED = setting == "packed"  # type: ignore[misc]
    if args.cascade_rows_per_prompt is not None and setting in ("cascade", "packed"):
        decode_module.CASCADE_ROWS_PER_PROMPT = args.cascade_rows_per_prompt  # type: ignore[misc]
    spec = TextColumn(kind="text", generator="local", conditioned_on=CONDITIONS, candidates=args.candidates,
                      first_candidates=args.candidates, rounds=1, max_regenerations=0,
                      backend={"threads": args.threads, **json.loads(args.backend_json)})
    gen = TextColumnGenerator(spec, column=TEXT).fit(train[TEXT], train)
    backend = gen._make_backend()
    gen._make_backend = lambda: backend  # type: ignore[method-assign]  # keep the backend to read its counts
    load = os.getloadavg()[0]
    started = time.perf_counter()
    gen.generate(rows, np.random.default_rng(args.seed))
    seconds = time.perf_counter() - started
    return {"setting": setting, "cascade_rows_per_prompt": decode_module.CASCADE_ROWS_PER_PROMPT,
            "seconds": round(seconds, 2), "load_before": round(load, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "backend": {k: int(v) for k, v in backend.stats_.items()}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    p.add_argument("--rows", type=int, default=24)
    p.add_argument("--candidates", type=int, default=4)
    p.add_argument("--train", type=int, default=3000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=2, help="runs per setting, alternating")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend-json", default="{}", help='more backend options, e.g. \'{"batch_size": 128}\'')
    p.add_argument("--cascade-rows-per-prompt", type=float, default=None,
                   help="cascade and packed: decode.CASCADE_ROWS_PER_PROMPT (1 = also batches of distinct prompts)")
    p.add_argument("--settings", default="own,packed", help="comma-separated: own, shared, cascade, packed")
    p.add_argument("--one", choices=SETTINGS, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one(args, args.one)), flush=True)
        return
    settings = [s.strip() for s in args.settings.split(",") if s.strip()]
    if not settings or any(s not in SETTINGS for s in settings):
        p.error(f"--settings takes a comma-separated list of {', '.join(SETTINGS)}")
    seconds: dict[str, list[float]] = {s: [] for s in settings}
    for i in range(args.runs):
        for setting in (settings if i % 2 == 0 else settings[::-1]):
            cmd = [sys.executable, __file__, "--one", setting, *sys.argv[1:]]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            seconds[setting].append(float(result["seconds"]))
            print(json.dumps(result), flush=True)
    reference = statistics.median(seconds[settings[0]])
    print(f"{args.rows} rows x {args.candidates} candidates, medians of {args.runs}: " + ", ".join(
        f"{s} {statistics.median(v):.1f} s ({reference / statistics.median(v):.2f}x)" for s, v in seconds.items()))


if __name__ == "__main__":
    main()
