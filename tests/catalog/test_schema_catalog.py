"""Every YAML under schemas/ loads, validates and round-trips; specs validate against their schema."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from synthstruct.generate import load_spec, validate_spec
from synthstruct.schema.io import (
    dump_schema,
    load_schema,
    schema_from_dict,
    schema_sha256,
)

ROOT = Path(__file__).resolve().parents[2] / "schemas"
SCHEMAS = sorted(p for p in ROOT.rglob("*.yaml") if not p.name.endswith((".spec.yaml", ".rel.yaml")))
RELATIONAL = sorted(ROOT.rglob("*.rel.yaml"))  # relational packs (synthstruct generate-db)
SPECS = sorted(ROOT.rglob("*.spec.yaml"))


def test_catalog_is_not_empty():
    assert {p.parent.name for p in SCHEMAS} >= {"medical", "financial", "customer_service"}


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_schema_loads_validates_and_round_trips(path):
    schema = load_schema(path)
    again = schema_from_dict(yaml.safe_load(dump_schema(schema)), source=str(path))
    assert again.model_dump(mode="json") == schema.model_dump(mode="json")
    assert schema_sha256(again) == schema_sha256(schema)
    assert schema.rules or any(getattr(c, "prior", None) is not None for c in schema.columns.values())


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_schema_is_documented(path):
    readme = (ROOT / "README.md").read_text()
    assert f"{path.parent.name}/{path.name}" in readme


@pytest.mark.parametrize("path", RELATIONAL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_relational_pack_loads_round_trips_and_is_documented(path):
    from synthstruct.relational.generate import generation_problems
    from synthstruct.relational.model import dump_relational, load_relational, relational_from_dict

    schema = load_relational(path)
    again = relational_from_dict(yaml.safe_load(dump_relational(schema)), source=str(path))
    assert again.model_dump(mode="json") == schema.model_dump(mode="json")
    assert generation_problems(schema) == []
    assert f"{path.parent.name}/{path.name}" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_spec_fits_its_schema(path):
    schema = load_schema(path.with_name(path.name.replace(".spec.yaml", ".yaml")))
    validate_spec(load_spec(path), schema)
