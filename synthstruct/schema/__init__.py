"""Table schemas: models, YAML io, inference from data, and validation of data against a schema."""

from typing import Any

from synthstruct.schema.check import coerce_to_schema, validate_table
from synthstruct.schema.io import (
    dump_schema,
    from_sdv_metadata,
    load_schema,
    schema_from_dict,
    schema_sha256,
    to_sdv_metadata,
)
from synthstruct.schema.model import SCHEMA_VERSION, Schema

__all__ = [
    "SCHEMA_VERSION",
    "Schema",
    "coerce_to_schema",
    "dump_schema",
    "from_sdv_metadata",
    "infer_schema",
    "load_schema",
    "schema_from_dict",
    "schema_sha256",
    "to_sdv_metadata",
    "validate_table",
]


def __getattr__(name: str) -> Any:  # infer pulls in Presidio lazily
    if name == "infer_schema":
        from synthstruct.schema.infer import infer_schema

        return infer_schema
    raise AttributeError(name)
