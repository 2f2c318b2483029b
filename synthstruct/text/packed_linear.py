"""Linear layers with their weights reordered once for oneDNN, for the ``local`` backend's bfloat16 model.

A bfloat16 ``torch.nn.functional.linear`` on CPU runs oneDNN's matmul primitive on the weight as it is
stored (row-major); its AMX / AVX-512 kernel copies the weight into the blocked, pair-interleaved layout it
reads on every call (``ONEDNN_VERBOSE=1`` shows ``wei:bf16::blocked:ba``). A 135M-parameter model makes
211 such calls per decoding step, so each step re-lays out every weight of the model. :func:`pack_linears`
does that once, at load (``torch.ops.mkldnn._reorder_linear_weight``, the op torch's own compiler uses for
frozen CPU models; the weight becomes ``AB16b32a2b``), and replaces each ``nn.Linear`` by a
:class:`PackedLinear` that calls ``torch.ops.mkldnn._linear_pointwise`` (oneDNN's inner product on the
same kernel family) on the packed weight.

The result is the same product, but not always the same bits: the two primitives block the sums
differently for some row counts (here 96 rows of one layer shape, 480 of two others, out of 1-129 and a
few large ones; the rest agree bit for bit). Generated text therefore differs from an unpacked run as it
would with another thread count; it stays deterministic (same inputs, same packed kernel, same bits), and
the answer cache's key says ``packed`` so a resumed run never mixes the two. Before anything is replaced,
every distinct weight shape is multiplied both ways on a few input shapes, and unless every packed product
is within bfloat16 rounding of the plain one — or when the ops are missing or the model is not bfloat16 on
CPU — the model is left as it is. The gain is measured in ``docs/text.md``, *Packed linear layers* (1.5-2x
per matrix product here).
"""

from __future__ import annotations

from typing import Any

__all__ = ["pack_linears"]

#: Off: :func:`pack_linears` leaves every model alone (a lever for ``evaluation/bench_text_share.py``).
ENABLED = True
#: Batch size the packed layout is tuned for (a hint: any number of rows works).
ROWS_HINT = 64
#: Input shapes (leading dimensions) on which packed and plain products must agree to bfloat16 rounding.
_PROBE_SHAPES = ((1, 1), (5, 1), (3, 7))

#: Relative tolerance of the check: two bfloat16 roundings (8 significant bits each).
BF16_RTOL = 2 ** -6

_PACKED_CLASS: Any = None


def _packed_class() -> Any:
    global _PACKED_CLASS
    if _PACKED_CLASS is None:
        import torch

        class PackedLinear(torch.nn.Module):
            """``nn.Linear`` whose weight is held in oneDNN's blocked layout (no reorder per call)."""

            def __init__(self, linear: torch.nn.Linear, packed: torch.Tensor) -> None:
                super().__init__()
                self.in_features, self.out_features = linear.in_features, linear.out_features
                self.packed_weight = packed
                self.bias = linear.bias

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return _packed_product(x, self.packed_weight, self.bias)

            def extra_repr(self) -> str:
                return f"in_features={self.in_features}, out_features={self.out_features}, packed"

        _PACKED_CLASS = PackedLinear
    return _PACKED_CLASS


def _pack(weight: Any) -> Any:
    """``weight`` (out x in) in oneDNN's blocked layout for :data:`ROWS_HINT` rows."""
    import torch

    return torch.ops.mkldnn._reorder_linear_weight(weight, ROWS_HINT)


def _packed_product(x: Any, packed: Any, bias: Any) -> Any:
    """``x @ W.T + bias`` with ``W`` packed by ``_reorder_linear_weight``."""
    import torch

    return torch.ops.mkldnn._linear_pointwise(x, packed, bias, "none", [], "")


def _available(torch: Any) -> bool:
    mkldnn = getattr(torch.ops, "mkldnn", None)
    return bool(torch.backends.mkldnn.is_available() and mkldnn is not None
                and hasattr(mkldnn, "_reorder_linear_weight") and hasattr(mkldnn, "_linear_pointwise"))


def pack_linears(model: Any) -> int:
    """Replace every ``nn.Linear`` of a bfloat16 CPU ``model`` by a :class:`PackedLinear`, in place.

    Returns:
        The number of layers replaced: 0 when the model is not bfloat16 on CPU, the ops are unavailable,
        or a packed product is not within bfloat16 rounding of the plain one on the probe inputs (then
        nothing is replaced).
    """
    import torch

    if not ENABLED or not _available(torch):
        return 0
    linears = [(parent, name, child) for parent in model.modules() for name, child in parent.named_children()
               if type(child) is torch.nn.Linear]
    if not linears or any(c.weight.dtype != torch.bfloat16 or c.weight.device.type != "cpu" for _, _, c in linears):
        return 0
    gen = torch.Generator().manual_seed(0)
    done: dict[int, Any] = {}  # weight's data pointer -> packed (a tied weight is packed once; checked ones kept)
    checked: set[tuple[int, int, bool]] = set()
    try:
        with torch.inference_mode():
            for _, _, lin in linears:  # every distinct shape, before anything is replaced
                shape = (lin.in_features, lin.out_features, lin.bias is not None)
                if shape in checked:
                    continue
                w = lin.weight.detach()
                done[w.data_ptr()] = packed = _pack(w)
                for lead in _PROBE_SHAPES:
                    x = torch.randn(*lead, lin.in_features, generator=gen).to(torch.bfloat16)
                    plain = torch.nn.functional.linear(x, w, lin.bias)
                    fast = _packed_product(x, packed, lin.bias)
                    scale = float(plain.abs().max()) or 1.0
                    if fast.shape != plain.shape or not torch.allclose(fast.float(), plain.float(), rtol=BF16_RTOL,
                                                                       atol=BF16_RTOL * scale):
                        return 0
                checked.add(shape)
    except RuntimeError:  # an op this torch build does not run here: keep the plain layers
        return 0
    # one layer at a time, so each replaced weight is freed before the next is packed
    cls, count = _packed_class(), len(linears)
    with torch.inference_mode():
        while linears:
            parent, name, lin = linears.pop()
            key = lin.weight.data_ptr()
            if key not in done:
                done[key] = _pack(lin.weight.detach())
            setattr(parent, name, cls(lin, done[key]))
            del lin
    _return_freed_memory()
    return count


def _return_freed_memory() -> None:
    """Hand the replaced weights' freed heap back to the system (glibc keeps it otherwise: +200 MB of resident
    memory for SmolLM2, which the packed weights, allocated by oneDNN, do not reuse). No-op elsewhere."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
