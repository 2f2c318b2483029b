"""Text columns end to end with the template backend, prompts, checks and persistence."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from synthstruct.errors import InputError
from synthstruct.schema.io import schema_from_dict
from synthstruct.schema.model import TextColumn
from synthstruct.synthesizers.table import TableSynthesizer
from synthstruct.text.checks import NgramIndex, normalise
from synthstruct.text.column import TextColumnGenerator
from synthstruct.text.prompts import build_messages, clean_answer


def _clothing_schema(bundled_dir, **text: object) -> dict:
    d = yaml.safe_load((bundled_dir / "clothing_reviews.yaml").read_text())
    for c in ("Title", "Review Text"):
        d["columns"][c].update({"generator": "template", **text})
    return d


def test_ngram_index_finds_copied_runs_only() -> None:
    idx = NgramIndex(8).add(["The quick brown fox jumps over the lazy dog today, said Ann."])
    assert idx.copied("Well: the QUICK brown fox jumps over the lazy dog today!") == 3  # 10 shared words
    assert idx.copied("the quick brown fox jumps over a lazy dog today") == 0
    other = NgramIndex(8).add(["The quick brown fox jumps over the lazy dog today"])
    assert other._hashes.isdisjoint(idx._hashes)  # salted per index


def test_prompt_carries_spec_and_row() -> None:
    spec = TextColumn(kind="text", description="a product review", style="casual", conditioned_on=["Rating"],
                      required_elements=["fit", "fabric"], steps=["outline", "write"], examples=["Nice top."])
    msgs = build_messages(spec, "Review", {"Rating": "2"}, target_words=40, step=1, previous="- fit")
    system, user = msgs[0]["content"], msgs[1]["content"]
    assert "a product review" in system and "casual" in system and "fit; fabric" in system
    assert "Rating: 2" in user and "about 40 words" in user and "Step 2 of 2: write" in user and "- fit" in user
    assert "do not copy" in user and "Nice top." in user
    assert clean_answer('Sure! Here is the review: "Lovely dress. Runs small."', max_words=50) == "Lovely dress. Runs small."
    assert clean_answer("One two three. Four five six seven.", max_words=5) == "One two three."


def test_release_of_clothing_reviews_with_template_text(bundled_dir, tmp_path) -> None:
    from synthstruct.release.pipeline import release

    schema = schema_from_dict(_clothing_schema(bundled_dir))
    seen: dict[str, pd.DataFrame] = {}

    def capture(synthetic: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
        seen["synthetic"], seen["train"] = synthetic, train
        return synthetic

    release(bundled_dir / "clothing_reviews.csv", output=tmp_path / "out", schema=schema, rows=300, seed=4,
            synthetic_hook=capture)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    sampling = report["sampling"]
    assert sampling["text.Review Text.texts"] > 250 and sampling["text.Review Text.rejected_copied"] == 0
    assert sampling["text.Title.memorisation_checked"] == 1
    # generate -> verify -> select: acceptance per check reaches the report (the template: one candidate per row)
    assert sampling["text.Review Text.candidates"] >= sampling["text.Review Text.texts"]  # + regenerated rows
    assert sampling["text.Review Text.acceptance_copied"] == 1.0
    assert 0.0 <= sampling["text.Review Text.acceptance_label_Department Name"] <= 1.0
    assert "sampling: text.Review Text.acceptance length" in (tmp_path / "out" / "report.html").read_text()
    data = seen["synthetic"]
    real = pd.read_csv(bundled_dir / "clothing_reviews.csv")
    texts = data["Review Text"].dropna()
    assert len(texts) > 250 and not set(texts) & set(real["Review Text"].dropna())
    # conditioned on the synthetic row
    for _, row in data.dropna(subset=["Review Text"]).head(20).iterrows():
        assert f"Rating: {row['Rating']}" in row["Review Text"]
        assert f"Department Name: {row['Department Name']}" in row["Review Text"]


def test_same_seed_same_text_and_saved_model_has_no_training_text(bundled_dir, tmp_path) -> None:
    schema = schema_from_dict(_clothing_schema(bundled_dir, min_length=5, max_length=30))
    real = pd.read_csv(bundled_dir / "clothing_reviews.csv").head(400)
    synth = TableSynthesizer().fit(real, schema=schema, seed=1)
    a, b = synth.sample(50, seed=9), synth.sample(50, seed=9)
    pd.testing.assert_frame_equal(a, b)
    lengths = a["Review Text"].dropna().str.split().str.len()
    assert lengths.between(5, 30).all()
    synth.save(tmp_path / "model")
    saved = (tmp_path / "model" / "synthesizer.json").read_text()
    for text in real["Review Text"].dropna().head(50):
        assert text[:40] not in saved
    loaded = TableSynthesizer.load(tmp_path / "model")
    again = loaded.sample(50, seed=9)
    assert again["Review Text"].notna().sum() > 30
    assert loaded.sampling_stats_["text.Review Text.memorisation_checked"] == 0  # hashes are never saved


def test_unknown_generator_is_an_input_error(bundled_dir) -> None:
    spec = TextColumn(kind="text", generator="nope")
    with pytest.raises(InputError, match="unknown text generator"):
        TextColumnGenerator(spec, column="t").fit(pd.Series(["a b c"]))


def test_regenerates_duplicates_and_counts_them() -> None:
    class Repeating:
        name, stats_ = "repeating", {}

        def generate(self, requests, *, seed):
            return ["the very same answer for every single row of this table"] * len(requests)

    spec = TextColumn(kind="text", generator="local", max_regenerations=2, min_length=1, examples_from_data=0,
                      candidates=1, rounds=1)
    gen = TextColumnGenerator(spec, column="t", backend=Repeating())
    gen.fit(pd.Series(["a real text of some length here and a few more words"] * 4))
    out = gen.generate(pd.DataFrame(index=range(4)), np.random.default_rng(0))
    assert len({normalise(t) for t in out}) == 4
    assert gen.stats_["rejected_duplicate"] == 3 * 3 and gen.stats_["fallback_texts"] == 3


def test_template_texts_may_repeat_without_regeneration() -> None:
    spec = TextColumn(kind="text", generator="template", conditioned_on=["c"], min_length=1)
    gen = TextColumnGenerator(spec, column="t").fit(pd.Series(["a real text of some length here and more"] * 4))
    gen.generate(pd.DataFrame({"c": ["x"] * 600}), np.random.default_rng(0))
    assert gen.stats_["rejected_duplicate"] == 0 and gen.stats_["fallback_texts"] == 0 and gen.stats_["rounds"] == 1


def test_texts_that_echo_the_prompt_fields_are_rejected():
    from synthstruct.schema.model import TextColumn
    from synthstruct.text.column import TextColumnGenerator

    spec = TextColumn(kind="text", generator="local", conditioned_on=["Rating", "Department Name"])
    gen = TextColumnGenerator(spec, column="t")
    assert gen._echoes_prompt("Rating: 4 Department Name: Tops Class Name: Blouses")
    assert not gen._echoes_prompt("Lovely top, the rating I give is high and it fits well.")
    template = TextColumnGenerator(spec.model_copy(update={"generator": "template"}), column="t")
    assert not template._echoes_prompt("A note on Rating: 4, Department Name: Tops.")
