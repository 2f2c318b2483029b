"""``synthstruct scan``: JSON written atomically, no raw values unless asked, typed errors, offline."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from synthstruct._cli.scan import scan

app = typer.Typer()
app.command("scan")(scan)


@app.callback()
def _root() -> None:
    """A local app so that ``scan`` is a sub-command, as in ``synthstruct``."""


runner = CliRunner()
EMAIL = "maria.lopez@example.net"


@pytest.fixture
def data_csv(tmp_path):
    frame = pd.DataFrame({
        "email": [f"user{i}@example.com" for i in range(29)] + [EMAIL],
        "note": [f"Ticket {i}: Maria Lopez asked us to call her back on +44 20 7946 0958 soon." for i in range(30)],
        "score": list(range(30)),
    })
    path = tmp_path / "tickets.csv"
    frame.to_csv(path, index=False)
    return path


def test_scan_writes_findings_without_values(data_csv, tmp_path):
    out = tmp_path / "findings.json"
    result = runner.invoke(app, ["scan", str(data_csv), "-o", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["columns"]["email"]["entity"] == "EMAIL_ADDRESS"
    counts = payload["text_columns"]["note"]["counts"]
    assert counts["PHONE_NUMBER"] == 30 and counts["PERSON"] == 30
    raw = out.read_text() + result.output
    assert EMAIL not in raw and "7946" not in raw and "Lopez" not in raw
    assert "personal data found" in result.output
    for marker in ("HTTPError", "ConnectionError", "urlopen", "Max retries"):
        assert marker not in result.output


def test_show_values_includes_the_raw_spans(data_csv, tmp_path):
    out = tmp_path / "findings.json"
    result = runner.invoke(app, ["scan", str(data_csv), "-o", str(out), "--show-values"])
    assert result.exit_code == 0, result.output
    values = {f.get("value") for f in json.loads(out.read_text())["findings"]}
    assert "+44 20 7946 0958" in values


def test_schema_decides_the_text_columns(data_csv, tmp_path):
    schema = tmp_path / "schema.yaml"
    schema.write_text("schema_version: 1\nname: tickets\ncolumns:\n  email: {kind: pii, entity: EMAIL_ADDRESS}\n"
                      "  note: {kind: categorical}\n  score: {kind: text}\n")
    out = tmp_path / "findings.json"
    result = runner.invoke(app, ["scan", str(data_csv), "--schema", str(schema), "-o", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert list(payload["text_columns"]) == ["score"] and payload["columns"]["email"]["evidence"] == "schema"


@pytest.mark.parametrize("case", ["missing_data", "bad_schema", "no_folder", "bad_recognizers", "empty"])
def test_bad_input_exits_2_and_writes_nothing(data_csv, tmp_path, case):
    out = tmp_path / "findings.json"
    args = ["scan", str(data_csv), "-o", str(out)]
    if case == "missing_data":
        args[1] = str(tmp_path / "nope.csv")
    elif case == "bad_schema":
        (tmp_path / "s.yaml").write_text("schema_version: 1\nname: t\ncolumns: {a: {kind: nope}}\n")
        args += ["--schema", str(tmp_path / "s.yaml")]
    elif case == "no_folder":
        out = tmp_path / "missing" / "findings.json"
        args[3] = str(out)
    elif case == "bad_recognizers":
        (tmp_path / "r.yaml").write_text("version: 1\nrecognizers: [{name: X, entity: Y, kind: pattern}]\n")
        args += ["--recognizers", str(tmp_path / "r.yaml")]
    else:
        (tmp_path / "empty.csv").write_text("a,b\n")
        args[1] = str(tmp_path / "empty.csv")
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "error:" in result.output
    assert not out.exists()
    if out.parent.exists():
        assert not list(out.parent.glob(".findings.json*"))  # no temporary file left behind
