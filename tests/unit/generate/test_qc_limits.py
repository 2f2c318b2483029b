"""The QC report fails a generated set whose text repeats itself or does not say its label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synthstruct.generate import generate_table, quality_report
from synthstruct.generate.qc import label_agreement
from synthstruct.generate.spec import RequirementSpec
from synthstruct.schema.io import load_schema

PACK = Path(__file__).resolve().parents[3] / "schemas" / "customer_service" / "movie_review.yaml"


def test_label_agreement_separates_informative_from_uninformative_text() -> None:
    rng = np.random.default_rng(0)
    labels = pd.Series(rng.choice(["positive", "negative"], size=200))
    words = {"positive": ["great", "lovely", "superb"], "negative": ["awful", "dull", "boring"]}
    said = pd.Series([f"the film was {rng.choice(words[y])} and long {i}" for i, y in enumerate(labels)])
    unsaid = pd.Series([f"the film was {rng.choice(sum(words.values(), []))} {i}" for i in range(200)])
    assert label_agreement(said, labels)["value"] >= 0.95
    assert label_agreement(unsaid, labels)["value"] < 0.7


def test_label_agreement_is_not_computed_without_enough_rows_per_label() -> None:
    result = label_agreement(pd.Series(["a b", "c d", "e f"]), pd.Series(["x", "x", "y"]))
    assert result["value"] is None and "at least 5" in result["reason"]


def test_duplicated_texts_fail_diversity_and_a_spec_can_relax_the_limit() -> None:
    schema = load_schema(PACK)
    frame = generate_table(schema, spec=RequirementSpec(rows=200), seed=0).data.copy()
    frame["review_text"] = np.where(frame["sentiment"] == "positive", "A lovely film with great acting and plot.",
                                    "A dull film with wooden acting and a thin plot.")
    report = quality_report(frame, schema)
    text = report["diversity"]["text"]["review_text"]
    assert text["duplicate_rate"] > 0.9 and text["passed"] is False
    assert report["diversity"]["passed"] is False and report["passed"] is False
    assert report["accuracy"]["label_agreement"]["review_text"]["passed"] is True  # still says its label
    relaxed = quality_report(frame, schema, spec=RequirementSpec.model_validate(
        {"text": {"review_text": {"max_duplicate_share": 1.0}}}))
    assert relaxed["diversity"]["passed"] is True


def test_text_that_ignores_its_label_fails_accuracy() -> None:
    schema = load_schema(PACK)
    frame = generate_table(schema, spec=RequirementSpec(rows=200), seed=1).data.copy()
    shuffled = frame["review_text"].sample(frac=1.0, random_state=0).to_numpy()
    frame["review_text"] = shuffled  # each text now belongs to a random row
    report = quality_report(frame, schema)
    agreement = report["accuracy"]["label_agreement"]["review_text"]
    assert agreement["value"] < 0.7 and agreement["passed"] is False
    assert report["passed"] is False
