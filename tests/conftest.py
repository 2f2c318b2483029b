"""Shared fixtures. Every test runs offline with its own synthstruct state directory."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
BUNDLED = REPO / "synthstruct" / "datasets"


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHSTRUCT_HOME", str(tmp_path_factory.mktemp("synthstruct-home")))


@pytest.fixture
def shared_datasets() -> Path:
    if not SHARED_DATASETS.is_dir():
        pytest.skip("../shared/datasets is not available")
    return SHARED_DATASETS


@pytest.fixture
def bundled_dir() -> Path:
    return BUNDLED


@pytest.fixture
def small_frame() -> pd.DataFrame:
    """A small mixed-type table with a dependency between columns and a few missing values."""
    rng = np.random.default_rng(0)
    n = 400
    age = rng.integers(18, 90, size=n)
    group = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    income = np.round(20_000 + 800 * age + rng.normal(0, 5_000, size=n), 2)
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, size=n), unit="D")
    end = start + pd.to_timedelta(rng.integers(0, 30, size=n), unit="D")
    label = np.where(income > 60_000, "high", "low")
    frame = pd.DataFrame({
        "pid": [f"P-{i:05d}" for i in range(n)],
        "age": age,
        "group": group,
        "income": income,
        "visit": start.strftime("%Y-%m-%d"),
        "discharge": end.strftime("%Y-%m-%d"),
        "smoker": rng.choice(["yes", "no"], size=n),
        "label": label,
    })
    frame.loc[rng.choice(n, 20, replace=False), "income"] = np.nan
    return frame


SMALL_SCHEMA = {
    "schema_version": 1,
    "name": "patients",
    "primary_key": "pid",
    "target": "label",
    "quasi_identifiers": ["age", "group"],
    "sensitive": ["label"],
    "columns": {
        "pid": {"kind": "id", "pattern": "P-#####"},
        "age": {"kind": "numerical", "dtype": "int", "min": 0, "max": 120},
        "group": {"kind": "categorical"},
        "income": {"kind": "numerical", "decimals": 2},
        "visit": {"kind": "datetime", "format": "%Y-%m-%d"},
        "discharge": {"kind": "datetime", "format": "%Y-%m-%d"},
        "smoker": {"kind": "boolean"},
        "label": {"kind": "categorical", "categories": ["high", "low"]},
    },
    "constraints": [{"type": "inequality", "low": "visit", "high": "discharge"}],
}


@pytest.fixture
def small_schema_dict() -> dict:
    import copy

    return copy.deepcopy(SMALL_SCHEMA)
