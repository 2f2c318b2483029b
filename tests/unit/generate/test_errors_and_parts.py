"""Bad schemas and specs fail before generation with YAML paths; expression, mapping and CLI parts."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from synthstruct.errors import InputError, SchemaError
from synthstruct.generate import (
    apply_column_mapping,
    generate_table,
    merge_spec,
    parse_mapping,
    parse_set_option,
    validate_spec,
)
from synthstruct.schema.expr import ExpressionError, parse_expression
from synthstruct.generate.spec import TextSpec
from synthstruct.schema.io import load_schema, schema_from_dict

PACKS = Path(__file__).resolve().parents[3] / "schemas"


@pytest.fixture(scope="module")
def medical_dict():
    return yaml.safe_load((PACKS / "medical" / "patient_case.yaml").read_text())


def _locations(data) -> list[str]:
    with pytest.raises(SchemaError) as info:
        schema_from_dict(data)
    return [p.location for p in info.value.problems]


@pytest.mark.parametrize("edit, location", [
    (lambda d: d["columns"]["sex"]["prior"].update(female=0.6), "columns.sex.prior"),
    (lambda d: d["columns"]["age"].update(min=99, max=20), "columns.age.min"),
    (lambda d: d["columns"]["age"]["prior"].update(distribution="uniform", low=90, high=30), "columns.age.prior.low"),
    (lambda d: d["columns"]["age"]["prior"].pop("std"), "columns.age.prior.std"),
    (lambda d: d["columns"]["age"]["prior"].update(mean=400), "columns.age.prior"),
    (lambda d: d["columns"]["age"]["prior"].update(shape=2), "columns.age.prior.shape"),
    (lambda d: d["columns"]["systolic_bp"]["conditional"].update(Z99={"distribution": "normal", "mean": 1, "std": 1}),
     "columns.systolic_bp.conditional.Z99"),
    (lambda d: d["columns"]["sex"]["prior"].update(other=0.0), "columns.sex.prior.other"),
    (lambda d: d["rules"].append({"type": "check", "expr": "pulse > 3"}), "rules[4].expr"),
    (lambda d: d["rules"].append({"type": "check", "expr": "__import__('os').system('x')"}), "rules[4].expr"),
    (lambda d: d["rules"].append({"type": "check", "expr": "age.real > 3"}), "rules[4].expr"),
    (lambda d: d["rules"].append({"type": "derive", "column": "age", "expr": "heart_rate"}), "rules[4].column"),
    (lambda d: d["constraints"].append({"type": "inequality", "low": "systolic_bp", "high": "diastolic_bp"}),
     "constraints[2]"),
    (lambda d: d["columns"]["visit_date"].update(min="2025-01-01", max="2024-01-01"), "columns.visit_date.min"),
    (lambda d: d["rules"][2]["cases"]["I10"].update(templates=["{nonexistent} pain"]), "rules[2].cases.I10.templates[0]"),
])
def test_bad_schema_reports_yaml_path(medical_dict, edit, location):
    data = copy.deepcopy(medical_dict)
    edit(data)
    assert location in _locations(data)


def test_dependency_cycle_is_reported(medical_dict):
    data = copy.deepcopy(medical_dict)
    data["columns"]["age"].update(depends_on="sex_code", conditional={"1": {"distribution": "constant", "value": 40}})
    data["columns"]["sex_code"] = {"kind": "numerical", "dtype": "int", "min": 0, "max": 1}
    data["rules"].append({"type": "derive", "column": "sex_code", "expr": "1 if age > 50 else 0"})
    assert {"columns.age", "columns.sex_code"} <= set(_locations(data))


def test_spec_problems_before_generation():
    schema = load_schema(PACKS / "customer_service" / "movie_review.yaml")
    bad = merge_spec(None, rows=10, set_shares={"sentiment": {"positive": 0.7, "meh": 0.3}, "rating": {"5": 1.0},
                                                "nope": {"a": 1.0}})
    bad.text["review_text"] = TextSpec(min_chars=90, max_chars=40)
    with pytest.raises(SchemaError) as info:
        validate_spec(bad, schema)
    locations = {p.location for p in info.value.problems}
    assert {"shares.sentiment.meh", "shares.nope", "text.review_text.min_chars"} <= locations
    with pytest.raises(SchemaError):
        generate_table(schema, 5, spec=bad)


def test_parse_set_option():
    assert parse_set_option("sentiment=positive:0.5, sentiment=negative:0.5") == {
        "sentiment": {"positive": 0.5, "negative": 0.5}}
    with pytest.raises(SchemaError):
        parse_set_option("sentiment=positive")
    with pytest.raises(SchemaError):
        parse_set_option("sentiment=positive:half")


def test_no_row_count_is_an_error():
    schema = load_schema(PACKS / "customer_service" / "movie_review.yaml")
    with pytest.raises(SchemaError, match="no row count"):
        generate_table(schema)


def test_expression_language():
    frame = pd.DataFrame({"a": [1, 5, 10], "t": pd.to_datetime(["2024-01-01 03:00", "2024-01-01 12:00", "2024-01-02 00:00"]),
                          "c": ["x", "y", "z"]})
    assert parse_expression("a * 2 + 1").evaluate(frame).tolist() == [3, 11, 21]
    assert parse_expression("hour(t) < 6 and a < 5").evaluate_bool(frame).tolist() == [True, False, False]
    assert parse_expression("c in ('x', 'z')").evaluate_bool(frame).tolist() == [True, False, True]
    assert parse_expression("1 < a <= 5").evaluate_bool(frame).tolist() == [False, True, False]
    assert parse_expression("'big' if a > 4 else 'small'").evaluate(frame).tolist() == ["small", "big", "big"]
    shifted = parse_expression("t + days(a)").evaluate(frame)
    assert shifted.iloc[1] == pd.Timestamp("2024-01-06 12:00")
    assert parse_expression("max(a, 4) + a").names == {"a"}
    for bad in ("open('x')", "a.__class__", "[x for x in a]", "lambda: 1", "a if", "f(a)(b)", "x ** 2"):
        with pytest.raises(ExpressionError):
            parse_expression(bad)


def test_column_mapping():
    schema = load_schema(PACKS / "medical" / "patient_case.yaml")
    mapping = parse_mapping("bp_sys=systolic_bp, bp_dia=diastolic_bp")
    frame = pd.DataFrame({"bp_sys": [120], "bp_dia": [80], "age": [40]})
    assert list(apply_column_mapping(frame, mapping, schema)) == ["systolic_bp", "diastolic_bp", "age"]
    with pytest.raises(InputError):
        apply_column_mapping(frame, {"bp_sys": "pressure"}, schema)
    with pytest.raises(InputError):
        apply_column_mapping(frame, {"missing": "age"}, schema)
    with pytest.raises(InputError):
        parse_mapping("a=b,c=b")
    with pytest.raises(InputError):
        parse_mapping("a")


def test_cli_writes_output_and_report(tmp_path):
    import typer
    from typer.testing import CliRunner

    from synthstruct._cli.generate import generate

    app = typer.Typer()
    app.command()(generate)
    out = tmp_path / "reviews.csv"
    args = [str(PACKS / "customer_service" / "movie_review.yaml"), "-n", "60", "--seed", "1", "-o", str(out),
            "--set", "sentiment=positive:0.25,sentiment=negative:0.75"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert len(frame) == 60 and (frame.sentiment == "negative").sum() == 45
    report = json.loads((tmp_path / "reviews.qc.json").read_text())
    assert report["passed"] and report["shares"]["requested"]["sentiment"]["classes"]["negative"]["observed"] == 0.75
    first = out.read_bytes()
    refused = CliRunner().invoke(app, args)  # an existing output is replaced only with --overwrite
    assert refused.exit_code == 2 and "--overwrite" in refused.output and out.read_bytes() == first
    assert CliRunner().invoke(app, args + ["--overwrite"]).exit_code == 0 and out.read_bytes() == first
    bad = CliRunner().invoke(app, args[:-1] + ["sentiment=positive:0.3", "--overwrite"])
    assert bad.exit_code == 2 and "shares.sentiment" in bad.output
