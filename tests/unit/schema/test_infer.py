"""Schema inference on the development datasets and on constructed frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from synthstruct.dataio import read_table
from synthstruct.pii.presidio_engine import get_analyzer
from synthstruct.schema.infer import infer_schema, value_shape
from synthstruct.schema.io import dump_schema, schema_from_dict

MAX_ROWS = 3000


@pytest.fixture(scope="module")
def analyzer():
    return get_analyzer()


def _load(path: Path) -> pd.DataFrame:
    frame = read_table(path)
    return frame.sample(MAX_ROWS, random_state=0) if len(frame) > MAX_ROWS else frame


def _assert_value_free(frame: pd.DataFrame, comments: dict[str, str]) -> None:
    for column, comment in comments.items():
        texts = {str(v) for v in frame[column].dropna().unique()[:500]}
        leaked = [t for t in texts if len(t) >= 4 and not t.replace(".", "").isdigit() and t in comment]
        assert not leaked, f"comment of {column!r} contains a cell value"


def _infer(frame: pd.DataFrame, name: str, analyzer):
    schema, comments = infer_schema(frame, name=name, analyzer=analyzer)
    text = dump_schema(schema, comments)
    assert schema_from_dict(yaml.safe_load(text)) == schema
    assert set(comments) == set(frame.columns)
    _assert_value_free(frame, comments)
    return schema, comments


@pytest.fixture(scope="module")
def inferred(analyzer) -> dict[str, tuple]:
    """Every development dataset (large ones sampled), inferred once for the module."""
    shared_datasets = Path(__file__).resolve().parents[3].parent / "shared" / "datasets"
    if not shared_datasets.is_dir():
        pytest.skip("../shared/datasets is not available")
    paths = sorted(shared_datasets.glob("*.csv")) + sorted(shared_datasets.glob("berka/*.csv"))
    return {path.stem: _infer(_load(path), path.stem, analyzer) for path in paths}


def test_every_dataset_infers_a_valid_schema(inferred):
    assert len(inferred) >= 10
    assert all(schema.columns for schema, _ in inferred.values())


def test_known_facts(inferred):
    adult, _ = inferred["adult"]
    assert adult.columns["age"].kind == "numerical" and adult.columns["age"].dtype == "int"
    assert adult.columns["income"].kind == "categorical" and adult.target == "income"
    assert {"age", "sex", "race", "native-country"} <= set(adult.quasi_identifiers)
    stroke, comments = inferred["stroke"]
    assert stroke.columns["id"].kind == "id" and stroke.primary_key == "id" and stroke.target == "stroke"
    assert "target: named 'stroke'" in comments["stroke"]  # the target comes with its reason
    heart, _ = inferred["heart_disease_uci"]
    assert heart.columns["id"].kind == "id"
    assert heart.columns["num"].kind == "categorical"  # 0-4 codes
    assert heart.columns["fbs"].kind == "boolean"
    harper, _ = inferred["harper_valley_bank_transcripts"]
    assert harper.columns["transcript"].kind == "text"
    reviews, _ = inferred["womens_clothing_reviews"]
    assert reviews.columns["Review Text"].kind == "text"
    assert reviews.columns["Class Name"].kind == "categorical"
    tweets, _ = inferred["airline_tweets"]
    assert tweets.columns["name"].kind == "pii" and tweets.columns["name"].entity in ("USERNAME", "PERSON")
    assert tweets.columns["text"].kind == "text"
    assert tweets.columns["tweet_created"].kind == "datetime"
    assert tweets.columns["tweet_created"].format == "%Y-%m-%d %H:%M:%S %z"
    assert tweets.target == "airline_sentiment"


@pytest.fixture(scope="module")
def constructed() -> pd.DataFrame:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(4)
    n = 150
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "patient_ref": [f"P-{i:05d}" for i in rng.permutation(90000)[:n]],
        "full_name": [fake.name() for _ in range(n)],
        "contact": [fake.email() for _ in range(n)],
        "phone": [fake.phone_number() for _ in range(n)],
        "ssn": [fake.ssn() for _ in range(n)],
        "card": [fake.credit_card_number() for _ in range(n)],
        "name": rng.choice(["A", "B"], size=n),
        "visited": [fake.date_between("-2y").strftime("%d/%m/%Y") for _ in range(n)],
        "severity": rng.integers(0, 3, size=n),
        "weight": rng.normal(70, 10, size=n).round(1),
        "smoker": rng.choice([True, False], size=n),
        "notes": [fake.paragraph(nb_sentences=3) for _ in range(n)],
        "label": rng.choice(["yes", "no"], size=n),
    })


def test_constructed_frame(constructed, analyzer):
    schema, comments = _infer(constructed, "clinic", analyzer)
    kinds = schema.kinds()
    entities = {c: col.entity for c, col in schema.columns.items() if col.kind == "pii"}
    assert entities == {"full_name": "PERSON", "contact": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER",
                        "ssn": "US_SSN", "card": "CREDIT_CARD"}
    assert kinds["patient_ref"] == "id" and schema.columns["patient_ref"].pattern == "P-#####"
    assert schema.primary_key == "patient_ref"
    assert kinds["name"] == "categorical"
    assert kinds["visited"] == "datetime" and schema.columns["visited"].format == "%d/%m/%Y"
    assert kinds["severity"] == "categorical"
    assert kinds["weight"] == "numerical" and schema.columns["weight"].decimals == 1
    assert schema.columns["weight"].min is None  # range hidden
    assert kinds["smoker"] == "boolean"
    assert kinds["notes"] == "text"
    assert schema.target == "label"


def test_name_only_mode_skips_presidio(constructed):
    schema, _ = infer_schema(constructed, name="clinic", detect_pii=False)
    kinds = schema.kinds()
    assert kinds["full_name"] == "pii" and kinds["phone"] == "pii"
    assert kinds["contact"] != "pii" or schema.columns["contact"].entity == "EMAIL_ADDRESS"


def test_odd_columns_do_not_raise(analyzer):
    frame = pd.DataFrame({
        "empty": [None] * 30,
        "mixed": [1, "a", 2.5] * 10,
        "lists": [[1, 2], [3]] * 15,
        "const": ["x"] * 30,
        "n": range(30),
        "when": pd.date_range("2020-01-01", periods=30),
    })
    schema, comments = infer_schema(frame, name="odd table!", analyzer=analyzer)
    assert schema.name == "odd_table"
    assert schema.kinds()["when"] == "datetime"
    assert set(comments) == set(frame.columns)


def test_deterministic(constructed, analyzer):
    small = constructed.drop(columns=["notes"]).head(60)
    first = infer_schema(small, seed=1, sample_size=30, analyzer=analyzer)
    assert first == infer_schema(small, seed=1, sample_size=30, analyzer=analyzer)


def test_value_shape():
    assert value_shape("AB-0012x") == "??-####?"
    assert value_shape("P-00012", keep={0}) == "P-#####"


def test_columns_inferred_in_a_forked_child_give_the_same_schema_and_decisions(constructed, analyzer, monkeypatch):
    import synthstruct.schema.infer as infer_module
    from synthstruct._fork import ForkedCall

    def run() -> tuple[dict, dict]:
        found = infer_module.infer_table(constructed, name="clinic", analyzer=analyzer)
        return found.schema.model_dump(), {k: d.to_dict() for k, d in found.decisions.items()}

    monkeypatch.setenv("SYNTHSTRUCT_FORK", "0")
    expected = run()
    monkeypatch.setenv("SYNTHSTRUCT_FORK", "1")
    monkeypatch.setattr(infer_module, "FORK_MIN_ROWS", 0)
    calls: list[bool] = []
    real_result = ForkedCall.result

    def counted(self):
        ok, value = real_result(self)
        calls.append(ok)
        return ok, value

    monkeypatch.setattr(ForkedCall, "result", counted)
    assert run() == expected
    assert calls == [True]  # the child inferred its share of the columns
    assert list(run()[1]) == list(constructed.columns)  # decisions in column order
