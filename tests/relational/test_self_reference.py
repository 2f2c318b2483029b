"""Self-referencing tables (employee.manager_id -> employee.employee_id): generated level by level.

An org chart in SQLite with declared keys: departments, and employees whose manager is another employee
of the same department (heads have none). The release keeps every manager key pointing at a synthetic
employee one level up, never forms a cycle, and writes the table to a new SQLite file with the
self-referencing foreign key recreated. A cycle in the real data is a typed error.
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from synthstruct.errors import DataValidationError
from synthstruct.relational.frames import hierarchy_depth, norm_keys
from synthstruct.relational.model import relational_from_dict
from synthstruct.relational.pipeline import release_relational
from synthstruct.relational.sources import read_source

DDL = (
    "CREATE TABLE department (department_id INTEGER PRIMARY KEY, region TEXT, budget REAL)",
    "CREATE TABLE employee (employee_id INTEGER PRIMARY KEY, department_id INTEGER REFERENCES department(department_id), "
    "manager_id INTEGER REFERENCES employee(employee_id), title TEXT, salary REAL, hired TEXT)",
)


def _org(n_departments: int = 60, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    dept = pd.DataFrame({"department_id": np.arange(1, n_departments + 1),
                         "region": rng.choice(["north", "south", "east", "west"], n_departments),
                         "budget": np.round(rng.lognormal(13, 0.4, n_departments), 2)})
    rows = []
    next_id = 1
    titles = ["director", "manager", "lead", "engineer"]
    for d in dept.department_id:
        level = [(next_id, None)]
        rows.append((next_id, d, None, 0))
        next_id += 1
        for depth in range(1, 4):
            new = []
            for boss, _ in level:
                for _ in range(int(rng.integers(1, 5)) if depth < 3 else int(rng.integers(0, 5))):
                    rows.append((next_id, d, boss, depth))
                    new.append((next_id, boss))
                    next_id += 1
            level = new
    emp = pd.DataFrame(rows, columns=["employee_id", "department_id", "manager_id", "depth"])
    emp["title"] = [titles[k] for k in emp.depth]
    emp["salary"] = np.round(150_000 * 0.75 ** emp.depth * rng.lognormal(0, 0.1, len(emp)), 2)
    emp["hired"] = (pd.Timestamp("2010-01-01") + pd.to_timedelta(rng.integers(0, 4000, len(emp)) + 300 * (3 - emp.depth),
                                                                  unit="D")).dt.strftime("%Y-%m-%d")
    emp["manager_id"] = emp["manager_id"].astype("Int64")
    return dept, emp.drop(columns="depth")


def _sqlite(path, dept, emp):
    with sqlite3.connect(path) as conn:
        for statement in DDL:
            conn.execute(statement)
        dept.to_sql("department", conn, if_exists="append", index=False)
        emp.to_sql("employee", conn, if_exists="append", index=False)
    return path


def test_hierarchy_depth_levels_and_cycle_error():
    keys = np.array(["1", "2", "3", "4"], dtype=object)
    assert hierarchy_depth(keys, np.array([None, "1", "2", "9"], dtype=object)).tolist() == [0, 1, 2, 0]
    with pytest.raises(DataValidationError) as err:
        hierarchy_depth(keys, np.array([None, "3", "2", "1"], dtype=object), table="employee", column="manager_id")
    problem = err.value.problems[0]
    assert problem.location == "employee.manager_id" and "2 row(s)" in problem.message and "cycle" in problem.message


def test_self_reference_is_accepted_by_the_schema():
    schema = relational_from_dict({
        "relational_version": 1, "name": "org",
        "tables": {"employee": {"schema": {"schema_version": 1, "name": "employee", "primary_key": "id", "columns": {
            "id": {"kind": "id", "strategy": "sequence"}, "boss": {"kind": "id", "strategy": "sequence"},
            "pay": {"kind": "numerical"}}}}},
        "relationships": [{"parent": "employee", "parent_column": "id", "child": "employee", "child_column": "boss",
                           "optional": True}]})
    assert schema.roots() == ["employee"] and schema.driving("employee") is None
    assert schema.self_reference("employee").child_column == "boss" and schema.links("employee") == []


def test_org_chart_release_level_by_level(tmp_path, io_policy):
    dept, emp = _org()
    db = _sqlite(tmp_path / "org.db", dept, emp)
    out_db = tmp_path / "synthetic.db"
    result = release_relational(db, output=tmp_path / "bundle", detect_pii=False, policy=io_policy,
                                to=f"sqlite:///{out_db}")
    assert result.passed, result.report["relational_checks"]
    syn = read_source(out_db).tables
    e = syn["employee"]
    keys, refs = norm_keys(e.employee_id), norm_keys(e.manager_id)
    depth = hierarchy_depth(keys, refs)  # raises on a cycle
    real_depth = hierarchy_depth(norm_keys(emp.employee_id), norm_keys(emp.manager_id))
    # every manager key names a synthetic employee (100 % integrity), never a real one
    named = [r for r in refs if r is not None]
    assert set(named) <= set(keys)
    assert not set(keys) & set(norm_keys(emp.employee_id))
    # levels as in the real data: roots are the heads, at most 3 levels below
    assert depth.max() == real_depth.max() == 3
    shares = np.bincount(depth, minlength=4) / len(depth)
    real_shares = np.bincount(real_depth, minlength=4) / len(real_depth)
    assert np.abs(shares - real_shares).max() < 0.1, (shares, real_shares)
    # a manager is one level up, often in the same department (slots under the same department first; the
    # department is drawn per employee, so a level may lack one there: 0.58 measured, 1/60 when ignored)
    row = pd.Series(np.arange(len(e)), index=keys)
    has = np.array([r is not None for r in refs])
    boss = row[np.asarray(refs[has], dtype=object)].to_numpy()
    assert (depth[boss] == depth[has] - 1).all()
    same = (norm_keys(e.department_id)[boss] == norm_keys(e.department_id)[has]).mean()
    assert same > 0.4, same
    # the level is learned jointly with the columns: salaries fall with the level
    salary = e.salary.to_numpy(dtype=float)
    assert salary[depth == 0].mean() > salary[depth == 3].mean()
    h = result.report["fidelity"]["hierarchies"]["employee"]
    assert h["depth_ks"] < 0.1 and h["synthetic_has_cycle"] is False
    ks = result.report["fidelity"]["child_count_ks"]["employee.manager_id->employee"]
    assert ks <= 0.15, ks
    with sqlite3.connect(out_db) as conn:  # the self-referencing foreign key is recreated and holds
        conn.execute("pragma foreign_keys = on")
        assert conn.execute("pragma foreign_key_check").fetchall() == []
        fks = {(row[3], row[2]) for row in conn.execute('pragma foreign_key_list("employee")')}
    assert ("manager_id", "employee") in fks


def test_cycle_in_the_real_data_is_a_typed_error(tmp_path, io_policy):
    dept, emp = _org(n_departments=10)
    report = emp.employee_id[emp.manager_id == emp.employee_id.iloc[0]].iloc[0]
    emp.loc[0, "manager_id"] = int(report)  # the first head now reports to one of their own reports
    db = _sqlite(tmp_path / "org.db", dept, emp)
    with pytest.raises(DataValidationError) as err:
        release_relational(db, output=tmp_path / "bundle", detect_pii=False, policy=io_policy)
    assert err.value.problems[0].location == "employee.manager_id"
    assert "cycle" in err.value.problems[0].message
    assert not (tmp_path / "bundle").exists()  # nothing written


def test_org_chart_postgres_to_postgres(tmp_path, postgres, io_policy, monkeypatch):
    """The self-referencing foreign key is recreated in PostgreSQL, which checks it on every insert."""
    import psycopg

    monkeypatch.setenv("PGPASSWORD", postgres.password)
    dept, emp = _org(n_departments=40, seed=5)
    postgres.execute("postgres", "create database org")
    with psycopg.connect(postgres.url("org", password=True)) as conn:
        for statement in DDL:
            conn.execute(statement.replace("INTEGER PRIMARY KEY", "BIGINT PRIMARY KEY").replace("REAL", "DOUBLE PRECISION"))
        for name, frame in (("department", dept), ("employee", emp)):
            cols = ", ".join(frame.columns)
            with conn.cursor().copy(f"COPY {name} ({cols}) FROM STDIN") as copy:
                for row in frame.itertuples(index=False):
                    copy.write_row([None if pd.isna(v) else v for v in row])
    url = postgres.url("org")
    result = release_relational(url, output=tmp_path / "bundle", detect_pii=False, policy=io_policy, to=url,
                                to_schema="synthetic")
    assert result.passed, result.report["relational_checks"]
    with psycopg.connect(postgres.url("org", password=True)) as conn:
        fks = conn.execute("""select kcu.column_name, ccu.table_name from information_schema.table_constraints tc
            join information_schema.key_column_usage kcu on tc.constraint_name = kcu.constraint_name
                 and tc.table_schema = kcu.table_schema
            join information_schema.constraint_column_usage ccu on tc.constraint_name = ccu.constraint_name
                 and tc.table_schema = ccu.table_schema
            where tc.constraint_type = 'FOREIGN KEY' and tc.table_schema = 'synthetic'
                  and tc.table_name = 'employee'""").fetchall()
        assert ("manager_id", "employee") in set(fks)
        n, with_boss = conn.execute("select count(*), count(manager_id) from synthetic.employee").fetchone()
        joined = conn.execute("select count(*) from synthetic.employee e join synthetic.employee m "
                              "on e.manager_id = m.employee_id").fetchone()[0]
    assert n == len(result.synthetic["employee"]) and joined == with_boss > 0
