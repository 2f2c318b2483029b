"""synthstruct: synthetic tables that are safe to share, with a release gate that proves it.

The public API is small and pinned by ``tests/contracts/test_public_api.py``. Heavy backends (SDV,
torch, Presidio, spaCy) are imported only when a component that needs them is used.
"""

from __future__ import annotations

from typing import Any

from synthstruct.errors import (
    DataFileError,
    DataValidationError,
    EngineError,
    InputError,
    ModelIntegrityError,
    NotFittedError,
    PolicyError,
    ReleaseBlockedError,
    SchemaError,
    SynthstructError,
)

__version__ = "0.1.0"

_LAZY = {  # imported on first use, so `import synthstruct` (and `synthstruct --help`) stays light
    "Schema": "synthstruct.schema",
    "dump_schema": "synthstruct.schema",
    "load_schema": "synthstruct.schema",
    "TableSynthesizer": "synthstruct.synthesizers.table",
    "ReleaseGate": "synthstruct.release.gate",
    "GateReport": "synthstruct.release.gate",
    "Policy": "synthstruct.release.policy",
    "load_policy": "synthstruct.release.policy",
    "release": "synthstruct.release.pipeline",
    "infer_schema": "synthstruct.schema.infer",
    "read_table": "synthstruct.dataio",
}

__all__ = [  # sorted; pinned by tests/contracts/test_public_api.py
    "DataFileError",
    "DataValidationError",
    "EngineError",
    "GateReport",
    "InputError",
    "ModelIntegrityError",
    "NotFittedError",
    "Policy",
    "PolicyError",
    "ReleaseBlockedError",
    "ReleaseGate",
    "Schema",
    "SchemaError",
    "SynthstructError",
    "TableSynthesizer",
    "__version__",
    "dump_schema",
    "infer_schema",
    "load_policy",
    "load_schema",
    "read_table",
    "release",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'synthstruct' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
