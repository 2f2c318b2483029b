"""synthstruct: synthetic tables that are safe to share, with a release gate that proves it."""

from synthstruct.errors import (
    DataFileError,
    DataValidationError,
    InputError,
    NotFittedError,
    ReleaseBlockedError,
    SchemaError,
    SynthstructError,
)
from synthstruct.schema import Schema, dump_schema, load_schema

__version__ = "0.1.0"

__all__ = [
    "DataFileError",
    "DataValidationError",
    "InputError",
    "NotFittedError",
    "ReleaseBlockedError",
    "Schema",
    "SchemaError",
    "SynthstructError",
    "__version__",
    "dump_schema",
    "load_schema",
]
