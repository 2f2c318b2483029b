from __future__ import annotations

import pytest
import yaml

from synthstruct.errors import SchemaError
from synthstruct.schema import dump_schema, from_sdv_metadata, load_schema, schema_from_dict, to_sdv_metadata


def test_round_trip_dump_load(tmp_path, small_schema_dict):
    schema = schema_from_dict(small_schema_dict)
    path = tmp_path / "s.yaml"
    path.write_text(dump_schema(schema, comments={"age": "numerical: integers"}))
    again = load_schema(path)
    assert again == schema
    assert "# numerical: integers" in path.read_text()


def test_all_problems_reported_at_once_with_yaml_paths(small_schema_dict):
    bad = small_schema_dict
    bad["columns"]["age"]["mn"] = 1  # unknown key
    bad["columns"]["income"]["decimals"] = "two"  # wrong type
    bad["columns"]["group"] = {"kind": "nominal"}  # unknown kind
    bad["unexpected"] = True
    with pytest.raises(SchemaError) as info:
        schema_from_dict(bad, source="s.yaml")
    locations = {p.location for p in info.value.problems}
    assert {"columns.age.mn", "columns.income.decimals", "columns.group", "unexpected"} <= locations
    assert "s.yaml" in str(info.value)


def test_problem_paths_keep_a_column_named_like_a_kind(small_schema_dict):
    """pydantic puts the discriminator tag after the column name; a column whose name equals a tag ("text",
    "id", "range") must still be named in the path, and the tag itself left out."""
    bad = small_schema_dict
    bad["columns"]["text"] = {"kind": "text", "candidates": 0}
    bad["columns"]["range"] = {"kind": "numerical", "min": "low"}
    bad["columns"]["age"]["mn"] = 1
    bad["constraints"].append({"type": "range", "low": "age"})
    with pytest.raises(SchemaError) as info:
        schema_from_dict(bad)
    locations = {p.location for p in info.value.problems}
    assert {"columns.text.candidates", "columns.range.min", "columns.age.mn"} <= locations, locations
    assert not any(".numerical" in loc or ".text.text" in loc for loc in locations), locations
    assert any(loc.startswith("constraints") and "range" not in loc for loc in locations), locations


def test_semantic_problems(small_schema_dict):
    bad = small_schema_dict
    bad["target"] = "nope"
    bad["columns"]["age"]["min"] = 200
    bad["constraints"].append({"type": "inequality", "low": "group", "high": "age"})
    with pytest.raises(SchemaError) as info:
        schema_from_dict(bad)
    msgs = {p.location: p.message for p in info.value.problems}
    assert "target" in msgs and "columns.age.min" in msgs and "constraints[1].low" in msgs


def test_schema_version_required(small_schema_dict):
    del small_schema_dict["schema_version"]
    with pytest.raises(SchemaError, match="schema_version"):
        schema_from_dict(small_schema_dict)


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(SchemaError, match="not found"):
        load_schema(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("columns: [unclosed\n")
    with pytest.raises(SchemaError, match="YAML"):
        load_schema(broken)


def test_sdv_metadata_round_trip(small_schema_dict):
    schema = schema_from_dict(small_schema_dict)
    meta = to_sdv_metadata(schema)
    assert meta["tables"]["patients"]["columns"]["age"]["sdtype"] == "numerical"
    assert meta["tables"]["patients"]["primary_key"] == "pid"
    back = from_sdv_metadata(meta)
    assert back.kinds()["visit"] == "datetime"
    assert back.columns["visit"].format == "%Y-%m-%d"
    assert back.primary_key == "pid"


def test_sdv_metadata_is_accepted_by_sdv(small_schema_dict):
    from sdv.metadata import Metadata

    meta = Metadata.load_from_dict(to_sdv_metadata(schema_from_dict(small_schema_dict)))
    meta.validate()


def test_every_bundled_schema_loads(bundled_dir):
    paths = sorted(bundled_dir.glob("*.yaml"))
    assert len(paths) == 3
    for path in paths:
        schema = load_schema(path)
        assert schema.name == path.stem
        assert yaml.safe_load(dump_schema(schema))["name"] == path.stem
