"""The per-column text generator that :class:`~synthstruct.synthesizers.table.TableSynthesizer` stores.

``fit`` learns only what is safe to keep: the missing share and a coarse word-count profile (saved),
plus — in memory only, never saved — salted n-gram hashes and (optionally) embeddings of the training
text for the memorisation checks, and a pool of PII-replaced training texts for row-matched few-shot
prompts (:mod:`synthstruct.text.examples`; ``examples_from_data: 0`` turns it off). ``generate`` receives the
synthetic rows, prompts the backend with each row's conditioning values and runs the checks of
:mod:`synthstruct.text.checks`; failing texts are regenerated a bounded number of times and every
count lands in ``stats_`` (and from there in the release report's ``sampling`` section).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.errors import InputError, Problem
from synthstruct.schema.model import TextColumn
from synthstruct.text.base import TextGenerator, TextRequest, get_text_backend
from synthstruct.text.checkpoint import Checkpoint
from synthstruct.text.checks import (
    Embedder,
    NgramIndex,
    ReservedValues,
    max_similarity,
    normalise,
    replace_pii,
    words,
)
from synthstruct.text.copy_guard import CopyGuard
from synthstruct.text.examples import ExamplePool
from synthstruct.text.prompts import (
    build_document,
    build_messages,
    clean_answer,
    format_value,
)
from synthstruct.text.select import (
    CHECKS,
    LENGTH_TOLERANCE,
    MIN_WORDS_SHARE,
    CallLog,
    Candidate,
    acceptance_rates,
    rank,
    score_candidates,
)
from synthstruct.text.verifier import TextVerifier

__all__ = ["TextColumnGenerator"]

log = logging.getLogger(__name__)

_CHUNK_KEYS = ("rounds", "regenerated", "rejected_empty", "rejected_short", "rejected_echo", "rejected_copied",
               "rejected_similar", "rejected_duplicate", "fallback_texts", "pii_replaced", "pii_redrawn", "pii_tagged",
               "pii_rescanned", "candidates", "selected_passing", "label_kept_as_real", *(f"passed_{c}" for c in CHECKS))
_STAT_KEYS = ("texts", "missing", *_CHUNK_KEYS, "memorisation_checked", "resumed_texts",
              "example_pool", "example_pii_replaced")
#: Texts "have sentences" when at least this share of the training texts holds a sentence end (``.``, ``!`` or
#: ``?`` before a space or the end): 0.99 of the clothing reviews, 0.82 of the airline tweets, none of the Harper
#: Valley call transcripts. Without sentences the local backend ends an answer at the word that reaches its target.
SENTENCE_TEXTS = 0.5
_SENTENCE_END = r"[.!?][\"')\]]*(?:\s|$)"
_STEP_WORDS = 30  # word budget of the steps before the last (an outline, a plan)
#: The candidates of one row in one round share their few-shot examples, hence their prompt, so the
#: ``local`` backend prefills it once for all of them (``share_prefill``); they differ by their sampling.
#: False: each candidate draws its own examples (the behaviour before session 15; a measurement lever).
#: A backend that decodes greedily (its ``temperature`` is 0) always gets examples drawn per candidate: one
#: prompt would give ``k`` identical answers.
SHARED_CANDIDATE_EXAMPLES = True
#: Rows with the same conditioning values and near target lengths (within :data:`PAGE_LENGTH_RATIO`) share one
#: draw of few-shot examples in a round, so up to this many rows (and their candidates) have one prompt page:
#: the ``local`` backend prefills it once and reads it once per decoding step (cascade attention). Each row
#: keeps its own target length, word budget and seed. 1: every row draws its own examples (before session 20).
#: Only with :data:`SHARED_CANDIDATE_EXAMPLES` and a sampling backend.
ROWS_PER_PAGE = 8
#: Rows share a page only when the longest target is at most this times the shortest (examples are picked
#: by nearness to the page's median target length).
PAGE_LENGTH_RATIO = 2.0
_NO_MODEL = ("placeholder", "template")
CHUNK_ROWS = 256


class TextColumnGenerator:
    """Row-conditioned text for one schema ``text`` column.

    Args:
        spec: The schema column (generator name, prompt fields, checks).
        column: Column name.
        backend: A ready backend (tests); by default built from ``spec.generator`` and ``spec.backend``.
    """

    #: TableSynthesizer passes the synthetic rows to :meth:`generate` instead of a row count.
    conditions_on_rows = True
    #: Rows per chunk: the unit of progress reports and checkpoints.
    chunk_rows: int = CHUNK_ROWS
    #: Called as ``progress(texts_done, texts_total)`` after each chunk (see :func:`rich_progress`).
    progress: Callable[[int, int], None] | None = None
    #: A directory (the output's temp dir) for the checkpoint file that makes :meth:`generate` resumable.
    checkpoint_dir: str | Path | None = None
    #: With :attr:`checkpoint_dir`, model answers not yet on disk never hold more than this many seconds
    #: of generation (the answers of every backend call are saved when the next call could pass it).
    checkpoint_seconds: float = 30.0
    #: The clock of :attr:`checkpoint_seconds` (tests pass a fake one).
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, spec: TextColumn, *, column: str, backend: TextGenerator | None = None) -> None:
        self.spec = spec
        self.column = column
        self._backend = backend

    # ------------------------------------------------------------------ fit
    def fit(self, series: pd.Series, frame: pd.DataFrame | None = None) -> TextColumnGenerator:
        """Learn the length profile and build the in-memory memorisation checks."""
        texts = series.dropna().astype(str)
        texts = texts[texts.str.strip() != ""]
        lengths = texts.str.split().str.len().to_numpy(dtype=float)
        self.missing_share_ = float(series.isna().mean()) if len(series) else 0.0
        self.length_quantiles_ = (np.quantile(lengths, np.linspace(0, 1, 11)).round().tolist()
                                  if lengths.size else [20.0] * 11)
        self.ngrams_: NgramIndex | None = NgramIndex(self.spec.ngram, shared_by=self.spec.ngram_shared_by).add(texts)
        self.train_embeddings_: np.ndarray | None = None
        if self.spec.similarity_threshold is not None and Embedder.available() and len(texts):
            self.train_embeddings_ = Embedder().encode(list(texts))
        ended = texts.str.contains(_SENTENCE_END) if len(texts) else pd.Series([True])
        self.sentence_ends_ = bool(ended.mean() >= SENTENCE_TEXTS)  # transcripts have none: answers end at a word
        self.copy_guard_: CopyGuard | None = None
        if self.spec.block_copies and self.spec.generator == "local" and len(texts):
            self.copy_guard_ = CopyGuard(self.ngrams_).add(texts)
        self.examples_ = list(self.spec.examples)
        self.example_pool_: ExamplePool | None = None
        self.reserved_: ReservedValues | None = None
        if self.spec.generator not in _NO_MODEL and len(texts):
            self.reserved_ = ReservedValues.from_texts(list(texts))  # PII replacements must not be real values
        self.verifier_: TextVerifier | None = TextVerifier(self.spec.conditioned_on).fit(
            texts, frame, format_value, exclude=self._pii_word)
        if self.reserved_ is not None and self.spec.examples_from_data:
            self.example_pool_ = ExamplePool(self.spec.conditioned_on, max_words=self.spec.example_words).fit(
                texts, frame, format_value).set_typicality(self.verifier_)
        self.backend_name_ = self.spec.generator
        self._make_backend()  # fail early on an unknown backend or bad option
        return self

    def _pii_word(self, entry: str) -> bool:
        """Whether a verifier vocabulary entry (a word or word pair) is, or holds, a PII span of the training text."""
        reserved = getattr(self, "reserved_", None)
        if reserved is None:
            return False
        from synthstruct.text.checks import _FAKE

        parts = [entry, *entry.split()] if " " in entry else [entry]
        return any(reserved.is_span(entity, part) for entity in _FAKE for part in parts)

    def _make_backend(self) -> TextGenerator:
        if self._backend is None:
            self._backend = get_text_backend(self.spec.generator, self.spec.backend, column=self.column)
        if self.checkpoint_dir is not None and hasattr(self._backend, "answer_cache"):
            from synthstruct.text.answer_cache import AnswerCache

            cache = getattr(self._backend, "answer_cache", None)
            if cache is None or cache.path.parent != Path(self.checkpoint_dir):
                self._backend.answer_cache = AnswerCache(Path(self.checkpoint_dir), self.column)
        if hasattr(self._backend, "sentence_ends"):
            self._backend.sentence_ends = getattr(self, "sentence_ends_", True)
        if hasattr(self._backend, "copy_guard"):  # only while the training texts are in memory (not loaded)
            self._backend.copy_guard = getattr(self, "copy_guard_", None)
        return self._backend

    def _fallback(self) -> TextGenerator | None:
        name = self.spec.backend.get("fallback")
        return get_text_backend(str(name), {}, column=self.column) if name else None

    # ------------------------------------------------------------------ generate
    def _bounds(self) -> tuple[int, int]:
        lo = self.spec.min_length if self.spec.min_length is not None else max(int(self.length_quantiles_[0]), 1)
        hi = self.spec.max_length if self.spec.max_length is not None else max(int(self.length_quantiles_[-1]), lo, 1)
        return int(lo), int(hi)

    def _targets(self, contexts: list[dict[str, str]], rng: np.random.Generator) -> np.ndarray:
        """A target word count per row, drawn from the real word counts of the row's class."""
        u = rng.random(len(contexts))
        lo, hi = self._bounds()
        verifier = getattr(self, "verifier_", None)
        if verifier is not None:
            raw = verifier.draw_lengths(contexts, u)
        else:  # a model saved before verifiers: the column's overall profile
            q = np.asarray(self.length_quantiles_, dtype=float)
            raw = np.interp(u, np.linspace(0, 1, q.size), q).round()
        return np.clip(raw, max(lo, 1), hi).astype(int)

    def _budget(self, target: int) -> int:
        """Most words a row's answer may have: the target times the length tolerance (at most ``max_length``)."""
        lo, hi = self._bounds()
        return int(min(hi, max(lo, math.ceil(target * LENGTH_TOLERANCE) + 2)))

    def _min_words(self, target: int) -> int:
        """Fewest words a row's answer may end at: :data:`MIN_WORDS_SHARE` of its target (at least
        ``min_length``; a backend that controls decoding does not end the answer before it)."""
        lo, _ = self._bounds()
        return int(min(max(lo, math.floor(target * MIN_WORDS_SHARE)), self._budget(target)))

    def _context(self, row: pd.Series) -> dict[str, str]:
        return {c: format_value(row[c]) for c in self.spec.conditioned_on if c in row.index}

    def _contexts(self, rows: pd.DataFrame) -> list[dict[str, str]]:
        cols = [c for c in self.spec.conditioned_on if c in rows.columns]
        values = {c: [format_value(v) for v in rows[c].tolist()] for c in cols}
        return [{c: values[c][i] for c in cols} for i in range(len(rows))]

    def _requests(self, rows: pd.DataFrame, pairs: list[tuple[int, int]], targets: np.ndarray, seeds: np.ndarray,
                  attempt: int, previous: dict[tuple[int, int], str] | None = None,
                  step: int | None = None, *, shared: bool) -> list[TextRequest]:
        """One request per ``(row, candidate)``; candidate 0 of round 0 has the row's own seed. ``shared``: the
        candidates of a row draw one set of examples (see :data:`SHARED_CANDIDATE_EXAMPLES`)."""
        out = []
        pool = getattr(self, "example_pool_", None)
        last = step is None or step == len(self.spec.steps) - 1
        contexts = {i: self._context(rows.iloc[i]) for i, _ in pairs}
        pages = self._pages(contexts, targets) if shared and pool is not None else {}

        def capped(words: int) -> int:  # the steps before the last (an outline, a plan) are short
            return words if last else min(words, _STEP_WORDS)

        for i, j in pairs:
            ctx = contexts[i]
            seed = int(seeds[i]) + 7919 * attempt + 15_485_863 * j
            target, budget = capped(int(targets[i])), capped(self._budget(int(targets[i])))
            examples = list(self.examples_)
            if pool is not None:
                lead, page_target = pages.get(i, (i, int(targets[i])))  # the page's first row and median target
                pick_seed = int(seeds[lead]) + 7919 * attempt if shared else seed
                examples += pool.pick(ctx, self.spec.examples_from_data, pick_seed, target_words=capped(page_target),
                                      max_words=capped(self._budget(page_target)))
            before = (previous or {}).get((i, j))
            msgs = build_messages(self.spec, self.column, ctx, target_words=target, examples=examples,
                                  step=step, previous=before)
            document = build_document(self.spec, self.column, ctx, examples=examples, previous=before) if last else ""
            out.append(TextRequest(messages=msgs, max_words=budget, target_words=target, context=ctx,
                                   seed=seed, document=document, min_words=self._min_words(target) if last else 0,
                                   steer=self._steer(ctx) if last else ()))
        return out

    @staticmethod
    def _pages(contexts: dict[int, dict[str, str]], targets: np.ndarray) -> dict[int, tuple[int, int]]:
        """Row -> (the first row of its page, the page's median target): rows of one context, in target order,
        up to :data:`ROWS_PER_PAGE` per page, the longest target at most :data:`PAGE_LENGTH_RATIO` x the shortest."""
        if ROWS_PER_PAGE <= 1:
            return {}
        by_context: dict[tuple[tuple[str, str], ...], list[int]] = {}
        for i, ctx in contexts.items():
            by_context.setdefault(tuple(sorted(ctx.items())), []).append(i)
        out: dict[int, tuple[int, int]] = {}

        def close(page: list[int]) -> None:
            lead, median = min(page), int(targets[page[(len(page) - 1) // 2]])
            out.update({r: (lead, median) for r in page})

        for members in by_context.values():
            page: list[int] = []
            for i in sorted(members, key=lambda r: (int(targets[r]), r)):
                if page and (len(page) >= ROWS_PER_PAGE
                             or int(targets[i]) > PAGE_LENGTH_RATIO * max(int(targets[page[0]]), 1)):
                    close(page)
                    page = []
                page.append(i)
            close(page)
        return out

    def _steer(self, ctx: dict[str, str]) -> tuple[tuple[str, float], ...]:
        """The row's steering words with their logit bonus (``spec.steer`` x the verifier's weight), or ()."""
        strength = float(self.spec.steer)
        verifier = getattr(self, "verifier_", None)
        if strength <= 0 or verifier is None or not verifier.labelled:
            return ()
        return tuple((w, round(strength * s, 4)) for w, s in verifier.steering_words(ctx))

    def _ask(self, backend: TextGenerator, rows: pd.DataFrame, pairs: list[tuple[int, int]], targets: np.ndarray,
             seeds: np.ndarray, attempt: int, seed: int) -> list[str]:
        temperature = getattr(backend, "temperature", None)  # as the backend parsed it (local, openai)
        shared = SHARED_CANDIDATE_EXAMPLES and not (temperature is not None and temperature <= 0)
        if not self.spec.steps:
            return self._call(backend, self._requests(rows, pairs, targets, seeds, attempt, shared=shared), seed)
        previous: dict[tuple[int, int], str] = {}
        answers: list[str] = []
        for step in range(len(self.spec.steps)):
            answers = self._call(backend, self._requests(rows, pairs, targets, seeds, attempt, previous, step,
                                                         shared=shared), seed)
            previous = dict(zip(pairs, answers))
        return answers

    def _call(self, backend: TextGenerator, requests: list[TextRequest], seed: int) -> list[str]:
        """Ask the backend in calls of one model batch each; answers go to the call log (resume by time)."""
        size = max(int(getattr(backend, "batch_size", 0) or 64), 1)
        calls: CallLog | None = getattr(self, "_call_log", None)
        out: list[str] = []
        for start in range(0, len(requests), size):
            part = requests[start:start + size]
            key = ""
            if calls is not None:
                from synthstruct.text.answer_cache import answer_key

                key = answer_key("call", getattr(backend, "name", type(backend).__name__), dict(self.spec.backend),
                                 [(r.document or r.messages, r.seed, r.max_words, r.target_words, r.min_words) for r in part], seed)
                saved = calls.get(key)
                if saved is not None and len(saved) == len(part):
                    out += saved
                    continue
            began = self.clock()
            answers = list(backend.generate(part, seed=seed))
            if calls is not None:
                calls.add(key, answers, self.clock() - began)
            out += answers
        return out

    def generate(self, rows: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
        """One text per row of ``rows`` (the synthetic table so far), conditioned on ``spec.conditioned_on``.

        Rows are written in chunks of :attr:`chunk_rows`; after each chunk :attr:`progress` (if set) is
        called with ``(texts done, texts total)`` and, with :attr:`checkpoint_dir` set, the chunk is
        appended to a checkpoint file there, so that a rerun with the same rows and seed continues
        after the last finished chunk and returns exactly the texts an uninterrupted run would.
        """
        n = len(rows)
        rows = rows.reset_index(drop=True)
        stats = dict.fromkeys(_STAT_KEYS, 0)
        missing = rng.random(n) < self.missing_share_
        targets = self._targets(self._contexts(rows), rng)
        seeds = rng.integers(0, 2**31 - 1, size=n)
        base_seed = int(rng.integers(0, 2**31 - 1))
        texts: list[Any] = [np.nan] * n
        self._texts = texts
        todo = [i for i in range(n) if not missing[i]]
        stats["missing"], stats["texts"] = int(missing.sum()), len(todo)
        self._texts_total = len(todo)
        stats["memorisation_checked"] = int(getattr(self, "ngrams_", None) is not None)
        seen: set[str] = set()
        store = self._checkpoint(rows, base_seed, n)
        done = store.load() if store is not None else {}
        self._call_log = None if self.checkpoint_dir is None else CallLog(
            Path(self.checkpoint_dir), self.column, seconds=self.checkpoint_seconds, clock=self.clock)
        backend_before = dict(getattr(getattr(self, "_backend", None), "stats_", None) or {})
        try:
            self._chunks(rows, todo, targets, seeds, base_seed, seen, stats, store, done)
        finally:
            if self._call_log is not None:
                self._call_log.flush()
            self._call_log = None
        self._judge(rows, self._texts, base_seed, stats)
        pool = getattr(self, "example_pool_", None)
        stats["example_pool"] = len(pool) if pool is not None else 0
        stats["example_pii_replaced"] = pool.pii_replaced_ if pool is not None else 0
        stats.update(acceptance_rates(stats))
        backend_after = getattr(getattr(self, "_backend", None), "stats_", None) or {}
        # label steering applied / ignored by the runtime; (row, step) pairs where the copy guard forbade a word
        for key in ("steered_requests", "steer_not_applied", "copy_blocked"):
            delta = int(backend_after.get(key, 0)) - int(backend_before.get(key, 0))
            if delta:
                stats[key] = delta
        calibration = getattr(getattr(self, "verifier_", None), "calibration_", None) or {}
        if "real_pass" in calibration:  # the share of real texts the label check passes (its calibration)
            stats["label_real_pass"] = calibration["real_pass"]
        self.stats_ = stats
        return pd.Series(self._texts, dtype=object)

    def _chunks(self, rows: pd.DataFrame, todo: list[int], targets: np.ndarray, seeds: np.ndarray, base_seed: int,
                seen: set[str], stats: dict[str, Any], store: Checkpoint | None, done: dict[int, Any]) -> None:
        texts = self._texts
        for k, start in enumerate(range(0, len(todo), self.chunk_rows)):
            idx = todo[start:start + self.chunk_rows]
            if k in done and sorted(done[k][0]) == idx:
                chunk_texts, chunk_stats = done[k]
                stats["resumed_texts"] = stats.get("resumed_texts", 0) + len(idx)
                if chunk_stats.get("fallback_texts"):
                    self.fallback_used_ = str(self.spec.backend.get("fallback") or "template")
            else:
                chunk_stats = dict.fromkeys(_CHUNK_KEYS, 0)
                chunk_texts = self._generate_chunk(rows, idx, targets, seeds, base_seed, seen, chunk_stats)
                if self._call_log is not None:
                    self._call_log.flush()
                if store is not None:
                    store.append(k, chunk_texts, chunk_stats)
            for i, text in chunk_texts.items():
                texts[i] = text
                seen.add(normalise(text))
            for key, value in chunk_stats.items():
                stats[key] = max(stats.get(key, 0), value) if key == "rounds" else stats.get(key, 0) + value
            if self.progress is not None:
                self.progress(min(start + len(idx), len(todo)), len(todo))

    def _judge(self, rows: pd.DataFrame, texts: list[Any], seed: int, stats: dict[str, Any]) -> None:
        """Score a seeded sample of ``spec.judge`` texts with the column's backend (LLM-as-judge)."""
        present = [i for i, t in enumerate(texts) if isinstance(t, str)]
        self.judgements_: list[Any] = []
        if not self.spec.judge or not present:
            return
        from synthstruct.text.judge import judge_texts

        picks = sorted(np.random.default_rng(seed).permutation(present)[: self.spec.judge].tolist())
        self.judgements_, numbers = judge_texts(
            self._make_backend(), self.spec, self.column, [self._context(rows.iloc[i]) for i in picks],
            [texts[i] for i in picks], picks, seed=seed)
        stats.update(numbers)

    def _checkpoint(self, rows: pd.DataFrame, base_seed: int, n: int) -> Checkpoint | None:
        if self.checkpoint_dir is None:
            return None
        context = rows[[c for c in self.spec.conditioned_on if c in rows.columns]]
        key = [self.column, self.spec.model_dump(mode="json"), n, base_seed, self.chunk_rows,
               self.length_quantiles_, self.missing_share_, context.astype(str).to_numpy().tolist()]
        return Checkpoint(Path(self.checkpoint_dir), self.column, key)

    def _generate_chunk(self, rows: pd.DataFrame, idx: list[int], targets: np.ndarray, seeds: np.ndarray,
                        base_seed: int, seen: set[str], stats: dict[str, int]) -> dict[int, str]:
        """Texts for the rows ``idx``: generate ``candidates`` per row, verify, keep the best; rows whose
        best fails a soft check get new candidates (up to ``rounds``), rows without a usable one up to
        ``max_regenerations`` more rounds; the rest are written by the fallback."""
        backend = self._make_backend()
        sims = self.train_embeddings_ is not None and self.spec.similarity_threshold is not None
        texts: list[Any] = [np.nan] * len(rows)
        seen = set(seen)
        best: dict[int, Candidate] = {}
        contexts = {i: self._context(rows.iloc[i]) for i in idx}
        self._last_empty = 0
        k, rounds = self._selection()
        kept_as_real: set[int] = set()  # rows whose failed label check was left as real texts fail it
        for attempt in range(max(rounds, self.spec.max_regenerations + 1)):
            pending = [i for i in idx if not (i in best and best[i].passing)
                       and (attempt < rounds or i not in best)]
            if attempt and self.spec.regenerate_labels == "below_real":
                below = self._below_real(best, idx, contexts)
                kept = {i for i in pending if i in best and not self._worth_regenerating(best[i], contexts[i], below)}
                kept_as_real |= kept
                pending = [i for i in pending if i not in kept]
            if not pending:
                break
            stats["rounds"] += 1
            if attempt:
                stats["regenerated"] += len(pending)
            pairs = [(i, j) for i in pending for j in range(self._round_candidates(attempt))]
            answers = self._ask(backend, rows, pairs, targets, seeds, attempt, base_seed)
            answers, had_pii = self._scrub(answers, base_seed + 104_729 * attempt + pending[0], stats)
            candidates = self._check(pairs, answers, had_pii, contexts, targets, seen, stats, sims)
            by_row: dict[int, list[Candidate]] = {i: [] for i in pending}
            for cand in candidates:
                by_row[cand.row].append(cand)
            self._last_empty = sum(all(not c.text.strip() for c in by_row[i]) for i in pending if i not in best)
            for i in pending:  # in row order: a text selected for one row is a duplicate for the next
                if i in best:
                    seen.discard(normalise(best[i].text))
                chosen = self._choose(([best[i]] if i in best else []) + by_row[i], seen)
                if chosen is not None:
                    best[i] = chosen
                    if self._counts_as_duplicate(chosen.text):
                        seen.add(normalise(chosen.text))
            self._count(candidates, stats)
            log.info("text column %s: round %d, %d of %d rows without a passing text", self.column, attempt + 1,
                     sum(1 for i in idx if not (i in best and best[i].passing)), len(idx))
        for i, cand in best.items():
            texts[i] = cand.text
            stats["selected_passing"] += int(cand.passing)
        stats["label_kept_as_real"] += sum(i in best and any(c.startswith("label_") for c in best[i].soft_failed)
                                           for i in kept_as_real)
        rest = [i for i in idx if i not in best]
        if rest:
            self._fill_rest(rows, rest, targets, seeds, base_seed, texts, seen, stats)
        return {i: texts[i] for i in idx}

    def _below_real(self, best: dict[int, Candidate], idx: list[int], contexts: dict[int, dict[str, str]]
                    ) -> set[tuple[str, str]] | None:
        """``(column, value)`` pairs whose selected texts in this chunk pass the label check on ``column`` less
        often than real texts of ``value`` do (:meth:`TextVerifier.real_pass`); ``None`` when the verifier has
        no real pass rates (a model saved before session 20): then every failing row is regenerated."""
        verifier = getattr(self, "verifier_", None)
        if verifier is None or not verifier.labelled:
            return None
        below: set[tuple[str, str]] = set()
        for column in verifier.labelled:
            groups: dict[str, list[bool]] = {}
            for i in idx:
                value = contexts[i].get(column)
                if i in best and column in best[i].labels and value is not None:
                    groups.setdefault(value, []).append(best[i].labels[column])
            for value, agree in groups.items():
                real = verifier.real_pass(column, value)
                if real is None:
                    if not all(agree):
                        return None  # a value without a real figure: the rule before (regenerate every failure)
                    continue
                if float(np.mean(agree)) < real:
                    below.add((column, value))
        return below

    @staticmethod
    def _worth_regenerating(cand: Candidate, context: dict[str, str], below: set[tuple[str, str]] | None) -> bool:
        """Whether a row whose best candidate fails a check gets new ones: always for a hard or length failure;
        for a label failure only when its value is among ``below`` (``None``: always)."""
        if not cand.usable or below is None:
            return True
        for check in cand.soft_failed:
            if not check.startswith("label_"):
                return True
            column = check[len("label_"):]
            if (column, context.get(column)) in below:
                return True
        return False

    def _selection(self) -> tuple[int, int]:
        """``(candidates, rounds)``: the schema's, or (1, 1) for the ``template`` (no model, nothing to choose)."""
        if self.spec.generator == "template":
            return 1, 1
        return self.spec.candidates, self.spec.rounds

    def _round_candidates(self, attempt: int) -> int:
        """Candidates per row in round ``attempt`` (0-based): ``first_candidates`` in the first (adaptive: only
        the rows whose best candidate failed a check go on), ``candidates`` in the second,
        ``later_candidates`` in the later ones up to ``rounds``; ``candidates`` in the extra rounds of rows
        without any usable candidate (``max_regenerations``). ``null`` reads as ``candidates``."""
        k, rounds = self._selection()
        if self.spec.generator == "template":
            return k
        chosen = self.spec.first_candidates if attempt == 0 else \
            self.spec.later_candidates if 2 <= attempt < rounds else None
        return k if chosen is None else int(chosen)

    def _counts_as_duplicate(self, text: str) -> bool:
        # the template writes deterministic filler from a small phrase bank: repeats by design;
        # texts shorter than ``ngram`` words repeat naturally
        return self.spec.generator != "template" and len(words(text)) >= self.spec.ngram

    def _choose(self, options: list[Candidate], seen: set[str]) -> Candidate | None:
        """The best usable candidate that is not a duplicate of a selected text (ties: the earlier one)."""
        for cand in sorted(options, key=rank, reverse=True):  # stable: earlier candidates win ties
            if not cand.usable:
                return None
            if self._counts_as_duplicate(cand.text) and normalise(cand.text) in seen:
                if "duplicate" not in cand.failed:
                    cand.failed.append("duplicate")
                continue
            return cand
        return None

    def _check(self, pairs: list[tuple[int, int]], answers: list[str], had_pii: list[bool],
               contexts: dict[int, dict[str, str]], targets: np.ndarray, seen: set[str], stats: dict[str, int],
               sims: bool) -> list[Candidate]:
        """Every check on every candidate (duplicates of texts selected in earlier rounds included)."""
        lo, _ = self._bounds()
        cleaned = [clean_answer(a, max_words=self._budget(int(targets[i]))) for (i, _), a in zip(pairs, answers)]
        similar = np.zeros(len(cleaned), dtype=bool)
        if sims and cleaned:
            emb = Embedder().encode([c or "-" for c in cleaned])
            similar = max_similarity(emb, self.train_embeddings_) >= float(self.spec.similarity_threshold)
        candidates = [Candidate(row=i, text=text, failed=self._failures(text, lo, seen, bool(similar[k])))
                      for k, ((i, _), text) in enumerate(zip(pairs, cleaned))]
        score_candidates(candidates, [contexts[c.row] for c in candidates], [int(targets[c.row]) for c in candidates],
                         had_pii, getattr(self, "verifier_", None))
        return candidates

    @staticmethod
    def _count(candidates: list[Candidate], stats: dict[str, int]) -> None:
        """``candidates``, ``passed_<check>`` and ``rejected_<first failure>`` over a round's candidates."""
        stats["candidates"] += len(candidates)
        for cand in candidates:
            failed = set(cand.failed) | set(cand.soft_failed)
            for check in CHECKS:
                if check == "label":
                    ok = all(cand.labels.values())
                    for column, agree in cand.labels.items():
                        stats[f"passed_label_{column}"] = stats.get(f"passed_label_{column}", 0) + int(agree)
                elif check == "pii":
                    ok = not cand.had_pii
                else:
                    ok = check not in failed
                stats[f"passed_{check}"] += int(ok)
            if cand.failed:
                stats[f"rejected_{cand.failed[0]}"] += 1

    def _echoes_prompt(self, text: str) -> bool:
        """A model repeated the prompt's ``Column: value`` lines instead of writing the text (the
        ``template`` generator lists the values on purpose and is not checked)."""
        if self.spec.generator == "template" or len(self.spec.conditioned_on) < 2:
            return False
        lowered = text.lower()
        return sum(f"{name.lower()}:" in lowered for name in self.spec.conditioned_on) >= 2

    def _failures(self, text: str, lo: int, seen: set[str], similar: bool) -> list[str]:
        """The hard checks ``text`` fails, in the order of :data:`~synthstruct.text.select.HARD_CHECKS`."""
        if not text.strip():
            return ["empty"]
        failed = []
        if len(words(text)) < min(lo, 3) or len(text.split()) < lo:
            failed.append("short")
        if self._echoes_prompt(text):
            failed.append("echo")
        ngrams = getattr(self, "ngrams_", None)
        if ngrams is not None and ngrams.copied(text):
            failed.append("copied")
        if similar:
            failed.append("similar")
        if self._counts_as_duplicate(text) and normalise(text) in seen:
            failed.append("duplicate")
        return failed

    def _fill_rest(self, rows: pd.DataFrame, pending: list[int], targets: np.ndarray, seeds: np.ndarray,
                   base_seed: int, texts: list[Any], seen: set[str], stats: dict[str, int]) -> None:
        """Rows still without a usable candidate after the last round: the fallback backend (or the template)."""
        fallback = self._fallback()
        if fallback is None and self._last_empty == len(pending) and self.spec.generator != "template":
            raise InputError("text backend failed", [Problem(
                f"columns.{self.column}.backend",
                f"{len(pending)} of {getattr(self, '_texts_total', len(pending))} texts got no usable answer after "
                f"{max(self._selection()[1], self.spec.max_regenerations + 1)} rounds (backend stats: "
                f"{getattr(self._backend, 'stats_', {})})",
                "check that the server is reachable (base_url, api_key_env), or set backend.fallback: template")])
        fallback = fallback or get_text_backend("template", {}, column=self.column)
        answers = self._ask(fallback, rows, [(i, 0) for i in pending], targets, seeds, 99, base_seed)
        answers, _ = self._scrub(answers, base_seed + 104_729 * 99 + pending[0], stats)
        for i, answer in zip(pending, answers):
            texts[i] = clean_answer(answer, max_words=self._budget(int(targets[i])))
            seen.add(normalise(texts[i]))
        stats["fallback_texts"] += len(pending)
        self.fallback_used_ = getattr(fallback, "name", "template")

    def _scrub(self, answers: list[str], seed: int, stats: dict[str, int]) -> tuple[list[str], list[bool]]:
        """Replace PII in a round's answers *before* they are checked, so that what is checked (copied
        runs, duplicates) is what is written: a replacement name can complete a run of training text.
        Also returns, per answer, whether anything was replaced."""
        present = [k for k, a in enumerate(answers) if a and a.strip()]
        had = [False] * len(answers)
        if not present or self.spec.generator == "template":
            return answers, had
        new, replaced = replace_pii([answers[k] for k in present], seed=seed,
                                    avoid=getattr(self, "reserved_", None), stats=stats)
        answers = list(answers)
        for k, text in zip(present, new):
            had[k] = text != answers[k]
            answers[k] = text
        stats["pii_replaced"] += replaced
        return answers, had

    # ------------------------------------------------------------------ persistence
    def to_state(self) -> dict[str, Any]:
        """Saved state: the column spec, missing share and length profile — no training text, no hashes."""
        state = {"column": self.column, "spec": self.spec.model_dump(mode="json"),
                 "missing_share": self.missing_share_, "length_quantiles": self.length_quantiles_,
                 "sentence_ends": getattr(self, "sentence_ends_", True)}
        verifier = getattr(self, "verifier_", None)
        if verifier is not None:
            state["verifier"] = verifier.to_state()
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TextColumnGenerator:
        gen = cls(TextColumn.model_validate(state["spec"]), column=state["column"])
        gen.missing_share_ = float(state["missing_share"])
        gen.length_quantiles_ = [float(v) for v in state["length_quantiles"]]
        gen.ngrams_, gen.train_embeddings_, gen.examples_ = None, None, list(gen.spec.examples)
        gen.copy_guard_ = None
        gen.sentence_ends_ = bool(state.get("sentence_ends", True))
        gen.reserved_ = None
        gen.example_pool_ = None  # training texts are never saved: a loaded model prompts without them
        gen.verifier_ = TextVerifier.from_state(state["verifier"]) if state.get("verifier") else None
        gen.backend_name_ = gen.spec.generator
        return gen
