"""The CTranslate2 runtime of the ``local`` backend (``backend: {runtime: ctranslate2}``; ``auto`` picks it
when the ``ctranslate2`` package is installed and the model's architecture is in :data:`SUPPORTED`).

The weights are the ``transformers`` folder :func:`synthstruct.text.local.load_model` caches (dequantised
from the GGUF once), converted once more by ``ctranslate2.converters.TransformersConverter`` to an int8
model (weights int8, activations float32 — ``int8`` and ``int8_float32`` are the same on CPU) and cached
next to it as ``<weights folder>-ct2-int8``, written to a temporary folder and renamed. Nothing is
downloaded: the source is the installed GGUF package.

Generation (:func:`generate_batch`): every prompt of a call is left-filled with the model's document
separator token (``<|endoftext|>`` for SmolLM2) to the longest prompt's length, so the whole batch is
prefilled in one forward pass and all rows start their answer at the same step (CTranslate2 otherwise
prefills only up to the shortest prompt and feeds the rest token by token, which is slower and puts
prompt tokens under the repetition penalty). Sampling is CTranslate2's own (temperature, top-k, then
top-p); the repetition penalty therefore sees the answer only, as in the ``transformers`` runtime.
Finished rows leave the batch (the ``transformers`` runtime keeps decoding them until the longest row
ends).

Determinism: CTranslate2 draws from one random generator per worker thread, seeded from
``ctranslate2.set_random_seed`` when the thread first samples and never again. So each call gets a
fresh ``Generator`` (a new worker thread) right after setting the call's seed, under a lock; the model
file stays in the page cache, and loading it costs well under a second against seconds of decoding.
Same prompts, seed, batch and thread count give the same bytes.

A per-request minimum answer length (a ``min_words`` attribute on the request, 0 when absent) maps to
CTranslate2's ``min_length`` (end tokens — end of line for document prompts, end of turn for chat — are
disabled until that many answer tokens are written); ``min_length`` is one value per call, so requests
are grouped by it.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from synthstruct.errors import InputError, Problem

__all__ = ["SUPPORTED", "available", "converted_dir", "ensure_converted", "generate_batch", "min_tokens", "supports"]

log = logging.getLogger(__name__)

#: transformers architectures the ``auto`` runtime sends to CTranslate2 (measured; see ``docs/text.md``).
#: ``runtime: ctranslate2`` tries any architecture CTranslate2's converter knows.
SUPPORTED = ("LlamaForCausalLM",)
QUANTIZATION = "int8"
#: Tokens per word for a minimum length (fewer than the budget's 1.5: a minimum must not overshoot).
MIN_TOKENS_PER_WORD = 1.2
_LOCK = threading.Lock()
_FILLERS = ("<|endoftext|>",)


def available() -> bool:
    """Whether the ``ctranslate2`` package is importable."""
    import importlib.util

    return importlib.util.find_spec("ctranslate2") is not None


def supports(weights: Path) -> bool:
    """Whether ``auto`` uses CTranslate2 for the transformers weights in ``weights`` (by architecture)."""
    import json

    try:
        config = json.loads((weights / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return any(a in SUPPORTED for a in config.get("architectures") or [])


def converted_dir(weights: Path, quantization: str = QUANTIZATION) -> Path:
    """Cache folder of the CTranslate2 model converted from the transformers folder ``weights``."""
    return weights.with_name(f"{weights.name}-ct2-{quantization}")


def ensure_converted(weights: Path, quantization: str = QUANTIZATION) -> Path:
    """The CTranslate2 model for ``weights``, converted once (:func:`synthstruct.dataio.atomic_directory`).

    Raises:
        InputError: CTranslate2 cannot convert this architecture.
        FileAccessError: the cache folder cannot be written.
    """
    target = converted_dir(weights, quantization)
    if (target / "model.bin").is_file():
        return target
    from ctranslate2.converters import TransformersConverter

    from synthstruct.dataio import atomic_directory

    log.info("converting the local model to CTranslate2 %s once (cached in %s)", quantization, target)
    with atomic_directory(target, overwrite=True) as tmp:  # another process converting too: the last one wins
        try:
            TransformersConverter(str(weights), low_cpu_mem_usage=True).convert(str(tmp), quantization=quantization,
                                                                                force=True)
        except (ValueError, NotImplementedError) as exc:
            raise InputError("the local model cannot run on CTranslate2", [Problem(
                f"generator: local ({weights.name})", f"CTranslate2 cannot convert it ({type(exc).__name__})",
                "set backend runtime: transformers")]) from None
    return target


def min_tokens(request: Any) -> int:
    """The request's minimum answer length in tokens (its ``min_words``, if it has one), at least 1."""
    return max(1, math.ceil(int(request.min_words) * MIN_TOKENS_PER_WORD))


def _filler(tok: Any) -> int:
    vocab = tok.get_vocab()
    for name in _FILLERS:
        if name in vocab:
            return int(vocab[name])
    return int(tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id)


def generate_batch(model_dir: Path, tok: Any, prompts: Sequence[str], *, seed: int, threads: int, budget: int,
                   min_length: int, end_ids: list[int], temperature: float, top_k: int, top_p: float,
                   repetition_penalty: float, max_prompt: int) -> tuple[list[list[int]], int]:
    """Answer token ids per prompt (end token included when it ended the answer) and the padded prompt length.

    One call: prompts are cut from the left to ``max_prompt`` tokens and left-filled to equal length.
    """
    import ctranslate2

    ids = [tok(p, add_special_tokens=True).input_ids[-max_prompt:] for p in prompts]
    width = max(len(x) for x in ids)
    fill = _filler(tok)
    tokens = [tok.convert_ids_to_tokens([fill] * (width - len(x)) + list(x)) for x in ids]
    sample = temperature > 0
    with _LOCK:  # the seed is read by the new generator's worker thread at its first draw
        ctranslate2.set_random_seed(int(seed) % (2**32 - 1))
        generator = ctranslate2.Generator(str(model_dir), device="cpu", compute_type="int8_float32",
                                          intra_threads=max(int(threads), 0), inter_threads=1)
        results = generator.generate_batch(
            tokens, max_length=budget, min_length=min(min_length, budget), include_prompt_in_result=False,
            end_token=end_ids, return_end_token=True, repetition_penalty=float(repetition_penalty),
            sampling_topk=int(top_k) if sample else 1, sampling_topp=float(top_p) if sample else 1.0,
            sampling_temperature=float(temperature) if sample else 1.0)
        del generator
    return [list(r.sequences_ids[0]) for r in results], width
