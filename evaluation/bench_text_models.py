"""Which embedded model writes the better free text, and how fast (``python evaluation/bench_text_models.py``).

For each model of the ``local`` backend's registry (:mod:`synthstruct.text.models`), in a fresh
process of its own (so one model's load does not help the next), the clothing reviews' ``Review Text``
column (conditioned on Rating, Department Name, Recommended IND; the column's default few-shot examples)
is fitted on the training reviews and written for ``--rows`` real holdout rows' conditions. Measured:

* **texts/s end to end**: accepted texts / seconds for fit (n-gram index, example pool and its PII
  scrub) + model load (converted weights cached beforehand by a warm-up, as after the first run) +
  generation with its checks and regenerations; ``gen texts/s`` counts the generation alone;
* **conditioning**: an independent classifier (TF-IDF word 1-2-grams + logistic regression, balanced
  class weights) per conditioning column, trained on real training reviews only — not the text
  column's own verifier. Its balanced accuracy (mean recall over labels: always guessing the commonest
  label scores 1/labels) on the synthetic texts, against the values they were written for, and on
  real holdout texts; ``ratio`` = synthetic / real, the issue's target is >= 0.90 per column;
* **length**: KS distance between synthetic and real holdout word counts (target <= 0.15);
* **copies**: synthetic cells sharing an 8-word run with a training review (``text_memorisation``),
  and fallback texts (template) written by the column.

The machine is shared: the 1-minute load average before and after each model is printed with it.
``--release``: the user's view instead — ``synthstruct release`` as a whole process on a 200-row
slice of the clothing reviews (train 160, holdout 40) with ``--rows 40``, the schema
``evaluation/schemas/clothing_local.yaml`` (``Review Text`` on ``generator: local``, the model set by
``--models``), timed wall and CPU (the CLI process and its children), with the load average. (A
40-row *input* is blocked by the gate: its holdout would have 8 rows, fewer than the 20 needed.)

Options: ``--models`` (default: all registered), ``--rows`` (48), ``--max-length`` (words, default 115:
real reviews go up to 115), ``--threads`` (2), ``--batch-size`` (64), ``--example-words``,
``--examples-from-data``, ``--seed``. One model, no table: ``--one NAME`` (what the driver runs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CONDITIONS = ["Rating", "Department Name", "Recommended IND"]
TEXT = "Review Text"
DATA = next((d for d in (REPO.parent / "shared" / "datasets", REPO.parents[1] / "shared" / "datasets") if d.is_dir()),
            REPO.parent / "shared" / "datasets")  # a worktree sits one level deeper than the main checkout


def _load(data_dir: Path, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(data_dir / "womens_clothing_reviews.csv").dropna(subset=[TEXT] + CONDITIONS)
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)[CONDITIONS + [TEXT]]
    return frame.iloc[:2000].reset_index(drop=True), frame.iloc[2000:].reset_index(drop=True)


def _classifiers(train: pd.DataFrame, seed: int) -> dict[str, object]:
    """An independent TF-IDF + logistic-regression classifier per conditioning column (real train text)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    sample = train.sample(n=min(len(train), 12_000), random_state=seed)
    out = {}
    for col in CONDITIONS:
        clf = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                            LogisticRegression(max_iter=2000, class_weight="balanced"))
        clf.fit(sample[TEXT].astype(str), sample[col].astype(str))
        out[col] = clf
    return out


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import ks_2samp

    return float(ks_2samp(a, b).statistic)


def one(args: argparse.Namespace) -> dict[str, object]:
    """Fit and generate with one model; score the texts (numbers only, never a text)."""
    from sklearn.metrics import balanced_accuracy_score

    from synthstruct.evaluation.metric import EvaluationContext
    from synthstruct.evaluation.text_fidelity import text_memorisation
    from synthstruct.schema.io import schema_from_dict
    from synthstruct.text.column import TextColumnGenerator
    from synthstruct.text.local import LocalTextGenerator, load_model

    holdout, train = _load(args.data_dir, args.seed)
    options = {"model": args.one, "threads": args.threads, "batch_size": args.batch_size}
    options.update(json.loads(args.backend_json))
    warm = time.perf_counter()
    load_model(LocalTextGenerator(options=options).precision_, args.one)  # converted once, cached (not timed)
    warm_s = time.perf_counter() - warm
    from synthstruct.text import local

    local._LOADED.clear()  # the timed run loads from the cache, as a user's second run does
    spec = {"kind": "text", "generator": "local", "conditioned_on": CONDITIONS,
            "description": "a customer review of a clothing item bought online", "style": "first person, informal",
            "min_length": 10, "max_length": args.max_length, "backend": options,
            "examples_from_data": args.examples_from_data, "example_words": args.example_words or None}
    schema = schema_from_dict({"schema_version": 1, "name": "clothing_reviews", "columns": {
        "Rating": {"kind": "ordinal", "order": [1, 2, 3, 4, 5]}, "Department Name": {"kind": "categorical"},
        "Recommended IND": {"kind": "categorical", "categories": [0, 1]}, TEXT: spec}})
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    gen = TextColumnGenerator(schema.columns[TEXT], column=TEXT)  # type: ignore[arg-type]
    gen.fit(train[TEXT], train)
    gen.missing_share_ = 0.0
    fit_s = time.perf_counter() - t0
    synthetic = holdout.iloc[: args.rows][CONDITIONS].reset_index(drop=True)
    t1 = time.perf_counter()
    synthetic[TEXT] = gen.generate(synthetic, np.random.default_rng(args.seed))
    gen_s = time.perf_counter() - t1
    total_s = time.perf_counter() - t0
    load_after = os.getloadavg()
    texts = synthetic[TEXT].fillna("").astype(str)
    fallback = int(gen.stats_.get("fallback_texts", 0))
    accepted = int((texts.str.len() > 0).sum()) - fallback
    clfs = _classifiers(train, args.seed)
    out: dict[str, object] = {"model": args.one, "rows": args.rows, "accepted": accepted, "fallback": fallback,
                              "convert_or_load_s": round(warm_s, 1), "fit_s": round(fit_s, 1),
                              "generate_s": round(gen_s, 1), "texts_per_s": round(accepted / total_s, 2),
                              "gen_texts_per_s": round(accepted / gen_s, 2),
                              "regenerated": int(gen.stats_.get("regenerated", 0)),
                              "rounds": int(gen.stats_.get("rounds", 0)),
                              "load_before": [round(x, 2) for x in load_before],
                              "load_after": [round(x, 2) for x in load_after]}
    for col, clf in clfs.items():
        syn = balanced_accuracy_score(synthetic[col].astype(str), clf.predict(texts))  # type: ignore[attr-defined]
        real = balanced_accuracy_score(holdout[col].astype(str), clf.predict(holdout[TEXT].astype(str)))  # type: ignore[attr-defined]
        out[f"bacc.{col}"] = [round(float(syn), 3), round(float(real), 3), round(float(syn / real), 3)]
    syn_words = np.array([len(t.split()) for t in texts])
    real_words = holdout[TEXT].astype(str).str.split().str.len().to_numpy()
    out["mean_words"] = [round(float(syn_words.mean()), 1), round(float(real_words.mean()), 1)]
    out["ks_words"] = round(_ks(syn_words, real_words), 3)
    ctx = EvaluationContext(train=train, synthetic=synthetic, schema=schema, holdout=holdout, seed=args.seed,
                            options={"text_embeddings": False})
    mem = text_memorisation(ctx).details["columns"][TEXT]["synthetic"]
    out["copied_cells"] = mem.get("copied_ngram_cells")
    out["pii_replay_cells"] = mem.get("pii_replay_cells")
    out["distinct_texts"] = int(texts.nunique())
    return out


def release(args: argparse.Namespace, name: str) -> dict[str, object]:
    """One whole-process ``synthstruct release`` writing 40 rows with the review column on ``model: name``."""
    import resource
    import tempfile

    import yaml

    holdout, train = _load(args.data_dir, args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-text-release-") as tmp:
        data = Path(tmp) / "clothing200.csv"
        pd.concat([train, holdout]).sample(n=200, random_state=args.seed).to_csv(data, index=False)
        schema = yaml.safe_load((REPO / "evaluation" / "schemas" / "clothing_local.yaml").read_text())
        schema["columns"] = {k: v for k, v in schema["columns"].items() if k in [*CONDITIONS, TEXT]}
        schema["columns"][TEXT]["backend"] = {"model": name, "threads": args.threads, **json.loads(args.backend_json)}
        schema["columns"][TEXT].update(json.loads(args.column_json))
        (Path(tmp) / "schema.yaml").write_text(yaml.safe_dump(schema, sort_keys=False))
        env = {**os.environ, "SYNTHSTRUCT_HOME": str(Path(tmp) / "home"),
               "SYNTHSTRUCT_CACHE": os.environ.get("SYNTHSTRUCT_CACHE", str(Path.home() / ".cache" / "synthstruct"))}
        cmd = [sys.executable, "-m", "synthstruct", "release", str(data), "-s", str(Path(tmp) / "schema.yaml"),
               "-o", str(Path(tmp) / "out"), "--rows", "40", "--seed", str(args.seed), "--target", "none"]
        before, cpu0 = os.getloadavg(), resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(REPO), check=False)
        wall = time.perf_counter() - t
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out: dict[str, object] = {"model": name, "backend": schema["columns"][TEXT]["backend"],
                                  "column": json.loads(args.column_json), "exit": proc.returncode,
                                  "wall_s": round(wall, 1),
                                  "cpu_s": round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 1),
                                  "load_before": [round(x, 2) for x in before],
                                  "load_after": [round(x, 2) for x in os.getloadavg()]}
        report = Path(tmp) / "out" / "report.json"
        if report.is_file():
            rep = json.loads(report.read_text())
            out["timings"] = {k: v for k, v in rep.get("timings", {}).items() if k != "metrics"}
            out["text"] = {k.split(".")[-1]: v for k, v in rep.get("sampling", {}).items()
                           if k.startswith(f"text.{TEXT}.") and v}
        return out


def _table(results: list[dict[str, object]]) -> str:
    head = ["model", "texts/s e2e", "gen texts/s", "fit s", "gen s", "fallback", "regen",
            *[f"bacc {c} syn/real (ratio)" for c in CONDITIONS], "KS words", "mean words syn/real", "copied",
            "load before->after"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in results:
        cells = [r["model"], r["texts_per_s"], r["gen_texts_per_s"], r["fit_s"], r["generate_s"], r["fallback"],
                 r["regenerated"]]
        cells += [f"{r[f'bacc.{c}'][0]} / {r[f'bacc.{c}'][1]} ({r[f'bacc.{c}'][2]})" for c in CONDITIONS]  # type: ignore[index]
        cells += [r["ks_words"], f"{r['mean_words'][0]} / {r['mean_words'][1]}", r["copied_cells"],  # type: ignore[index]
                  f"{r['load_before'][0]} -> {r['load_after'][0]}"]  # type: ignore[index]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=DATA)
    p.add_argument("--models", default="", help="comma-separated registry names (default: all)")
    p.add_argument("--rows", type=int, default=48)
    p.add_argument("--max-length", type=int, default=115)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--examples-from-data", type=int, default=3)
    p.add_argument("--example-words", type=int, default=0, help="0: the schema default (none beyond the row's budget)")
    p.add_argument("--backend-json", default="{}", help="extra backend options as JSON, e.g. '{\"precision\": \"float32\"}'")
    p.add_argument("--column-json", default="{}",
                   help="--release: text column fields as JSON, e.g. '{\"candidates\": 2, \"rounds\": 3}'")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--release", action="store_true", help="time a whole-process 40-row release per model instead")
    p.add_argument("--one", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.release:
        from synthstruct.text.models import DEFAULT_MODEL

        for name in [m for m in args.models.split(",") if m] or [DEFAULT_MODEL]:
            sys.stdout.write("release " + json.dumps(release(args, name)) + "\n")
        return
    if args.one:
        sys.stdout.write("RESULT " + json.dumps(one(args)) + "\n")
        return
    from synthstruct.text.models import model_names

    names = [m for m in args.models.split(",") if m] or model_names()
    results = []
    for name in names:
        cmd = [sys.executable, __file__, "--one", name, *sys.argv[1:]]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        if proc.returncode or not line:
            sys.stderr.write(f"{name}: failed (exit {proc.returncode})\n{proc.stderr[-3000:]}\n")
            continue
        results.append(json.loads(line[-1][7:]))
        sys.stdout.write(json.dumps(results[-1]) + "\n")
        sys.stdout.flush()
    settings = {k: getattr(args, k) for k in ("rows", "max_length", "threads", "batch_size", "examples_from_data",
                                              "example_words", "backend_json", "seed")}
    sys.stdout.write(f"\nclothing reviews, settings {settings}\n{_table(results)}\n")


if __name__ == "__main__":
    main()
