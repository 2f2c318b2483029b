"""Benchmark of free-text generation (``python evaluation/bench_text.py``).

1. Throughput of the embedded model (``local`` backend): rows/s for ~60-token texts, batched; the
   machine is shared, so the load average before and after is printed with the result.
2. Womens clothing reviews: ``Review Text`` conditioned on Rating, Department Name and Recommended IND,
   written for real holdout rows' conditioning values, then scored with the report's metrics
   (:mod:`synthstruct.evaluation.text_fidelity`): ``text_memorisation`` — texts sharing an 8-word run
   with training text, and PII replay (a PII span in generated text equal, as a whole normalised span
   of the same entity type, to one found in training text) — with the real holdout's counts as the
   reference; ``text_fidelity`` — length shape, distinct-n, embedding centroid and label consistency
   (TF-IDF + logistic regression trained on real text -> each conditioning column).

3. ``--dataset harper_valley``: bank call transcripts (``../shared/datasets/harper_valley_bank_transcripts.csv``)
   with ``intent`` / ``turns`` / ``words`` derived by :mod:`harper_valley` (keyword rules), the schema
   ``schemas/customer_service/call_transcripts.yaml`` (``transcript`` conditioned on ``intent``, written
   in two steps: outline, then dialogue). The transcript column is fitted on 80 % of the calls and
   written for ``--rows`` holdout rows' intents, then scored like part 2, plus two direct checks the
   metrics cannot make on lower-case text (the PII scanner finds no span in it): cells containing a
   full caller name of the training calls (whole words, any case) and the share of texts whose own
   keyword intent equals the intent they were written for. With ``--pii-avoid`` (default) the PII
   scrub redraws Faker values that occur in the training text (:class:`ReservedValues`).

Options: ``--dataset clothing|harper_valley``, ``--backend local|template|openai``, ``--rows`` (texts
for part 2 / 3), ``--throughput-rows``, ``--batch-size``, ``--threads``, ``--precision`` (local backend,
all parts), ``--embed-rows``, ``--skip-throughput``, ``--no-pii-avoid``, ``--no-steps``, ``--judge N``
(clothing: LLM-as-judge on N synthetic, real and junk reviews), ``--throughput-words N`` (answers of at least N
words: the ceiling of a text column of N-word texts), ``--throughput-only``, ``--cache-steps`` (seconds per decoding
step, growing vs static key/value cache), ``--dump`` (CSV of the
generated rows, for reading them; never printed).
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
sys.path.insert(0, str(Path(__file__).resolve().parent))  # harper_valley.py next to this file
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from synthstruct.schema.model import Schema  # noqa: E402 - after the sys.path / environment set-up above
from synthstruct.text.base import TextRequest  # noqa: E402 - after the sys.path / environment set-up above
from synthstruct.text.column import TextColumnGenerator  # noqa: E402 - after the sys.path / environment set-up above

CONDITIONS = ["Rating", "Department Name", "Recommended IND"]
log = logging.getLogger("bench_text")


def throughput(rows: int, batch_size: int, threads: int, precision: str, words: int = 0) -> dict[str, object]:
    """Rows/s of short chat prompts (no examples, no checks): ~60-token answers, or with ``words`` answers of
    at least that many words (the backend does not let them end sooner) — the ceiling of any text column."""
    from synthstruct.text.local import LocalTextGenerator, load_model

    t = time.perf_counter()
    gen = LocalTextGenerator(options={"batch_size": batch_size, "threads": threads,
                                      "max_new_tokens": 0 if words else 60, "precision": precision})
    load_model(gen.precision_)
    load_s = time.perf_counter() - t
    items = ["dress", "jacket", "sweater", "skirt", "blouse", "jeans"]
    n = words or 40
    reqs = [TextRequest(messages=({"role": "system", "content": "You write realistic product reviews."},
                                  {"role": "user", "content": f"Write a review of a {items[i % 6]}. Rating {1 + i % 5} "
                                                              f"of 5. About {n} words."}),
                        max_words=n + 15 if words else n, target_words=n, min_words=words, seed=i)
            for i in range(rows)]
    gen.generate(reqs[:2], seed=99)  # warm-up: the first call packs the model's weights
    before, tokens = os.getloadavg(), gen.stats_["generated_tokens"]
    t = time.perf_counter()
    texts = gen.generate(reqs, seed=0)
    dt = time.perf_counter() - t
    return {"load_s": round(load_s, 2), "rows": rows, "seconds": round(dt, 2), "rows_per_s": round(rows / dt, 3),
            "mean_words": round(float(np.mean([len(x.split()) for x in texts])), 1),
            "tokens_per_s": round((gen.stats_["generated_tokens"] - tokens) / dt, 1), "batch_size": batch_size,
            "threads": threads, "precision": gen.precision_, "loadavg_before": before, "loadavg_after": os.getloadavg()}


def cache_steps(threads: int, precision: str, *, batch: int = 64, prompt_tokens: int = 250,
                steps: int = 40) -> dict[str, object]:
    """Seconds per decoding step of transformers' ``generate`` with its growing cache vs a static cache (the
    backend's own loop, :mod:`synthstruct.text.decode`, decodes into a static cache but is not timed here)."""
    import torch

    from synthstruct.text.local import load_model

    tok, model = load_model(precision)
    torch.set_num_threads(threads)
    ids = torch.randint(100, 20000, (batch, prompt_tokens), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    out: dict[str, object] = {"batch": batch, "prompt_tokens": prompt_tokens, "loadavg_before": os.getloadavg()}
    with torch.inference_mode():
        for name, impl in (("dynamic", None), ("static", "static")):
            kw = {"attention_mask": mask, "do_sample": False, "cache_implementation": impl,
                  "pad_token_id": tok.pad_token_id}
            t = time.perf_counter()
            model.generate(input_ids=ids, max_new_tokens=1, **kw)
            prefill = time.perf_counter() - t
            t = time.perf_counter()
            model.generate(input_ids=ids, max_new_tokens=steps + 1, min_new_tokens=steps + 1, **kw)
            out[f"{name}.prefill_s"] = round(prefill, 2)
            out[f"{name}.step_s"] = round((time.perf_counter() - t - prefill) / steps, 3)
    return out


def judge_scores(spec_column: object, column: str, contexts: list[dict[str, str]], groups: dict[str, list[str]],
                 options: dict[str, object]) -> dict[str, object]:
    """LLM-as-judge with the local backend on each group of texts (e.g. synthetic, real, junk)."""
    from synthstruct.text.judge import judge_texts
    from synthstruct.text.local import LocalTextGenerator

    backend = LocalTextGenerator(options=options, column=column)
    out: dict[str, object] = {}
    for name, texts in groups.items():
        _, numbers = judge_texts(backend, spec_column, column, contexts[: len(texts)], texts,  # type: ignore[arg-type]
                                 list(range(len(texts))), seed=0)
        out.update({f"judge.{name}.{k}": v for k, v in numbers.items()
                    if k in ("judge_scored", "judge_unparsed", "judge_mean")})
    return out


def _clothing_schema(backend: str, options: dict[str, object]) -> Schema:
    from synthstruct.schema.io import schema_from_dict

    return schema_from_dict({"schema_version": 1, "name": "clothing_reviews", "columns": {
        "Rating": {"kind": "ordinal", "order": [1, 2, 3, 4, 5]},
        "Department Name": {"kind": "categorical"},
        "Recommended IND": {"kind": "categorical", "categories": [0, 1]},
        "Review Text": {"kind": "text", "generator": backend, "conditioned_on": CONDITIONS,
                        "description": "a customer review of a clothing item bought online",
                        "style": "first person, informal", "min_length": 10, "max_length": 60,
                        "backend": options},
    }})


_MEMO_KEYS = ("copied_ngram_cells", "pii_spans", "pii_replay_cells", "pii_replay_by_entity")


def _memorisation_numbers(mem_col: dict, keys: tuple[str, ...]) -> dict[str, object]:
    """``text_memorisation`` counts of one column, synthetic and holdout."""
    return {f"{part}.{k}": mem_col[part].get(k) for part in ("synthetic", "holdout") for k in keys}


def _fidelity_numbers(fid: object, fid_col: dict, stats: dict) -> dict[str, object]:
    """``text_fidelity`` numbers of one column (length, diversity, embedding, labels) and the generator's counts."""
    out: dict[str, object] = {"length_score": fid.value, "length_score_reference": fid.reference,  # type: ignore[attr-defined]
                              "mean_words": fid_col["mean_words"], "real_mean_words": fid_col["real_mean_words"]}
    out.update({f"diversity.{k}": v for k, v in fid_col["diversity"].items()})
    out.update({f"embedding.{k}": v for k, v in fid_col["embedding"].items()})
    for label, res in fid_col["label_consistency"].items():
        out.update({f"labels.{label}.{k}": res.get(k) for k in ("synthetic_accuracy", "holdout_accuracy",
                                                                 "majority_share")})
    out.update({f"stat.{k}": v for k, v in stats.items()})
    return out


def clothing(data_dir: Path, backend: str, rows: int, seed: int, embed_rows: int,
             options: dict[str, object], *, judge: int = 0) -> dict[str, object]:
    """Generate ``rows`` reviews for holdout rows' conditions; score them with the report's text metrics."""
    from synthstruct.evaluation.metric import EvaluationContext
    from synthstruct.evaluation.text_fidelity import text_fidelity, text_memorisation

    frame = pd.read_csv(data_dir / "womens_clothing_reviews.csv").dropna(subset=["Review Text"] + CONDITIONS)
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)[CONDITIONS + ["Review Text"]]
    holdout, train = frame.iloc[:2000].reset_index(drop=True), frame.iloc[2000:].reset_index(drop=True)
    schema = _clothing_schema(backend, options)
    gen = TextColumnGenerator(schema.columns["Review Text"], column="Review Text")  # type: ignore[arg-type]
    t = time.perf_counter()
    gen.fit(train["Review Text"], train)
    gen.missing_share_ = 0.0
    synthetic = holdout.iloc[:rows][CONDITIONS].reset_index(drop=True)
    synthetic["Review Text"] = gen.generate(synthetic, np.random.default_rng(seed))
    gen_s = time.perf_counter() - t
    ctx = EvaluationContext(train=train, synthetic=synthetic, schema=schema, holdout=holdout, seed=seed,
                            options={"text_embed_rows": embed_rows})
    t = time.perf_counter()
    memo, fid = text_memorisation(ctx), text_fidelity(ctx)
    eval_s = time.perf_counter() - t
    mem_col, fid_col = memo.details["columns"]["Review Text"], fid.details["columns"]["Review Text"]
    out: dict[str, object] = {"backend": backend, "options": options, "texts": int(synthetic["Review Text"].notna().sum()),
                              "generate_s": round(gen_s, 1), "rows_per_s": round(rows / gen_s, 2),
                              "evaluate_s": round(eval_s, 1), "text_memorisation": memo.value,
                              "text_memorisation_reference": memo.reference,
                              "train_texts": mem_col["train_texts"], "train_pii_values": mem_col["train_pii_values"]}
    out.update(_memorisation_numbers(mem_col, ("texts", *_MEMO_KEYS)))
    out.update(_fidelity_numbers(fid, fid_col, gen.stats_))
    if judge:
        n = min(judge, len(synthetic))
        contexts = [{c: str(v) for c, v in row.items()} for row in synthetic[CONDITIONS].to_dict("records")]
        real_contexts = [{c: str(v) for c, v in row.items()} for row in holdout[CONDITIONS].to_dict("records")]
        spec = schema.columns["Review Text"]
        out.update(judge_scores(spec, "Review Text", contexts, {
            "synthetic": synthetic["Review Text"].dropna().astype(str).tolist()[:n],
            "junk": ["asdf qwer zxcv lorem ipsum"] * n}, options))
        out.update(judge_scores(spec, "Review Text", real_contexts,
                                {"real": holdout["Review Text"].astype(str).tolist()[:n]}, options))
    out["loadavg"] = tuple(round(x, 2) for x in os.getloadavg())
    return out


def harper_valley_schema(backend: str, options: dict[str, object]) -> Schema:
    """The reviewed call-transcript schema with the transcript's generator / backend options replaced."""
    from synthstruct.schema.io import load_schema

    schema = load_schema(REPO / "schemas" / "customer_service" / "call_transcripts.yaml")
    spec = schema.columns["transcript"]
    merged = {**spec.backend, **options} if backend == spec.generator else dict(options)
    columns = {**schema.columns, "transcript": spec.model_copy(update={"generator": backend, "backend": merged})}
    return schema.model_copy(update={"columns": columns})


def _faker_name_collisions(names: set[str], *, draws: int, seed: int) -> int:
    """How many of ``draws`` Faker ``name()`` values are exactly (case-folded) a caller's full name."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    return sum(" ".join(fake.name().lower().split()) in names for _ in range(draws))


def _name_cells(texts: pd.Series, names: set[str]) -> int:
    """Texts containing one of ``names`` as whole words (any case)."""
    import re

    if not names:
        return 0
    pattern = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, names))) + r")\b")
    return int(sum(bool(pattern.search(" ".join(str(t).lower().split()))) for t in texts))


def harper_valley(data_dir: Path, backend: str, rows: int, seed: int, embed_rows: int,
                  options: dict[str, object], *, pii_avoid: bool = True, dump: Path | None = None,
                  steps: bool = True) -> dict[str, object]:
    """Generate ``rows`` call transcripts for holdout rows' intents; score them (numbers only)."""
    import harper_valley as hv

    from synthstruct.evaluation.metric import EvaluationContext
    from synthstruct.evaluation.text_fidelity import text_fidelity, text_memorisation

    frame = hv.load_harper_valley(data_dir / "harper_valley_bank_transcripts.csv")
    coverage = hv.rule_coverage(frame["transcript"])
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    cut = len(frame) // 5
    holdout, train = frame.iloc[:cut].reset_index(drop=True), frame.iloc[cut:].reset_index(drop=True)
    schema = harper_valley_schema(backend, options)
    spec = schema.columns["transcript"]
    if not steps:
        spec = spec.model_copy(update={"steps": []})
    gen = TextColumnGenerator(spec, column="transcript")  # type: ignore[arg-type]
    t = time.perf_counter()
    gen.fit(train["transcript"], train)
    if not pii_avoid:
        gen.reserved_ = None
    fit_s = time.perf_counter() - t
    gen.missing_share_ = 0.0
    synthetic = holdout.iloc[:rows].drop(columns=["transcript"]).reset_index(drop=True)
    before = os.getloadavg()
    t = time.perf_counter()
    synthetic["transcript"] = gen.generate(synthetic, np.random.default_rng(seed))
    gen_s = time.perf_counter() - t
    if dump is not None:
        synthetic.to_csv(dump, index=False)
    ctx = EvaluationContext(train=train, synthetic=synthetic, schema=schema, holdout=holdout, seed=seed,
                            options={"text_embed_rows": embed_rows})
    t = time.perf_counter()
    memo, fid = text_memorisation(ctx), text_fidelity(ctx)
    eval_s = time.perf_counter() - t
    mem_col, fid_col = memo.details["columns"]["transcript"], fid.details["columns"]["transcript"]
    names = hv.caller_names(train["transcript"])
    out_faker = _faker_name_collisions(hv.caller_names(frame["transcript"]), draws=20_000, seed=seed)
    texts = synthetic["transcript"].dropna().astype(str)
    out: dict[str, object] = {
        "backend": backend, "options": options, "pii_avoid": pii_avoid, "steps": len(spec.steps), "train_calls": len(train),
        "holdout_calls": len(holdout), "rule_covered_share": coverage["covered_share"],
        "rule_several_match": coverage["several_rules_match"], "texts": len(texts), "fit_s": round(fit_s, 1),
        "generate_s": round(gen_s, 1), "rows_per_s": round(rows / gen_s, 3), "evaluate_s": round(eval_s, 1),
        "loadavg_before": tuple(round(x, 2) for x in before),
        "text_memorisation": memo.value, "text_memorisation_reference": memo.reference,
        "train_pii_values": mem_col["train_pii_values"], "train_caller_names": len(names),
        "faker_names_equal_to_a_caller_name_of_20000": out_faker,
    }
    out.update(_memorisation_numbers(mem_col, _MEMO_KEYS))
    out["synthetic.caller_name_cells"] = _name_cells(texts, names)
    out["holdout.caller_name_cells"] = _name_cells(holdout["transcript"], names)
    out["synthetic.keyword_intent_agreement"] = round(float(np.mean(
        [hv.derive_intent(x.lower()) == y for x, y in zip(texts, synthetic.loc[texts.index, "intent"])])), 3)
    out["synthetic.keyword_intent_other"] = int(sum(hv.derive_intent(x.lower()) == "other" for x in texts))
    out.update(_fidelity_numbers(fid, fid_col, gen.stats_))
    out["loadavg_after"] = tuple(round(x, 2) for x in os.getloadavg())
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "datasets")
    p.add_argument("--backend", default="local")
    p.add_argument("--rows", type=int, default=64)
    p.add_argument("--throughput-rows", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--precision", default="auto", choices=["auto", "float32", "bfloat16"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--embed-rows", type=int, default=500, help="texts per frame for the embedding centroid")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--throughput-words", type=int, default=0,
                   help="answers of at least this many words in the throughput part (0: ~60 tokens)")
    p.add_argument("--throughput-only", action="store_true", help="stop after the throughput part")
    p.add_argument("--dataset", default="clothing", choices=["clothing", "harper_valley"])
    p.add_argument("--no-pii-avoid", dest="pii_avoid", action="store_false",
                   help="harper_valley: scrub PII without avoiding training values (the behaviour before)")
    p.add_argument("--judge", type=int, default=0,
                   help="clothing: LLM-as-judge (local backend) on this many synthetic, real and junk reviews")
    p.add_argument("--cache-steps", action="store_true",
                   help="also time a decoding step with the growing vs the static key/value cache")
    p.add_argument("--no-steps", dest="steps", action="store_false",
                   help="harper_valley: write the transcript in one step (no outline first)")
    p.add_argument("--dump", type=Path, default=None, help="harper_valley: write the generated rows to this CSV")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not args.skip_throughput:
        for k, v in throughput(args.throughput_rows, args.batch_size, args.threads, args.precision,
                               args.throughput_words).items():
            sys.stdout.write(f"throughput {k}: {v}\n")
        if args.throughput_only:
            return
    if args.cache_steps:
        for k, v in cache_steps(args.threads, args.precision).items():
            sys.stdout.write(f"cache {k}: {v}\n")
    local = ({"batch_size": args.batch_size, "threads": args.threads, "precision": args.precision}
             if args.backend == "local" else {})
    if args.dataset == "harper_valley":
        result = harper_valley(args.data_dir, args.backend, args.rows, args.seed, args.embed_rows, local,
                               pii_avoid=args.pii_avoid, dump=args.dump, steps=args.steps)
    else:
        result = clothing(args.data_dir, args.backend, args.rows, args.seed, args.embed_rows, local,
                          judge=args.judge)
    for k, v in result.items():
        sys.stdout.write(f"{args.dataset} {k}: {v}\n")


if __name__ == "__main__":
    main()
