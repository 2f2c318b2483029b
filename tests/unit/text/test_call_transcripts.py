"""Harper Valley call transcripts: derived table, schema, and a template sample that copies nothing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthstruct.evaluation.metric import EvaluationContext
from synthstruct.evaluation.text_fidelity import text_memorisation
from synthstruct.schema.io import load_schema
from synthstruct.text.column import TextColumnGenerator

REPO = Path(__file__).resolve().parents[3]
SCHEMA = REPO / "schemas" / "customer_service" / "call_transcripts.yaml"
DATA = REPO.parent / "shared" / "datasets" / "harper_valley_bank_transcripts.csv"


def _loader():
    spec = importlib.util.spec_from_file_location("harper_valley", REPO / "evaluation" / "harper_valley.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hv = _loader()


@pytest.fixture(scope="module")
def calls() -> pd.DataFrame:
    if not DATA.exists():
        pytest.skip("the shared Harper Valley transcripts are not available")
    return hv.load_harper_valley(DATA)


def test_schema_loads_conditioned_on_intent_with_examples_and_stock_phrases():
    schema = load_schema(SCHEMA)
    spec = schema.columns["transcript"]
    assert spec.kind == "text" and spec.conditioned_on == ["intent"] and spec.examples_from_data > 0
    assert spec.ngram == 8 and spec.ngram_shared_by >= 5
    assert spec.min_length < spec.max_length
    assert set(schema.columns["intent"].categories) == set(hv.INTENTS) - {"other"}
    assert schema.primary_key == "conversation_idx" and not schema.semantic_problems()


def test_rules_on_hand_written_calls():
    assert hv.derive_intent("agent hi caller i lost my debit card can you send a new one") == "replace_card"
    # the earliest request wins: the branch being "open" later belongs to the appointment
    assert hv.derive_intent("caller i would like to schedule an appointment agent we are open friday") == \
        "schedule_appointment"
    assert hv.derive_intent("caller i want to open a check um order some check books") == "order_checks"
    assert hv.derive_intent("agent hello caller hello") == "other"
    assert hv.count_turns("agent hello agent how can i help caller hi caller my card agent sure") == 3
    assert hv.caller_names(["caller hi um my name is mary smith i lost my card"]) == {"mary smith"}


def test_derived_table_columns_and_rule_coverage(calls):
    assert list(calls.columns) == ["conversation_idx", "intent", "turns", "words", "transcript"]
    assert len(calls) == 1446 and calls["conversation_idx"].is_unique
    assert (calls["turns"] >= 2).all() and (calls["words"] == calls["transcript"].str.split().str.len()).all()
    schema = load_schema(SCHEMA)
    assert set(calls["intent"]) <= set(schema.columns["intent"].categories) | {"other"}
    coverage = hv.rule_coverage(calls["transcript"])
    assert coverage["covered_share"] >= 0.95
    assert min(v for k, v in coverage["per_intent"].items() if k != "other") >= 100  # eight real intents
    assert coverage["several_rules_match"] <= 0.02 * len(calls)


def test_template_transcripts_copy_no_8gram_and_replay_no_pii(calls):
    schema = load_schema(SCHEMA)
    spec = schema.columns["transcript"].model_copy(update={"generator": "template", "backend": {}})
    schema = schema.model_copy(update={"columns": {**schema.columns, "transcript": spec}})
    shuffled = calls.sample(frac=1.0, random_state=0).reset_index(drop=True)
    holdout, train = shuffled.iloc[:40].reset_index(drop=True), shuffled.iloc[40:440].reset_index(drop=True)
    gen = TextColumnGenerator(spec, column="transcript").fit(train["transcript"], train)
    synthetic = holdout.drop(columns=["transcript"]).iloc[:24].reset_index(drop=True)
    synthetic["transcript"] = gen.generate(synthetic, np.random.default_rng(0))
    assert synthetic["transcript"].notna().all()
    assert synthetic["transcript"].str.split().str.len().between(spec.min_length, spec.max_length).all()
    result = text_memorisation(EvaluationContext(train=train, synthetic=synthetic, schema=schema,
                                                 holdout=holdout, seed=0))
    column = result.details["columns"]["transcript"]
    assert result.value == 0.0
    assert column["synthetic"]["copied_ngram_cells"] == 0 and column["synthetic"]["pii_replay_cells"] == 0
    assert result.reference > 0  # real calls share stock 8-word phrases: the check does find copies
