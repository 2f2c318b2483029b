"""The public API is small and deliberate: adding or removing a name must change this test."""

from __future__ import annotations

import subprocess
import sys

import synthstruct

EXPECTED = [
    "DataFileError", "DataValidationError", "EngineError", "GateReport", "InputError", "ModelIntegrityError",
    "NotFittedError", "Policy", "PolicyError", "ReleaseBlockedError", "ReleaseGate", "Schema", "SchemaError",
    "SynthstructError", "TableSynthesizer", "__version__", "dump_schema", "infer_schema", "load_policy",
    "load_schema", "read_table", "release",
]


def test_all_is_sorted_and_pinned():
    assert synthstruct.__all__ == sorted(EXPECTED)


def test_every_name_resolves():
    for name in synthstruct.__all__:
        assert getattr(synthstruct, name) is not None


def test_error_tree_refines_builtins():
    assert issubclass(synthstruct.InputError, ValueError)
    assert issubclass(synthstruct.NotFittedError, AttributeError)
    for name in ("DataFileError", "DataValidationError", "SchemaError", "PolicyError", "ModelIntegrityError"):
        assert issubclass(getattr(synthstruct, name), synthstruct.InputError)
    assert issubclass(synthstruct.ReleaseBlockedError, synthstruct.SynthstructError)


def test_import_is_light():
    code = ("import sys, synthstruct, synthstruct.cli; "
            "heavy = [m for m in ('torch', 'sdv', 'presidio_analyzer', 'spacy', 'sklearn', 'pandas', 'numpy') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
