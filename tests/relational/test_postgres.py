"""PostgreSQL → PostgreSQL release of a Berka subset against a real server (started by conftest).

CI installs the Debian ``postgresql`` package (.ci/run), so these tests never skip there.
"""

from __future__ import annotations

import psycopg
import pytest
from typer.testing import CliRunner

from synthstruct.cli import app
from synthstruct.errors import DataFileError
from synthstruct.relational.pipeline import release_relational
from synthstruct.relational.sources import read_source


@pytest.fixture
def pg_password(postgres, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", postgres.password)  # credentials from the environment, not the URL
    return postgres.password


def _schemas(postgres) -> set[str]:
    with psycopg.connect(postgres.url("berka", password=True)) as conn:
        return {r[0] for r in conn.execute("select schema_name from information_schema.schemata")}


def test_read_declared_keys_from_postgres(berka_postgres, pg_password):
    src = read_source(berka_postgres)
    assert len(src.tables) == 7 and src.declared.primary_keys["loan"] == "loan_id"
    assert ("disp", "client_id", "client", "client_id") in src.declared.foreign_keys
    assert pg_password not in src.label


def test_postgres_to_postgres_release_is_complete_and_constrained(tmp_path, postgres, berka_postgres, pg_password,
                                                                  io_policy):
    result = release_relational(berka_postgres, output=tmp_path / "bundle", to=berka_postgres,
                                to_schema="synthetic_a", detect_pii=False, policy=io_policy)
    assert result.passed
    assert result.database.endswith("(schema synthetic_a)") and pg_password not in result.database
    with psycopg.connect(postgres.url("berka", password=True)) as conn:
        fks = conn.execute("""select tc.table_name, kcu.column_name, ccu.table_name
            from information_schema.table_constraints tc
            join information_schema.key_column_usage kcu on tc.constraint_name = kcu.constraint_name
                 and tc.table_schema = kcu.table_schema
            join information_schema.constraint_column_usage ccu on tc.constraint_name = ccu.constraint_name
                 and tc.table_schema = ccu.table_schema
            where tc.constraint_type = 'FOREIGN KEY' and tc.table_schema = 'synthetic_a'""").fetchall()
        assert set(fks) >= {("disp", "client_id", "client"), ("disp", "account_id", "account"),
                            ("card", "disp_id", "disp"), ("order", "account_id", "account"),
                            ("account", "district_id", "district")}
        pks = conn.execute("""select count(*) from information_schema.table_constraints
            where constraint_type = 'PRIMARY KEY' and table_schema = 'synthetic_a'""").fetchone()[0]
        assert pks == 7
        n_orders = conn.execute('select count(*) from synthetic_a."order"').fetchone()[0]
        assert n_orders == len(result.synthetic["order"]) > 0
        # no synthetic key equals a real one
        shared = conn.execute("select count(*) from synthetic_a.account s join public.account r "
                              "on s.account_id = r.account_id").fetchone()[0]
        assert shared == 0
        kinds = dict(conn.execute("""select column_name, data_type from information_schema.columns
            where table_schema = 'synthetic_a' and table_name = 'loan'""").fetchall())
        assert kinds["date"].startswith("timestamp") and kinds["loan_id"] == "bigint"


def test_existing_schema_and_blocked_release_write_nothing(tmp_path, postgres, berka_postgres, pg_password):
    postgres.execute("berka", "create schema taken")
    with pytest.raises(DataFileError, match="exists"):
        release_relational(berka_postgres, output=tmp_path / "b1", to=berka_postgres, to_schema="taken",
                           detect_pii=False)
    assert not (tmp_path / "b1").exists()

    def leak(synthetic, train):  # copies real loans: the loan table's gate blocks
        out = dict(synthetic)
        copy = train["loan"].copy()
        copy["loan_id"] = synthetic["loan"]["loan_id"].iloc[0] + range(len(copy))
        copy["account_id"] = synthetic["account"]["account_id"].iloc[: len(copy)].to_numpy()
        out["loan"] = copy
        return out

    result = release_relational(berka_postgres, output=tmp_path / "b2", to=berka_postgres, to_schema="never",
                                detect_pii=False, synthetic_hook=leak)
    assert not result.passed and result.database is None
    assert "never" not in _schemas(postgres)


def test_failed_write_rolls_back_the_whole_schema(postgres, berka_postgres, pg_password, berka_small):
    """A write that fails half-way (a duplicated primary key in the last table) leaves no schema behind."""
    from synthstruct.relational.infer import infer_relational
    from synthstruct.relational.sources import write_database

    schema, _ = infer_relational(berka_small, detect_pii=False)
    frames = {k: v.copy() for k, v in berka_small.items()}
    frames["order"] = frames["order"].copy()
    frames["order"].loc[frames["order"].index[1], "order_id"] = frames["order"]["order_id"].iloc[0]
    with pytest.raises(DataFileError) as info:
        write_database(berka_postgres, frames, schema, db_schema="half")
    assert "half" not in _schemas(postgres)
    assert pg_password not in str(info.value)


def test_wrong_password_is_a_typed_error_without_the_password(tmp_path, postgres, monkeypatch):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    url = f"postgresql://{postgres.user}:not-the-Password-42@127.0.0.1:{postgres.port}/berka"
    runner = CliRunner()
    result = runner.invoke(app, ["release-db", url, "-o", str(tmp_path / "out"), "--no-pii"])
    assert result.exit_code == 2
    assert "not-the-Password-42" not in result.output
    assert "authentication failed" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_one_command_postgres_release(tmp_path, postgres, berka_postgres, pg_password, io_policy):
    """``synthstruct release postgresql://... -o OUT --to postgresql://...`` from the command line."""
    import yaml

    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(io_policy.model_dump(mode="json", exclude_none=True)))
    out_url = berka_postgres + "?schema=synthetic_cli"
    result = CliRunner().invoke(app, ["release", berka_postgres, "-o", str(tmp_path / "bundle"), "--to", out_url,
                                      "--policy", str(policy)])
    assert result.exit_code == 0, result.output
    assert "synthetic_cli" in _schemas(postgres)
    assert pg_password not in result.output
