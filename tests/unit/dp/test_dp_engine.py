"""The dp engine: budget honoured, domains from the schema or charged, structure learned, typed errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthstruct.errors import InputError
from synthstruct.schema.io import schema_from_dict
from synthstruct.synthesizers.dp_engine import DPEngine, _fine_edges
from synthstruct.synthesizers.table import TableSynthesizer


def _frame(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.choice(np.array(["no", "yes"], dtype=object), n, p=[0.7, 0.3])
    colour = np.where(rng.random(n) < 0.9, np.where(label == "yes", "red", "blue"), "green").astype(object)
    age = np.clip(np.where(label == "yes", rng.normal(55, 8, n), rng.normal(30, 8, n)).round(), 18, 90)
    gain = np.where(rng.random(n) < 0.9, 0.0, rng.integers(100, 20000, n)).astype(float)
    return pd.DataFrame({"age": age, "gain": gain, "colour": colour, "label": label})


KINDS = {"age": "numerical", "gain": "numerical", "colour": "categorical", "label": "categorical"}
DOMAIN = {"age": {"low": 0, "high": 100, "integer": True}, "gain": {"low": 0, "high": 99999, "integer": True},
          "colour": {"categories": ["red", "blue", "green", "violet"]}, "label": {"categories": ["no", "yes"]}}


def test_declared_domain_spends_exactly_the_budget_and_learns_the_structure() -> None:
    frame = _frame()
    engine = DPEngine(epsilon=4.0, delta=1e-6, domain=DOMAIN).fit(frame, kinds=KINDS, target="label")
    privacy = engine.privacy_
    assert privacy["epsilon_spent"] <= 4.0 and privacy["epsilon_spent"] > 3.99
    assert privacy["estimated_domain"] == [] and set(privacy["split"]) == {"one_way", "select", "marginals"}
    out = engine.sample(5000, seed=1)
    # the label drives colour and age; a DP model at eps=4 on 3000 rows keeps both links
    yes = out["label"] == "yes"
    assert (out.loc[yes, "colour"] == "red").mean() > 0.7
    assert out.loc[yes, "age"].mean() - out.loc[~yes, "age"].mean() > 15
    # the point mass at zero keeps its own cell
    assert 0.8 < (out["gain"] == 0).mean() < 0.97
    age = out["age"].dropna()  # a missing-value cell is emitted only if its noisy count stands out (3 sigma)
    assert out["age"].isna().mean() < 0.01
    assert age.between(0, 100).all() and (age == age.round()).all()


def test_undeclared_domains_are_estimated_privately_and_charged() -> None:
    frame = _frame()
    engine = DPEngine(epsilon=4.0, delta=1e-6).fit(frame, kinds=KINDS, target="label")
    privacy = engine.privacy_
    assert privacy["estimated_domain"] == ["age", "colour", "gain", "label"]
    assert {"bounds", "domain"} <= set(privacy["split"])
    assert privacy["epsilon_spent"] <= 4.0 and privacy["delta_spent"] <= 1e-6
    out = engine.sample(1000, seed=0)
    assert set(out["colour"].dropna()) <= {"red", "blue", "green"}  # only values that passed the threshold


def test_undeclared_domain_without_budget_is_a_typed_error() -> None:
    with pytest.raises(InputError) as info:
        DPEngine(epsilon=1.0, estimate_share=0.0, domain={"label": {"categories": ["no", "yes"]}}).fit(
            _frame(200), kinds=KINDS)
    text = str(info.value) + " ".join(p.fix for p in info.value.problems)
    assert "'age'" in text and "'colour'" in text and "declare" in text and "'label'" not in text


def test_delta_at_least_one_over_n_is_refused() -> None:
    with pytest.raises(InputError, match="budget"):
        DPEngine(epsilon=1.0, delta=0.01, domain=DOMAIN).fit(_frame(200), kinds=KINDS)


def test_fine_grid_keeps_atoms_and_covers_the_range() -> None:
    edges = _fine_edges(0, 99999, True, 64)
    assert edges[0] == 0 and edges[1] == 1 and edges[-1] == 100000  # [0, 1) holds exactly the zeros
    assert np.all(np.diff(edges) > 0) and len(edges) <= 66
    assert list(_fine_edges(1, 16, True, 64)) == list(np.arange(1, 18.0))


SCHEMA = {
    "schema_version": 1, "name": "t", "target": "label",
    "columns": {
        "pid": {"kind": "id", "pattern": "P-#####"},
        "age": {"kind": "numerical", "dtype": "int", "min": 0, "max": 100},
        "gain": {"kind": "numerical", "dtype": "int", "min": 0, "max": 99999},
        "colour": {"kind": "categorical", "categories": ["red", "blue", "green"]},
        "label": {"kind": "boolean"},
    },
}


def _schema_frame() -> pd.DataFrame:
    frame = _frame(800)
    frame["label"] = frame["label"] == "yes"
    frame.insert(0, "pid", [f"P-{i:05d}" for i in range(len(frame))])
    return frame


def test_table_synthesizer_passes_the_schema_domain_and_blocks_value_protection() -> None:
    schema = schema_from_dict(SCHEMA)
    frame = _schema_frame()
    with pytest.raises(InputError, match="differential privacy") as info:
        TableSynthesizer(engine="dp", engine_params={"epsilon": 2.0}).fit(frame, schema=schema)
    assert any(p.location == "protect_k" for p in info.value.problems)
    synth = TableSynthesizer(engine="dp", engine_params={"epsilon": 2.0}, protect_k=0).fit(frame, schema=schema)
    assert synth.privacy_["estimated_domain"] == [] and synth.privacy_["epsilon_spent"] <= 2.0
    out = synth.sample(300, seed=0)
    assert list(out.columns) == list(schema.columns) and out["pid"].is_unique
    # id generators saw no real value in a DP fit
    assert len(synth.generators_["pid"].guard_) == 0


def test_fixed_combinations_and_domain_param_are_refused() -> None:
    spec = {**SCHEMA, "constraints": [{"type": "fixed_combinations", "columns": ["colour", "label"]}]}
    schema = schema_from_dict(spec)
    with pytest.raises(InputError) as info:
        TableSynthesizer(engine="dp", engine_params={"epsilon": 1.0, "domain": {}}, protect_k=0).fit(
            _schema_frame(), schema=schema)
    locations = {p.location for p in info.value.problems}
    assert {"constraints[0]", "engine.domain"} <= locations


def test_two_fits_differ_but_a_fitted_model_samples_deterministically(tmp_path) -> None:
    frame = _frame(500)
    a = DPEngine(epsilon=1.0, domain=DOMAIN).fit(frame, kinds=KINDS, seed=0)
    b = DPEngine(epsilon=1.0, domain=DOMAIN).fit(frame, kinds=KINDS, seed=0)
    assert not np.array_equal(a.fine_probs_["age"], b.fine_probs_["age"])  # OpenDP noise, not the seed
    pd.testing.assert_frame_equal(a.sample(200, seed=3), a.sample(200, seed=3))
    a.save(tmp_path)
    loaded = DPEngine.load(tmp_path)
    pd.testing.assert_frame_equal(a.sample(200, seed=3), loaded.sample(200, seed=3))
    assert loaded.privacy_["epsilon_spent"] == a.privacy_["epsilon_spent"]


def test_public_domain_reads_every_structured_kind_from_the_schema() -> None:
    from synthstruct.dp.domain import public_domain

    schema = schema_from_dict({
        "schema_version": 1, "name": "d",
        "columns": {
            "when": {"kind": "datetime", "format": "%Y-%m-%d", "min": "2020-01-01", "max": "2020-12-31"},
            "grade": {"kind": "ordinal", "order": ["low", "mid", "high"]},
            "flag": {"kind": "boolean"},
            "n": {"kind": "numerical", "dtype": "float", "min": -1.5},
            "c": {"kind": "categorical"},
        }})
    domain = public_domain(schema)
    assert domain["when"]["low"] == pd.Timestamp("2020-01-01").value / 1e9 and domain["when"]["integer"]
    assert domain["when"]["high"] - domain["when"]["low"] == 365 * 86400
    assert domain["grade"] == {"categories": ["low", "mid", "high"]} and domain["flag"] == {"categories": [False, True]}
    assert domain["n"] == {"low": -1.5, "high": None, "integer": False} and domain["c"] == {"categories": None}
    # a DP fit on it: dates stay within the declared range, the undeclared bound and categories are charged
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({
        "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        "grade": rng.choice(["low", "mid", "high"], n), "flag": rng.random(n) < 0.3,
        "n": rng.normal(10, 2, n), "c": rng.choice(["u", "v"], n)})
    synth = TableSynthesizer(engine="dp", engine_params={"epsilon": 4.0, "delta": 1e-4}, protect_k=0)
    synth.fit(frame, schema=schema)
    assert synth.privacy_["estimated_domain"] == ["c", "n"]
    out = synth.sample(300, seed=0)
    when = out["when"].dropna()
    assert when.between(pd.Timestamp("2020-01-01"), pd.Timestamp("2020-12-31")).all()
    assert set(out["grade"].dropna()) <= {"low", "mid", "high"}
