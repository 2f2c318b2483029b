from __future__ import annotations

import numpy as np
import pandas as pd

from synthstruct.schema import coerce_to_schema, schema_from_dict
from synthstruct.synthesizers.codec import RARE, Codec


def _schema():
    return schema_from_dict({"schema_version": 1, "name": "t", "columns": {
        "x": {"kind": "numerical"}, "c": {"kind": "categorical"}, "d": {"kind": "datetime"},
        "b": {"kind": "boolean"}}})


def _frame(n=200):
    rng = np.random.default_rng(0)
    cats = ["common"] * (n - 3) + ["rare1", "rare2", "rare2"]
    return pd.DataFrame({
        "x": np.arange(n, dtype=float),
        "c": cats,
        "d": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "b": rng.choice(["true", "false"], n),
    })


def test_rare_categories_never_reach_the_engine_or_the_output():
    schema = _schema()
    frame = coerce_to_schema(_frame(), schema)
    codec = Codec(k=5)
    enc = codec.fit_transform(frame, schema)
    assert set(enc["c"].unique()) == {"common", RARE}
    assert codec.rare_counts == {"c": 2}
    dec = codec.inverse_transform(enc, schema, np.random.default_rng(0))
    assert set(dec["c"].unique()) == {"common"}


def test_extremes_are_clipped_to_the_kth_value():
    schema = _schema()
    frame = coerce_to_schema(_frame(), schema)
    codec = Codec(k=5)
    enc = codec.fit_transform(frame, schema)
    assert enc["x"].min() == 4.0 and enc["x"].max() == 195.0
    wide = enc.copy()
    wide["x"] = np.linspace(-100, 500, len(wide))
    dec = codec.inverse_transform(wide, schema, np.random.default_rng(0))
    assert dec["x"].min() == 4.0 and dec["x"].max() == 195.0
    assert dec["d"].min() > frame["d"].min() and dec["d"].max() < frame["d"].max()


def test_protection_off_and_state_round_trip():
    schema = _schema()
    frame = coerce_to_schema(_frame(), schema)
    codec = Codec(k=0)
    enc = codec.fit_transform(frame, schema)
    assert "rare1" in set(enc["c"]) and enc["x"].max() == 199.0
    codec5 = Codec(k=5)
    codec5.fit_transform(frame, schema)
    again = Codec.from_state(codec5.to_state())
    assert again == codec5
