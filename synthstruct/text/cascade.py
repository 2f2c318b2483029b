"""Cascade attention: decoding rows that share a prompt read that prompt's keys and values once.

The ``k`` candidates of a table row in one round share their few-shot prompt (``share_prefill`` computes it
once), but a static cache copies its keys and values into every row, and each decoding step then reads
them once per row: with 64 rows of 480-token prompts that is ~23 KB per position per row, 0.7 GB per
step, and attention was 53 % of a step here (torch profiler, SmolLM2-135M, bfloat16, 2 threads).

Here the prompt's keys and values are kept once per distinct prompt (:class:`Prefixes`) and a row's cache
holds only its own answer (:class:`CascadeCache`). Each step's attention is two passes of torch's CPU flash
kernel, which also returns the log-sum-exp of each query's scores:

1. the queries of every row asking one prompt, stacked (``rows x heads`` query vectors per key/value head),
   against that prompt's keys and values, once per prompt;
2. each row's query against its own answer's keys and values;

and the two softmax-weighted sums are merged by their log-sum-exps, which is exact softmax attention over
the concatenated keys (up to floating-point summation order). Rows with the same prompt share its left
padding, masked in pass 1.

It runs as an attention implementation registered with transformers (:data:`IMPLEMENTATION`) that does
cascade attention when the model call carries a ``cascade`` keyword (:func:`decode` passes the cache's
:class:`Prefixes`) and is transformers' own ``sdpa`` attention otherwise (prefill, other callers), so
nothing else changes. Only used for architectures it was checked on (:data:`ARCHITECTURES`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ARCHITECTURES", "IMPLEMENTATION", "CascadeCache", "Prefixes", "enable", "supported"]

#: The attention implementation's name in transformers' registry.
IMPLEMENTATION = "synthstruct_cascade"
#: Model classes whose attention layers were checked to call the registered function with their
#: ``layer_idx``, ``scaling`` and the model call's keywords (no sliding window, no soft-capping).
ARCHITECTURES = frozenset({"LlamaForCausalLM"})

_REGISTERED = False


def supported(model: Any) -> bool:
    """Whether cascade attention can run on ``model`` (its architecture was checked, see :data:`ARCHITECTURES`)."""
    return type(model).__name__ in ARCHITECTURES


def enable(model: Any) -> bool:
    """Register the attention implementation and switch ``model`` to it (``sdpa`` for every call without a
    ``cascade`` keyword, so outputs do not change); False, and nothing done, when not :func:`supported` or
    when the model runs another attention implementation than ``sdpa``."""
    global _REGISTERED
    if not supported(model):
        return False
    current = getattr(model.config, "_attn_implementation", None)
    if current == IMPLEMENTATION:
        return True
    if current != "sdpa":
        return False
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    if not _REGISTERED:
        AttentionInterface.register(IMPLEMENTATION, _attention)
        ALL_MASK_ATTENTION_FUNCTIONS.register(IMPLEMENTATION, sdpa_mask)
        _REGISTERED = True
    model.set_attn_implementation(IMPLEMENTATION)
    return True


class Prefixes:
    """The distinct prompts' keys and values per layer, and which prompt each running row asks.

    Args:
        owner: ``(rows,)`` long tensor, batch row -> index of its prompt.
        pad: ``(prompts, positions)`` bool tensor, True on each prompt's left padding.
        layers: Number of attention layers.
    """

    def __init__(self, owner: Any, pad: Any, layers: int) -> None:
        self.keys: list[Any] = [None] * layers
        self.values: list[Any] = [None] * layers
        self._pad = pad
        self._set_rows(owner)

    def set(self, layer: int, prompts: slice, start: int, keys: Any, values: Any) -> None:
        """Write the keys and values ``(prompts, kv heads, positions from start, dim)`` of some prompts."""
        if self.keys[layer] is None:
            shape = (int(self._pad.shape[0]), int(keys.shape[1]), int(self._pad.shape[1]), int(keys.shape[3]))
            self.keys[layer], self.values[layer] = keys.new_zeros(shape), values.new_zeros(shape)
        self.keys[layer][prompts, :, start:] = keys
        self.values[layer][prompts, :, start:] = values

    def keep(self, index: Any) -> None:
        """The batch keeps only the rows ``index``: drop the prompts no row asks any more."""
        import torch

        owner = self.owner[index]
        used, owner = torch.unique(owner, sorted=True, return_inverse=True)
        if len(used) < len(self._pad):
            self.keys = [k[used] if k is not None else None for k in self.keys]
            self.values = [v[used] if v is not None else None for v in self.values]
            self._pad = self._pad[used]
        self._set_rows(owner)

    def _set_rows(self, owner: Any) -> None:
        """Slots: the rows of each prompt side by side (``width`` = most rows of one prompt), for pass 1."""
        import torch

        self.owner = owner
        prompts = int(self._pad.shape[0])
        counts = torch.bincount(owner, minlength=prompts)
        self.width = max(int(counts.max()), 1) if len(owner) else 1
        order = torch.argsort(owner, stable=True)
        starts = torch.cumsum(counts, 0) - counts
        rank = torch.empty_like(owner)
        rank[order] = torch.arange(len(owner)) - starts[owner[order]]
        self.slot = owner * self.width + rank  # row -> its slot
        filler = len(owner)  # empty slots take a zero query (an extra row appended in pass 1)
        self.slot_row = torch.full((prompts * self.width,), filler, dtype=torch.long)
        self.slot_row[self.slot] = torch.arange(len(owner))
        self.full = bool((counts == self.width).all())
        self.mask: Any = None  # additive mask of the padding, built in the query's dtype at first use

    def additive_mask(self, dtype: Any) -> Any:
        if self.mask is None or self.mask.dtype != dtype:
            import torch

            self.mask = torch.zeros(self._pad.shape, dtype=dtype).masked_fill(self._pad, float("-inf"))[:, None, None, :]
        return self.mask


def cascade_cache_class() -> Any:
    """A transformers ``Cache`` whose layers hold only the rows' answers (the prompts are in :class:`Prefixes`);
    each layer hands attention the written part of its buffer (:mod:`synthstruct.text.kv_layers`)."""
    global _CACHE
    if _CACHE is None:
        from transformers import Cache

        from synthstruct.text.kv_layers import filled_layer_class

        class _CascadeCache(Cache):
            def __init__(self, prefixes: Prefixes, layers: int, budget: int) -> None:
                super().__init__(layers=[filled_layer_class()(max_cache_len=budget + 1) for _ in range(layers)])
                self.prefixes = prefixes

            def reorder_cache(self, beam_idx: Any) -> None:
                super().reorder_cache(beam_idx)
                self.prefixes.keep(beam_idx)

        _CACHE = _CascadeCache
    return _CACHE


_CACHE: Any = None


def CascadeCache(prefixes: Prefixes, layers: int, budget: int) -> Any:
    """A cache of ``layers`` answer layers with room for ``budget`` + 1 tokens per row, and the ``prefixes``."""
    return cascade_cache_class()(prefixes, layers, budget)


def _attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any, dropout: float = 0.0,
               scaling: float | None = None, **kwargs: Any) -> tuple[Any, None]:
    """transformers' attention call: cascade attention with a ``cascade`` keyword, ``sdpa`` without."""
    prefixes = kwargs.pop("cascade", None)
    if prefixes is None or query.shape[2] != 1:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    import torch

    flash = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    rows, heads, _, dim = query.shape
    kv_heads = int(key.shape[1])
    group = heads // kv_heads
    scale = float(scaling) if scaling is not None else dim ** -0.5
    layer = int(module.layer_idx)
    q = query.reshape(rows, kv_heads, group, dim)  # the heads that read one key/value head, as its query vectors
    # pass 1: every prompt once, with the queries of all its rows
    width, prompts = prefixes.width, int(prefixes.keys[layer].shape[0])
    if prefixes.full:  # every prompt has `width` rows: a permutation of the rows
        stacked = q[prefixes.slot_row]
    else:
        stacked = torch.cat([q, q.new_zeros((1, kv_heads, group, dim))])[prefixes.slot_row]
    stacked = stacked.view(prompts, width, kv_heads, group, dim).transpose(1, 2).reshape(
        prompts, kv_heads, width * group, dim)
    out1, lse1 = flash(stacked, prefixes.keys[layer], prefixes.values[layer], 0.0, False,
                       attn_mask=prefixes.additive_mask(query.dtype), scale=scale)
    out1 = out1.view(prompts, kv_heads, width, group, dim).transpose(1, 2).reshape(
        prompts * width, kv_heads, group, dim)[prefixes.slot]
    lse1 = lse1.view(prompts, kv_heads, width, group).transpose(1, 2).reshape(
        prompts * width, kv_heads, group)[prefixes.slot]
    # pass 2: each row's own answer
    out2, lse2 = flash(q, key, value, 0.0, False, scale=scale)
    # merge by log-sum-exp: softmax over the prompt's and the answer's keys together
    top = torch.maximum(lse1, lse2)
    w1, w2 = torch.exp(lse1 - top).unsqueeze(-1), torch.exp(lse2 - top).unsqueeze(-1)
    merged = (out1.float() * w1 + out2.float() * w2) / (w1 + w2)
    # transformers expects (rows, query length, heads, dim)
    return merged.to(query.dtype).reshape(rows, heads, 1, dim).transpose(1, 2).contiguous(), None
