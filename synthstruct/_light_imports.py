"""Keep torch and transformers out of the PII scanner's import (about 3-10 s of every cold CLI start).

Presidio imports its Hugging Face NLP engine, and thinc (under spaCy) its PyTorch wrapper, whenever
``transformers`` / ``torch`` are installed — and they are, for the embedded text model. The scanner
uses neither: it runs spaCy's CNN pipeline. :func:`install` adds an import hook that answers
"not installed" to ``torch`` and ``transformers`` **only when the import comes from presidio_analyzer
or thinc**; both treat that as optional and go on. Our own text backends import torch normally.

The CLI installs it (``synthstruct.cli.main``); library users are unaffected unless they call
:func:`install`. ``SYNTHSTRUCT_LIGHT_IMPORTS=0`` switches it off (e.g. for a transformer-based spaCy
model behind Presidio, which needs thinc's PyTorch support).
"""

from __future__ import annotations

import importlib.abc
import os
import sys
from typing import Any

__all__ = ["install"]

_HEAVY = frozenset({"torch", "transformers"})
_QUIET_IMPORTERS = ("presidio_analyzer", "thinc")


def _importer() -> str:
    """The module that asked for the import (the first frame outside the import machinery)."""
    frame = sys._getframe(2)
    while frame is not None:
        name = str(frame.f_globals.get("__name__", ""))
        if not (name.startswith(("importlib", "_frozen_importlib")) or name == __name__):
            return name
        frame = frame.f_back  # type: ignore[assignment]
    return ""


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname.partition(".")[0] in _HEAVY and _importer().startswith(_QUIET_IMPORTERS):
            raise ModuleNotFoundError(f"{fullname} is not loaded for the PII scanner (synthstruct._light_imports)",
                                      name=fullname)
        return None


def install() -> None:
    """Add the hook once (no-op when ``SYNTHSTRUCT_LIGHT_IMPORTS=0``)."""
    if os.environ.get("SYNTHSTRUCT_LIGHT_IMPORTS", "1") == "0":
        return
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
