"""The local backend's decoding loop (transformers runtime): a batch that sheds its finished rows.

transformers' ``generate`` decodes a batch until its longest answer ends and runs every row at every step,
finished rows included (their new tokens are padding). A text column's answers differ in length — a
review's target is drawn from the real word counts, 10 to 115 words — so in the 40-row clothing release
about half the row-steps of each batch were rows that had already ended, and a step's cost grows with its
rows (the key/value cache each row reads: 0.066 s for 4 rows and 0.225 s for 64 rows of 400-token prompts
here, 2 threads, bfloat16).

:func:`decode` makes the same model calls as ``generate`` with a static cache — one token per row per step,
the logits processors in order, the stop tokens ending a row — and, once a quarter of the batch has ended,
keeps only the rows still writing: the cache, ids, mask and each processor's per-row state
(:meth:`keep`) are cut to them. Answers are unchanged by the cut up to floating-point summation order (a
batch of another size); the sampler's draws are taken over the rows still running, so sampled answers
differ from ``generate``'s while staying a function of the inputs and the seed.
"""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["CASCADE_ROWS_PER_PROMPT", "KEEP_BELOW", "PREFILL_TOKENS", "decode", "prefill"]

#: The batch is cut to its running rows when these are at most this share of it (a cut copies the key/value
#: cache once; cutting at every end would copy it once per row).
KEEP_BELOW = 0.75
#: Prompt tokens per prefill pass (rows x width): 8 rows of 490 tokens ran 1.3-1.8x faster than 40 at once here.
PREFILL_TOKENS = 4096
#: Shared prompts are decoded with cascade attention (:mod:`synthstruct.text.cascade`: each prompt's keys and
#: values read once per step for all its rows) when the batch has at least this many rows per distinct prompt.
CASCADE_ROWS_PER_PROMPT = 1.5


def prefill(model: Any, input_ids: Any, attention_mask: Any, *, budget: int, share: bool,
            cascade: bool = False) -> tuple[Any, int]:
    """A static key/value cache holding every row's prompt but its last token, and the number of rows whose
    prompt was computed for another row (``share``: a prompt asked by several rows, e.g. ``k`` candidates of
    one table row, is computed once and copied; 0 otherwise).

    With ``share`` and ``cascade``, on a model :mod:`synthstruct.text.cascade` supports and a batch with at
    least :data:`CASCADE_ROWS_PER_PROMPT` rows per distinct prompt, the prompts are kept once each instead of
    copied into every row's cache (a ``CascadeCache``): :func:`decode` then reads each prompt once per step.

    The prompts are run :data:`PREFILL_TOKENS` at a time, each group without the padding columns all its
    rows share and with a cache as long as its prompts (not the static cache's room for the answers), and
    each group's keys and values are written into the static cache (into every row that asked the prompt),
    which has room for the prompts and ``budget`` new tokens. On 40 few-shot prompts of 490 tokens (bfloat16, 2 threads) this took 14 s
    where one pass through the static cache took 18-26 s: the group's intermediate tensors stay in the
    processor's cache, and attention does not run over the empty answer positions.
    """
    import torch
    from transformers import DynamicCache, StaticCache

    width = int(input_ids.shape[1])
    cache = StaticCache(config=model.config, max_cache_len=width + budget)
    from synthstruct.text.kv_layers import filled_layer_class

    cache.layers = [filled_layer_class()(max_cache_len=width + budget) for _ in cache.layers]
    if width < 2:
        return cache, 0
    if share:
        first: dict[tuple[int, ...], int] = {}
        rows = [first.setdefault(tuple(r), len(first)) for r in input_ids.tolist()]
        where = [rows.index(u) for u in range(len(first))]  # a row holding each distinct prompt
    else:
        rows = where = list(range(int(input_ids.shape[0])))
    ids, mask = input_ids[where][:, :-1], attention_mask[where][:, :-1]
    targets = torch.tensor(rows, dtype=torch.long)  # batch row -> its distinct prompt
    prefixes = None
    if (cascade and len(rows) >= CASCADE_ROWS_PER_PROMPT * len(where) and bool(mask.any(1).all())
            and _cascade().enable(model)):  # every prompt has a token before its last: never an empty softmax
        prefixes = _cascade().Prefixes(targets, ~mask.bool(), len(cache.layers))
        cache = _cascade().CascadeCache(prefixes, len(cache.layers), budget)
    static: list[Any] = list(cache.layers)
    group = max(1, PREFILL_TOKENS // ids.shape[1])
    for lo in range(0, ids.shape[0], group):
        part_mask = mask[lo:lo + group]
        start = int((part_mask.sum(0) > 0).long().argmax()) if bool(part_mask.any()) else part_mask.shape[1] - 1
        part_ids, part_mask = ids[lo:lo + group, start:], part_mask[:, start:]  # left padding: drop shared pad columns
        part = DynamicCache(config=model.config)
        model(input_ids=part_ids, attention_mask=part_mask, position_ids=(part_mask.long().cumsum(-1) - 1).clamp(min=0),
              past_key_values=part, use_cache=True, logits_to_keep=1)
        layers: list[Any] = list(part.layers)
        if prefixes is not None:  # each distinct prompt once
            for index, layer in enumerate(layers):
                prefixes.set(index, slice(lo, lo + part_ids.shape[0]), start, layer.keys, layer.values)
        else:  # copied into every row asking it
            batch_rows = ((targets >= lo) & (targets < lo + part_ids.shape[0])).nonzero().squeeze(1)
            source = targets[batch_rows] - lo
            for layer, target in zip(layers, static):
                if not target.is_initialized:  # the whole batch's buffers, zero where nothing is written
                    shape = (len(rows), layer.keys.shape[1], 1, layer.keys.shape[3])
                    target.lazy_initialization(layer.keys.new_empty(shape), layer.values.new_empty(shape))
                target.keys[batch_rows, :, start:width - 1] = layer.keys[source]
                target.values[batch_rows, :, start:width - 1] = layer.values[source]
        del part
    if prefixes is None:
        for target in static:
            target.cumulative_length.fill_(width - 1)
    return cache, len(rows) - len(where)


def _cascade() -> Any:
    from synthstruct.text import cascade

    return cascade


def decode(model: Any, input_ids: Any, attention_mask: Any, cache: Any, *, budget: int, stop_tokens: Sequence[int],
           pad_token_id: int, processors: Sequence[Any] = (), stats: dict[str, int] | None = None) -> list[list[int]]:
    """New tokens of each row (its stop token included when it stopped), at most ``budget`` per row.

    Args:
        model: A transformers causal language model.
        input_ids, attention_mask: The batch's left-padded prompts (``(rows, width)``).
        cache: :func:`prefill`'s cache of the prompts but their last tokens.
        budget: New tokens at most per row.
        stop_tokens: Token ids that end a row (kept as its last token).
        pad_token_id: What finished rows carry until the batch is cut (as ``generate`` pads them).
        processors: Logits processors ``(ids, scores) -> scores``, applied in order; one with a
            ``keep(index)`` method holds per-row state and is told which rows stay when the batch is cut.
            Decoding is greedy over the processed scores (a sampling processor returns one finite score).
        stats: Counters added to: ``decode_steps``, ``row_steps`` (rows run, summed over steps) and
            ``batch_cuts``.
    """
    import torch

    n, width = int(input_ids.shape[0]), int(input_ids.shape[1])
    stops = torch.tensor(sorted({int(t) for t in stop_tokens}), dtype=torch.long)
    ids, mask = input_ids, attention_mask
    rows = torch.arange(n)  # batch row -> request
    running = torch.ones(n, dtype=torch.bool)
    lengths = [0] * n
    out: list[list[int]] = [[] for _ in range(n)]

    def take(index: Any) -> None:  # the answers of the rows that leave the batch
        for b in index.tolist():
            r = int(rows[b])
            out[r] = ids[b, width:width + lengths[r]].tolist()

    prefixes = getattr(cache, "prefixes", None)  # a cascade cache: each row's cache holds only its answer
    counts = {"decode_steps": 0, "row_steps": 0, "batch_cuts": 0, "cascade_steps": 0}
    for step in range(budget):
        counts["decode_steps"] += 1
        counts["row_steps"] += int(ids.shape[0])
        positions = mask.long().sum(-1, keepdim=True) - 1
        if prefixes is not None:
            counts["cascade_steps"] += 1
            logits = model(input_ids=ids[:, -1:], attention_mask=None, position_ids=positions, past_key_values=cache,
                           use_cache=True, cache_position=torch.tensor([step]), cascade=prefixes).logits
        else:
            logits = model(input_ids=ids[:, -1:], attention_mask=mask, position_ids=positions, past_key_values=cache,
                           use_cache=True, cache_position=torch.tensor([width - 1 + step])).logits
        scores = logits[:, -1, :].to(dtype=torch.float32)
        for proc in processors:
            scores = proc(ids, scores)
        token = torch.where(running, scores.argmax(-1), torch.tensor(pad_token_id))
        for b in running.nonzero().squeeze(1).tolist():
            lengths[int(rows[b])] += 1
        ids = torch.cat([ids, token[:, None]], dim=1)
        mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
        running = running & ~torch.isin(token, stops)
        alive = int(running.sum())
        if alive == 0:
            break
        if alive <= KEEP_BELOW * int(running.shape[0]) and step + 1 < budget:
            take((~running).nonzero().squeeze(1))
            keep = running.nonzero().squeeze(1)
            cache.reorder_cache(keep)
            counts["batch_cuts"] += 1
            ids, mask, rows, running = ids[keep], mask[keep], rows[keep], running[keep]
            for proc in processors:
                if hasattr(proc, "keep"):
                    proc.keep(keep)
    take(torch.arange(int(rows.shape[0])))
    if stats is not None:
        for key, value in counts.items():
            stats[key] = stats.get(key, 0) + value
    return out
