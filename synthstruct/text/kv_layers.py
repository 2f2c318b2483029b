"""Key/value cache layers shared by the local backend's decoding loop (:mod:`synthstruct.text.decode`) and
its cascade attention (:mod:`synthstruct.text.cascade`)."""

from __future__ import annotations

from typing import Any

__all__ = ["filled_layer_class"]


def filled_layer_class() -> Any:
    """transformers' static cache layer whose attention reads only the positions written so far.

    The static layer hands attention its whole buffer (prompt + room for ``budget`` answer tokens, the empty
    part masked); this one hands it a view of the written part, so a step reads the keys and values it uses
    (decoding is bound by those reads here: 0.29 vs 0.33 s per step for 64 rows of 480-token prompts).
    """
    global _FILLED
    if _FILLED is None:
        from transformers.cache_utils import StaticLayer

        class FilledStaticLayer(StaticLayer):
            def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
                keys, values = super().update(key_states, value_states, *args, **kwargs)
                written = int(self.cumulative_length)
                return keys[:, :, :written], values[:, :, :written]

            def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
                return int(self.cumulative_length) + query_length, 0

        _FILLED = FilledStaticLayer
    return _FILLED


_FILLED: Any = None
