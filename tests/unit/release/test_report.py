"""report.json against its shipped JSON Schema, and report.html: self-contained, escaped, plots, no cell values."""

from __future__ import annotations

import copy
import html
import json
import re
import xml.etree.ElementTree as ET

import jsonschema
import pandas as pd
import pytest
import yaml

from synthstruct._resources import bundled_dataset
from synthstruct.release import plots
from synthstruct.release.pipeline import release
from synthstruct.release.report import load_report_schema, render_html, report_schema_path, validate_report

SECRET_NAMES = ["Quillonia Vantablack", "Ezekiah Thornwhistle", "Marisol Quendrake"]


def _leak(synthetic, train):  # test hook: a fifth of the output are training rows
    copied = train.sample(n=len(synthetic) // 5, random_state=0)
    return pd.concat([synthetic.iloc[len(copied):], copied], ignore_index=True)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """A passed (lenient) and a blocked (leaky output, default policy) heart_disease release."""
    root = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYNTHSTRUCT_HOME", str(root / "home"))
        data, schema = bundled_dataset("heart_disease", ".csv"), bundled_dataset("heart_disease", ".yaml")
        passed = release(data, schema=schema, output=root / "passed", policy="lenient")
        blocked = release(data, schema=schema, output=root / "blocked", policy="default", synthetic_hook=_leak)
    assert passed.passed and not blocked.passed
    return {"passed": passed, "blocked": blocked}


def _report(result):
    return json.loads((result.output / "report.json").read_text(encoding="utf-8"))


def _html(result):
    return (result.output / "report.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------ JSON Schema
def test_schema_file_is_shipped_and_is_valid_draft_2020_12():
    assert report_schema_path().is_file()
    assert "synthstruct/_defaults/report.schema.json" in report_schema_path().as_posix()
    schema = load_report_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("which", ["passed", "blocked"])
def test_real_reports_validate_against_the_shipped_schema(bundles, which):
    report = _report(bundles[which])
    jsonschema.Draft202012Validator(load_report_schema()).validate(report)
    assert validate_report(report) == []


@pytest.mark.parametrize("mutate, where", [
    (lambda r: r.pop("gate"), "(root)"),
    (lambda r: r.update(report_version=2), "report_version"),
    (lambda r: r["gate"]["checks"][0].update(severity="maybe"), "gate/checks/0/severity"),
    (lambda r: r["metrics"]["dcr"].update(category="vibes"), "metrics/dcr/category"),
    (lambda r: r["metrics"]["column_shapes"]["details"]["plots"]["age"].update(type="pie"),
     "metrics/column_shapes/details/plots/age"),
    (lambda r: r["rows"].update(train=-1), "rows/train"),
    (lambda r: r.update(surprise=1), "(root)"),
])
def test_schema_rejects_broken_reports(bundles, mutate, where):
    report = copy.deepcopy(_report(bundles["passed"]))
    mutate(report)
    problems = validate_report(report)
    assert problems and any(p.startswith(where + ":") for p in problems), problems


# ------------------------------------------------------------------------------------------ HTML
@pytest.mark.parametrize("which", ["passed", "blocked"])
def test_html_is_self_contained(bundles, which):
    page = _html(bundles[which])
    assert page.startswith("<!doctype html>")
    lowered = page.lower()
    for forbidden in ("<script", "<link", "<iframe", "<img", "@import", " src=", "href='http", 'href="http'):
        assert forbidden not in lowered, forbidden
    urls = set(re.findall(r"https?://[^\s'\"<>]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls  # only the SVG namespace, never fetched
    assert all(ref.startswith("#") for ref in re.findall(r"url\(([^)]*)\)", page))


def test_blocked_page_explains_every_failed_check_with_its_fix(bundles):
    result = bundles["blocked"]
    page = _html(result)
    verdict = re.search(r"<section id='verdict' class='verdict (\w+)' data-passed='(\w+)'", page)
    assert verdict and verdict.groups() == ("block", "false")
    assert "Blocked — no data was written" in page
    reasons = page[page.index("id='reasons'"):page.index("id='checks'")]
    failed = [c for c in result.gate.checks if not c.passed]
    assert any(c.name == "exact_match.minus_reference" for c in failed)
    for check in failed:
        assert f"<p>{html.escape(check.explanation)}</p>" in reasons
        if check.fix:
            assert html.escape(check.fix) in reasons


def test_passed_page_has_no_reasons_section(bundles):
    page = _html(bundles["passed"])
    assert "data-passed='true'" in page and "Released" in page
    assert "id='reasons'" not in page


@pytest.mark.parametrize("which", ["passed", "blocked"])
def test_plots_are_present_well_formed_and_accessible(bundles, which):
    page = _html(bundles[which])
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    ids = {re.search(r"id='([^']+)'", s).group(1) for s in svgs}
    assert {"plot-dcr", "plot-roc", "plot-assoc-real", "plot-assoc-syn", "plot-utility"} <= ids
    report = _report(bundles[which])
    assert sum(i.startswith("plot-col-") for i in ids) == len(report["metrics"]["column_shapes"]["details"]["plots"])
    for svg in svgs:
        root = ET.fromstring(svg)  # well-formed XML
        ns = "{http://www.w3.org/2000/svg}"
        assert root.get("role") == "img" and root.get("aria-labelledby")
        assert root.find(f"{ns}title").text and root.find(f"{ns}desc").text


def test_html_never_shows_pii_values(tmp_path, small_frame, small_schema_dict, monkeypatch):
    frame = small_frame.assign(name=[SECRET_NAMES[i % 3] for i in range(len(small_frame))])
    small_schema_dict["columns"]["name"] = {"kind": "pii", "entity": "PERSON"}
    data, schema = tmp_path / "p.csv", tmp_path / "p.yaml"
    frame.to_csv(data, index=False)
    schema.write_text(yaml.safe_dump(small_schema_dict))
    result = release(data, schema=schema, output=tmp_path / "out", policy="lenient", seed=2)
    page, raw = _html(result), (tmp_path / "out" / "report.json").read_text()
    for secret in SECRET_NAMES + ["P-00017", "P-00123"]:
        assert secret not in page and secret not in raw
    assert "<td>name</td>" in page  # the column is reported, as counts


def _fake_report(bundles):
    report = copy.deepcopy(_report(bundles["passed"]))
    report["table"] = "<script>alert('t')</script>"
    shapes = report["metrics"]["column_shapes"]["details"]
    shapes["plots"]["age"] = {"type": "frequencies", "categories": ["<b>x</b>"], "real": {"<b>x</b>": 1.0},
                              "synthetic": {"<b>x</b>": 1.0}}
    shapes["columns"]["age"]["kind"] = "categorical"
    shapes["columns"]["notes"] = {"kind": "text", "metric": "tv_complement", "score": 1.0}
    shapes["plots"]["notes"] = {"type": "frequencies", "categories": ["SECRET-CELL"], "real": {"SECRET-CELL": 1},
                                "synthetic": {"SECRET-CELL": 1}}
    return report


def test_everything_is_escaped_and_unstructured_columns_are_never_drawn(bundles):
    page = render_html(_fake_report(bundles))
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "SECRET-CELL" not in page


def test_missing_details_become_sentences_not_crashes(bundles):
    report = copy.deepcopy(_report(bundles["passed"]))
    for name in ("dcr", "membership_inference", "column_shapes", "pair_trends"):
        report["metrics"][name]["details"] = {}
        report["metrics"][name]["note"] = f"{name} skipped for the test"
    del report["metrics"]["utility"]
    report["metrics"]["pii_replay"]["details"] = {"columns": "garbage"}
    page = render_html(report)
    assert "<svg" not in page
    assert "No distance histogram: dcr skipped for the test." in page
    assert "No membership-inference ROC curve: membership_inference skipped for the test." in page
    assert "No utility chart: the policy did not run this metric." in page
    assert "No column distributions" in page and "No association heatmaps" in page
    assert "id='verdict'" in page


# ------------------------------------------------------------------------------------------ plots
def test_nice_ticks_cover_the_range_with_round_steps():
    assert plots.nice_ticks(0.0, 0.33) == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert plots.nice_ticks(0.0, 1.0) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert plots.nice_ticks(2.0, 2.0) == [2.0]


def test_heatmap_colours_follow_the_sign():
    svg = plots.heatmap("h", "t", ["a", "b"], [[1.0, -1.0], [None, 0.0]])
    fills = re.findall(r"<rect x='[^']+' y='[^']+' width='[^']+' height='[^']+' fill='(#[0-9a-f]{6})'", svg)
    assert fills == ["#b2182b", "#2166ac", "#ffffff", "#f7f7f7"]
    ET.fromstring(svg)


def test_histogram_and_bars_scale_to_the_largest_value():
    svg = plots.histogram("x", "title", [0, 1, 2], [("real", [0.25, 0.75]), ("synthetic", [0.5, None])],
                          x_label="x")
    ET.fromstring(svg)
    assert ">0.8<" in svg and ">x<" in svg  # top tick above 0.75, axis label drawn
    bars = plots.bar_chart("b", "title", ["yes", "no"], [("real", [0.2, 0.8])], x_label="answer")
    heights = [float(h) for h in re.findall(r"<rect x='[^']+' y='[^']+' width='[^']+' height='([^']+)'", bars)
               if float(h) > 0 and h != "10"]
    assert len(heights) == 2 and heights[1] == pytest.approx(4 * heights[0], rel=0.02)


def test_schema_accepts_audit_reports_only_with_their_audit_block(bundles):
    report = copy.deepcopy(_report(bundles["passed"]))
    report["rows"] = {"real": 736, "synthetic": 736}
    report["gate"]["passed"] = None  # an audit without a policy has no verdict
    assert any(p.startswith("rows:") for p in validate_report(report))
    report["audit"] = {"policy": None, "holdout": False}
    assert validate_report(report) == []
