"""Singling out, linkability and attribute inference on constructed cases with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthstruct.evaluation.metric import EvaluationContext
from synthstruct.privacy import attacks
from synthstruct.evaluation.encoding import MixedEncoder
from synthstruct.schema.model import Schema

SCHEMA = Schema.model_validate({
    "schema_version": 1,
    "name": "patients",
    "quasi_identifiers": ["age", "city", "zone", "income"],
    "sensitive": ["diagnosis", "score"],
    "columns": {
        "age": {"kind": "numerical"},
        "city": {"kind": "categorical"},
        "zone": {"kind": "categorical"},
        "income": {"kind": "numerical"},
        "diagnosis": {"kind": "categorical"},
        "score": {"kind": "numerical"},
    },
})
ATTACKS = (attacks.singling_out, attacks.linkability, attacks.attribute_inference)


def patients(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Independent people; the sensitive columns depend only weakly on the quasi-identifiers."""
    age = rng.integers(18, 90, size=n).astype(float)
    return pd.DataFrame({
        "age": age,
        "city": pd.Series(rng.choice(["north", "south", "east", "west"], size=n), dtype=object),
        "zone": pd.Series(rng.choice([f"z{i}" for i in range(40)], size=n), dtype=object),
        "income": rng.lognormal(10, 1, size=n),
        "diagnosis": pd.Series(rng.choice(["a", "b", "c"], size=n), dtype=object),
        "score": rng.normal(50 + 0.1 * age, 10, size=n),
    })


@pytest.fixture(scope="module")
def real() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    return patients(600, rng), patients(600, rng), patients(600, rng)


def test_attack_risk_formula() -> None:
    stats = attacks.attack_risk(60, 100, 20, 100)
    assert stats["attack_rate"] == 0.6 and stats["control_rate"] == 0.2
    assert stats["risk"] == pytest.approx(0.5)  # (0.6 - 0.2) / (1 - 0.2)
    low, high = stats["risk_ci"]
    assert 0.0 < low < 0.5 < high < 1.0
    assert attacks.attack_risk(10, 100, 30, 100)["risk"] == 0.0  # worse than the control: no risk
    assert attacks.attack_risk(5, 10, 0, 0)["risk"] is None


def test_copy_of_train_is_high_risk(real) -> None:
    """The training data itself as "synthetic": every attack reports risk >= 0.5, with its columns."""
    train, holdout, _ = real
    ctx = EvaluationContext(train=train, synthetic=train.copy(), schema=SCHEMA, holdout=holdout, seed=1)
    single, link, infer = (fn(ctx) for fn in ATTACKS)
    assert single.value > 0.8 and single.ci[0] > 0.5
    assert single.details["attack_rate"] == 1.0  # every unique train combination is in the copy
    assert link.value > 0.5 and link.ci[0] > 0.3
    assert set(link.details["part_a"]) | set(link.details["part_b"]) == set(link.details["worst_columns"])
    assert infer.value > 0.9  # the nearest synthetic row is the person's own copy
    assert set(infer.details["columns"]) == {"diagnosis", "score"}
    assert infer.details["columns"]["diagnosis"]["attack_rate"] == 1.0
    for result in (single, link, infer):
        assert result.reference is None and result.goal == "minimize" and result.category == "privacy"
        sets = {row["set"].split(": ")[-1] for row in result.details["column_sets"]}
        assert {"quasi_identifiers", "random_1"} <= sets and len(result.details["column_sets"]) >= 3  # duplicates dropped
        assert sets & {"all_columns", "all_but_one"}
        assert result.details["worst_set"] in {row["set"] for row in result.details["column_sets"]}


def test_worst_case_is_not_hidden_by_the_declared_quasi_identifiers(real) -> None:
    """Declared QIs that cannot single anyone out (a constant column) do not hide copies: the other
    column sets still see them."""
    train, holdout, _ = real
    schema = SCHEMA.model_copy(update={"quasi_identifiers": ["city"]})
    ctx = EvaluationContext(train=train, synthetic=train.copy(), schema=schema, holdout=holdout, seed=1)
    single = attacks.singling_out(ctx)
    qi_row = next(r for r in single.details["column_sets"] if r["set"] == "quasi_identifiers")
    assert qi_row["attack_targets"] == 0  # four cities, 600 people: nobody is unique on city alone
    assert single.value > 0.8 and single.details["worst_set"] != "quasi_identifiers"
    link = attacks.linkability(ctx)  # one declared QI: no QI set for linkability, the others still run
    assert "quasi_identifiers" not in {r["set"] for r in link.details["column_sets"]} and link.value > 0.5


def test_independent_sample_is_no_risk(real) -> None:
    train, holdout, fresh = real
    ctx = EvaluationContext(train=train, synthetic=fresh, schema=SCHEMA, holdout=holdout, seed=1)
    for result in (fn(ctx) for fn in ATTACKS):
        assert result.value is not None and result.value < 0.2, result.name
        assert result.ci[0] == 0.0, result.name  # never confidently above zero
        assert result.details["control_rate"] is not None
        assert "Bonferroni" in result.details["interval"]


def test_partial_copies_raise_the_risk_in_proportion(real) -> None:
    train, holdout, fresh = real
    leaky = fresh.copy()
    leaky.iloc[:300] = train.iloc[:300].to_numpy()  # half the synthetic rows copy training people
    ctx = EvaluationContext(train=train, synthetic=leaky, schema=SCHEMA, holdout=holdout, seed=1)
    infer = attacks.attribute_inference(ctx)
    assert 0.3 < infer.details["columns"]["diagnosis"]["risk"] < 0.7


def test_without_holdout_or_quasi_identifiers(real) -> None:
    train, _, fresh = real
    ctx = EvaluationContext(train=train, synthetic=fresh, schema=SCHEMA)
    for result in (fn(ctx) for fn in ATTACKS):
        assert result.value is None and "holdout" in result.note
        assert result.details["attack_rate"] is not None
    # without declared quasi-identifiers or sensitive columns the attacks still run on the other sets
    bare = SCHEMA.model_copy(update={"quasi_identifiers": [], "sensitive": []})
    ctx = EvaluationContext(train=train, synthetic=train.copy(), schema=bare, holdout=fresh, seed=2)
    for result in (fn(ctx) for fn in ATTACKS):
        assert result.value is not None and result.value >= 0.5, result.name
        assert "quasi_identifiers" not in {r["set"].split(": ")[-1] for r in result.details["column_sets"]}
    assert attacks.attribute_inference(ctx).details["secrets_from"].startswith("seeded random")


def test_attacks_are_deterministic(real) -> None:
    train, holdout, fresh = real
    runs = [[fn(EvaluationContext(train=train, synthetic=fresh, schema=SCHEMA, holdout=holdout, seed=7)).to_dict()
             for fn in ATTACKS] for _ in range(2)]
    assert runs[0] == runs[1]


def test_top_k_breaks_ties_at_random() -> None:
    schema = Schema.model_validate({"schema_version": 1, "name": "t", "columns": {"c": {"kind": "categorical"}}})
    ref = pd.DataFrame({"c": ["x"] * 50 + ["y"] * 50})
    query = pd.DataFrame({"c": ["x"] * 200})
    encoder = MixedEncoder().fit(schema, ref, query)
    near = attacks.top_k_neighbours(encoder.transform(query), encoder.transform(ref), 3, np.random.default_rng(0))
    assert near.shape == (200, 3)
    assert (near < 50).all()  # only exact matches
    assert len(np.unique(near[:, 0])) > 30  # not always the first tied row


def test_grouped_search_draws_every_tied_row_alike() -> None:
    """Identical synthetic rows are searched once per group; a tie still picks each row equally often."""
    schema = Schema.model_validate({"schema_version": 1, "name": "t", "columns": {"c": {"kind": "categorical"},
                                                                                  "d": {"kind": "categorical"}}})
    # 30 rows of one value and 10 of another, both at distance 1 from the query; 60 far rows
    synthetic = pd.DataFrame({"c": ["x"] * 30 + ["y"] * 10 + ["z"] * 60, "d": ["p"] * 30 + ["q"] * 10 + ["s"] * 60})
    train = pd.DataFrame({"c": ["x"] * 4000, "d": ["q"] * 4000})  # one mismatch to both x/p and y/q
    ctx = EvaluationContext(train=train, synthetic=synthetic, schema=schema, holdout=train.copy(), seed=0,
                            options={"attack_rows": 4000})
    data = attacks._data(ctx)
    assert attacks._groups(data, ["c", "d"]) is not None  # 3 groups for 100 rows
    picks = attacks._nearest(data, "train", ["c", "d"], np.random.default_rng(0))
    assert (picks < 40).all()  # only the tied rows
    counts = np.bincount(picks, minlength=40)[:40]
    assert counts[:30].sum() / counts.sum() == pytest.approx(0.75, abs=0.03)  # in proportion to group size
    assert counts.min() > 50  # every tied row is drawn, not one per group
