"""Relational release of a Berka subset: SQLite in, SQLite out, with keys and constraints recreated."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthstruct.cli import app
from synthstruct.relational.fidelity import relational_fidelity
from synthstruct.relational.frames import norm_keys
from synthstruct.relational.pipeline import coerce_tables, release_relational
from synthstruct.relational.sources import read_source


def _release(tmp_path, source, **kw):
    return release_relational(source, output=tmp_path / "bundle", detect_pii=False, **kw)




def test_sqlite_to_sqlite_release(tmp_path, berka_sqlite, io_policy):
    out_db = tmp_path / "synthetic.db"
    result = _release(tmp_path, berka_sqlite, to=f"sqlite:///{out_db}", policy=io_policy)
    assert result.passed, result.report["relational_checks"]
    real = read_source(berka_sqlite).tables
    # the synthetic database: every table, primary keys and foreign keys recreated, constraints hold
    with sqlite3.connect(out_db) as conn:
        conn.execute("pragma foreign_keys = on")
        assert conn.execute("pragma foreign_key_check").fetchall() == []
        fks = {(t, row[3], row[2]) for t in ("account", "disp", "card", "loan", "order", "client")
               for row in conn.execute(f'pragma foreign_key_list("{t}")')}
        assert ("disp", "client_id", "client") in fks and ("card", "disp_id", "disp") in fks
        assert ("account", "district_id", "district") in fks
        pk = [row[1] for row in conn.execute('pragma table_info("loan")') if row[5]]
        assert pk == ["loan_id"]
        n_disp = conn.execute("select count(*) from disp").fetchone()[0]
        joined = conn.execute("select count(*) from disp d join account a on a.account_id = d.account_id "
                              "join client c on c.client_id = d.client_id").fetchone()[0]
    assert joined == n_disp > 0  # 100 % referential integrity through both parents
    syn = read_source(out_db).tables
    for table in ("account", "client", "disp", "loan", "card", "order"):
        pk = f"{table}_id"
        assert not set(norm_keys(syn[table][pk])) & set(norm_keys(real[table][pk])), table  # no real key reused
    assert syn["district"].equals(real["district"])  # the reference table is released unchanged
    summary = result.report["fidelity"]["summary"]
    assert summary["referential_integrity"] == 1.0 and summary["orphans"] == 0
    assert summary["sequence_in_order_min"] is None  # no Berka table in this copy is a history
    assert summary["child_count_ks_max"] <= 0.1
    assert summary["table_shapes_min"] >= 0.85
    # bundle: data only after a pass, manifest without secrets
    assert sorted(p.name for p in (tmp_path / "bundle" / "data").iterdir())[:2] == ["account.csv", "account.parquet"]
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert manifest["released"] and manifest["written_to"].startswith("sqlite:///")


def _count_vs_mean_amount(tables) -> float:
    """Spearman's rho between an account's number of orders and its mean order amount."""
    orders = tables["order"]
    per = orders.groupby(orders["account_id"].astype(str))["amount"].agg(["size", "mean"])
    return float(per["size"].corr(per["mean"], method="spearman"))


def test_children_are_conditioned_on_their_parent(berka_small):
    """In Berka, accounts with more orders have smaller orders (rho about -0.36). Children drawn from
    their parent's context keep that trend; the same model without contexts (max_contexts=1) loses it."""
    from synthstruct.relational.infer import infer_relational
    from synthstruct.relational.synth import RelationalSynthesizer

    schema, _ = infer_relational(berka_small, detect_pii=False)
    real = coerce_tables(berka_small, schema)
    real_rho = _count_vs_mean_amount(real)
    assert real_rho < -0.2
    conditioned = RelationalSynthesizer().fit(real, schema, seed=0).sample(seed=0)
    flat = RelationalSynthesizer(max_contexts=1).fit(real, schema, seed=0).sample(seed=0)
    rho_cond, rho_flat = _count_vs_mean_amount(conditioned), _count_vs_mean_amount(flat)
    assert abs(rho_cond - real_rho) < abs(rho_flat - real_rho)
    assert rho_cond < -0.15
    fid = relational_fidelity(real, conditioned, schema)
    assert fid["parent_child_trends"]["order.account_id->account"] >= 0.85
    real_orders = real["order"].groupby("account_id").size()
    syn_orders = conditioned["order"].groupby("account_id").size()
    assert abs(real_orders.mean() - syn_orders.mean()) / real_orders.mean() < 0.1


def _schema_of(result):
    from synthstruct.relational.model import relational_from_dict
    import yaml

    return relational_from_dict(yaml.safe_load((result.output / "relational_schema.yaml").read_text()))


def test_same_seed_same_tables(berka_small):
    from synthstruct.relational.infer import infer_relational
    from synthstruct.relational.synth import RelationalSynthesizer

    schema, _ = infer_relational(berka_small, detect_pii=False)
    real = coerce_tables(berka_small, schema)
    a = RelationalSynthesizer().fit(real, schema, seed=3)
    b = RelationalSynthesizer().fit(real, schema, seed=3)
    first, again, other = a.sample(seed=1), b.sample(seed=1), a.sample(seed=2)
    for table in first:
        assert first[table].to_csv(index=False) == again[table].to_csv(index=False), table
    assert first["order"].to_csv(index=False) != other["order"].to_csv(index=False)


def test_blocked_release_writes_no_data_and_no_database(tmp_path, berka_sqlite):
    """A synthesizer that copies real rows is blocked per table; nothing reaches the database."""
    def leak(synthetic, train):
        out = dict(synthetic)
        copy = train["loan"].copy()
        copy["loan_id"] = synthetic["loan"]["loan_id"].iloc[0] + np.arange(len(copy))
        copy["account_id"] = synthetic["account"]["account_id"].iloc[: len(copy)].to_numpy()
        out["loan"] = copy
        return out

    out_db = tmp_path / "synthetic.db"
    result = _release(tmp_path, berka_sqlite, to=f"sqlite:///{out_db}", synthetic_hook=leak, policy="default")
    assert not result.passed
    assert not result.gates["loan"].passed
    assert "exact_match.minus_reference" in [c.name for c in result.gates["loan"].failed_checks()]
    assert not out_db.exists()
    assert not (tmp_path / "bundle" / "data").exists()
    assert json.loads((tmp_path / "bundle" / "manifest.json").read_text())["released"] is False


def test_existing_target_database_is_refused_before_anything_is_written(tmp_path, berka_sqlite, io_policy):
    out_db = tmp_path / "exists.db"
    out_db.write_bytes(b"")
    from synthstruct.errors import DataFileError

    with pytest.raises(DataFileError, match="exists"):
        _release(tmp_path, berka_sqlite, to=str(out_db), policy=io_policy)
    assert out_db.read_bytes() == b""
    assert not (tmp_path / "bundle").exists()


def test_data_that_breaks_the_schema_is_reported_per_table(tmp_path, berka_csv_dir):
    loan = pd.read_csv(berka_csv_dir / "loan.csv")
    loan.loc[0, "amount"] = "lots"
    loan.to_csv(berka_csv_dir / "loan.csv", index=False)
    from synthstruct.relational.infer import infer_relational
    from synthstruct.errors import DataValidationError

    clean = {k: v for k, v in read_source(berka_csv_dir).tables.items()}
    clean["loan"] = clean["loan"].copy()
    clean["loan"]["amount"] = pd.to_numeric(clean["loan"]["amount"], errors="coerce").fillna(1000)
    schema, _ = infer_relational(clean, detect_pii=False)
    with pytest.raises(DataValidationError) as info:
        release_relational(berka_csv_dir, output=tmp_path / "bundle", schema=schema)
    assert any(p.location.startswith("loan.") for p in info.value.problems)
    assert "lots" not in str(info.value)  # never a cell value
    assert not (tmp_path / "bundle").exists()


@pytest.mark.slow
def test_cli_release_verb_takes_a_sqlite_file(tmp_path, berka_sqlite, io_policy):
    out_db = tmp_path / "cli.db"
    runner = CliRunner()
    policy_file = tmp_path / "policy.yaml"
    import yaml

    policy_file.write_text(yaml.safe_dump(io_policy.model_dump(mode="json", exclude_none=True)))
    result = runner.invoke(app, ["release", str(berka_sqlite), "-o", str(tmp_path / "b"), "--to", str(out_db),
                                 "--policy", str(policy_file)])
    assert result.exit_code == 0, result.output
    assert "referential_integrity" in result.output
    assert out_db.exists()
    bad = runner.invoke(app, ["release-db", str(tmp_path / "missing.db"), "-o", str(tmp_path / "c")])
    assert bad.exit_code == 2 and not (tmp_path / "c").exists()
    inferred = runner.invoke(app, ["infer-db", str(berka_sqlite), "--no-pii", "-o", str(tmp_path / "rel.yaml")])
    assert inferred.exit_code == 0, inferred.output
    from synthstruct.relational.model import load_relational

    assert len(load_relational(tmp_path / "rel.yaml").relationships) == 7


def test_orphans_are_reported_and_kept_without_a_parent(tmp_path, berka_csv_dir, io_policy):
    orders = pd.read_csv(berka_csv_dir / "order.csv")
    orders.loc[orders.index[:60], "account_id"] = 99_999_999  # 60 orders of an account that does not exist
    orders.to_csv(berka_csv_dir / "order.csv", index=False)
    result = release_relational(berka_csv_dir, output=tmp_path / "o", detect_pii=False, policy=io_policy)
    assert result.report["orphans_in_input"]["order.account_id->account"] == 60
    syn = result.synthetic["order"]
    parentless = int(syn["account_id"].isna().sum())
    assert 0.5 * 60 * 0.8 <= parentless <= 1.5 * 60  # about the real share of the training split
    assert result.report["fidelity"]["summary"]["referential_integrity"] == 1.0
    assert result.passed


def test_sdv_metadata_json_as_the_schema(tmp_path, berka_csv_dir, io_policy):
    """``--schema metadata.json`` (SDV multi-table metadata written by infer-db --sdv) drives a release."""
    (berka_csv_dir / "district.csv").unlink()  # SDV has no reference tables: district_id stays a plain column
    runner = CliRunner()
    meta = tmp_path / "berka.json"
    done = runner.invoke(app, ["infer-db", str(berka_csv_dir), "--no-pii", "--sdv", "-o", str(meta)])
    assert done.exit_code == 0, done.output
    assert len(json.loads(meta.read_text())["relationships"]) == 5
    result = release_relational(berka_csv_dir, output=tmp_path / "s", schema=meta, policy=io_policy)
    assert result.passed
    assert result.report["fidelity"]["summary"]["referential_integrity"] == 1.0
    assert set(result.synthetic) == {"account", "client", "disp", "loan", "card", "order"}


def test_at_most_one_child_is_matched_to_its_parent(berka_small):
    """A loan per account at most: with ``match_single`` the loan learns its account's values and goes to
    the synthetic account nearest the account values drawn with it, so the loan's date follows its
    account's opening date (real rho well above 0.3); without it the loan is drawn from a group of
    accounts and the trend is weaker. No ``__pm__`` column reaches the output."""
    from synthstruct.relational.infer import infer_relational
    from synthstruct.relational.synth import MATCH_PREFIX, RelationalSynthesizer

    schema, _ = infer_relational(berka_small, detect_pii=False)
    real = coerce_tables(berka_small, schema)
    rel = "loan.account_id->account"

    def date_rho(tables) -> float:
        acc = tables["account"].set_index(tables["account"]["account_id"].astype(str))["date"]
        loan = tables["loan"]
        opened = pd.to_datetime(loan["account_id"].astype(str).map(acc))
        return float(pd.Series(opened.astype("int64")).corr(
            pd.Series(pd.to_datetime(loan["date"]).astype("int64")), method="spearman"))

    matched_model = RelationalSynthesizer().fit(real, schema, seed=0)
    assert matched_model.matches_.get("loan")
    matched = matched_model.sample(seed=0)
    plain = RelationalSynthesizer(match_single=False).fit(real, schema, seed=0).sample(seed=0)
    assert not any(c.startswith(MATCH_PREFIX) for t in matched.values() for c in t.columns)
    assert list(matched["loan"].columns) == list(plain["loan"].columns)
    real_rho = date_rho(real)
    assert real_rho > 0.3
    assert abs(date_rho(matched) - real_rho) < abs(date_rho(plain) - real_rho)
    fid_m, fid_p = relational_fidelity(real, matched, schema), relational_fidelity(real, plain, schema)
    assert fid_m["parent_child_trends"][rel] > fid_p["parent_child_trends"][rel]
    assert fid_m["referential_integrity"]["value"] == 1.0
    assert fid_m["child_count_ks"][rel] <= 0.1
    # every account still has at most one loan
    assert matched["loan"]["account_id"].astype(str).value_counts().max() == 1


def test_assignment_pairs_nearest_rows_one_to_one():
    from synthstruct.relational import synth as s

    rng = np.random.default_rng(0)
    want = rng.random((40, 2))
    drawn = want[rng.permutation(40)] + 1e-3
    out = s._assign(want, drawn)
    assert sorted(out.tolist()) == list(range(40))
    assert np.allclose(drawn[out], want + 1e-3)
    big = rng.random((s._MATCH_BLOCK + 700, 1))  # block by block beyond _MATCH_BLOCK rows
    out = s._assign(big, big[::-1].copy())
    assert sorted(out.tolist()) == list(range(len(big)))
    assert np.abs(big[::-1][out] - big).max() < 0.05
