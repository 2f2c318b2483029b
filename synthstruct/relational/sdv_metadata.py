"""Import and export SDV multi-table metadata (``METADATA_SPEC_VERSION: V1`` dicts).

``to_sdv_multi_table`` writes what ``sdv.metadata.Metadata.load_from_dict`` reads (tables, primary
keys, relationships); ``from_sdv_multi_table`` reads it back into a relational schema. Reference tables
and sequence keys have no SDV equivalent (they are lost on export; set them again after import); key
columns are ``id`` both ways.
"""

from __future__ import annotations

from typing import Any

from synthstruct.relational.model import RelationalSchema, relational_from_dict
from synthstruct.schema.io import from_sdv_metadata, to_sdv_metadata

__all__ = ["from_sdv_multi_table", "to_sdv_multi_table"]


def to_sdv_multi_table(schema: RelationalSchema) -> dict[str, Any]:
    """SDV multi-table metadata for ``schema`` (key columns as ``sdtype: id``)."""
    tables: dict[str, Any] = {}
    for name, spec in schema.tables.items():
        table = to_sdv_metadata(spec.schema_)["tables"][spec.schema_.name]
        for col, entry in table["columns"].items():
            if spec.schema_.columns[col].kind == "id":
                table["columns"][col] = {"sdtype": "id"}
        tables[name] = table
    relationships = [{"parent_table_name": r.parent, "parent_primary_key": r.parent_column,
                      "child_table_name": r.child, "child_foreign_key": r.child_column}
                     for r in schema.relationships]
    return {"METADATA_SPEC_VERSION": "V1", "tables": tables, "relationships": relationships}


def from_sdv_multi_table(metadata: dict[str, Any], *, name: str = "database") -> RelationalSchema:
    """A relational schema from SDV multi-table metadata (every problem at once as a SchemaError)."""
    tables = {}
    for table in metadata.get("tables", {}):
        sch = from_sdv_metadata(metadata, table=table)
        tables[table] = {"schema": sch.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
                         | {"schema_version": 1, "name": sch.name}}
    rels = [{"parent": r["parent_table_name"], "parent_column": r["parent_primary_key"],
             "child": r["child_table_name"], "child_column": r["child_foreign_key"]}
            for r in metadata.get("relationships", [])]
    return relational_from_dict({"relational_version": 1, "name": name, "tables": tables, "relationships": rels},
                                source="SDV metadata")
