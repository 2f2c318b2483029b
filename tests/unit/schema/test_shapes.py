"""The shape corpus (tests/unit/schema/shape_corpus.py): inference chooses the stated kind from a CSV, and a
release of every shape ends in a bundle or a gate verdict (never an input error), with the column's
format kept in the output."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from synthstruct.dataio import read_table
from synthstruct.pii.presidio_engine import get_analyzer
from synthstruct.schema.infer import infer_table

_spec = importlib.util.spec_from_file_location("shape_corpus", Path(__file__).with_name("shape_corpus.py"))
corpus = importlib.util.module_from_spec(_spec)
sys.modules["shape_corpus"] = corpus
_spec.loader.exec_module(corpus)
SHAPES, Shape, tiny = corpus.SHAPES, corpus.Shape, corpus.tiny

IDS = [s.name for s in SHAPES]


@pytest.fixture(scope="module")
def analyzer():
    return get_analyzer()


def _csv(tmp_path, shape: Shape):
    path = tmp_path / f"{shape.name}.csv"
    shape.build().to_csv(path, index=False)
    return path


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_shape_is_inferred_by_evidence(tmp_path, shape, analyzer):
    frame = read_table(_csv(tmp_path, shape))
    result = infer_table(frame, name=shape.name, analyzer=analyzer)
    spec = result.schema.columns[shape.column].model_dump(exclude_none=True)
    assert spec["kind"] == shape.kind, result.decisions[shape.column].comment()
    if shape.check is not None:
        assert shape.check(spec), spec
    decision = result.decisions[shape.column]
    assert decision.evidence and decision.label.startswith(shape.kind)
    for value in frame[shape.column].dropna().astype(str).unique()[:200]:
        if len(value) >= 4 and not value.replace(".", "").replace(",", "").isdigit():
            assert value not in decision.comment()  # evidence holds counts and formats, never a cell value


def test_every_shape_has_a_reason_and_the_corpus_covers_the_issue():
    names = set(IDS)
    for wanted in ("icd9_codes", "zip_leading_zeros", "currency_strings", "thousands_separators", "huge_integers",
                   "yes_no_booleans", "mostly_null", "constant", "repeating_ids", "surname_only",
                   "five_hundred_categories", "dates_sentinels"):
        assert wanted in names


@pytest.mark.slow
@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_shape_releases(tmp_path, shape):
    from synthstruct.release.pipeline import release

    out = tmp_path / "bundle"
    result = release(_csv(tmp_path, shape), output=out, seed=0)
    report = json.loads((out / "report.json").read_text())
    assert report["inference"]["columns"][shape.column]["kind"] == shape.kind
    assert result.passed == (shape.outcome == "released"), [c.explanation for c in result.gate.failed_checks()]
    if result.passed and shape.roundtrip is not None:
        real = pd.read_csv(_csv(tmp_path, shape), dtype=str, keep_default_na=False, na_values=[""])[shape.column]
        synthetic = pd.read_csv(out / "data" / f"{shape.name}.csv", dtype=str, keep_default_na=False,
                                na_values=[""])[shape.column]
        assert shape.roundtrip(real, synthetic), shape.reason


@pytest.mark.parametrize("rows", [1, 2])
def test_tiny_tables_infer_without_refusal(tmp_path, rows, analyzer):
    path = tmp_path / "tiny.csv"
    tiny(rows).to_csv(path, index=False)
    result = infer_table(read_table(path), name="tiny", analyzer=analyzer)
    assert set(result.decisions) == {"name_code", "value", "flag"}
    # one row is not "a constant held by many people": nothing is carried through as a constant
    assert "constant" not in result.schema.kinds().values()


@pytest.mark.slow
@pytest.mark.parametrize("rows", [1, 2])
def test_tiny_tables_end_in_a_typed_outcome(tmp_path, rows):
    """1- and 2-row tables: too small to split into training and holdout rows; the error says so
    (exit 2 in the CLI), it does not fail inside inference."""
    from synthstruct.errors import InputError
    from synthstruct.release.pipeline import release

    path = tmp_path / "tiny.csv"
    tiny(rows).to_csv(path, index=False)
    try:
        result = release(path, output=tmp_path / "bundle", seed=0)
    except InputError as exc:
        assert "row" in str(exc) or any("row" in p.problem for p in exc.problems)
    else:
        assert result.passed in (True, False)
