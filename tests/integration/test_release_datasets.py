"""Every table in ../shared/datasets releases without a schema (issue 13): a bundle or a gate verdict,
never an input error. Tables are sampled to a few hundred rows (seeded) to keep the run short; the full
tables are covered by ``evaluation/release_datasets.py --rows 0``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
TABLES = (sorted(DATASETS.glob("*.csv")) + sorted(DATASETS.glob("*/*.csv"))) if DATASETS.is_dir() else []
ROWS = 600


@pytest.mark.slow
@pytest.mark.skipif(not TABLES, reason="../shared/datasets is not available")
@pytest.mark.parametrize("path", TABLES, ids=[str(p.relative_to(DATASETS)) for p in TABLES])
def test_public_table_releases_without_a_schema(tmp_path, path):
    from synthstruct.release.pipeline import release

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    data = tmp_path / path.name
    (frame.sample(ROWS, random_state=0) if len(frame) > ROWS else frame).to_csv(data, index=False)
    out = tmp_path / "bundle"
    result = release(data, output=out, seed=0)  # an InputError here is the failure this test exists for
    report = json.loads((out / "report.json").read_text())
    assert report["inference"]["inferred"] is True
    assert set(report["inference"]["columns"]) == set(frame.columns)
    if result.passed:
        synthetic = pd.read_csv(out / "data" / f"{result.report['table']}.csv", dtype=str)
        assert list(synthetic.columns) == list(frame.columns)
        kinds = report["inference"]["columns"]
        emptied = [c for c in frame.columns if synthetic[c].isna().all() and frame[c].replace("", None).notna().any()
                   and kinds[c]["kind"] != "constant"]
        warned = [c for c in emptied if any("WARNING" in n for n in kinds[c]["notes"])]
        assert emptied == warned  # no column emptied without a warning in the decisions
    else:
        assert result.gate.failed_checks()  # blocked: the gate names its reasons
