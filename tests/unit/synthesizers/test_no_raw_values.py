"""``fit --no-raw-values``: the saved model keeps no training number that only one row holds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthstruct.cli import app
from synthstruct.errors import InputError
from synthstruct.schema.model import Schema
from synthstruct.synthesizers.table import TableSynthesizer


def _frame(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "income": np.round(rng.lognormal(10, 0.6, n), 2),           # continuous, every value unique
        "visits": rng.integers(0, 9, n),                             # discrete
        "gain": np.where(rng.random(n) < 0.8, 0.0, np.round(rng.exponential(3000, n), 0)),  # atom at 0
        "plan": rng.choice(["basic", "plus", "pro"], n),
    })


def _schema() -> Schema:
    return Schema.model_validate({"schema_version": 1, "name": "t", "columns": {
        "income": {"kind": "numerical"}, "visits": {"kind": "numerical"}, "gain": {"kind": "numerical"},
        "plan": {"kind": "categorical"}}})


def _stored_numbers(model_dir) -> set[float]:
    numbers: set[float] = set()
    with np.load(model_dir / "engine" / "arrays.npz") as npz:
        for key in npz.files:
            if npz[key].dtype.kind == "f":
                numbers.update(float(v) for v in np.ravel(npz[key]))
    def walk(value) -> None:
        if isinstance(value, float):
            numbers.add(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
    for path in model_dir.rglob("*.json"):
        walk(json.loads(path.read_text()))
    return numbers


def _singletons(frame: pd.DataFrame, column: str) -> set[float]:
    counts = frame[column].value_counts()
    return {float(v) for v in counts[counts < 5].index}


@pytest.mark.parametrize("raw_values", [True, False])
def test_saved_model_holds_single_row_values_only_with_raw_values(tmp_path, raw_values: bool) -> None:
    frame = _frame()
    synth = TableSynthesizer(raw_values=raw_values).fit(frame, schema=_schema(), seed=0)
    synth.save(tmp_path / "m")
    stored = _stored_numbers(tmp_path / "m")
    leaked = {c: len(_singletons(frame, c) & stored) for c in ("income", "gain")}
    if raw_values:
        assert leaked["income"] > 100  # the default grid keeps real values: the control can fail
    else:
        assert leaked == {"income": 0, "gain": 0}
    sample = TableSynthesizer.load(tmp_path / "m").sample(2000, seed=1)
    assert (sample["gain"] == 0).mean() == pytest.approx((frame["gain"] == 0).mean(), abs=0.05)
    assert sample["income"].median() == pytest.approx(frame["income"].median(), rel=0.1)


def test_no_raw_values_refuses_engines_that_keep_values() -> None:
    with pytest.raises(InputError, match="cannot keep its promise"):
        TableSynthesizer(engine="gaussian_copula", raw_values=False).fit(_frame(60), schema=_schema())
    with pytest.raises(InputError):
        TableSynthesizer(protect_k=0, raw_values=False).fit(_frame(60), schema=_schema())


def test_cli_fit_no_raw_values(tmp_path) -> None:
    data = tmp_path / "t.csv"
    _frame().to_csv(data, index=False)
    result = CliRunner().invoke(app, ["fit", str(data), "-o", str(tmp_path / "m"), "--no-raw-values"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m" / "synthesizer.json").read_text())["params"]["raw_values"] is False


def test_cli_refuses_the_option_before_reading_any_data(tmp_path) -> None:
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "not-there.csv"), "-o", str(tmp_path / "m"),
                                      "--engine", "tvae", "--no-raw-values"])
    assert result.exit_code == 2
    assert "cannot keep its promise" in result.output and "not found" not in result.output
