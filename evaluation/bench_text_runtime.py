"""Raw decoding speed of the ``local`` backend's two runtimes (``python evaluation/bench_text_runtime.py``).

The same batch (``--batch`` rows of ``--prompt-tokens`` fixed pseudo-random token ids, SmolLM2-135M) is
run through each runtime twice: one new token (the prefill) and ``--new-tokens`` forced new tokens
(end token disabled, so both runtimes decode the same number of steps; sampled at temperature 0.8,
top-k 50, top-p 0.95). Reported per runtime: wall and CPU seconds (this process, all threads) of the
prefill and of the decoding after it, and decoded tokens per wall / CPU second. ``transformers`` runs
at ``--precision`` (auto: bfloat16 where the CPU has it natively) through transformers' own
``generate`` with a static cache — not the backend's decoding loop (:mod:`synthstruct.text.decode`,
which prefills in groups and sheds finished rows; a release measures that loop, see
``bench_text_models.py --release``); ``ctranslate2`` runs the cached int8 model. The machine is shared: the load average before
each run is printed with it; CPU seconds are the comparable figure on a busy machine. One JSON line
per runtime on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _ids(batch: int, length: int) -> list[list[int]]:
    return [[1000 + (7 * i + 13 * j) % 20000 for j in range(length)] for i in range(batch)]


def _timed(fn, steps: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    out: dict[str, object] = {"loadavg_before": [round(x, 2) for x in os.getloadavg()]}
    for name, n in (("prefill", 1), ("total", steps + 1)):
        c, t = _cpu(), time.perf_counter()
        fn(n)
        out[f"{name}_wall_s"], out[f"{name}_cpu_s"] = round(time.perf_counter() - t, 2), round(_cpu() - c, 2)
    return out


def transformers_run(args: argparse.Namespace) -> dict[str, object]:
    import torch

    from synthstruct.text.local import _resolve_precision, load_model

    precision = _resolve_precision(args.precision)
    tok, model = load_model(precision)
    torch.set_num_threads(args.threads)
    ids = torch.tensor(_ids(args.batch, args.prompt_tokens))
    from synthstruct.text.local import _sampler

    def run(n: int) -> None:
        rng = torch.Generator().manual_seed(0)
        with torch.inference_mode():
            model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, min_new_tokens=n,
                           do_sample=False, cache_implementation="static", pad_token_id=tok.pad_token_id,
                           logits_processor=[_sampler(0.8, 0.95, 50, rng)])

    return {"runtime": "transformers", "precision": precision, **_timed(run, args.new_tokens)}


def ct2_run(args: argparse.Namespace) -> dict[str, object]:
    import ctranslate2

    from synthstruct.text.local import load_ct2

    loaded = load_ct2(require=True)
    assert loaded is not None
    tok, folder = loaded
    gen = ctranslate2.Generator(str(folder), intra_threads=args.threads, compute_type="int8_float32")
    tokens = [tok.convert_ids_to_tokens(x) for x in _ids(args.batch, args.prompt_tokens)]

    def run(n: int) -> None:
        gen.generate_batch(tokens, max_length=n, min_length=n, include_prompt_in_result=False, sampling_topk=50,
                           sampling_topp=0.95, sampling_temperature=0.8, repetition_penalty=1.08)

    return {"runtime": "ctranslate2", "compute_type": "int8_float32", **_timed(run, args.new_tokens)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runtimes", default="ctranslate2,transformers")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--new-tokens", type=int, default=40)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--precision", default="auto", choices=["auto", "float32", "bfloat16"])
    args = p.parse_args()
    for name in args.runtimes.split(","):
        out = (ct2_run if name == "ctranslate2" else transformers_run)(args)
        decoded = args.batch * args.new_tokens
        dec_wall = float(out["total_wall_s"]) - float(out["prefill_wall_s"])  # type: ignore[arg-type]
        dec_cpu = float(out["total_cpu_s"]) - float(out["prefill_cpu_s"])  # type: ignore[arg-type]
        out.update({"batch": args.batch, "prompt_tokens": args.prompt_tokens, "new_tokens": args.new_tokens,
                    "threads": args.threads, "decode_tokens_per_wall_s": round(decoded / max(dec_wall, 1e-9), 1),
                    "decode_tokens_per_cpu_s": round(decoded / max(dec_cpu, 1e-9), 1),
                    "prefill_tokens_per_cpu_s": round(args.batch * args.prompt_tokens
                                                      / max(float(out["prefill_cpu_s"]), 1e-9), 1)})  # type: ignore[arg-type]
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
