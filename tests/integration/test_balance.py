"""End to end: ``balance`` API and CLI on a slice of the real stroke table (4.9 % positive)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from synthstruct._cli.balance import balance as balance_cmd
from synthstruct.balance import balance
from synthstruct.dataio import file_sha256, read_table

STROKE = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "stroke.csv"
pytestmark = pytest.mark.skipif(not STROKE.is_file(), reason="shared stroke dataset not available")


@pytest.fixture(scope="module")
def stroke_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = pd.read_csv(STROKE)
    part = pd.concat([frame[frame["stroke"] == 1], frame[frame["stroke"] == 0].iloc[:1200]]).sort_values("id")
    path = tmp_path_factory.mktemp("data") / "stroke.csv"
    part.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def run(stroke_csv: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("bundles") / "balanced"
    return balance(stroke_csv, target="stroke", counts="1=900", output=out, lift_seeds=2, lift_max_iter=20, seed=3)


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return sorted(frame.astype(str).itertuples(index=False, name=None))


def test_output_keeps_every_real_training_row_unchanged(run, stroke_csv: Path) -> None:
    assert run.passed
    data = run.output / "data"
    balanced = read_table(data / "stroke_balanced.csv")
    test = read_table(data / "stroke_test.csv")
    source = read_table(stroke_csv)
    n_train = run.manifest["rows"]["real_rows_first"]
    assert n_train + len(test) == len(source)
    # the real rows come first, exactly as read; together with the test split they are the input
    assert _rows(pd.concat([balanced.iloc[:n_train], test])) == _rows(source)
    pd.testing.assert_frame_equal(pd.read_parquet(data / "stroke_balanced.parquet"), balanced, check_dtype=False)
    synthetic_ids = set(balanced["id"].iloc[n_train:])
    assert not synthetic_ids & set(source["id"])  # ids are generated, never real ones


def test_requested_counts_are_met(run) -> None:
    balanced = read_table(run.output / "data" / "stroke_balanced.csv")
    n_train = run.manifest["rows"]["real_rows_first"]
    synthetic = balanced.iloc[n_train:]
    assert set(synthetic["stroke"]) == {1}
    assert int((balanced["stroke"] == 1).sum()) == 900
    by_class = {c["class"]: c for c in run.report["classes"]}
    assert by_class["1"]["output_rows"] == 900 and by_class["0"]["added_rows"] == 0


def test_per_class_privacy_and_lift_are_reported(run) -> None:
    report = json.loads((run.output / "report.json").read_text())
    (entry,) = report["privacy"]["classes"]
    assert entry["class"] == "1" and entry["rows"]["synthetic"] == len(run.synthetic)
    for metric in ("exact_match", "dcr", "membership_inference", "rare_category_replay"):
        assert entry["metrics"][metric]["value"] is not None
    assert set(report["lift"]["methods"]) == {"none", "class_weight", "smote", "synthstruct"}
    html = (run.output / "report.html").read_text()
    assert "plot-lift" in html and "Privacy per class" in html
    for item in run.manifest["outputs"]:
        assert file_sha256(run.output / item["path"]) == item["sha256"]


def test_same_seed_same_data(stroke_csv: Path, tmp_path: Path, run) -> None:
    again = balance(stroke_csv, target="stroke", counts="1=900", output=tmp_path / "again", lift_seeds=0, seed=3)
    for name in ("stroke_balanced.csv", "stroke_test.csv"):
        assert file_sha256(again.output / "data" / name) == file_sha256(run.output / "data" / name)


def _cli(*args: str):
    app = typer.Typer()
    app.command("balance")(balance_cmd)
    app.command("noop")(lambda: None)
    return CliRunner().invoke(app, ["balance", *args])


def test_cli_writes_a_bundle(stroke_csv: Path, tmp_path: Path) -> None:
    result = _cli(str(stroke_csv), "--target", "stroke", "--ratio", "1:4", "--lift-seeds", "1", "-o",
                  str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "data" / "stroke_balanced.parquet").is_file()
    assert "lift on the real test split" in result.output


@pytest.mark.parametrize("args,needle", [
    (["--target", "nope"], "is not a column"),
    (["--target", "avg_glucose_level"], "numeric-continuous"),
    (["--target", "stroke", "--ratio", "2:1"], "--ratio"),
    (["--target", "stroke", "--ratio", "one"], "--ratio"),
    (["--target", "stroke", "--counts", "7=5000"], "is not a class"),
    (["--target", "stroke", "--counts", "1=lots"], "--counts[0]"),
    (["--target", "stroke", "--counts", "1=3"], "never removes real rows"),
])
def test_cli_bad_input_exits_2_and_writes_nothing(stroke_csv: Path, tmp_path: Path, args: list[str],
                                                  needle: str) -> None:
    out = tmp_path / "out"
    result = _cli(str(stroke_csv), *args, "-o", str(out))
    assert result.exit_code == 2, result.output
    assert needle in " ".join(result.output.split())
    assert not out.exists()


def test_single_class_and_tiny_class_are_typed_errors(tmp_path: Path) -> None:
    frame = pd.read_csv(STROKE).iloc[:400]
    single = frame[frame["stroke"] == 0]
    single.to_csv(tmp_path / "single.csv", index=False)
    result = _cli(str(tmp_path / "single.csv"), "--target", "stroke", "-o", str(tmp_path / "o1"))
    assert result.exit_code == 2 and "needs at least 2" in " ".join(result.output.split())
    tiny = pd.concat([single, frame[frame["stroke"] == 1].iloc[:8]])
    tiny.to_csv(tmp_path / "tiny.csv", index=False)
    result = _cli(str(tmp_path / "tiny.csv"), "--target", "stroke", "-o", str(tmp_path / "o2"))
    assert result.exit_code == 2 and "needs at least 10" in " ".join(result.output.split())
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()
