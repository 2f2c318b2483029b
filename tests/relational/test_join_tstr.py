"""TSTR on a task that needs the join: a parent attribute predicted from its children's aggregates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthstruct.errors import SchemaError
from synthstruct.relational.model import JoinTask, relational_from_dict
from synthstruct.relational.pipeline import release_relational
from synthstruct.relational.tstr import join_frame, join_tasks, join_tstr


def _schema(tasks=None) -> dict:
    data = {
        "relational_version": 1, "name": "shop",
        "tables": {
            "customers": {"schema": {"schema_version": 1, "name": "customers", "primary_key": "customer_id",
                                     "columns": {"customer_id": {"kind": "id", "strategy": "sequence"},
                                                 "age": {"kind": "numerical", "dtype": "int"},
                                                 "segment": {"kind": "categorical"}}}},
            "purchases": {"schema": {"schema_version": 1, "name": "purchases", "primary_key": "purchase_id",
                                     "columns": {"purchase_id": {"kind": "id", "strategy": "sequence"},
                                                 "customer_id": {"kind": "id", "strategy": "sequence"},
                                                 "amount": {"kind": "numerical", "decimals": 2}}}},
        },
        "relationships": [{"parent": "customers", "parent_column": "customer_id", "child": "purchases",
                           "child_column": "customer_id"}],
    }
    if tasks is not None:
        data["tasks"] = tasks
    return data


def _tables(n: int, seed: int) -> dict[str, pd.DataFrame]:
    """Business customers buy more often and spend more; age says nothing about the segment."""
    rng = np.random.default_rng(seed)
    business = rng.random(n) < 0.35
    customers = pd.DataFrame({"customer_id": np.arange(1, n + 1), "age": rng.integers(18, 80, n),
                              "segment": np.where(business, "business", "retail")})
    counts = rng.poisson(np.where(business, 6, 2)) + 1
    owner = np.repeat(customers.customer_id.to_numpy(), counts)
    scale = np.repeat(np.where(business, 400.0, 40.0), counts)
    purchases = pd.DataFrame({"purchase_id": np.arange(1, len(owner) + 1), "customer_id": owner,
                              "amount": np.round(scale * rng.lognormal(0, 0.4, len(owner)), 2)})
    return {"customers": customers, "purchases": purchases}


def test_tasks_default_to_declared_targets_and_are_validated():
    data = _schema()
    data["tables"]["customers"]["schema"]["target"] = "segment"
    assert join_tasks(relational_from_dict(data)) == [JoinTask(table="customers", target="segment")]
    with pytest.raises(SchemaError) as err:
        relational_from_dict(_schema([{"table": "customers", "target": "nope"}]))
    assert any(p.location == "tasks[0].target" for p in err.value.problems)


def test_join_frame_holds_child_aggregates():
    schema = relational_from_dict(_schema([{"table": "customers", "target": "segment"}]))
    tables = _tables(50, 0)
    frame, sch = join_frame(tables, schema, schema.tasks[0])
    assert list(frame.columns) == ["age", "purchases__n", "purchases__mean_amount", "segment"]
    expected_n = tables["purchases"].groupby("customer_id").size().reindex(tables["customers"].customer_id)
    assert frame["purchases__n"].tolist() == expected_n.astype(float).tolist()
    assert sch.target == "segment" and sch.columns["purchases__n"].kind == "numerical"
    own, _ = join_frame(tables, schema, schema.tasks[0], joined=False)
    assert list(own.columns) == ["age", "segment"]


def test_join_tstr_needs_the_join():
    schema = relational_from_dict(_schema([{"table": "customers", "target": "segment"}]))
    train, holdout = _tables(600, 1), _tables(200, 2)
    result = join_tstr(train, holdout, train, schema)["customers.segment"]  # "synthetic" = the training rows
    assert result["ratio"]["auc"] == pytest.approx(1.0)
    assert result["trtr"]["auc"] > 0.95  # the children tell the segment ...
    assert result["own_columns_only_trtr"]["auc"] < 0.65  # ... the customer's own column does not
    shuffled = {t: f.copy() for t, f in train.items()}
    shuffled["customers"]["segment"] = np.random.default_rng(0).permutation(shuffled["customers"]["segment"])
    broken = join_tstr(train, holdout, shuffled, schema)["customers.segment"]  # synthetic without the link
    assert broken["tstr"]["auc"] < 0.7 and broken["value"] < result["value"]


def test_release_reports_join_tstr(tmp_path, io_policy):
    src = tmp_path / "shop"
    src.mkdir()
    for name, frame in _tables(500, 3).items():
        frame.to_csv(src / f"{name}.csv", index=False)
    schema = relational_from_dict(_schema([{"table": "customers", "target": "segment"}]))
    result = release_relational(src, output=tmp_path / "bundle", schema=schema, policy=io_policy)
    tstr = result.report["fidelity"]["tstr"]["customers.segment"]
    assert tstr["task"] == "classification" and tstr["n_test"] == result.report["rows"]["customers"]["holdout"]
    # the release keeps part of the parent-children link: a model trained on the synthetic tables reads the
    # segment better than chance (AUC 0.72 measured; TRTR 1.0): children are conditioned on parent context
    # groups (k-means of the parents, >= 200 children each), not on each parent row
    assert tstr["trtr"]["auc"] > 0.95 and tstr["tstr"]["auc"] > 0.6, tstr
