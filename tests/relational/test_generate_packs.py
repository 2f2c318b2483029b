"""Schema-only relational packs: a whole database from priors, children counts and sequences (generate-db)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from synthstruct.cli import app
from synthstruct.errors import SchemaError
from synthstruct.relational.generate import generate_relational
from synthstruct.relational.model import load_relational, relational_from_dict

PACKS = Path(__file__).resolve().parents[2] / "schemas"
MEDICAL = PACKS / "medical" / "patient_history.rel.yaml"
FINANCIAL = PACKS / "financial" / "bank_accounts.rel.yaml"


@pytest.fixture(scope="module")
def medical():
    return generate_relational(load_relational(MEDICAL), 300, seed=0)


@pytest.fixture(scope="module")
def financial():
    return generate_relational(load_relational(FINANCIAL), 150, seed=0)


def _in_order(frame: pd.DataFrame, parent: str, key: str) -> bool:
    values = pd.to_datetime(frame[key]) if frame[key].dtype == object else frame[key]
    return bool(values.groupby(frame[parent], sort=False).apply(lambda s: s.is_monotonic_increasing).all())


def _check_keys(tables: dict[str, pd.DataFrame], schema) -> None:
    for name, spec in schema.tables.items():
        pk = tables[name][spec.schema_.primary_key]
        assert pk.notna().all() and pk.is_unique, name
    for rel in schema.relationships:
        child = tables[rel.child][rel.child_column]
        assert child.notna().all() and child.isin(tables[rel.parent][rel.parent_column]).all(), rel


def test_medical_pack_keys_sequences_context_and_rules(medical):
    schema = load_relational(MEDICAL)
    t = medical.tables
    assert medical.report["passed"], medical.report
    assert len(t["patient"]) == 300 and len(t["encounter"]) > 300
    _check_keys(t, schema)
    # sequences: each patient's encounters and each encounter's measurements in time order
    assert _in_order(t["encounter"], "patient_id", "encounter_date")
    assert _in_order(t["vital_signs"], "encounter_id", "measured_at")
    assert t["diagnosis"].groupby("encounter_id")["rank"].apply(lambda s: list(s) == list(range(1, len(s) + 1))).all()
    assert (t["diagnosis"]["role"] == np.where(t["diagnosis"]["rank"] == 1, "principal", "secondary")).all()
    # the gap column is the realised time since the previous encounter (registration for the first)
    enc = t["encounter"].merge(t["patient"][["patient_id", "registered_on", "condition"]], on="patient_id")
    dates = pd.to_datetime(enc["encounter_date"])
    previous = dates.groupby(enc["patient_id"]).shift(1).fillna(pd.to_datetime(enc["registered_on"]))
    assert ((dates - previous).dt.days == enc["days_since_previous"]).all()
    assert (dates <= pd.Timestamp("2024-12-31")).all()  # events past the key's max are cut
    # context: a copy of the parent's value, and the child's priors read it
    assert (enc["patient_condition"] == enc["condition"]).all()
    counts = t["encounter"].groupby("patient_id").size().reindex(t["patient"].patient_id).fillna(0)
    by_condition = counts.groupby(t["patient"].set_index("patient_id")["condition"]).mean()
    assert by_condition["hypertension"] > by_condition["none"] + 1
    vit = t["vital_signs"]
    assert vit.loc[vit.patient_condition == "hypertension", "systolic_bp"].mean() > \
        vit.loc[vit.patient_condition == "none", "systolic_bp"].mean() + 15
    assert ((vit.systolic_bp - vit.diastolic_bp).between(20, 100)).all()
    stays = t["encounter"]
    assert (pd.to_datetime(stays.discharge_date) - pd.to_datetime(stays.encounter_date)).dt.days.eq(
        stays.length_of_stay).all()
    per_encounter = vit.groupby("encounter_id").size()
    types = stays.set_index("encounter_id")["encounter_type"]
    assert per_encounter[types[types == "inpatient"].index].mean() > per_encounter[types[types == "outpatient"].index].mean()
    qc = medical.report
    assert qc["referential_integrity"]["value"] == 1.0
    assert all(s["in_order"] == 1.0 for s in qc["sequences"].values())
    assert qc["context_agreement"]["vital_signs"] == {"encounter_type": 1.0, "patient_condition": 1.0}


def test_financial_pack_transactions_and_anomaly_flags(financial):
    schema = load_relational(FINANCIAL)
    t = financial.tables
    assert financial.report["passed"], financial.report
    _check_keys(t, schema)
    tx = t["transaction"]
    assert _in_order(tx, "account_id", "timestamp")
    stamp = pd.to_datetime(tx["timestamp"])
    opened = pd.to_datetime(tx["account_id"].map(t["account"].set_index("account_id")["opened_on"]))
    assert (stamp >= opened).all()  # the history starts at the account's opening
    previous = stamp.groupby(tx["account_id"]).shift(1).fillna(opened)
    hours = (stamp - previous).dt.total_seconds() / 3600
    assert np.allclose(hours, tx["hours_since_previous"], atol=0.006)
    # flags derived from the raw fields, never disagreeing with them
    assert (tx.unusual_hour_flag == stamp.dt.hour.between(1, 4)).all()
    assert (tx.large_amount_flag == (tx.amount >= 5000)).all()
    assert (tx.rapid_succession_flag == ((tx.hours_since_previous < 0.25) & (tx.amount >= 1000))).all()
    assert (tx.risk_flag_count == tx[["unusual_hour_flag", "large_amount_flag", "rapid_succession_flag"]].sum(axis=1)).all()
    assert tx.loc[tx.risk_flag_count >= 2, "is_anomaly"].mean() > tx.loc[tx.risk_flag_count == 0, "is_anomaly"].mean()
    # one owner per account, then disponents; a loan at most once per account, granted after opening
    clients = t["client"]
    assert (clients[clients.holder_number == 1].groupby("account_id").size() == 1).all()
    assert set(clients.account_id) == set(t["account"].account_id)
    assert t["loan"].account_id.is_unique
    loan = t["loan"].merge(t["account"][["account_id", "opened_on"]], on="account_id")
    assert (pd.to_datetime(loan.granted_on) > pd.to_datetime(loan.opened_on)).all()
    assert (loan.duration_months == loan.duration_years * 12).all()
    per_account = tx.groupby("account_id").size().reindex(t["account"].account_id).fillna(0)
    kinds = t["account"].set_index("account_id")["account_type"]
    assert per_account[kinds == "business"].mean() > 2 * per_account[kinds == "personal"].mean()
    cards = t["card"]["card_number"].astype(str)
    assert cards.str.fullmatch(r"4\d{5}\*{6}\d{4}").all()


def test_qc_report_holds_counts_not_values(financial):
    text = json.dumps(financial.report)
    tx = financial.tables["transaction"]
    for value in list(tx["transaction_id"].head(5)) + list(financial.tables["client"]["client_name"].head(5)):
        assert str(value) not in text


def test_cli_generate_db_is_deterministic_and_generate_dispatches(tmp_path):
    runner = CliRunner()
    first = runner.invoke(app, ["generate-db", str(MEDICAL), "-n", "40", "-o", str(tmp_path / "a"), "--seed", "3"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["generate", str(MEDICAL), "-n", "40", "-o", str(tmp_path / "b"), "--seed", "3"])
    assert again.exit_code == 0, again.output
    other = runner.invoke(app, ["generate-db", str(MEDICAL), "-n", "40", "-o", str(tmp_path / "c"), "--seed", "4"])
    assert other.exit_code == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["diagnosis.csv", "encounter.csv", "patient.csv", "qc.json", "vital_signs.csv"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "encounter.csv").read_bytes() != (tmp_path / "c" / "encounter.csv").read_bytes()
    parquet = runner.invoke(app, ["generate-db", str(FINANCIAL), "-n", "10", "-o", str(tmp_path / "p"),
                                  "--format", "parquet"])
    assert parquet.exit_code == 0 and (tmp_path / "p" / "transaction.parquet").is_file()


def _pack(path: Path) -> dict:
    return copy.deepcopy(yaml.safe_load(path.read_text()))


def test_pack_problems_are_listed_before_anything_is_drawn(tmp_path):
    data = _pack(MEDICAL)
    del data["relationships"][0]["children"]
    data["tables"]["vital_signs"]["generate"]["gap"]["min"] = -1
    data["tables"]["encounter"]["generate"]["context"]["patient_condition"] = "nope"
    data["tables"]["diagnosis"]["generate"]["start"] = "encounter_date"  # diagnosis ranks are numbers: fine
    with pytest.raises(SchemaError) as err:
        generate_relational(relational_from_dict(data), 10)
    where = {p.location for p in err.value.problems}
    assert {"relationships[0].children", "tables.vital_signs.generate.gap.min",
            "tables.encounter.generate.context.patient_condition"} <= where
    bad = tmp_path / "bad.rel.yaml"
    bad.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["generate-db", str(bad), "-n", "5", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "relationships[0].children" in result.output
    assert not (tmp_path / "out").exists()


def test_sequence_without_gap_and_reference_tables_are_refused():
    data = _pack(FINANCIAL)
    del data["tables"]["transaction"]["generate"]["gap"]
    with pytest.raises(SchemaError) as err:
        generate_relational(relational_from_dict(data), 10)
    assert [p.location for p in err.value.problems] == ["tables.transaction.generate.gap"]
    data = _pack(FINANCIAL)
    data["tables"]["account"]["reference"] = True
    with pytest.raises(SchemaError) as err:
        generate_relational(relational_from_dict(data), 10)
    assert "tables.account.reference" in {p.location for p in err.value.problems}
