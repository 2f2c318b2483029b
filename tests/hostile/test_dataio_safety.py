"""dataio pieces behind the hostile suite: formula escaping, stale temp cleanup, private folders."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from synthstruct.dataio import (
    _remove_stale_siblings,
    atomic_directory,
    escape_formulas,
    read_table,
    write_table,
)
from synthstruct.errors import DataFileError


def test_escape_formulas_touches_only_risky_text() -> None:
    frame = pd.DataFrame({"t": ["=1+2", "-5", "+1.5e3", "@x", "\tz", "\rq", "ok", None, "-abc", "+"],
                          "n": [-1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10]})
    out = escape_formulas(frame)
    assert out["t"].tolist()[:7] == ["'=1+2", "-5", "+1.5e3", "'@x", "'\tz", "'\rq", "ok"]
    assert out["t"].tolist()[8:] == ["'-abc", "'+"] and pd.isna(out["t"].iloc[7])
    assert out["n"].equals(frame["n"]) and frame["t"].iloc[0] == "=1+2"  # input untouched


def test_write_table_escapes_csv_but_not_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame({"t": ["=cmd()", "a"]})
    write_table(frame, tmp_path / "o.csv")
    write_table(frame, tmp_path / "o.parquet")
    assert (tmp_path / "o.csv").read_text().splitlines()[1] == "'=cmd()"
    assert pd.read_parquet(tmp_path / "o.parquet")["t"].iloc[0] == "=cmd()"
    write_table(frame, tmp_path / "raw.csv", escape_csv_formulas=False)
    assert (tmp_path / "raw.csv").read_text().splitlines()[1] == "=cmd()"
    assert stat.S_IMODE((tmp_path / "o.csv").stat().st_mode) == 0o600


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_stale_siblings_of_dead_runs_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "out"
    dead, live = _dead_pid(), os.getppid()
    (tmp_path / f".out.tmp-{dead}-x1").mkdir()
    (tmp_path / f".out.old-{dead}").mkdir()
    (tmp_path / f".out.csv.tmp-{dead}-y").write_text("half")  # another output's: kept
    (tmp_path / f".out.tmp-{live}-x2").mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious").write_text("keep")
    os.symlink(victim, tmp_path / f".out.tmp-{dead}-link")
    removed = sorted(p.name for p in _remove_stale_siblings(target))
    assert removed == sorted([f".out.tmp-{dead}-x1", f".out.old-{dead}", f".out.tmp-{dead}-link"])
    assert (tmp_path / f".out.tmp-{live}-x2").is_dir() and (tmp_path / f".out.csv.tmp-{dead}-y").exists()
    assert (victim / "precious").read_text() == "keep"


def test_atomic_directory_is_private_and_clean_on_failure(tmp_path: Path) -> None:
    with atomic_directory(tmp_path / "b") as tmp:
        (tmp / "data").mkdir()
        (tmp / "data" / "x.csv").write_text("a\n1\n")
    assert stat.S_IMODE((tmp_path / "b").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "b" / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "b" / "data" / "x.csv").stat().st_mode) == 0o600
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "c") as tmp:
        (tmp / "f").write_text("x")
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_a_bundle_made_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with pytest.raises(DataFileError, match="another run"), atomic_directory(target) as tmp:
        (tmp / "mine").write_text("x")
        target.mkdir()
        (target / "theirs").write_text("y")
    assert sorted(p.name for p in target.iterdir()) == ["theirs"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("header", ["name,city,year", "id,2019,2020,2021", "a,b"])
def test_ordinary_headers_are_not_taken_for_data(tmp_path: Path, header: str) -> None:
    width = len(header.split(","))
    rows = "".join(",".join(f"v{i}{j}" if j == 0 else str(i * j + 1) for j in range(width)) + "\n"
                   for i in range(10))
    path = tmp_path / "t.csv"
    path.write_text(header + "\n" + rows)
    assert list(read_table(path).columns) == header.split(",")


def test_header_of_numbers_over_numbers_is_taken_for_data(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("1,2,3\n4,5,6\n7,8,9\n")
    with pytest.raises(DataFileError, match="looks like data"):
        read_table(path)
