"""SDV's HMASynthesizer as the engine of a relational release (``engine: hma``), on a tiny 2-table set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthstruct.errors import InputError
from synthstruct.relational.frames import norm_keys
from synthstruct.relational.model import relational_from_dict
from synthstruct.relational.pipeline import release_relational

pytest.importorskip("sdv")


def _shop(tmp_path, n_customers: int = 150, seed: int = 1):
    rng = np.random.default_rng(seed)
    customers = pd.DataFrame({"customer_id": np.arange(1, n_customers + 1),
                              "age": rng.integers(18, 80, n_customers),
                              "segment": rng.choice(["retail", "business"], n_customers, p=[0.7, 0.3])})
    n = rng.poisson(3, n_customers)
    owner = np.repeat(customers.customer_id.to_numpy(), n)
    purchases = pd.DataFrame({"purchase_id": np.arange(1, len(owner) + 1), "customer_id": owner,
                              "amount": np.round(rng.lognormal(3, 0.5, len(owner)), 2),
                              "day": (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, len(owner)),
                                                                                 unit="D")).strftime("%Y-%m-%d")})
    src = tmp_path / "shop"
    src.mkdir()
    customers.to_csv(src / "customers.csv", index=False)
    purchases.to_csv(src / "purchases.csv", index=False)
    return src, customers, purchases


def _schema(engine: str | None = None, sequence: bool = True) -> dict:
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
                                                 "amount": {"kind": "numerical", "decimals": 2},
                                                 "day": {"kind": "datetime"}}}},
        },
        "relationships": [{"parent": "customers", "parent_column": "customer_id", "child": "purchases",
                           "child_column": "customer_id"}],
    }
    if sequence:
        data["tables"]["purchases"]["sequence_key"] = "day"
    if engine:
        data["engine"] = engine
    return data


@pytest.mark.slow  # two HMA releases: 16 s on the shared machine at load ~12, 45 s at load ~23
def test_hma_engine_release_keys_and_sequences(tmp_path, io_policy):
    src, customers, purchases = _shop(tmp_path)
    schema = relational_from_dict(_schema("hma"))
    result = release_relational(src, output=tmp_path / "bundle", schema=schema, policy=io_policy, seed=3)
    assert result.manifest["engine"]["name"] == "hma"
    assert result.passed, result.report["relational_checks"]
    syn = result.synthetic
    summary = result.report["fidelity"]["summary"]
    assert summary["referential_integrity"] == 1.0 and summary["orphans"] == 0
    assert summary["real_keys_reused"] == 0  # SDV's own keys are replaced by keys no real row has
    assert summary["sequence_in_order_min"] == 1.0  # HMA's dates sorted within each customer
    assert not set(norm_keys(syn["customers"].customer_id)) & set(norm_keys(customers.customer_id))
    assert set(norm_keys(syn["purchases"].customer_id)) <= set(norm_keys(syn["customers"].customer_id))
    assert len(syn["customers"]) == result.report["rows"]["customers"]["train"]
    assert (tmp_path / "bundle" / "data" / "purchases.csv").is_file()
    # same seed, same tables
    again = release_relational(src, output=tmp_path / "again", schema=schema, policy=io_policy, seed=3)
    for t in ("customers", "purchases"):
        pd.testing.assert_frame_equal(again.synthetic[t], syn[t])


def test_engine_option_overrides_the_schema_and_unknown_engine_is_refused(tmp_path, io_policy):
    src, _c, _p = _shop(tmp_path)
    result = release_relational(src, output=tmp_path / "b1", schema=relational_from_dict(_schema("hma")),
                                policy=io_policy, engine="fast_copula")
    assert result.manifest["engine"]["name"] == "fast_copula"
    with pytest.raises(InputError):
        release_relational(src, output=tmp_path / "b2", schema=relational_from_dict(_schema()), policy=io_policy,
                           engine="ctgan")
    assert not (tmp_path / "b2").exists()


def test_hma_refuses_self_references(tmp_path):
    from synthstruct.relational.hma import HMARelationalSynthesizer

    schema = relational_from_dict({
        "relational_version": 1, "name": "org",
        "tables": {"employee": {"schema": {"schema_version": 1, "name": "employee", "primary_key": "id", "columns": {
            "id": {"kind": "id", "strategy": "sequence"}, "boss": {"kind": "id", "strategy": "sequence"},
            "pay": {"kind": "numerical"}}}}},
        "relationships": [{"parent": "employee", "parent_column": "id", "child": "employee", "child_column": "boss",
                           "optional": True}]})
    frame = pd.DataFrame({"id": [1, 2, 3], "boss": [None, 1, 1], "pay": [3.0, 2.0, 1.0]})
    with pytest.raises(InputError) as err:
        HMARelationalSynthesizer().fit({"employee": frame}, schema)
    assert "self-references" in str(err.value)


def test_hma_refuses_schemas_beyond_its_limit():
    from synthstruct.relational.hma import HMARelationalSynthesizer

    tables = {f"t{i}": {"schema": {"schema_version": 1, "name": f"t{i}", "primary_key": "id", "columns": {
        "id": {"kind": "id", "strategy": "sequence"}, "up": {"kind": "id", "strategy": "sequence"},
        "x": {"kind": "numerical"}}}} for i in range(3)}
    chain = [{"parent": f"t{i}", "parent_column": "id", "child": f"t{i + 1}", "child_column": "up"} for i in range(2)]
    schema = relational_from_dict({"relational_version": 1, "name": "deep", "tables": tables, "relationships": chain})
    frame = pd.DataFrame({"id": [1, 2], "up": [1, 1], "x": [0.5, 1.5]})
    with pytest.raises(InputError) as err:
        HMARelationalSynthesizer().fit({t: frame for t in tables}, schema)
    assert "relationship depth 3" in err.value.problems[0].message
