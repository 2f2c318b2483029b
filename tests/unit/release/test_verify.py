"""verify_bundle / `synthstruct verify`: a real bundle checks out; tampering is found; non-bundles exit 2."""

from __future__ import annotations

import json
import shutil

import pytest
import typer
from typer.testing import CliRunner

from synthstruct._cli.verify import verify as verify_command
from synthstruct._resources import bundled_dataset
from synthstruct.errors import InputError
from synthstruct.release.pipeline import release
from synthstruct.release.verify import verify_bundle


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A released heart_disease bundle (lenient policy), never modified by the tests."""
    root = tmp_path_factory.mktemp("verify")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYNTHSTRUCT_HOME", str(root / "home"))
        result = release(bundled_dataset("heart_disease", ".csv"), schema=bundled_dataset("heart_disease", ".yaml"),
                         output=root / "bundle", policy="lenient")
    assert result.passed
    return result.output


@pytest.fixture
def bundle(pristine, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(pristine, copy)
    return copy


def _cli(*args):
    app = typer.Typer()
    app.command()(verify_command)
    return CliRunner().invoke(app, [str(a) for a in args])


def _listed(bundle):
    return [o["path"] for o in json.loads((bundle / "manifest.json").read_text())["outputs"]]


def test_untouched_bundle_verifies(bundle):
    result = verify_bundle(bundle)
    assert result.ok and result.released is True
    assert sorted(result.checked) == sorted(_listed(bundle))
    assert {"data/heart_disease.csv", "data/heart_disease.parquet", "report.json", "report.html",
            "schema.yaml"} <= set(result.checked)
    run = _cli(bundle)
    assert run.exit_code == 0, run.output
    assert "ok" in run.output and f"{len(result.checked)} files match" in run.output


def test_changed_file_is_reported(bundle):
    csv = bundle / "data" / "heart_disease.csv"
    text = csv.read_text()
    csv.write_text(text.replace("1", "2", 1))  # same size, different bytes
    assert csv.stat().st_size == len(text.encode())
    result = verify_bundle(bundle)
    assert not result.ok and result.changed == ["data/heart_disease.csv"]
    assert not result.missing and not result.extra
    run = _cli(bundle)
    assert run.exit_code == 1 and "changed" in run.output and "data/heart_disease.csv" in run.output


def test_missing_and_extra_files_are_reported(bundle):
    (bundle / "report.html").unlink()
    (bundle / "data" / "smuggled.csv").write_text("a,b\n1,2\n")
    result = verify_bundle(bundle)
    assert result.missing == ["report.html"] and result.extra == ["data/smuggled.csv"]
    assert "report.json" in result.checked
    run = _cli(bundle, "--json")
    assert run.exit_code == 1
    payload = json.loads(run.output)
    assert payload["ok"] is False and payload["missing"] == ["report.html"]
    assert payload["extra"] == ["data/smuggled.csv"]


def test_edited_manifest_hash_is_a_mismatch(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["outputs"][0]["sha256"] = "0" * 64
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    result = verify_bundle(bundle)
    assert result.changed == [manifest["outputs"][0]["path"]]


@pytest.mark.parametrize("break_it, message", [
    (lambda d: (d / "manifest.json").unlink(), "has no manifest.json"),
    (lambda d: (d / "manifest.json").write_text("{not json"), "is not valid JSON"),
    (lambda d: (d / "manifest.json").write_text('{"released": true}'), "has no outputs list"),
    (lambda d: (d / "manifest.json").write_text(
        json.dumps({"outputs": [{"path": "../etc/passwd", "sha256": "0" * 64}]})), "relative path inside"),
    (lambda d: (d / "manifest.json").write_text(
        json.dumps({"outputs": [{"path": "report.json", "sha256": "abc"}]})), "64 lowercase hex"),
])
def test_not_a_bundle_raises_input_error_and_exits_2(bundle, break_it, message):
    break_it(bundle)
    with pytest.raises(InputError, match=message):
        verify_bundle(bundle)
    run = _cli(bundle)
    assert run.exit_code == 2 and message in run.output.replace("\n", " ")


def test_missing_directory_exits_2(tmp_path):
    assert _cli(tmp_path / "nope").exit_code == 2
