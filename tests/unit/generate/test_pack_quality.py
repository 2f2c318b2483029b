"""The built-in composed packs pass their own quality control at 1,000 rows: no text column repeats
more than 1 % of its texts, every composed text says its label, and every rule holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthstruct.generate import generate_table
from synthstruct.schema.io import load_schema
from synthstruct.schema.model import TextColumn

PACKS = Path(__file__).resolve().parents[3] / "schemas"
N = 1000


@pytest.mark.slow
@pytest.mark.parametrize("pack", ["customer_service/movie_review.yaml", "customer_service/support_dialogue.yaml",
                                  "medical/patient_case.yaml"])
def test_pack_passes_quality_control_at_1000_rows(pack):
    schema = load_schema(PACKS / pack)
    result = generate_table(schema, N, seed=0)
    report = result.report
    texts = [name for name, col in schema.columns.items() if isinstance(col, TextColumn)]
    assert texts and set(report["diversity"]["text"]) == set(texts)
    for name in texts:
        observed = result.data[name].duplicated().mean()
        assert observed <= 0.01, f"{pack}: {name} repeats {observed:.3f} of its texts"
        assert report["diversity"]["text"][name]["passed"], name
    for name, agreement in report["accuracy"]["label_agreement"].items():
        assert agreement["value"] is not None and agreement["value"] >= 0.9, (name, agreement)
    assert report["consistency"]["rows_valid_share"] == 1.0
    assert all(v == 0 for v in report["consistency"]["violations"].values())
    assert report["passed"], {k: v.get("passed") for k, v in report.items() if isinstance(v, dict)}


def test_label_agreement_scores_a_small_minority_class():
    """15 of 60 texts carry words no other text uses: an unweighted classifier never predicts that class
    (balanced accuracy 0.5); classes weighted as the balanced-accuracy score assumes find it."""
    import numpy as np
    import pandas as pd

    from synthstruct.generate.qc import label_agreement

    rng = np.random.default_rng(0)
    filler = [f"word{i}" for i in range(200)]
    labels = ["positive"] * 15 + ["negative"] * 45
    texts = [" ".join(rng.choice(filler, 8)) + (" great loved superb" if label == "positive" else " poor wooden dull")
             for label in labels]
    assert label_agreement(pd.Series(texts), pd.Series(labels))["value"] >= 0.9
    shuffled = list(rng.permutation(labels))
    assert label_agreement(pd.Series(texts), pd.Series(shuffled))["value"] < 0.75
