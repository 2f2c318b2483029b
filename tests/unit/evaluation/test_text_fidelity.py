"""Text fidelity and text memorisation on constructed texts with known answers (no LLM)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthstruct.evaluation.metric import EvaluationContext
from synthstruct.evaluation.text_fidelity import (
    distinct_n,
    length_score,
    normalise_span,
    text_fidelity,
    text_memorisation,
)
from synthstruct.schema.io import schema_from_dict
from synthstruct.text.checks import Embedder
from synthstruct.text.placeholder import PlaceholderTextGenerator

POSITIVE = ("love", "great", "perfect", "comfortable", "beautiful", "soft", "flattering", "happy")
NEGATIVE = ("awful", "cheap", "itchy", "returned", "disappointed", "poor", "tight", "ugly")
NEUTRAL = ("the", "fabric", "colour", "size", "dress", "top", "fit", "wash", "length", "order")


def _schema() -> object:
    return schema_from_dict({"schema_version": 1, "name": "reviews", "columns": {
        "sentiment": {"kind": "categorical"},
        "review": {"kind": "text", "generator": "template", "conditioned_on": ["sentiment"]},
    }})


def _texts(labels: list[str], seed: int, *, swap: bool = False, words: int = 12) -> list[str]:
    """Random word salads whose sentiment words follow the label (or the other label with ``swap``)."""
    rng = np.random.default_rng(seed)
    out = []
    for label in labels:
        bank = POSITIVE if (label == "pos") != swap else NEGATIVE
        toks = [rng.choice(bank) if j % 3 == 0 else rng.choice(NEUTRAL) for j in range(words + int(rng.integers(0, 6)))]
        out.append(" ".join(toks))
    return out


def _frame(n: int, seed: int, **kw: object) -> pd.DataFrame:
    labels = ["pos" if i % 2 else "neg" for i in range(n)]
    return pd.DataFrame({"sentiment": labels, "review": _texts(labels, seed, **kw)})  # type: ignore[arg-type]


def _ctx(synthetic: pd.DataFrame, **options: object) -> EvaluationContext:
    return EvaluationContext(train=_frame(200, 1), synthetic=synthetic, schema=_schema(), holdout=_frame(80, 2),
                             seed=0, options={"text_embeddings": False, **options})


def test_length_score_and_distinct_n_known_values() -> None:
    five, ten = pd.Series(["a b c d e"] * 4), pd.Series(["a b c d e f g h i j"] * 4)
    assert length_score(five, five) == 1.0
    assert length_score(five, ten) == 0.0
    assert length_score(pd.concat([five, ten]), five) == 0.5
    assert length_score(pd.Series([], dtype=object), five) is None
    assert distinct_n(["a b a b"], 1) == 0.5
    assert distinct_n(["a b a b"], 2) == pytest.approx(2 / 3)
    assert distinct_n(["one"], 2) is None


def test_span_normalisation_compares_whole_spans() -> None:
    assert normalise_span("PERSON", "  Ann   SMITH, ") == "ann smith"
    assert normalise_span("PHONE_NUMBER", "(415) 555-0132") == normalise_span("PHONE_NUMBER", "415.555.0132")
    assert normalise_span("EMAIL_ADDRESS", "ann@example.com") != normalise_span("EMAIL_ADDRESS", "joann@example.com")


def test_label_consistency_follows_the_conditioning_values() -> None:
    faithful = text_fidelity(_ctx(_frame(60, 3)))
    swapped = text_fidelity(_ctx(_frame(60, 3, swap=True)))
    labels = faithful.details["columns"]["review"]["label_consistency"]["sentiment"]
    assert labels["synthetic_accuracy"] == 1.0 and labels["holdout_accuracy"] == 1.0
    assert labels["majority_share"] == 0.5 and labels["classes"] == 2
    assert swapped.details["columns"]["review"]["label_consistency"]["sentiment"]["synthetic_accuracy"] == 0.0
    assert faithful.category == "fidelity" and faithful.goal == "maximize"


def test_length_shape_value_and_reference() -> None:
    same = text_fidelity(_ctx(_frame(100, 4)))
    assert same.value is not None and same.value > 0.8 and same.reference is not None and same.reference > 0.8
    longer = text_fidelity(_ctx(_frame(100, 4, words=40)))
    assert longer.value == 0.0  # every synthetic text is longer than every real one
    detail = longer.details["columns"]["review"]
    assert detail["mean_words"] > detail["real_mean_words"]
    assert detail["embedding"]["note"].startswith("embedding similarity turned off")
    repetitive = _frame(100, 4)
    repetitive["review"] = "love the dress love the dress"
    div = text_fidelity(_ctx(repetitive)).details["columns"]["review"]["diversity"]
    assert div["distinct_2"] < 0.01 < div["real_distinct_2"]


def test_placeholder_text_has_the_real_length_profile_but_no_labels() -> None:
    train = _frame(200, 1)
    gen = PlaceholderTextGenerator(column="review").fit(train["review"])
    synthetic = pd.DataFrame({"sentiment": _frame(200, 5)["sentiment"],
                              "review": gen.generate(200, np.random.default_rng(0))})
    result = text_fidelity(_ctx(synthetic))
    col = result.details["columns"]["review"]
    assert result.value is not None and result.value > 0.7
    assert col["label_consistency"]["sentiment"]["synthetic_accuracy"] < 0.7  # filler carries no sentiment


def test_no_text_column_gives_no_value() -> None:
    schema = schema_from_dict({"schema_version": 1, "name": "t", "columns": {"a": {"kind": "categorical"}}})
    frame = pd.DataFrame({"a": ["x", "y"]})
    ctx = EvaluationContext(train=frame, synthetic=frame, schema=schema)
    assert text_fidelity(ctx).value is None
    assert text_memorisation(ctx).value == 0.0


@pytest.mark.skipif(not Embedder.available(), reason="offline embedder not installed")
def test_embedding_centroid_similarity() -> None:
    ctx = _ctx(_frame(30, 2), text_embeddings=True, text_embed_rows=30)
    ctx.holdout = _frame(30, 2)
    emb = text_fidelity(ctx).details["columns"]["review"]["embedding"]
    assert emb["centroid_cosine"] == pytest.approx(1.0, abs=1e-3) and emb["against"] == "holdout"
    assert 0.5 < emb["reference_centroid_cosine"] < 1.0
    ctx.synthetic = pd.DataFrame({"sentiment": ["pos"] * 30,
                                  "review": [f"Invoice {i} for server rack maintenance, paid by wire." for i in range(30)]})
    assert text_fidelity(ctx).details["columns"]["review"]["embedding"]["centroid_cosine"] < 0.5


@pytest.mark.skipif(not Embedder.available(), reason="offline embedder not installed")
def test_embeddings_come_back_in_the_order_of_the_texts_whatever_the_batching() -> None:
    """Texts are embedded in length order; each row of the result is still its own text's vector (as when
    embedded alone), for batches that mix short and long texts."""
    texts = ["ok", "The dress ran small in the shoulders but the fabric is lovely and soft.", "Great!",
             "Invoice paid by wire transfer for the server rack maintenance contract of March.", "meh", ""]
    together = Embedder().encode(texts, batch_size=2)
    alone = np.vstack([Embedder().encode([t]) for t in texts])
    assert together.shape == (6, 384)
    np.testing.assert_allclose(together, alone, atol=1e-4)
    assert float(together[1] @ together[3]) < 0.9  # different texts, different vectors (not one row repeated)


def test_memorisation_counts_copied_ngrams_and_whole_span_pii_replay() -> None:
    train = _frame(40, 1)
    train.loc[0, "review"] = "Loved it, email me at ann.lee@example.com with questions about sizing please"
    train.loc[1, "review"] = "the seam on the left sleeve came apart after only two gentle washes sadly"
    holdout = _frame(10, 2)
    holdout.loc[0, "review"] = "Ask ann.lee@example.com about it"  # a real sample can repeat a train email
    synthetic = _frame(6, 3)
    synthetic.loc[0, "review"] = "Honestly the seam on the left sleeve came apart after only two gentle washes"
    synthetic.loc[1, "review"] = "Write to Ann.Lee@Example.com for details"  # replayed (case differs)
    synthetic.loc[2, "review"] = "Write to joann.lee@example.com for details"  # contains the train email, not it
    synthetic.loc[3, "review"] = "Write to bob.ray@example.org for details"  # new email
    ctx = EvaluationContext(train=train, synthetic=synthetic, schema=_schema(), holdout=holdout)
    result = text_memorisation(ctx)
    syn = result.details["columns"]["review"]["synthetic"]
    assert (syn["copied_ngram_cells"], syn["pii_replay_cells"]) == (1, 1)
    assert syn["pii_replay_by_entity"] == {"EMAIL_ADDRESS": 1} and syn["pii_spans"] >= 3
    assert result.value == 2.0 and result.reference == 1.0
    assert result.category == "privacy" and result.goal == "minimize"
    dumped = json.dumps(result.to_dict()).lower()
    assert "@" not in dumped and "sleeve" not in dumped  # counts only, never text or spans


def test_memorisation_with_template_text_and_pii_check_off() -> None:
    from synthstruct.schema.model import TextColumn
    from synthstruct.text.column import TextColumnGenerator

    train = _frame(100, 1)
    gen = TextColumnGenerator(TextColumn(kind="text", generator="template", conditioned_on=["sentiment"]),
                              column="review").fit(train["review"], train)
    rows = _frame(30, 4)[["sentiment"]]
    synthetic = rows.assign(review=gen.generate(rows, np.random.default_rng(0)))
    result = text_memorisation(EvaluationContext(train=train, synthetic=synthetic, schema=_schema(),
                                                 options={"text_pii_replay": False}))
    assert result.value == 0.0 and result.reference is None
    assert "pii_replay_cells" not in result.details["columns"]["review"]["synthetic"]
    copied = synthetic.copy()
    copied.loc[:4, "review"] = train["review"].iloc[:5].to_numpy()
    assert text_memorisation(EvaluationContext(train=train, synthetic=copied, schema=_schema(),
                                               options={"text_pii_replay": False})).value == 5.0


def test_labels_align_with_texts_whatever_the_row_labels() -> None:
    synthetic = _frame(60, 3)
    synthetic.index = [7] * 60  # duplicated row labels must not misalign texts and labels
    ctx = _ctx(synthetic)
    ctx.train.index = ctx.train.index[::-1]
    labels = text_fidelity(ctx).details["columns"]["review"]["label_consistency"]["sentiment"]
    assert labels["synthetic_accuracy"] == 1.0 and labels["synthetic_texts"] == 60


def test_text_fidelity_aligns_rows_by_position_whatever_their_labels() -> None:
    """Frames with shuffled, duplicated row labels (a split's ``take``) score as their 0..n-1 copies, and
    are not changed: the metric renumbers views of them instead of copying every column."""
    synthetic = _frame(60, 3)
    plain = text_fidelity(_ctx(synthetic))
    train, holdout = _frame(200, 1), _frame(80, 2)
    odd = [synthetic.set_axis(np.arange(len(synthetic))[::-1] * 7, axis=0),
           train.set_axis(np.repeat(np.arange(100), 2), axis=0), holdout.set_axis(np.arange(80) + 1_000, axis=0)]
    before = [f.index.copy() for f in odd]
    relabelled = text_fidelity(EvaluationContext(train=odd[1], synthetic=odd[0], schema=_schema(), holdout=odd[2],
                                                 seed=0, options={"text_embeddings": False}))
    assert json.dumps(relabelled.details, sort_keys=True, default=str) == json.dumps(plain.details, sort_keys=True,
                                                                                     default=str)
    assert (relabelled.value, relabelled.reference) == (plain.value, plain.reference)
    assert all(f.index.equals(b) for f, b in zip(odd, before))


def test_text_fidelity_without_text_columns_says_so() -> None:
    frame = pd.DataFrame({"sentiment": ["pos", "neg"] * 10})
    schema = schema_from_dict({"schema_version": 1, "name": "t", "columns": {"sentiment": {"kind": "categorical"}}})
    result = text_fidelity(EvaluationContext(train=frame, synthetic=frame, schema=schema, holdout=frame, seed=0))
    assert result.value is None and "no text column" in (result.note or "")


def test_label_consistency_reports_balanced_accuracy_so_the_commonest_label_does_not_count() -> None:
    """Synthetic texts that all read as the commonest label score high plain accuracy but a balanced accuracy
    of 1 / labels; the ratio to the real holdout's balanced accuracy is the issue's conditioning measure."""
    synthetic = _frame(60, 3)
    synthetic["sentiment"] = ["pos" if i % 6 else "neg" for i in range(60)]  # 5 of 6 rows are "pos"
    synthetic["review"] = _texts(["pos"] * 60, 3)  # every text reads "pos"
    lc = text_fidelity(_ctx(synthetic)).details["columns"]["review"]["label_consistency"]["sentiment"]
    assert lc["synthetic_accuracy"] == pytest.approx(50 / 60, abs=1e-4)  # high: the commonest label
    assert lc["synthetic_balanced_accuracy"] == 0.5  # "neg" recall 0, "pos" recall 1
    assert lc["holdout_balanced_accuracy"] == 1.0 and lc["balanced_ratio"] == 0.5
    faithful = text_fidelity(_ctx(_frame(60, 3))).details["columns"]["review"]["label_consistency"]["sentiment"]
    assert faithful["synthetic_balanced_accuracy"] == 1.0 and faithful["balanced_ratio"] == 1.0
