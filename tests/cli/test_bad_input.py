"""Every bad input gets a typed error naming the problem, exit code 2, no output, no cell value echoed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from synthstruct.cli import app

SECRET = "Zyxwv-4417"  # planted in offending cells; must never appear in any message


def _frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({
        "pid": [f"P-{i:04d}" for i in range(n)],
        "age": rng.integers(20, 80, n),
        "city": rng.choice(["north", "south", "east"], n),
        "visit": pd.date_range("2021-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
    })


SCHEMA = {
    "schema_version": 1,
    "name": "t",
    "primary_key": "pid",
    "columns": {
        "pid": {"kind": "id", "pattern": "P-####"},
        "age": {"kind": "numerical", "dtype": "int"},
        "city": {"kind": "categorical"},
        "visit": {"kind": "datetime", "format": "%Y-%m-%d"},
    },
}


def _write(tmp: Path, frame: pd.DataFrame, schema: dict | None = SCHEMA) -> tuple[Path, Path | None]:
    data = tmp / "data.csv"
    frame.to_csv(data, index=False)
    if schema is None:
        return data, None
    spath = tmp / "schema.yaml"
    spath.write_text(yaml.safe_dump(schema))
    return data, spath


def _case_missing_column(tmp):
    return _write(tmp, _frame().drop(columns=["city"]))


def _case_extra_column(tmp):
    f = _frame()
    f["extra"] = SECRET
    f.loc[0, "extra"] = "other"
    return _write(tmp, f)


def _case_wrong_type(tmp):
    f = _frame().astype({"age": object})
    f.loc[3, "age"] = SECRET
    return _write(tmp, f)


def _case_bad_dates(tmp):
    f = _frame()
    f.loc[5, "visit"] = SECRET
    return _write(tmp, f)


def _case_pk_duplicates(tmp):
    f = _frame()
    f.loc[1, "pid"] = f.loc[0, "pid"] = SECRET
    return _write(tmp, f)


def _case_pk_null(tmp):
    f = _frame()
    f.loc[2, "pid"] = None
    return _write(tmp, f)


def _case_id_like_categorical(tmp):
    schema = {**SCHEMA, "primary_key": None, "columns": {**SCHEMA["columns"], "pid": {"kind": "categorical"}}}
    return _write(tmp, _frame(), schema)


def _case_all_null(tmp):
    f = _frame()
    f["city"] = np.nan
    return _write(tmp, f)


def _case_constant(tmp):
    f = _frame()
    f["city"] = SECRET
    return _write(tmp, f)


def _case_duplicate_names(tmp):
    data = tmp / "data.csv"
    data.write_text(f"a,b,a\n1,{SECRET},3\n4,5,6\n")
    return data, None


def _case_empty_file(tmp):
    data = tmp / "data.csv"
    data.write_text("")
    return data, None


def _case_header_only(tmp):
    data = tmp / "data.csv"
    data.write_text("pid,age,city,visit\n")
    return data, None


def _case_missing_file(tmp):
    return tmp / "nope.csv", None


def _case_unsupported_format(tmp):
    data = tmp / "data.xlsx"
    data.write_bytes(b"PK\x03\x04" + SECRET.encode())
    return data, None


def _case_unreadable(tmp):
    data = tmp / "data.parquet"
    data.write_bytes(b"not parquet " + SECRET.encode())
    return data, None


def _case_not_utf8(tmp):
    data = tmp / "data.csv"
    data.write_bytes(b"name,age\n" + SECRET.encode() + b"\xff\xfe,3\n")
    return data, None


CASES = {
    "missing column": (_case_missing_column, "missing from the data"),
    "extra column": (_case_extra_column, "not declared in the schema"),
    "wrong-typed column": (_case_wrong_type, "not numbers"),
    "unparseable dates": (_case_bad_dates, "date format"),
    "primary-key duplicates": (_case_pk_duplicates, "duplicated"),
    "primary-key nulls": (_case_pk_null, "missing value"),
    "id-like categorical": (_case_id_like_categorical, "every value is unique"),
    "all-null column": (_case_all_null, "every value is missing"),
    "constant column": (_case_constant, "constant"),
    "duplicate column names": (_case_duplicate_names, "more than once"),
    "empty file": (_case_empty_file, "empty"),
    "header only": (_case_header_only, "no data rows"),
    "missing file": (_case_missing_file, "not found"),
    "unsupported format": (_case_unsupported_format, "unsupported file format"),
    "unreadable file": (_case_unreadable, "cannot be"),
    "not UTF-8": (_case_not_utf8, "UTF-8"),
}


SCHEMA_CASES = {"missing column", "extra column", "wrong-typed column", "unparseable dates",
                "primary-key duplicates", "primary-key nulls", "id-like categorical", "all-null column",
                "constant column"}
RUNS = [("release", case) for case in sorted(CASES)] + [
    ("infer", case) for case in sorted(CASES) if case not in SCHEMA_CASES]
# Without a schema, all-null, constant and mostly-numeric columns are not errors (issue 13: inference carries
# them through as constants or reads them as categories); tests/unit/schema/test_shapes.py covers them.


@pytest.mark.parametrize(("verb", "case"), RUNS)
def test_bad_input_is_a_typed_error_with_exit_2(tmp_path, verb, case):
    make, expected = CASES[case]
    data, schema = make(tmp_path)
    out = tmp_path / "bundle"
    args = [verb, str(data), "-o", str(out)]
    if schema is not None and verb == "release":
        args += ["--schema", str(schema)]
    result = CliRunner().invoke(app, args)
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code == 2, text
    assert "Error" in text  # the typed error's class name, e.g. DataValidationError
    assert expected in text
    assert SECRET not in text
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bundle")]  # no temp leftovers
