"""Conditional generation in FastCopulaEngine and TableSynthesizer (no reject-sampling)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthstruct.errors import InputError
from synthstruct.schema.infer import infer_schema
from synthstruct.synthesizers.fast_copula import FastCopulaEngine
from synthstruct.synthesizers.table import TableSynthesizer


def _frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = np.where(rng.random(n) < 0.1, "yes", "no")
    x = np.where(label == "yes", rng.normal(5, 1, n), rng.normal(0, 1, n))
    colour = np.where(label == "yes", rng.choice(["red", "blue"], n, p=[0.9, 0.1]),
                      rng.choice(["red", "blue"], n, p=[0.2, 0.8]))
    return pd.DataFrame({"x": x, "colour": colour.astype(object), "label": label.astype(object)})


KINDS = {"x": "numerical", "colour": "categorical", "label": "categorical"}


def test_engine_samples_only_requested_classes_from_their_copula() -> None:
    frame = _frame()
    engine = FastCopulaEngine(min_stratum_rows=10).fit(frame, kinds=KINDS, target="label", seed=0)
    out = engine.sample_classes({"yes": 2000, "no": 10}, seed=1)
    assert out["label"].tolist() == ["yes"] * 2000 + ["no"] * 10
    assert list(out.columns) == list(frame.columns)
    yes = out.iloc[:2000]
    real_yes = frame.loc[frame["label"] == "yes", "x"]
    assert yes["x"].mean() == pytest.approx(real_yes.mean(), abs=0.25)  # the class's own copula, not the pool
    assert frame["x"].mean() < 1.0
    assert (yes["colour"] == "red").mean() > 0.75
    pd.testing.assert_frame_equal(out, engine.sample_classes({"yes": 2000, "no": 10}, seed=1))


def test_engine_refuses_unknown_or_pooled_classes_and_keeps_plain_sampling() -> None:
    frame = _frame()
    pooled = FastCopulaEngine(min_stratum_rows=100).fit(frame, kinds=KINDS, target="label", seed=0)
    with pytest.raises(InputError, match="pooled"):
        pooled.sample_classes({"yes": 5}, seed=0)
    with pytest.raises(InputError, match="not a class"):
        pooled.sample_classes({"maybe": 5}, seed=0)
    unstratified = FastCopulaEngine().fit(frame, kinds=KINDS, target=None, seed=0)
    with pytest.raises(InputError, match="without one copula per class"):
        unstratified.sample_classes({"yes": 5}, seed=0)
    assert len(pooled.sample(50, seed=0)) == 50


def test_table_synthesizer_sample_classes() -> None:
    frame = _frame()
    schema, _ = infer_schema(frame, name="t")
    schema = schema.model_copy(update={"target": "label"})
    synth = TableSynthesizer(engine_params={"min_stratum_rows": 10}).fit(frame, schema=schema, seed=0)
    out = synth.sample_classes({"yes": 300}, seed=2)
    assert len(out) == 300 and set(out["label"]) == {"yes"}
    pd.testing.assert_frame_equal(out, synth.sample_classes({"yes": 300}, seed=2))
    assert len(synth.sample(40, seed=0)) == 40
