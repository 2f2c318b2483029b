"""``--epsilon``/``--delta`` on release and fit: typed errors (exit 2) for every setup that would not be
private, a real private release records its accounting, and a policy may require DP."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from synthstruct.cli import app

SCHEMA = {
    "schema_version": 1, "name": "t", "target": "label",
    "columns": {
        "pid": {"kind": "id", "pattern": "P-#####"},
        "age": {"kind": "numerical", "dtype": "int", "min": 0, "max": 100},
        "city": {"kind": "categorical", "categories": ["north", "south", "east"]},
        "label": {"kind": "categorical", "categories": ["a", "b"]},
    },
}


def _write(tmp: Path, n: int = 400, schema: dict | None = SCHEMA) -> tuple[Path, Path | None]:
    rng = np.random.default_rng(0)
    label = rng.choice(["a", "b"], n)
    frame = pd.DataFrame({"pid": [f"P-{i:05d}" for i in range(n)],
                          "age": np.where(label == "a", rng.integers(20, 40, n), rng.integers(50, 80, n)),
                          "city": rng.choice(["north", "south", "east"], n), "label": label})
    data = tmp / "data.csv"
    frame.to_csv(data, index=False)
    if schema is None:
        return data, None
    spath = tmp / "schema.yaml"
    spath.write_text(yaml.safe_dump(schema))
    return data, spath


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


@pytest.mark.parametrize("extra, expect", [
    (["--epsilon", "0"], "epsilon"),
    (["--epsilon", "-1"], "epsilon"),
    (["--epsilon", "1", "--delta", "0.01"], "1/n"),          # 320 training rows: delta must be < 1/320
    (["--engine", "dp"], "--epsilon"),                        # no silent default budget
    (["--engine", "fast_copula", "--epsilon", "1"], "no differential privacy guarantee"),
])
def test_release_refuses_non_private_setups(tmp_path: Path, extra: list[str], expect: str) -> None:
    data, schema = _write(tmp_path)
    out = tmp_path / "bundle"
    code, text = _run(["release", str(data), "-s", str(schema), "-o", str(out), *extra])
    assert code == 2, text
    assert expect in " ".join(text.split())
    assert not out.exists()


def test_release_refuses_an_inferred_schema(tmp_path: Path) -> None:
    data, _ = _write(tmp_path, schema=None)
    code, text = _run(["release", str(data), "--epsilon", "1", "-o", str(tmp_path / "b")])
    assert code == 2 and "declared schema" in text


def test_fit_refuses_value_protection_with_dp(tmp_path: Path) -> None:
    data, schema = _write(tmp_path)
    code, text = _run(["fit", str(data), "-s", str(schema), "-o", str(tmp_path / "m"), "--epsilon", "1",
                       "--protect-k", "5"])
    assert code == 2 and "protect_k" in text
    code, text = _run(["fit", str(data), "-s", str(schema), "-o", str(tmp_path / "m"), "--epsilon", "1"])
    assert code == 0, text
    model = json.loads((tmp_path / "m" / "engine" / "model.json").read_text())
    assert model["privacy"]["epsilon_spent"] <= 1.0


def test_private_release_records_the_accounting(tmp_path: Path) -> None:
    data, schema = _write(tmp_path)
    out = tmp_path / "bundle"
    code, text = _run(["release", str(data), "-s", str(schema), "-o", str(out), "--epsilon", "2", "--delta", "1e-4",
                       "--policy", "lenient"])
    assert code in (0, 1), text  # the gate may block on this tiny table; the record is written either way
    manifest = json.loads((out / "manifest.json").read_text())
    dp = manifest["differential_privacy"]
    assert dp["epsilon"] == 2.0 and dp["delta"] == 1e-4 and dp["epsilon_spent"] <= 2.0
    assert {"one_way", "select", "marginals"} <= set(dp["split"]) and "does_not_cover" in dp
    assert manifest["engine"]["name"] == "dp" and manifest["engine"]["protect_k"] == 0
    report = json.loads((out / "report.json").read_text())
    assert report["differential_privacy"]["epsilon_spent"] == dp["epsilon_spent"]
    assert "Differential privacy" in (out / "report.html").read_text()


def test_policy_can_require_dp(tmp_path: Path) -> None:
    from synthstruct.release.policy import load_policy

    data, schema = _write(tmp_path)
    base = yaml.safe_load(load_policy("lenient")[1])
    base["require_dp"] = {"max_epsilon": 1.0}
    ppath = tmp_path / "policy.yaml"
    ppath.write_text(yaml.safe_dump(base))
    for extra, expect in ((["--engine", "fast_copula"], "requires differential privacy"),
                          (["--epsilon", "2"], "max_epsilon")):
        code, text = _run(["release", str(data), "-s", str(schema), "-o", str(tmp_path / "b"), "--policy",
                           str(ppath), *extra])
        assert code == 2 and expect in " ".join(text.split()), text
    out = tmp_path / "ok"
    code, text = _run(["release", str(data), "-s", str(schema), "-o", str(out), "--policy", str(ppath),
                       "--epsilon", "1", "--delta", "1e-4"])
    assert code in (0, 1), text
    checks = {c["name"]: c for c in json.loads((out / "report.json").read_text())["gate"]["checks"]}
    assert checks["differential_privacy"]["passed"] and checks["differential_privacy"]["value"] <= 1.0


def test_gate_check_fails_without_a_dp_record() -> None:
    from synthstruct.release.gate import dp_gate_check
    from synthstruct.release.policy import RequireDP, load_policy

    policy = load_policy("lenient")[0].model_copy(update={"require_dp": RequireDP(max_epsilon=4)})
    assert not dp_gate_check(policy, None).passed
    assert dp_gate_check(policy, {"epsilon_spent": 3.9, "delta_spent": 1e-6}).passed
    assert not dp_gate_check(policy, {"epsilon_spent": 4.5, "delta_spent": 1e-6}).passed
