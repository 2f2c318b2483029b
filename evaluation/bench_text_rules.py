"""Selection rules replayed on one pool of candidates (``python evaluation/bench_text_rules.py``).

Comparing two selection rules with :mod:`bench_text_select` means two generation runs, and at 400 rows
the run-to-run noise of the conditioning ratios (several hundredths) is as large as the effects looked
for. This benchmark generates **one pool** and replays every rule on it, so rules are compared on the
same texts:

1. a text column is fitted on real train rows (as in ``bench_text_select.py``) and asked for ``--rows``
   holdout rows with the product's rounds, except that **every row goes to the second round** (no
   candidate counts as passing while the pool is made): round 1 writes one candidate per row
   (``first_candidates``), round 2 writes ``--pool`` candidates from one shared prompt. Every candidate is
   kept with its hard-check failures and the row's target length;
2. each rule then selects one text per row as the product would: round 1's candidate if it passes every
   check of the rule, else the best by the rule's ranking among it and the first ``candidates`` of round
   2 (texts selected for earlier rows count as duplicates);
3. the selected texts are scored with the independent classifier of ``bench_text_select.py`` (balanced
   accuracy ratio per conditioning column), the word-count KS distance against the holdout, and the
   number of candidates the rule would have generated.

Rules (``--rules``, comma-separated; see ``RULES``): ``product`` (the code in ``synthstruct.text.select``
and ``synthstruct.text.verifier``, the reference); ``balanced``, ``prior_half``, ``prior`` (the verifier's
``PRIOR_POWER`` at 0, 0.5, 1: its classifier's probabilities times each value's training share to that
power; 0 is the rule before session 18); ``labels_first`` (label checks counted before the length check in
the ranking); ``score_only`` and ``balanced_score_only`` (rank by the score alone, soft checks only decide
who gets another round). ``--rounds`` lets a rule use more rounds (each takes the next ``--candidates`` of
the pool's second round). ``--pool-out`` saves the pool (JSON lines: synthetic texts and conditioning
values, no real text) and ``--pool-in`` replays a saved one without generating. One JSON line
per rule on stdout (numbers only).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import bench_text_select as bts  # noqa: E402 - after the sys.path / environment set-up above

from synthstruct.text.checks import normalise  # noqa: E402 - after the sys.path / environment set-up above
from synthstruct.text.column import TextColumnGenerator  # noqa: E402 - after the sys.path / environment set-up above
from synthstruct.text.select import Candidate, rank, score_candidates  # noqa: E402 - after the set-up above


def make_pool(gen: TextColumnGenerator, rows: pd.DataFrame, pool: int, seed: int) -> list[dict[str, Any]]:
    """Every candidate of a run in which no candidate passes (so every row gets round 2 with ``pool``)."""
    records: list[dict[str, Any]] = []
    attempt = {"n": -1}
    original_check = TextColumnGenerator._check
    original_ask = TextColumnGenerator._ask

    def ask(self: Any, backend: Any, rows_: Any, pairs: Any, targets: Any, seeds: Any, attempt_: int, seed_: int) -> Any:
        attempt["n"] = attempt_
        return original_ask(self, backend, rows_, pairs, targets, seeds, attempt_, seed_)

    def check(self: Any, pairs: Any, answers: Any, had_pii: Any, contexts: Any, targets: Any, seen: Any,
              stats: Any, sims: Any) -> list[Candidate]:
        out = original_check(self, pairs, answers, had_pii, contexts, targets, seen, stats, sims)
        for (i, j), cand, pii in zip(pairs, out, had_pii):
            records.append({"row": int(i), "round": attempt["n"], "j": int(j), "text": cand.text,
                            "failed": [f for f in cand.failed if f != "duplicate"], "had_pii": bool(pii),
                            "target": int(targets[i])})
        return out

    passing = Candidate.passing
    TextColumnGenerator._check = check  # type: ignore[method-assign]
    TextColumnGenerator._ask = ask  # type: ignore[method-assign]
    Candidate.passing = property(lambda self: False)  # type: ignore[method-assign,assignment]
    try:
        gen.spec = gen.spec.model_copy(update={"candidates": pool, "max_regenerations": 0})
        gen.generate(rows, np.random.default_rng(seed))
    finally:
        TextColumnGenerator._check = original_check  # type: ignore[method-assign]
        TextColumnGenerator._ask = original_ask  # type: ignore[method-assign]
        Candidate.passing = passing  # type: ignore[method-assign]
    return records


# ---------------------------------------------------------------------------------------------- rules
Scorer = Callable[[list[Candidate], list[dict[str, str]], list[int], list[bool], Any], None]


def _product(cands: list[Candidate], contexts: list[dict[str, str]], targets: list[int], pii: list[bool],
             verifier: Any) -> None:
    score_candidates(cands, contexts, targets, pii, verifier)


def _labels_first_rank(c: Candidate) -> tuple[Any, ...]:
    labels = sum(1 for f in c.soft_failed if f.startswith("label_"))
    return (int(c.usable), -labels, -len(c.soft_failed), c.score)


def _power_scorer(power: float) -> Scorer:
    """The product's scoring with the verifier's ``PRIOR_POWER`` set to ``power`` (0: the balanced
    classifier's own probabilities, the rule before session 18; 1: times each value's training share)."""

    def scorer(cands: list[Candidate], contexts: list[dict[str, str]], targets: list[int], pii: list[bool],
               verifier: Any) -> None:
        import synthstruct.text.verifier as verifier_module

        saved = verifier_module.PRIOR_POWER
        verifier_module.PRIOR_POWER = power  # type: ignore[misc]  # a measurement lever
        try:
            score_candidates(cands, contexts, targets, pii, verifier)
        finally:
            verifier_module.PRIOR_POWER = saved  # type: ignore[misc]

    return scorer


def _score_only_rank(c: Candidate) -> tuple[Any, ...]:
    return (int(c.usable), c.score)


RULES: dict[str, tuple[Scorer, Callable[[Candidate], tuple[Any, ...]]]] = {
    "product": (_product, rank),
    "balanced": (_power_scorer(0.0), rank),
    "prior_half": (_power_scorer(0.5), rank),
    "prior": (_power_scorer(1.0), rank),
    "labels_first": (_product, _labels_first_rank),
    "score_only": (_product, _score_only_rank),
    "balanced_score_only": (_power_scorer(0.0), _score_only_rank),
}


def replay(records: list[dict[str, Any]], contexts: dict[int, dict[str, str]], verifier: Any, rule: str,
           candidates: int, rounds: int = 2, last: int | None = None) -> tuple[dict[int, str], int]:
    """Texts selected per row by ``rule``, and how many candidates it would have generated. Rounds after the
    second take the next ``last`` (default ``candidates``) of the pool's second round (same prompt, other
    sampling seeds)."""
    scorer, key = RULES[rule]
    cands = [Candidate(row=r["row"], text=r["text"], failed=list(r["failed"])) for r in records]
    scorer(cands, [contexts[r["row"]] for r in records], [r["target"] for r in records],
           [r["had_pii"] for r in records], verifier)
    by_row: dict[int, dict[int, list[Candidate]]] = {}
    for r, c in zip(records, cands):
        by_row.setdefault(r["row"], {}).setdefault(r["round"], []).append(c)
    chosen: dict[int, str] = {}
    seen: set[str] = set()
    used = 0
    for row in sorted(by_row):
        later, start, batches = by_row[row].get(1, []), 0, [by_row[row].get(0, [])]
        for size in [candidates] + [last or candidates] * (rounds - 2):  # rounds 2, 3, ... from the pool's second
            batches.append(later[start:start + size])
            start += size
        options: list[Candidate] = []
        best: Candidate | None = None
        for fresh in batches:
            if not fresh:
                break
            used += len(fresh)
            options += fresh
            best = next((c for c in sorted(options, key=key, reverse=True)
                         if c.usable and normalise(c.text) not in seen), None)
            if best is not None and best.passing:
                break
        if best is not None:
            chosen[row] = best.text
            seen.add(normalise(best.text))
    return chosen, used


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=Path("/work/shared/datasets") if Path("/work/shared/datasets").is_dir()
                   else REPO.parent / "shared" / "datasets")
    p.add_argument("--dataset", default="clothing", choices=["clothing", "airline", "harper_valley"])
    p.add_argument("--rows", type=int, default=400)
    p.add_argument("--candidates", type=int, default=5, help="second-round candidates a rule may use")
    p.add_argument("--pool", type=int, default=None,
                   help="second-round candidates generated (default and at least: what the rule's rounds use)")
    p.add_argument("--rounds", type=int, default=2, help="rounds a rule may use (each after the first: --candidates "
                   "more of the pool's second round)")
    p.add_argument("--later-candidates", type=int, default=None,
                   help="candidates per row in rounds after the second (default: --candidates)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rules", default=",".join(RULES))
    p.add_argument("--pool-out", type=Path, default=None)
    p.add_argument("--pool-in", type=Path, default=None)
    args = p.parse_args()
    needed = args.candidates + (args.later_candidates or args.candidates) * max(args.rounds - 2, 0)
    args.pool = max(args.pool or needed, needed)
    for rule in args.rules.split(","):
        if rule not in RULES:
            raise SystemExit(f"--rules: unknown rule {rule!r} (known: {', '.join(RULES)})")
    from scipy.stats import ks_2samp

    frame, conds, text, spec = bts._load(args.dataset, args.data_dir, args.seed)
    cut = min(bts.HOLDOUT, len(frame) // 5)
    holdout, train = frame.iloc[:cut].reset_index(drop=True), frame.iloc[cut:].reset_index(drop=True)
    spec = {**spec, "generator": "local", "candidates": args.candidates, "rounds": 2,
            "backend": {"threads": 2, "batch_size": 64, "runtime": "auto"}}
    schema = bts._schema(frame, conds, text, spec)
    gen = TextColumnGenerator(schema.columns[text], column=text)  # type: ignore[arg-type]
    t = time.perf_counter()
    gen.fit(train[text], train)
    fit_s = time.perf_counter() - t
    gen.missing_share_ = 0.0
    rows = holdout.iloc[:args.rows][conds].reset_index(drop=True)
    gen_s = 0.0
    if args.pool_in:
        records = [json.loads(line) for line in args.pool_in.read_text().splitlines()]
        args.pool = max((r["j"] + 1 for r in records if r["round"] == 1), default=0)
    else:
        t = time.perf_counter()
        records = make_pool(gen, rows, args.pool, args.seed)
        gen_s = time.perf_counter() - t
        if args.pool_out:
            args.pool_out.parent.mkdir(parents=True, exist_ok=True)
            args.pool_out.write_text("".join(json.dumps(r) + "\n" for r in records))
    verifier = gen.verifier_
    contexts = {i: gen._context(rows.iloc[i]) for i in range(len(rows))}
    real_words = holdout[text].astype(str).str.split().str.len()
    judges = bts.fit_judges(train, holdout, conds, text, args.seed)  # once: the same judges score every rule
    for rule in args.rules.split(","):
        chosen, used = replay(records, contexts, verifier, rule, args.candidates, args.rounds,
                              args.later_candidates)
        synthetic = rows.copy()
        synthetic[text] = [chosen.get(i, np.nan) for i in range(len(rows))]
        syn_words = synthetic[text].dropna().astype(str).str.split().str.len()
        cond = bts.judge_scores(judges, synthetic)
        print(json.dumps({
            "rule": rule, "dataset": args.dataset, "rows": args.rows, "seed": args.seed,
            "candidates": args.candidates, "rounds": args.rounds,
            "later_candidates": args.later_candidates, "pool": args.pool, "pool_candidates": len(records),
            "candidates_used": used, "texts": int(synthetic[text].notna().sum()), "fit_s": round(fit_s, 1),
            "pool_generate_s": round(gen_s, 1),
            "ratios": {c: v["ratio"] for c, v in cond.items()},
            "synthetic_balanced_accuracy": {c: v["synthetic_balanced_accuracy"] for c, v in cond.items()},
            "word_ks_vs_holdout": round(float(ks_2samp(syn_words, real_words).statistic), 3),
        }), flush=True)


if __name__ == "__main__":
    main()
