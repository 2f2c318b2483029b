"""Load, validate and dump schemas (YAML), and convert to and from SDV single-table metadata."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from synthstruct.errors import Problem, SchemaError
from synthstruct.pii.entities import ENTITIES
from synthstruct.schema.model import Schema
from synthstruct.schema.rules import generation_problems

__all__ = [
    "dump_schema",
    "from_sdv_metadata",
    "load_schema",
    "plain_schema",
    "pydantic_problems",
    "schema_from_dict",
    "schema_sha256",
    "to_sdv_metadata",
    "validate_model",
]


def pydantic_problems(exc: ValidationError, doc: str = "docs/schema.md") -> list[Problem]:
    """Turn pydantic errors into :class:`Problem` s with dotted YAML paths and no input values; fixes point
    to ``doc`` (the page that documents the format)."""
    problems = []
    for err in exc.errors(include_input=False, include_url=False):
        # Drop the discriminator tag pydantic inserts after an item's key ("columns.age.numerical.min"), but
        # not a name that happens to equal a tag: a column called "text" stays ("columns.text.text.min").
        loc: list[str] = []
        kept = True  # whether the previous part was kept
        for i, part in enumerate(str(p) for p in err["loc"]):
            kept = not (i >= 2 and kept and part in _TAGS)
            if kept:
                loc.append(part)
        path = ".".join(loc) or "(top level)"
        kind = err["type"]
        if kind == "extra_forbidden":
            problems.append(Problem(path, "unknown key", f"remove it or check its spelling against {doc}"))
        elif kind == "missing":
            problems.append(Problem(path, "required key is missing", "add it"))
        elif kind == "union_tag_invalid":
            problems.append(Problem(path, err["msg"].split(". ", 1)[0], "use one of the documented kinds/types"))
        elif kind == "union_tag_not_found":
            problems.append(Problem(path, "has no 'kind'/'type' to say what it is", "add kind: (column) or type: (constraint)"))
        else:
            problems.append(Problem(path, err["msg"], f"see {doc} for the allowed values"))
    return problems


_TAGS = {
    "id", "categorical", "ordinal", "numerical", "datetime", "boolean", "pii", "text", "constant",
    "inequality", "range", "fixed_combinations", "positive", "derive", "check", "compose",
}


def schema_from_dict(data: Any, *, source: str | None = None) -> Schema:
    """Validate a mapping as a schema, reporting every problem at once.

    Raises:
        SchemaError: listing each problem with its YAML path.
    """
    if not isinstance(data, dict):
        raise SchemaError("a schema must be a YAML mapping with schema_version, name and columns",
                          source=source)
    return validate_model(Schema, data, what="schema", source=source)


def validate_model(model: Any, data: dict[str, Any], *, what: str, source: str | None) -> Any:
    """``model.model_validate(data)`` then ``semantic_problems()``: every problem of either stage in one
    :class:`SchemaError` ("invalid <what>") with YAML paths (single-table and relational schemas)."""
    try:
        validated = model.model_validate(data)
    except ValidationError as exc:
        raise SchemaError(f"invalid {what}", pydantic_problems(exc), source=source) from None
    problems = validated.semantic_problems()
    if isinstance(validated, Schema):  # priors and rules (schema/rules.py; relational schemas call it per table)
        problems.extend(generation_problems(validated))
    if problems:
        raise SchemaError(f"invalid {what}", problems, source=source)
    return validated


def load_schema(path: str | Path) -> Schema:
    """Read and validate a schema YAML file.

    Raises:
        SchemaError: the file is missing, is not YAML, or is not a valid schema.
    """
    from synthstruct._yaml import load_yaml_file

    path = Path(path)
    if not path.is_file():
        raise SchemaError("schema file not found", [Problem(str(path), "no such file", "check the path")],
                          source=str(path))
    data = load_yaml_file(path, error=SchemaError, what="schema")  # bounded: no bombs, no object tags
    return schema_from_dict(data, source=str(path))


def plain_schema(schema: Schema) -> dict[str, Any]:
    return schema.model_dump(mode="json", exclude_defaults=True, exclude_none=True) | {
        "schema_version": schema.schema_version,
        "name": schema.name,
    }


def dump_schema(schema: Schema, comments: dict[str, str] | None = None) -> str:
    """Serialise a schema to YAML (stable key order). ``comments`` maps column name -> a comment
    written above that column, used by ``infer`` to explain its guesses."""
    data = plain_schema(schema)
    ordered = {"schema_version": data.pop("schema_version"), "name": data.pop("name")}
    for key in ("description", "locale", "primary_key", "target", "quasi_identifiers", "sensitive"):
        if key in data:
            ordered[key] = data.pop(key)
    columns = data.pop("columns", {})
    for name, col in columns.items():  # the kind first, for people
        columns[name] = {"kind": col.pop("kind"), **col}
    rest = data
    text = yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True)
    if not comments:
        text += yaml.safe_dump({"columns": columns}, sort_keys=False, allow_unicode=True)
    else:
        text += "columns:\n"
        for name, col in columns.items():
            if name in comments:
                for line in comments[name].splitlines():
                    text += f"  # {line}\n"
            block = yaml.safe_dump({name: col}, sort_keys=False, allow_unicode=True)
            text += "".join(f"  {line}\n" for line in block.splitlines())
    if rest:
        text += yaml.safe_dump(rest, sort_keys=False, allow_unicode=True)
    return text


def schema_sha256(schema: Schema) -> str:
    """A stable hash of the schema's content (independent of comments and key order)."""
    return hashlib.sha256(yaml.safe_dump(plain_schema(schema), sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------- SDV metadata
_TO_SDV = {"categorical": "categorical", "ordinal": "categorical", "numerical": "numerical",
           "datetime": "datetime", "boolean": "boolean", "id": "id", "text": "categorical",
           "constant": "categorical"}
_PII_TO_SDV = {e.name: e.sdv for e in ENTITIES if e.declarable and e.sdv}
#: SDV sdtype -> entity; "city" is CITY (LOCATION, listed before it, maps to "city" too).
_FROM_SDV_PII = {e.sdv: e.name for e in ENTITIES if e.declarable and e.sdv}


def to_sdv_metadata(schema: Schema) -> dict[str, Any]:
    """Export as SDV metadata (v2 dict with one table), for users moving between the tools."""
    columns: dict[str, Any] = {}
    for name, col in schema.columns.items():
        if col.kind == "pii":
            columns[name] = {"sdtype": _PII_TO_SDV.get(col.entity, "unknown"), "pii": True}
        else:
            entry: dict[str, Any] = {"sdtype": _TO_SDV[col.kind]}
            if col.kind == "datetime":
                entry["datetime_format"] = col.format
            columns[name] = entry
    table: dict[str, Any] = {"columns": columns}
    if schema.primary_key:
        table["primary_key"] = schema.primary_key
    return {"METADATA_SPEC_VERSION": "V1", "tables": {schema.name: table}, "relationships": []}


def from_sdv_metadata(metadata: dict[str, Any], *, table: str | None = None) -> Schema:
    """Import SDV metadata (v2 multi-table dict with one table, or the v1 single-table dict)."""
    if "tables" in metadata:
        tables = metadata["tables"]
        if table is None:
            if len(tables) != 1:
                raise SchemaError("SDV metadata has several tables",
                                  [Problem("tables", f"{len(tables)} tables", "pass table=NAME")])
            table = next(iter(tables))
        body, name = tables[table], table
    else:
        body, name = metadata, table or "table"
    columns: dict[str, Any] = {}
    for col, spec in body.get("columns", {}).items():
        sdtype = spec.get("sdtype", "unknown")
        if sdtype in ("categorical", "boolean", "datetime", "id"):
            entry: dict[str, Any] = {"kind": sdtype}
            if sdtype == "datetime" and spec.get("datetime_format"):
                entry["format"] = spec["datetime_format"]
            if sdtype == "id":
                entry = {"kind": "id", "strategy": "sequence"}
        elif sdtype == "numerical":
            rep = str(spec.get("computer_representation", "Float"))
            entry = {"kind": "numerical", "dtype": "int" if "int" in rep.lower() else "float"}
        elif sdtype in _FROM_SDV_PII:
            entry = {"kind": "pii", "entity": _FROM_SDV_PII[sdtype]}
        else:
            entry = {"kind": "pii", "entity": "PERSON", "strategy": "mask"} if spec.get("pii") else {"kind": "categorical"}
        columns[col] = entry
    data: dict[str, Any] = {"schema_version": 1, "name": name, "columns": columns}
    if body.get("primary_key"):
        data["primary_key"] = body["primary_key"]
    return schema_from_dict(data, source="SDV metadata")
