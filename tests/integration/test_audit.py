"""Audit mode: positive controls (copies, canary leakage), the holdout passing as "synthetic", bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
import yaml
from typer.testing import CliRunner

from synthstruct._cli.audit import audit as audit_cmd
from synthstruct.evaluation.metric import METRICS
from synthstruct.privacy.canaries import insert_canaries
from synthstruct.release.audit import audit
from synthstruct.schema.check import coerce_to_schema, to_output
from synthstruct.schema.io import load_schema
from synthstruct.synthesizers.table import TableSynthesizer

BUNDLED = Path(__file__).resolve().parents[2] / "synthstruct" / "datasets"
NEW_METRICS = {  # registered by the lead in evaluation/metric.py; a no-op once they are
    "singling_out": "synthstruct.privacy.attacks:singling_out",
    "linkability": "synthstruct.privacy.attacks:linkability",
    "attribute_inference": "synthstruct.privacy.attacks:attribute_inference",
    "canary_leakage": "synthstruct.privacy.canaries:canary_leakage",
}
for _name, _path in NEW_METRICS.items():
    if _name not in METRICS:
        METRICS.register(_name, _path)
COPY_CHECKS = {"exact_match.minus_reference", "membership_inference.ci_upper", "dcr.over_reference"}


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(audit_cmd)
    return app


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """German credit split into disjoint train / holdout / fresh real rows, and an engine's output."""
    tmp = tmp_path_factory.mktemp("audit")
    schema = load_schema(BUNDLED / "german_credit.yaml")
    raw = pd.read_csv(BUNDLED / "german_credit.csv")
    order = np.random.default_rng(0).permutation(len(raw))
    parts = {"train": order[:600], "holdout": order[600:800], "fresh": order[800:]}
    paths = {name: tmp / f"{name}.csv" for name in parts}
    for name, rows in parts.items():
        raw.iloc[rows].to_csv(paths[name], index=False)
    train = coerce_to_schema(raw.iloc[parts["train"]].reset_index(drop=True), schema)
    synthetic = TableSynthesizer().fit(train, schema=schema, seed=0).sample(600, seed=0)
    engine = to_output(synthetic, schema)
    paths["engine"] = tmp / "engine.csv"
    engine.to_csv(paths["engine"], index=False)
    for share in (0.01, 0.05):  # the engine's rows with a share replaced by copied training rows
        leaky = engine.copy()
        n = int(round(share * len(leaky)))
        leaky.iloc[:n] = raw.iloc[parts["train"][:n]][list(leaky.columns)].to_numpy()
        paths[f"copy{int(share * 100)}"] = tmp / f"copy{int(share * 100)}.csv"
        leaky.to_csv(paths[f"copy{int(share * 100)}"], index=False)
    # a vendor-style policy: strict, but rare/extreme replay relative to what real data does (warn)
    policy = yaml.safe_load((Path(__file__).resolve().parents[2] / "privacy" / "policies" / "strict.yaml").read_text())
    for check in policy["checks"]:
        if check["metric"] in ("rare_category_replay", "extreme_value_replay"):
            check["severity"] = "warn"
    policy["name"] = "strict-audit"
    paths["policy"] = tmp / "strict-audit.yaml"
    paths["policy"].write_text(yaml.safe_dump(policy))
    paths["schema"] = BUNDLED / "german_credit.yaml"
    return paths


def _run(files, synthetic: str, out: Path, *extra: str):
    args = ["--real", str(files["train"]), "--synthetic", str(files[synthetic]), "--holdout", str(files["holdout"]),
            "--schema", str(files["schema"]), "-o", str(out), *extra]
    return CliRunner().invoke(_cli(), args)


@pytest.mark.parametrize("name", ["copy1", "copy5"])
def test_copied_training_rows_are_blocked(files, tmp_path, name) -> None:
    result = _run(files, name, tmp_path / "out", "--policy", "strict")
    assert result.exit_code == 1, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["gate"]["passed"] is False
    assert "exact_match.minus_reference" in report["gate"]["failed"]
    share = {"copy1": 0.01, "copy5": 0.05}[name]
    assert report["metrics"]["exact_match"]["details"]["excess"] == pytest.approx(share, abs=0.002)
    assert "Would be blocked" in (tmp_path / "out" / "report.html").read_text()
    blocked = _run(files, name, tmp_path / "vendor", "--policy", str(files["policy"]))
    assert blocked.exit_code == 1


def test_engine_output_passes_strict(files, tmp_path) -> None:
    result = _run(files, "engine", tmp_path / "out", "--policy", "strict")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["gate"]["passed"] is True and report["audit"]["policy"] == "strict"


def test_holdout_presented_as_synthetic_passes(files, tmp_path) -> None:
    """A second disjoint real sample copies nobody: every copy/attack check passes. Strict's absolute
    'no rare category / extreme value at all' rules are for protected engines; a real sample breaks
    them, so the vendor policy makes them warnings."""
    strict = _run(files, "fresh", tmp_path / "strict", "--policy", "strict")
    report = json.loads((tmp_path / "strict" / "report.json").read_text())
    assert not set(report["gate"]["failed"]) & COPY_CHECKS
    assert set(report["gate"]["failed"]) <= {"rare_category_replay", "extreme_value_replay"}
    assert strict.exit_code in (0, 1)
    vendor = _run(files, "fresh", tmp_path / "vendor", "--policy", str(files["policy"]))
    assert vendor.exit_code == 0, vendor.output
    metrics = json.loads((tmp_path / "vendor" / "report.json").read_text())["metrics"]
    assert metrics["exact_match"]["value"] == 0.0
    for name in ("singling_out", "linkability", "attribute_inference"):
        if name in metrics:
            assert metrics[name]["ci"][0] == 0.0  # never confidently above zero on a real sample


def test_canary_leakage_is_flagged(files, tmp_path) -> None:
    schema = load_schema(files["schema"])
    train = coerce_to_schema(pd.read_csv(files["train"]), schema)
    joined, table = insert_canaries(train, schema, 20, seed=1)
    verdicts = {}
    for k in (0, 5):
        synthetic = TableSynthesizer(protect_k=k).fit(joined, schema=schema, seed=0).sample(len(joined), seed=0)
        result = audit(joined, synthetic, holdout=files["holdout"], schema=schema, policy="strict",
                       output=tmp_path / f"k{k}", options={"canaries": table})
        verdicts[k] = result
    leaky, safe = verdicts[0], verdicts[5]
    assert "rare_category_replay" in [c.name for c in leaky.gate.failed_checks()]
    assert leaky.passed is False
    assert "rare_category_replay" not in [c.name for c in safe.gate.failed_checks()]
    # the canary table, when known, gives the direct count; non-members are the control
    leaked = leaky.report["metrics"]["canary_leakage"]
    assert leaked["value"] >= 3 and leaked["reference"] == 0
    assert safe.report["metrics"]["canary_leakage"]["value"] == 0


def test_without_holdout_lists_what_cannot_be_computed(files, tmp_path) -> None:
    result = CliRunner().invoke(_cli(), ["--real", str(files["train"]), "--synthetic", str(files["engine"]),
                                         "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["audit"]["holdout"] is False and report["audit"]["schema_inferred"] is True
    assert report["gate"]["passed"] is None
    missing = {item["metric"]: item["reason"] for item in report["audit"]["not_computed"]}
    assert {"membership_inference", "dcr_share"} <= set(missing)
    assert all("holdout" in reason for reason in missing.values() if reason)
    assert "exact_match" in report["audit"]["computed_without_holdout_reference"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Not computed" in html and "No verdict" in html
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"report.json", "report.html", "schema.yaml"}


def _bad(tmp_path: Path, files, frame: pd.DataFrame, role: str = "synthetic", *extra: str):
    path = tmp_path / f"bad-{role}.csv"
    frame.to_csv(path, index=False)
    paths = {"real": files["train"], "synthetic": files["engine"], "holdout": files["holdout"], role: path}
    out = tmp_path / "out"
    result = CliRunner().invoke(_cli(), ["--real", str(paths["real"]), "--synthetic", str(paths["synthetic"]),
                                         "--holdout", str(paths["holdout"]), "--schema", str(files["schema"]),
                                         "-o", str(out), *extra])
    assert result.exit_code == 2, result.output
    assert not out.exists()
    return result.output


def test_bad_input_is_a_typed_error_without_values(files, tmp_path) -> None:
    engine = pd.read_csv(files["engine"])
    text = _bad(tmp_path, files, engine.drop(columns=["purpose"]))
    assert "purpose" in text and "missing" in text
    junk = engine.copy()
    junk["credit_amount"] = junk["credit_amount"].astype(object)
    junk.loc[3, "credit_amount"] = "SECRET-VALUE-123"
    text = _bad(tmp_path, files, junk)
    assert "credit_amount" in text and "SECRET-VALUE-123" not in text
    same = pd.concat([engine.iloc[[0]]] * 50, ignore_index=True)
    assert "identical" in _bad(tmp_path, files, same)
    assert "at least 20" in _bad(tmp_path, files, pd.read_csv(files["holdout"]).iloc[:10], "holdout")
    recoded = engine.copy()
    recoded["purpose"] = "P-" + recoded["purpose"].astype(str) + "-x"
    text = _bad(tmp_path, files, recoded)
    assert "purpose" in text and "shares no value" in text
    header_only = tmp_path / "empty.csv"
    header_only.write_text(",".join(engine.columns) + "\n")
    result = CliRunner().invoke(_cli(), ["--real", str(files["train"]), "--synthetic", str(header_only),
                                         "-o", str(tmp_path / "out2")])
    assert result.exit_code == 2 and not (tmp_path / "out2").exists()
