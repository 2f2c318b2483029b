"""Benchmark of generate -> verify -> select for free text (``python evaluation/bench_text_select.py``).

For each dataset a text column is fitted on real train rows (its verifier included) and written for
``--rows`` real holdout rows' conditioning values, then scored against the issue #17 targets:

* **conditioning** — an *independent* classifier per conditioning column (TF-IDF of word 1-2-grams,
  min_df 2, up to 50,000 features, logistic regression without class weights, trained on up to 20,000
  real train texts: not the column's verifier, which sees at most 6,000 texts, 3,000 features and
  class-balanced weights) predicts the column from the text; its balanced accuracy (mean recall over
  labels) on the synthetic texts against the values they were written for, and on up to 2,000 real
  holdout texts; target: synthetic >= 90 % of real;
* **length** — KS distance of word counts, synthetic vs real holdout (target <= 0.15);
* **privacy** — ``text_memorisation`` (:mod:`synthstruct.evaluation.text_fidelity`): synthetic cells
  sharing an 8-word run with train text (the column's ``ngram_shared_by`` stock-phrase rule) and PII
  replay cells (target 0 and 0).

Datasets (``../shared/datasets``): ``clothing`` (Review Text | Department Name, Rating, Recommended IND;
runs before 2026-12-02 16:30 UTC had only the first two),
``airline`` (tweet text | airline_sentiment, airline), ``harper_valley`` (transcript | intent; intent
derived by ``evaluation/harper_valley.py``). The machine is shared: the load average before and after
every run is printed next to its timings. One JSON line per run on stdout (numbers only, no text).

Options: ``--dataset`` (repeatable; default all three), ``--rows``, ``--candidates``, ``--first-candidates``,
``--rounds``, ``--later-candidates``, ``--steer`` (label steering strength), ``--regenerate-labels below_real|all``,
``--block-copies true|false`` (the copy guard),
``--rows-per-page N`` / ``--page-length-ratio X`` (rows sharing a page of examples; levers), ``--backend-json`` (extra ``local`` options, e.g. ``'{"stop_at_target": false}'``),
``--backend`` (local | template), ``--threads``, ``--batch-size``, ``--example-words``, ``--examples-from-data``,
``--seed``; levers
for measurement: ``--min-words-share`` (share of the target below which the answer may not end; 0 = off),
``--verifier-json`` (constants of :mod:`synthstruct.text.verifier`, e.g. ``'{"CLASS_WEIGHT": null}'``),
``--typicality`` (weight of the verifier's typicality in the example choice; 0 = off), ``--own-examples``
(each candidate of a row draws its own few-shot examples instead of sharing the row's).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from synthstruct.schema.io import schema_from_dict  # noqa: E402 - after the sys.path / environment set-up above
from synthstruct.schema.model import Schema  # noqa: E402 - after the sys.path / environment set-up above
from synthstruct.text.column import TextColumnGenerator  # noqa: E402 - after the sys.path / environment set-up above

HOLDOUT = 2000
CLASSIFIER_ROWS = 20_000


def _load(name: str, data_dir: Path, seed: int) -> tuple[pd.DataFrame, list[str], str, dict]:
    """``(frame, conditioning columns, text column, text column spec)``."""
    if name == "clothing":
        conds, text = ["Department Name", "Rating", "Recommended IND"], "Review Text"
        frame = pd.read_csv(data_dir / "womens_clothing_reviews.csv").dropna(subset=[text, *conds])
        spec = {"description": "a customer review of a clothing item bought online",
                "style": "first person, informal", "min_length": 3}
    elif name == "airline":
        conds, text = ["airline_sentiment", "airline"], "text"
        frame = pd.read_csv(data_dir / "airline_tweets.csv").drop_duplicates("tweet_id").dropna(subset=[text, *conds])
        spec = {"description": "a tweet from a passenger to an airline", "style": "twitter, informal", "min_length": 2}
    elif name == "harper_valley":
        import harper_valley as hv

        conds, text = ["intent"], "transcript"
        frame = hv.load_harper_valley(data_dir / "harper_valley_bank_transcripts.csv")
        from synthstruct.schema.io import load_schema

        base = load_schema(REPO / "schemas" / "customer_service" / "call_transcripts.yaml").columns["transcript"]
        spec = {k: v for k, v in base.model_dump(mode="json").items()
                if k in ("description", "style", "min_length", "max_length", "example_words", "ngram_shared_by")}
    else:
        raise SystemExit(f"unknown dataset {name}")
    frame = frame[[*conds, text]].sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return frame, conds, text, spec


def _schema(frame: pd.DataFrame, conds: list[str], text: str, spec: dict) -> Schema:
    columns: dict[str, dict] = {c: {"kind": "categorical"} for c in conds}
    columns[text] = {"kind": "text", "conditioned_on": conds, **spec}
    return schema_from_dict({"schema_version": 1, "name": "bench", "columns": columns})


@dataclass
class Judges:
    """The independent TF-IDF + LR classifier per conditioning column, fitted once on real train texts, with
    its predictions on the real holdout (:func:`judge_scores` scores any number of synthetic sets)."""

    vec: Any
    holdout: pd.DataFrame
    text: str
    classifiers: dict[str, Any]
    holdout_predictions: dict[str, np.ndarray]
    majority_shares: dict[str, float]


def fit_judges(train: pd.DataFrame, holdout: pd.DataFrame, conds: list[str], text: str, seed: int) -> Judges:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    real = train.sample(min(len(train), CLASSIFIER_ROWS), random_state=seed)
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=50_000, sublinear_tf=True)
    x = vec.fit_transform(real[text].astype(str))
    x_hold = vec.transform(holdout[text].astype(str))
    judges = Judges(vec, holdout, text, {}, {}, {})
    for col in conds:
        y = real[col].astype(str).to_numpy()
        judges.classifiers[col] = clf = LogisticRegression(max_iter=1000, random_state=seed).fit(x, y)
        judges.holdout_predictions[col] = clf.predict(x_hold)
        judges.majority_shares[col] = round(float(pd.Series(y).value_counts(normalize=True).iloc[0]), 3)
    return judges


def judge_scores(judges: Judges, synthetic: pd.DataFrame) -> dict[str, object]:
    """Balanced accuracy of the judges on ``synthetic`` (against the values its texts were written for) and
    on the real holdout."""
    from sklearn.metrics import balanced_accuracy_score

    holdout, text = judges.holdout, judges.text
    syn = synthetic.dropna(subset=[text])
    x_syn = judges.vec.transform(syn[text].astype(str))
    out: dict[str, object] = {}
    for col, clf in judges.classifiers.items():
        hold_pred, syn_pred = judges.holdout_predictions[col], clf.predict(x_syn)
        bal_real = balanced_accuracy_score(holdout[col].astype(str), hold_pred)
        # labels of the synthetic rows only: mean recall over the labels present among them
        bal_syn = balanced_accuracy_score(syn[col].astype(str), syn_pred)
        bal_real_same = _recall_over(holdout[col].astype(str).to_numpy(), hold_pred, set(syn[col].astype(str)))
        out[col] = {"classes": len(clf.classes_),
                    "majority_share": judges.majority_shares[col],
                    "synthetic_balanced_accuracy": round(float(bal_syn), 3),
                    "holdout_balanced_accuracy": round(float(bal_real), 3),
                    "holdout_balanced_accuracy_same_labels": round(float(bal_real_same), 3),
                    "ratio": round(float(bal_syn / bal_real_same), 3) if bal_real_same else None,
                    "synthetic_accuracy": round(float((syn_pred == syn[col].astype(str).to_numpy()).mean()), 3),
                    "holdout_accuracy": round(float((hold_pred == holdout[col].astype(str).to_numpy()).mean()), 3)}
    return out


def independent_scores(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, conds: list[str],
                       text: str, seed: int) -> dict[str, object]:
    """Balanced accuracy of an independent TF-IDF + LR classifier per conditioning column."""
    return judge_scores(fit_judges(train, holdout, conds, text, seed), synthetic)


def _recall_over(y: np.ndarray, pred: np.ndarray, labels: set[str]) -> float:
    recalls = [float((pred[y == label] == label).mean()) for label in sorted(labels) if (y == label).any()]
    return float(np.mean(recalls)) if recalls else float("nan")


def run(name: str, args: argparse.Namespace) -> dict[str, object]:
    from scipy.stats import ks_2samp

    from synthstruct.evaluation.metric import EvaluationContext
    from synthstruct.evaluation.text_fidelity import distinct_n, text_memorisation

    frame, conds, text, spec = _load(name, args.data_dir, args.seed)
    cut = min(HOLDOUT, len(frame) // 5)
    holdout, train = frame.iloc[:cut].reset_index(drop=True), frame.iloc[cut:].reset_index(drop=True)
    options: dict[str, object] = ({"threads": args.threads, "batch_size": args.batch_size, "runtime": args.runtime}
                                  if args.backend == "local" else {})
    if args.backend == "local":
        options.update(json.loads(args.backend_json))
    spec = {**spec, "generator": args.backend, "backend": options}
    if args.candidates is not None:
        spec["candidates"] = args.candidates
    if args.rounds is not None:
        spec["rounds"] = args.rounds
    if args.later_candidates is not None:
        spec["later_candidates"] = args.later_candidates or None
    if args.first_candidates is not None:
        spec["first_candidates"] = args.first_candidates or None
    if args.steer is not None:
        spec["steer"] = args.steer
    if args.regenerate_labels is not None:
        spec["regenerate_labels"] = args.regenerate_labels
    if args.block_copies is not None:
        spec["block_copies"] = args.block_copies == "true"
    if args.example_words:
        spec["example_words"] = args.example_words
    if args.examples_from_data is not None:
        spec["examples_from_data"] = args.examples_from_data
    import synthstruct.text.column as column_module

    if args.own_examples:
        column_module.SHARED_CANDIDATE_EXAMPLES = False  # type: ignore[misc]  # a measurement lever
    if args.rows_per_page is not None:
        column_module.ROWS_PER_PAGE = args.rows_per_page  # type: ignore[misc]  # a measurement lever
    if args.page_length_ratio is not None:
        column_module.PAGE_LENGTH_RATIO = args.page_length_ratio  # type: ignore[misc]  # a measurement lever
    import synthstruct.text.verifier as verifier_module

    for name_, value in json.loads(args.verifier_json).items():  # measurement levers: module constants
        if not hasattr(verifier_module, name_) or name_.startswith("_") or not name_.isupper():
            raise SystemExit(f"--verifier-json: {name_} is not a constant of synthstruct.text.verifier")
        setattr(verifier_module, name_, value)
    if args.min_words_share is not None:
        column_module.MIN_WORDS_SHARE = args.min_words_share  # type: ignore[misc]  # a measurement lever
    schema = _schema(frame, conds, text, spec)
    gen = TextColumnGenerator(schema.columns[text], column=text)  # type: ignore[arg-type]
    load_before = os.getloadavg()
    t = time.perf_counter()
    gen.fit(train[text], train)
    fit_s = time.perf_counter() - t
    if args.typicality is not None and gen.example_pool_ is not None:
        gen.example_pool_.typicality_weight = args.typicality
    gen.missing_share_ = 0.0
    synthetic = holdout.iloc[:args.rows][conds].reset_index(drop=True)
    t, cpu = time.perf_counter(), time.process_time()
    synthetic[text] = gen.generate(synthetic, np.random.default_rng(args.seed))
    gen_s, gen_cpu = time.perf_counter() - t, time.process_time() - cpu
    load_after = os.getloadavg()
    ctx = EvaluationContext(train=train, synthetic=synthetic, schema=schema, holdout=holdout, seed=args.seed,
                            options={"text_embeddings": False})
    memo = text_memorisation(ctx).details["columns"][text]
    syn_words = synthetic[text].dropna().astype(str).str.split().str.len()
    real_words = holdout[text].astype(str).str.split().str.len()
    stats = gen.stats_
    out: dict[str, object] = {
        "dataset": name, "backend": args.backend, "candidates": schema.columns[text].candidates,
        "rounds": schema.columns[text].rounds, "first_candidates": schema.columns[text].first_candidates,
        "later_candidates": schema.columns[text].later_candidates, "steer": schema.columns[text].steer,
        "regenerate_labels": schema.columns[text].regenerate_labels,
        "block_copies": schema.columns[text].block_copies,
        "backend_options": options, "seed": args.seed,
        "generate_cpu_s": round(gen_cpu, 1),
        "example_words": schema.columns[text].example_words,
        "examples_from_data": schema.columns[text].examples_from_data, "rows": args.rows, "train_texts": len(train),
        "holdout_texts": len(holdout), "texts": int(synthetic[text].notna().sum()), "fit_s": round(fit_s, 1),
        "generate_s": round(gen_s, 1), "texts_per_s": round(args.rows / gen_s, 3),
        "loadavg_before": [round(v, 2) for v in load_before], "loadavg_after": [round(v, 2) for v in load_after],
        "threads": args.threads, "batch_size": args.batch_size, "runtime": args.runtime,
        "min_words_share": column_module.MIN_WORDS_SHARE,
        "shared_candidate_examples": column_module.SHARED_CANDIDATE_EXAMPLES,
        "rows_per_page": column_module.ROWS_PER_PAGE, "page_length_ratio": column_module.PAGE_LENGTH_RATIO,
        "verifier_constants": json.loads(args.verifier_json),
        "typicality": gen.example_pool_.typicality_weight if gen.example_pool_ is not None else None,
        "verifier_labels": gen.verifier_.labelled if gen.verifier_ is not None else [],
        "word_ks_vs_holdout": round(float(ks_2samp(syn_words, real_words).statistic), 3),
        "mean_words": round(float(syn_words.mean()), 1), "real_mean_words": round(float(real_words.mean()), 1),
        # diversity: distinct word bigrams / all bigrams, synthetic vs as many real holdout texts
        "distinct_2": round(distinct_n(synthetic[text].dropna().astype(str).tolist(), 2) or 0.0, 4),
        "real_distinct_2": round(distinct_n(holdout[text].astype(str).head(args.rows).tolist(), 2) or 0.0, 4),
        "copied_ngram_cells": memo["synthetic"]["copied_ngram_cells"],
        "pii_replay_cells": memo["synthetic"]["pii_replay_cells"],
        "holdout_copied_ngram_cells": memo["holdout"]["copied_ngram_cells"],
        "holdout_pii_replay_cells": memo["holdout"]["pii_replay_cells"],
        "conditioning": independent_scores(train, holdout, synthetic, conds, text, args.seed),
        "stats": {k: v for k, v in stats.items() if v},
    }
    if args.dump:
        args.dump.parent.mkdir(parents=True, exist_ok=True)
        synthetic.to_csv(args.dump.with_name(f"{args.dump.stem}-{name}.csv"), index=False)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=Path("/work/shared/datasets") if Path("/work/shared/datasets").is_dir() else REPO.parent / "shared" / "datasets")
    p.add_argument("--dataset", action="append", choices=["clothing", "airline", "harper_valley"])
    p.add_argument("--backend", default="local", choices=["local", "template"])
    p.add_argument("--rows", type=int, default=40)
    p.add_argument("--candidates", type=int, default=None, help="default: the schema's")
    p.add_argument("--rounds", type=int, default=None, help="default: the schema's")
    p.add_argument("--later-candidates", type=int, default=None,
                   help="candidates per row after the second round (default: the schema's; 0 = null, `candidates`)")
    p.add_argument("--first-candidates", type=int, default=None,
                   help="candidates per row in the first round (default: the schema's; 0 = null, `candidates`)")
    p.add_argument("--rows-per-page", type=int, default=None,
                   help="rows of one context sharing a draw of examples (default: ROWS_PER_PAGE; 1 = own page)")
    p.add_argument("--page-length-ratio", type=float, default=None, help="default: PAGE_LENGTH_RATIO")
    p.add_argument("--regenerate-labels", choices=["below_real", "all"], default=None,
                   help="which label failures get new candidates (default: the schema's)")
    p.add_argument("--block-copies", choices=["true", "false"], default=None,
                   help="the copy guard while texts are written (default: the schema's)")
    p.add_argument("--steer", type=float, default=None, help="label steering strength (default: the schema's; 0 = off)")
    p.add_argument("--backend-json", default="{}", help="extra local backend options as JSON")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--runtime", default="auto", choices=["auto", "ctranslate2", "transformers"], help="local backend runtime")
    p.add_argument("--example-words", type=int, default=0, help="0: the schema's / default")
    p.add_argument("--examples-from-data", type=int, default=None, help="few-shot examples per prompt (default: the schema's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-words-share", type=float, default=None, help="default: MIN_WORDS_SHARE (0 = off)")
    p.add_argument("--own-examples", action="store_true",
                   help="each candidate draws its own few-shot examples (before session 15; default: shared per row)")
    p.add_argument("--verifier-json", default="{}",
                   help='constants of synthstruct.text.verifier, e.g. \'{"CLASS_WEIGHT": null}\'')
    p.add_argument("--typicality", type=float, default=None, help="default: TYPICALITY_WEIGHT (0 = off)")
    p.add_argument("--dump", type=Path, default=None, help="write the generated rows to <dump>-<dataset>.csv")
    args = p.parse_args()
    for name in args.dataset or ["clothing", "airline", "harper_valley"]:
        print(json.dumps(run(name, args)), flush=True)


if __name__ == "__main__":
    main()
