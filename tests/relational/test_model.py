"""Relational schema model: validation problems, YAML round trip, SDV multi-table metadata."""

from __future__ import annotations

import copy

import pytest

from synthstruct.errors import SchemaError
from synthstruct.relational.model import dump_relational, load_relational, relational_from_dict


def _schema() -> dict:
    return {
        "relational_version": 1,
        "name": "shop",
        "tables": {
            "customer": {"schema": {"schema_version": 1, "name": "customer", "primary_key": "cid", "columns": {
                "cid": {"kind": "id", "strategy": "sequence"}, "age": {"kind": "numerical", "dtype": "int"}}}},
            "purchase": {"sequence_key": "day", "schema": {
                "schema_version": 1, "name": "purchase", "primary_key": "pid", "columns": {
                    "pid": {"kind": "id", "strategy": "sequence"}, "cid": {"kind": "id", "strategy": "sequence"},
                    "day": {"kind": "datetime"}, "amount": {"kind": "numerical"}}}},
        },
        "relationships": [{"parent": "customer", "parent_column": "cid", "child": "purchase", "child_column": "cid"}],
    }


def _problems(data: dict) -> list[str]:
    with pytest.raises(SchemaError) as info:
        relational_from_dict(data)
    assert info.value.exit_code == 2
    return [str(p) for p in info.value.problems]


def test_valid_schema_graph_helpers_and_round_trip(tmp_path):
    schema = relational_from_dict(_schema())
    assert schema.synthesized() == ["customer", "purchase"]
    assert schema.driving("purchase").parent == "customer"
    assert schema.roots() == ["customer"]
    path = tmp_path / "rel.yaml"
    path.write_text(dump_relational(schema))
    again = load_relational(path)
    assert again == schema
    assert dump_relational(again) == dump_relational(schema)


def test_unknown_key_is_refused():
    data = _schema()
    data["tables"]["customer"]["colour"] = "red"
    assert any("unknown key" in p for p in _problems(data))


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["relationships"][0].update(parent="nope"), "names a table the schema does not declare"),
    (lambda d: d["relationships"][0].update(child_column="amount"), "declare foreign key columns as kind: id"),
    (lambda d: d["relationships"][0].update(parent_column="age"), "is not the parent's primary key"),
    (lambda d: d["tables"]["purchase"].update(sequence_key="amount2"), "names a column the table does not declare"),
    (lambda d: d["relationships"].extend([{"parent": "purchase", "parent_column": "pid", "child": "purchase",
                                           "child_column": c} for c in ("cid", "cid")]), "references itself more"),
])
def test_semantic_problems(change, expected):
    data = _schema()
    change(data)
    assert any(expected in p for p in _problems(data)), _problems(data)


def test_cycle_is_refused():
    data = _schema()
    data["tables"]["customer"]["schema"]["columns"]["last_pid"] = {"kind": "id", "strategy": "sequence"}
    data["relationships"].append({"parent": "purchase", "parent_column": "pid", "child": "customer",
                                  "child_column": "last_pid"})
    problems = _problems(data)
    assert any("cycle" in p for p in problems), problems


def test_every_problem_reported_at_once():
    data = copy.deepcopy(_schema())
    data["relationships"][0].update(parent="nope")
    data["tables"]["purchase"]["sequence_key"] = "amount"
    data["tables"]["purchase"]["schema"]["columns"]["amount"] = {"kind": "categorical"}
    assert len(_problems(data)) >= 2


def test_sdv_multi_table_metadata_round_trip_loads_in_sdv():
    from sdv.metadata import Metadata

    from synthstruct.relational.sdv_metadata import from_sdv_multi_table, to_sdv_multi_table

    schema = relational_from_dict(_schema())
    exported = to_sdv_multi_table(schema)
    metadata = Metadata.load_from_dict(exported)
    metadata.validate()  # SDV accepts the keys and the relationship
    assert metadata.to_dict()["relationships"][0]["child_foreign_key"] == "cid"
    back = from_sdv_multi_table(metadata.to_dict(), name="shop")
    assert [(r.parent, r.child, r.child_column) for r in back.relationships] == [("customer", "purchase", "cid")]
    assert back.schema_of("purchase").columns["amount"].kind == "numerical"
    assert back.schema_of("customer").primary_key == "cid"
