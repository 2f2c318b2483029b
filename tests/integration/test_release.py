"""End to end: release bundles, determinism, the gate blocking leaky output, fit/sample."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from synthstruct.cli import app
from synthstruct.release.pipeline import release


@pytest.fixture
def patients(tmp_path, small_frame, small_schema_dict):
    data = tmp_path / "patients.csv"
    small_frame.to_csv(data, index=False)
    schema = tmp_path / "patients.yaml"
    schema.write_text(yaml.safe_dump(small_schema_dict))
    return data, schema


def _manifest(path):
    return json.loads((path / "manifest.json").read_text())


def test_release_writes_a_complete_bundle(tmp_path, patients):
    data, schema = patients
    result = release(data, schema=schema, output=tmp_path / "out", seed=3, policy="lenient")
    out = tmp_path / "out"
    report = json.loads((out / "report.json").read_text())
    manifest = _manifest(out)
    assert report["report_version"] == 1
    assert report["gate"]["passed"] is result.passed
    for check in report["gate"]["checks"]:
        assert {"name", "value", "threshold", "passed"} <= set(check)
    assert manifest["input"]["rows"] == 400 and len(manifest["input"]["sha256"]) == 64
    assert manifest["seed"] == 3 and manifest["gate"]["attempts"] == 1
    assert {o["path"] for o in manifest["outputs"]} >= {"report.json", "report.html", "schema.yaml"}
    assert (out / "report.html").read_text().startswith("<!doctype html>")
    if result.passed:
        synth = pd.read_parquet(out / "data" / "patients.parquet")
        assert len(synth) == report["rows"]["train"]
        assert list(synth.columns) == list(pd.read_csv(data).columns)
        real_ids = set(pd.read_csv(data)["pid"])
        assert not real_ids & set(synth["pid"])
        assert (pd.to_datetime(synth["visit"]) <= pd.to_datetime(synth["discharge"])).all()


def test_same_seed_same_bytes(tmp_path, patients):
    data, schema = patients
    a = release(data, schema=schema, output=tmp_path / "a", seed=11, policy="lenient")
    b = release(data, schema=schema, output=tmp_path / "b", seed=11, policy="lenient")
    c = release(data, schema=schema, output=tmp_path / "c", seed=12, policy="lenient")
    assert a.passed and b.passed, a.gate.failed_checks()
    hashes = lambda m: {o["path"]: o["sha256"] for o in m["outputs"] if o["reproducible"]}  # noqa: E731
    assert hashes(a.manifest) == hashes(b.manifest)
    assert "data/patients.parquet" in hashes(a.manifest)
    assert hashes(a.manifest)["data/patients.csv"] != hashes(c.manifest)["data/patients.csv"]
    assert b.manifest["gate"]["attempts"] == 2  # the ledger counts gate runs on the same input


def test_strict_policy_blocks_copied_training_rows(tmp_path, patients):
    data, schema = patients

    def leak(synthetic, train):  # test hook: replace synthetic rows by training rows
        copied = train.sample(n=len(synthetic) // 5, random_state=0)
        return pd.concat([synthetic.iloc[len(copied):], copied], ignore_index=True)

    out = tmp_path / "blocked"
    result = release(data, schema=schema, output=out, seed=1, policy="strict", synthetic_hook=leak)
    assert not result.passed
    failed = {c.name for c in result.gate.failed_checks()}
    assert "exact_match.minus_reference" in failed
    assert not (out / "data").exists()
    assert _manifest(out)["released"] is False
    assert "Blocked" in (out / "report.html").read_text()


def test_cli_release_exit_codes(tmp_path, patients):
    data, schema = patients
    runner = CliRunner()
    ok = runner.invoke(app, ["release", str(data), "--schema", str(schema), "-o", str(tmp_path / "r"),
                             "--policy", "lenient"])
    assert ok.exit_code == 0, ok.output
    assert "released" in ok.output
    again = runner.invoke(app, ["release", str(data), "--schema", str(schema), "-o", str(tmp_path / "r")])
    assert again.exit_code == 2 and "not empty" in again.output


def test_release_without_schema_infers_one(tmp_path, shared_datasets):
    frame = pd.read_csv(shared_datasets / "stroke.csv").head(1500)
    data = tmp_path / "stroke.csv"
    frame.to_csv(data, index=False)
    result = CliRunner().invoke(app, ["release", str(data), "-o", str(tmp_path / "out")])
    assert result.exit_code in (0, 1), result.output
    manifest = _manifest(tmp_path / "out")
    assert manifest["schema"]["inferred"] is True
    used = yaml.safe_load((tmp_path / "out" / "schema.yaml").read_text())
    assert used["columns"]["id"]["kind"] == "id"


def test_fit_save_load_sample(tmp_path, patients):
    data, schema = patients
    runner = CliRunner()
    model = tmp_path / "model"
    res = runner.invoke(app, ["fit", str(data), "--schema", str(schema), "-o", str(model)])
    assert res.exit_code == 0, res.output
    out1, out2 = tmp_path / "s1.csv", tmp_path / "s2.csv"
    for out in (out1, out2):
        res = runner.invoke(app, ["sample", str(model), "-n", "50", "-o", str(out), "--seed", "4"])
        assert res.exit_code == 0, res.output
    assert out1.read_bytes() == out2.read_bytes()
    assert len(pd.read_csv(out1)) == 50
    # a changed model file is refused
    victim = next(p for p in model.rglob("*") if p.is_file() and p.name != "integrity.json")
    victim.write_bytes(victim.read_bytes() + b" ")
    res = runner.invoke(app, ["sample", str(model), "-n", "5", "-o", str(tmp_path / "s3.csv")])
    assert res.exit_code == 2 and "ModelIntegrityError" in res.output


def test_progress_callback_sees_every_step(tmp_path, patients):
    data, schema = patients
    seen = []
    release(data, schema=schema, output=tmp_path / "p", policy="lenient", on_progress=lambda *a: seen.append(a))
    steps = [s for s, _, _ in seen]
    assert steps[0] == "load and validate" and steps[-1] == "write bundle"
    assert any(s.startswith("fit ") for s in steps) and any(s.startswith("gate: ") for s in steps)
    assert [d for _, d, _ in seen] == list(range(len(seen)))
    assert seen[-1][2] == len(seen)


def test_cli_strict_blocks_leaky_output_with_exit_1(tmp_path, patients, monkeypatch):
    import synthstruct.release.pipeline as pipeline

    real_release = pipeline.release

    def leak(synthetic, train):  # test hook: 10 % of the output are training rows
        copied = train.sample(n=len(synthetic) // 10, random_state=0)
        return pd.concat([synthetic.iloc[len(copied):], copied], ignore_index=True)

    monkeypatch.setattr(pipeline, "release", lambda *a, **k: real_release(*a, **k, synthetic_hook=leak))
    data, schema = patients
    out = tmp_path / "leaky"
    result = CliRunner().invoke(app, ["release", str(data), "--schema", str(schema), "-o", str(out),
                                      "--policy", "strict"])
    assert result.exit_code == 1, result.output
    assert "blocked" in result.output and "exact_match" in result.output
    assert not (out / "data").exists() and (out / "report.html").exists()


def test_release_maps_real_column_names_to_the_schema(tmp_path, small_frame, small_schema_dict):
    data = tmp_path / "renamed.csv"
    small_frame.rename(columns={"age": "AGE_YEARS", "group": "grp"}).to_csv(data, index=False)
    schema = tmp_path / "s.yaml"
    schema.write_text(yaml.safe_dump(small_schema_dict))
    runner = CliRunner()
    res = runner.invoke(app, ["release", str(data), "-s", str(schema), "-o", str(tmp_path / "m"), "--policy",
                              "lenient", "--map", "AGE_YEARS=age,grp=group"])
    assert res.exit_code == 0, res.output
    assert {"age", "group"} <= set(pd.read_csv(tmp_path / "m" / "data" / "patients.csv").columns)
    bad = runner.invoke(app, ["release", str(data), "-s", str(schema), "-o", str(tmp_path / "n"), "--map", "nope=age"])
    assert bad.exit_code == 2 and "not a column of the data" in bad.output
