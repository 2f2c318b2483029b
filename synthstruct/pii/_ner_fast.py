"""Speed-ups for spaCy NER in the scanner: which text is worth running NER on, and faster matrix products.

* :func:`ner_candidates` keeps only the sentences that hold a *candidate word* (a capitalised word
  that could start a name or place, see :func:`has_candidate_word`); short texts go whole.
* :func:`numpy_matmul` swaps thinc's blis matrix products for numpy's BLAS while NER runs
  (:func:`numpy_ops`), restoring the pipeline's own ops afterwards.

spaCy and thinc are imported lazily, inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = [
    "SENTENCE_BREAK", "WHOLE_TEXT", "WORD", "has_candidate_word", "ner_candidates", "ner_pipes", "numpy_matmul",
    "numpy_ops",
]

#: Sentence breaks (not after titles such as ``Dr.``); texts up to :data:`WHOLE_TEXT` characters go
#: to NER whole, longer ones sentence by sentence (only the sentences with a candidate word).
SENTENCE_BREAK = re.compile(r"(?<!\bDr)(?<!\bMr)(?<!\bMs)(?<!\bSt)(?<!\bMrs)(?<!\bProf)(?<!\bJr)(?<!\bSr)"
                            r"(?<=[.!?])\s+|\n+")
WHOLE_TEXT = 300
_WEEKDAYS = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"})
WORD = re.compile(r"[^\W\d_][\w'’-]*")


@functools.lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def has_candidate_word(piece: str, offset: int, masks: list[tuple[int, int, str, float]],
                       descriptors: frozenset[str] = frozenset()) -> bool:
    """A capitalised word outside pattern spans that could start a name or place.

    Not candidates: ``I``; a sentence-initial stop word (``The``) or PII descriptor (``Call``,
    ``Transfer``); weekday names; acronyms of three or more letters that name a kind of personal
    data (``IBAN``, ``SSN``).
    """
    stop = _stop_words()
    for k, m in enumerate(WORD.finditer(piece)):
        token, at = m.group(), offset + m.start()
        if not token[0].isupper() or token == "I" or any(s <= at < e for s, e, _, _ in masks):
            continue
        lower = token.lower()
        if lower in _WEEKDAYS or (k == 0 and (lower in stop or (lower in descriptors and not token.isupper()))):
            continue
        if token.isupper() and len(token) >= 3 and lower in descriptors:
            continue
        return True
    return False


def ner_candidates(text: str, masks: list[tuple[int, int, str, float]],
                   descriptors: frozenset[str] = frozenset()) -> list[tuple[int, str]]:
    """``(offset, piece)`` pairs worth running NER on: the whole text when it is short and has a
    candidate word in any sentence, else each sentence that has one."""
    pieces, pos = [], 0
    for piece in SENTENCE_BREAK.split(text):
        offset = text.find(piece, pos) if piece else pos
        pos = offset + len(piece)
        if piece and has_candidate_word(piece, offset, masks, descriptors):
            pieces.append((offset, piece))
    if len(text) <= WHOLE_TEXT:
        return [(0, text)] if pieces else []
    return pieces


def ner_pipes(nlp: Any) -> list[str]:
    """``ner`` plus the shared embedding component it listens to, if any."""
    ner = nlp.get_pipe("ner")
    listens = any(type(node).__name__ in ("Tok2VecListener", "TransformerListener") for node in ner.model.walk())
    return ["ner"] + [n for n in ("tok2vec", "transformer") if listens and n in nlp.pipe_names]


@functools.lru_cache(maxsize=1)
def numpy_ops() -> Any:
    """thinc's CPU ops with matrix products through numpy's BLAS instead of blis.

    On the machines we measured, blis' generic kernels were ~5x slower than OpenBLAS for the
    products of spaCy's embedding and NER layers; results are the same up to float rounding.
    """
    from thinc.api import NumpyOps

    class _NumpyMatmulOps(NumpyOps):
        def gemm(self, x: Any, y: Any, out: Any = None, trans1: bool = False, trans2: bool = False) -> Any:
            x, y = (x.T if trans1 else x), (y.T if trans2 else y)
            if out is None:
                return np.dot(x, y)
            np.dot(x, y, out=out)
            return out

    return _NumpyMatmulOps()


@contextlib.contextmanager
def numpy_matmul(nlp: Any, pipes: Sequence[str]) -> Iterator[None]:
    """Within the block, the layers of ``pipes`` use :func:`numpy_ops` on one BLAS thread.

    The pipeline is Presidio's own, so the original ops are restored on exit.
    """
    from thinc.api import NumpyOps

    nodes = [node for name in pipes for node in nlp.get_pipe(name).model.walk() if type(node.ops) is NumpyOps]
    saved = [node.ops for node in nodes]
    with contextlib.ExitStack() as stack:
        with contextlib.suppress(ImportError):
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(limits=1, user_api="blas"))
        try:
            for node in nodes:
                node.ops = numpy_ops()
            yield
        finally:
            for node, ops in zip(nodes, saved):
                node.ops = ops
