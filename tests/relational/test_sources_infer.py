"""Sources (CSV directory, SQLite from berka_ddl.sql) and inference of keys and relationships."""

from __future__ import annotations

import sqlite3

import pytest

from synthstruct.errors import DataFileError, InputError
from synthstruct.relational.infer import infer_relational
from synthstruct.relational.sources import mask_url, read_source


def _rels(schema) -> set[tuple[str, str, str, str]]:
    return {(r.child, r.child_column, r.parent, r.parent_column) for r in schema.relationships}


def test_sqlite_declared_keys_match_the_ddl(berka_sqlite):
    src = read_source(berka_sqlite)
    assert set(src.tables) == {"district", "account", "client", "disp", "loan", "card", "order"}
    assert src.declared.primary_keys["order"] == "order_id"
    # the seven FOREIGN KEY clauses of berka_ddl.sql that do not involve trans
    assert set(src.declared.foreign_keys) == {
        ("account", "district_id", "district", "district_id"), ("client", "district_id", "district", "district_id"),
        ("disp", "account_id", "account", "account_id"), ("disp", "client_id", "client", "client_id"),
        ("loan", "account_id", "account", "account_id"), ("order", "account_id", "account", "account_id"),
        ("card", "disp_id", "disp", "disp_id")}


def test_inference_from_plain_csv_finds_the_declared_relationships(berka_csv_dir, berka_sqlite):
    """CSV files carry no constraints: keys and relationships come from uniqueness and inclusion alone."""
    from_data, comments = infer_relational(read_source(berka_csv_dir).tables, name="berka", detect_pii=False)
    declared = read_source(berka_sqlite).declared
    assert _rels(from_data) == set(declared.foreign_keys)
    assert {t: s.schema_.primary_key for t, s in from_data.tables.items()} == declared.primary_keys
    # district is a small lookup table referenced by many rows; the events of a parent get a sequence key
    assert from_data.tables["district"].reference
    assert from_data.tables["loan"].sequence_key is None  # one loan per account: not a history
    # disp is driven by account (three child tables) and linked to client
    assert from_data.driving("disp").parent == "account"
    assert [r.parent for r in from_data.links("disp")] == ["client"]
    assert "orphan" in comments["loan.account_id"]


def test_inference_uses_declared_constraints_from_sqlite(berka_sqlite):
    src = read_source(berka_sqlite)
    schema, comments = infer_relational(src.tables, declared=src.declared, detect_pii=False)
    assert _rels(schema) == set(src.declared.foreign_keys)
    assert "declared" in comments["order.order_id"]
    assert schema.schema_of("loan").columns["date"].kind == "datetime"  # TIMESTAMP column read as dates


def test_orphans_make_a_relationship_optional(berka_small):
    tables = {k: v.copy() for k, v in berka_small.items()}
    tables["loan"].loc[tables["loan"].index[:3], "account_id"] = 999_999_999  # 3 loans of no account
    schema, comments = infer_relational(tables, detect_pii=False)
    rel = next(r for r in schema.relationships if r.child == "loan")
    assert rel.optional
    assert "3 orphan" in comments["loan.account_id"]


def test_missing_table_and_directory_errors(berka_sqlite, tmp_path):
    with pytest.raises(DataFileError) as info:
        read_source(berka_sqlite, tables=["account", "patients"])
    assert "patients" in str(info.value) and info.value.exit_code == 2
    with pytest.raises(DataFileError):
        read_source(tmp_path / "nothing-here")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataFileError, match="no tables"):
        read_source(empty)


def test_composite_keys_are_refused(tmp_path):
    path = tmp_path / "c.db"
    with sqlite3.connect(path) as conn:
        conn.execute("create table a (x int, y int, v text, primary key (x, y))")
        conn.execute("insert into a values (1, 2, 'q')")
    with pytest.raises(InputError) as info:
        read_source(path)
    assert "composite primary key" in str(info.value)


def test_unreachable_database_never_shows_the_password():
    url = "postgresql://alice:hunter2-Secret@127.0.0.1:1/db"
    with pytest.raises(DataFileError) as info:
        read_source(url)
    text = str(info.value)
    assert "hunter2-Secret" not in text and "alice:***@" in text
    assert info.value.exit_code == 2


def test_mask_url():
    assert mask_url("postgresql://u:p%40ss@h:5/db?x=1") == "postgresql://u:***@h:5/db?x=1"
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask_url("host=h password=abc user=u") == "host=h password=*** user=u"


def test_tables_larger_than_memory_are_refused_before_reading(berka_sqlite, berka_csv_dir, tmp_path, monkeypatch):
    """A child table larger than memory: exit 2 naming the table and the estimate, before a row is read."""
    from typer.testing import CliRunner

    from synthstruct import _limits
    from synthstruct.cli import app

    sizes = {}
    for source in (berka_sqlite, berka_csv_dir):
        read_source(source)  # fits with the machine's real memory
    real_check = _limits.check_tables_fit

    def spy(found, *, source, available=None):
        sizes.update(found)
        return real_check(found, source=source, available=available)

    monkeypatch.setattr("synthstruct.relational.sources.check_tables_fit", spy)
    read_source(berka_sqlite)
    assert sizes["order"][0] > 0 and sizes["order"][1] >= 2  # rows counted by the database, columns declared
    monkeypatch.setattr(_limits, "available_memory", lambda: 1_000_000)  # 1 MB left
    for source in (berka_sqlite, berka_csv_dir):
        with pytest.raises(InputError, match="do not fit in memory") as info:
            read_source(source)
        assert info.value.exit_code == 2 and "need about" in str(info.value)
    result = CliRunner().invoke(app, ["release-db", str(berka_sqlite), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "do not fit in memory" in result.output and not (tmp_path / "out").exists()


def test_check_tables_fit_names_the_largest_tables():
    from synthstruct._limits import BYTES_PER_CELL, check_tables_fit

    check_tables_fit({"a": (10, 3)}, source="db", available=10 * 3 * BYTES_PER_CELL)  # exactly fits
    with pytest.raises(InputError) as info:
        check_tables_fit({"small": (10, 3), "big": (1_000, 5)}, source="db", available=1_000)
    text = str(info.value)
    assert "'big'" in text and "1000 rows x 5 columns" in text
