"""Value formats (schema/values.py), target proposals, hierarchies and the inference record (issue 13)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthstruct.cli import app
from synthstruct.schema.check import coerce_to_schema, to_output
from synthstruct.schema.infer import find_hierarchies, infer_table, propose_target
from synthstruct.schema.values import (
    NumberFormat,
    boolean_spelling,
    code_profile,
    detect_number_format,
    format_numbers,
    parse_numbers,
    typed_columns,
)


@pytest.mark.parametrize(("texts", "expected", "numbers"), [
    (["1,234,000", "12", "999,999"], NumberFormat(thousands=","), [1234000, 12, 999999]),
    (["$1,234.50", "$3.10", "$12,000.00"], NumberFormat(prefix="$", thousands=","), [1234.5, 3.1, 12000.0]),
    (["45%", "3%", "100%"], NumberFormat(suffix="%"), [45, 3, 100]),
    (["1.234,50", "12,25", "999.000,00"], NumberFormat(thousands=".", decimal=","), [1234.5, 12.25, 999000.0]),
    (["12,5 €", "3,0 €"], NumberFormat(suffix=" €", decimal=","), [12.5, 3.0]),
    (["-$1,200.00", "$5.00"], NumberFormat(prefix="$", thousands=","), [-1200.0, 5.0]),
])
def test_formatted_numbers_parse_and_write_back(texts, expected, numbers):
    series = pd.Series(texts)
    fmt = detect_number_format(series)
    assert fmt == expected
    parsed = parse_numbers(series, fmt)
    assert parsed.tolist() == pytest.approx(numbers)
    decimals = max((len(t.split(fmt.decimal)[1].strip(" €%")) if fmt.decimal in t else 0) for t in texts)
    assert format_numbers(parsed, fmt, decimals).tolist() == [t.strip() for t in texts]


@pytest.mark.parametrize("texts", [["1", "2", "3"], ["250.83", "V57", "428"], ["abc", "1,2,3"], ["12345678901234567890"],
                                   ["1,234", "x"]])
def test_not_a_formatted_number(texts):
    assert detect_number_format(pd.Series(texts)) is None


def test_boolean_spellings_keep_case():
    assert boolean_spelling(pd.Series(["Yes", "No", "Yes"])) == ("Yes", "No")
    assert boolean_spelling(pd.Series(["n", "y", None])) == ("y", "n")
    assert boolean_spelling(pd.Series([1, 0, 1])) == (1, 0)
    assert boolean_spelling(pd.Series(["yes", "no", "maybe"])) is None
    assert boolean_spelling(pd.Series([2, 0])) is None


def test_code_profile_of_icd_like_and_zip_codes():
    icd = code_profile(pd.Series(["250.83", "428", "V57", "E888", "401.9"] * 20))
    assert icd.is_code and icd.letter_code_share == pytest.approx(0.4)
    assert code_profile(pd.Series(["02134", "10001", "06010"])).is_code
    assert not code_profile(pd.Series(["1.5", "2.25", "3"])).is_code
    assert not code_profile(pd.Series(["red", "green"])).is_code


def test_csv_typing_keeps_leading_zeros_and_long_integers():
    raw = pd.DataFrame({"zip": ["02134", "10001"], "n": ["1", "2"], "x": ["1.5", None],
                        "big": ["123456789012345678901", "5"], "flag": ["True", "False"], "t": ["a", "b"]})
    typed = typed_columns(raw)
    assert typed["zip"].tolist() == ["02134", "10001"]
    assert typed["n"].dtype == "int64" and typed["x"].dtype == "float64"
    assert typed["big"].tolist() == ["123456789012345678901", "5"]
    assert typed["flag"].dtype == bool and typed["t"].tolist() == ["a", "b"]


def test_number_format_survives_coerce_and_output():
    frame = pd.DataFrame({"amount": ["$1,234.50", "$3.10", None] * 10})
    result = infer_table(frame, name="t", detect_pii=False, hierarchies=False)
    schema = result.schema
    coerced = coerce_to_schema(frame, schema)
    assert coerced["amount"].iloc[0] == pytest.approx(1234.5)
    assert to_output(coerced, schema)["amount"].tolist()[:3] == ["$1,234.50", "$3.10", None]


def test_boolean_spelling_survives_coerce_and_output():
    frame = pd.DataFrame({"insured": ["Y", "N", None, "Y"] * 10, "v": range(40)})
    schema = infer_table(frame, name="t", detect_pii=False, target="none").schema
    assert schema.columns["insured"].kind == "boolean"
    coerced = coerce_to_schema(frame, schema)
    assert str(coerced["insured"].dtype) == "boolean"
    assert to_output(coerced, schema)["insured"].tolist()[:4] == ["Y", "N", None, "Y"]


def test_target_needs_a_reason():
    frame = pd.DataFrame({"has_default": ["yes", "no"] * 50, "result": ["a", "b", "c", "d"] * 25,
                          "x": np.arange(100.0)})
    kinds = {"has_default": "boolean", "result": "categorical", "x": "numerical"}
    target, reason = propose_target(frame, kinds)
    assert target == "result" and "result" in reason  # exact outcome names first
    target, reason = propose_target(frame[["has_default", "x"]], {"has_default": "boolean", "x": "numerical"})
    assert target == "has_default" and "flag" in reason
    target, reason = propose_target(frame[["x", "has_default"]].rename(columns={"has_default": "grp"}),
                                    {"x": "numerical", "grp": "boolean"})
    assert target == "grp" and "last column" in reason
    target, reason = propose_target(frame[["has_default", "x"]].rename(columns={"has_default": "grp"}),
                                    {"grp": "boolean", "x": "numerical"})
    assert target is None and "--target" in reason


def test_hierarchies_are_functional_dependencies():
    rng = np.random.default_rng(0)
    city = rng.choice(["Boston", "Worcester", "Hartford", "Albany", "Buffalo"], 300)
    state = pd.Series(city).map({"Boston": "MA", "Worcester": "MA", "Hartford": "CT", "Albany": "NY", "Buffalo": "NY"})
    other = rng.choice(["a", "b"], 300)
    frame = pd.DataFrame({"city": city, "state": state, "other": other})
    assert find_hierarchies(frame, ["city", "state", "other"]) == [["city", "state"]]
    frame.loc[0, "state"] = "CT" if frame.loc[0, "city"] != "Hartford" else "MA"  # one row breaks it
    assert find_hierarchies(frame, ["city", "state", "other"]) == []


def test_hierarchy_is_sampled_by_lookup():
    from synthstruct.synthesizers.table import TableSynthesizer

    rng = np.random.default_rng(1)
    sub = rng.choice([f"sub{i}" for i in range(12)], 600)
    product = pd.Series(sub).map(lambda s: f"product{int(s[3:]) % 4}")
    frame = pd.DataFrame({"sub_product": sub, "product": product, "amount": rng.normal(100, 20, 600).round(2)})
    result = infer_table(frame, name="t", detect_pii=False, target="none")
    assert result.hierarchies == [["sub_product", "product"]]
    synth = TableSynthesizer().fit(frame, schema=result.schema, seed=0)
    out = synth.sample(2000, seed=0)
    seen = set(zip(frame["sub_product"], frame["product"]))
    assert set(zip(out["sub_product"], out["product"])) <= seen
    assert synth.sampling_stats_["repaired_rows"] == 0


def test_constant_columns_are_carried_through():
    from synthstruct.synthesizers.table import TableSynthesizer

    frame = pd.DataFrame({"x": np.arange(50.0), "site": ["unknown"] * 50, "empty": [None] * 50})
    result = infer_table(frame, name="t", detect_pii=False, target="none")
    assert result.schema.kinds() == {"x": "numerical", "site": "constant", "empty": "constant"}
    assert result.to_dict()["constants"] == ["site", "empty"]
    out = TableSynthesizer().fit(frame, schema=result.schema, seed=0).sample(20, seed=0)
    assert (out["site"] == "unknown").all() and out["empty"].isna().all()


def test_declared_categorical_constant_is_a_typed_error():
    from synthstruct.errors import DataValidationError
    from synthstruct.schema.io import schema_from_dict

    schema = schema_from_dict({"schema_version": 1, "name": "t", "columns": {"c": {"kind": "categorical"}}})
    with pytest.raises(DataValidationError, match="kind: constant"):
        coerce_to_schema(pd.DataFrame({"c": ["a"] * 10}), schema)


def test_infer_cli_prints_the_decisions_and_release_records_them(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    n = 300
    frame = pd.DataFrame({
        "subject_id": rng.integers(5000, 5120, n).astype(str),
        "diag": np.where(rng.random(n) < 0.1, "V57", rng.choice(["250.83", "428", "401.9", "038"], n)),
        "charge": [f"${v:,.2f}" for v in rng.lognormal(7, 1, n)],
        "site": ["unknown"] * n,
        "score": rng.normal(size=n).round(3),
        "readmitted": rng.choice(["yes", "no"], n),
    })
    data = tmp_path / "enc.csv"
    frame.to_csv(data, index=False)
    from synthstruct._cli import _common

    # a console created where COLUMNS was already set (e.g. a pytest-xdist worker) keeps that width
    monkeypatch.setattr(_common.console, "_width", 200)
    runner = CliRunner()
    res = runner.invoke(app, ["infer", str(data), "-o", str(tmp_path / "s.yaml"), "--explain"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    for text in ("subject_id", "id (entity key)", "categorical (code)", "letter codes", "numerical (float, formatted)",
                 "constant", "target: readmitted"):
        assert text in res.output
    out = tmp_path / "bundle"
    res = runner.invoke(app, ["release", str(data), "-o", str(out), "--target", "none"], env={"COLUMNS": "200"})
    assert res.exit_code in (0, 1), res.output
    report = json.loads((out / "report.json").read_text())
    assert report["inference"]["target"] is None and "--target none" in report["inference"]["target_reason"]
    assert report["inference"]["columns"]["diag"]["label"] == "categorical (code)"
    assert report["inference"]["constants"] == ["site"]


def test_table_too_small_for_a_holdout_is_a_gate_verdict(tmp_path):
    """77 rows (Berka's district table) cannot hold out 20 rows on each side: blocked with a reason and a
    bundle (schema, report, inference decisions), not an input error."""
    rng = np.random.default_rng(4)
    data = tmp_path / "small.csv"
    pd.DataFrame({"x": rng.normal(size=60).round(3), "g": rng.choice(["a", "b"], 60)}).to_csv(data, index=False)
    out = tmp_path / "bundle"
    res = CliRunner().invoke(app, ["release", str(data), "-o", str(out)], env={"COLUMNS": "200"})
    assert res.exit_code == 1, res.output
    report = json.loads((out / "report.json").read_text())
    assert report["gate"]["failed"] == ["rows.value"] and "holdout" in report["gate"]["checks"][0]["explanation"]
    assert report["inference"]["columns"]["x"]["kind"] == "numerical"
    assert not (out / "data").exists()
