"""Cross-table metrics on small hand-made tables: each one can fail."""

from __future__ import annotations

import pandas as pd

from synthstruct.relational.fidelity import (
    child_count_ks,
    keys_disjoint,
    referential_integrity,
    relational_fidelity,
    sequence_order,
)
from synthstruct.relational.model import relational_from_dict
from synthstruct.relational.split import split_entities

SCHEMA = relational_from_dict({
    "relational_version": 1, "name": "shop",
    "tables": {
        "users": {"schema": {"schema_version": 1, "name": "users", "primary_key": "uid", "columns": {
            "uid": {"kind": "id", "strategy": "sequence"}, "age": {"kind": "numerical"}}}},
        "buys": {"sequence_key": "day", "schema": {"schema_version": 1, "name": "buys", "columns": {
            "uid": {"kind": "id", "strategy": "sequence"}, "day": {"kind": "datetime"},
            "amount": {"kind": "numerical"}}}},
    },
    "relationships": [{"parent": "users", "parent_column": "uid", "child": "buys", "child_column": "uid"}],
})


def _tables(uids, buys_uid, days, ages=None):
    users = pd.DataFrame({"uid": uids, "age": ages or [30.0] * len(uids)})
    buys = pd.DataFrame({"uid": buys_uid, "day": pd.to_datetime(days), "amount": [1.0] * len(buys_uid)})
    return {"users": users, "buys": buys}


def test_referential_integrity_counts_orphans():
    good = _tables([1, 2], [1, 1, 2], ["2020-01-01", "2020-01-02", "2020-01-01"])
    bad = _tables([1, 2], [1, 7, 2], ["2020-01-01", "2020-01-02", "2020-01-01"])
    assert referential_integrity(good, SCHEMA)["value"] == 1.0
    result = referential_integrity(bad, SCHEMA)
    assert result["orphans"] == 1 and abs(result["value"] - 2 / 3) < 1e-9


def test_child_count_ks_sees_a_different_count_distribution():
    real = _tables([1, 2, 3, 4], [1, 2, 3, 4], ["2020-01-01"] * 4)           # one child each
    same = _tables([5, 6, 7, 8], [5, 6, 7, 8], ["2020-01-01"] * 4)
    skewed = _tables([5, 6, 7, 8], [5, 5, 5, 5], ["2020-01-01"] * 4)         # all children on one parent
    assert child_count_ks(real, same, SCHEMA)["buys.uid->users"] == 0.0
    assert child_count_ks(real, skewed, SCHEMA)["buys.uid->users"] == 0.75  # counts 4,0,0,0 vs 1,1,1,1


def test_sequence_order_detects_events_out_of_order():
    real = _tables([1], [1, 1, 1], ["2020-01-01", "2020-01-05", "2020-01-09"])
    shuffled = _tables([1, 2], [1, 1, 2], ["2020-01-05", "2020-01-01", "2020-03-01"])
    result = sequence_order(real, shuffled, SCHEMA)["buys"]
    assert result["real_in_order"] == 1.0 and result["in_order"] == 0.5


def test_keys_disjoint_counts_reused_real_keys():
    real = _tables([1, 2, 3], [1], ["2020-01-01"])
    syn = _tables([3, 10, 11], [10], ["2020-01-01"])
    assert keys_disjoint(real, syn, SCHEMA) == {"users": 1}
    summary = relational_fidelity(real, syn, SCHEMA)["summary"]
    assert summary["real_keys_reused"] == 1


def test_entity_split_keeps_an_entity_on_one_side():
    users = list(range(200))
    tables = _tables(users, [u for u in users for _ in range(3)],
                     ["2020-01-01"] * 600, ages=[float(u) for u in users])
    train, holdout, info = split_entities(tables, SCHEMA, holdout_fraction=0.25, min_holdout_rows=10, seed=0)
    assert info["entities"] == 200
    assert set(train["buys"]["uid"]) == set(train["users"]["uid"])
    assert set(holdout["buys"]["uid"]) == set(holdout["users"]["uid"])
    assert not set(train["users"]["uid"]) & set(holdout["users"]["uid"])
