"""Partitioned Parquet datasets and chunked CSV conversion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthstruct.dataio import read_table
from synthstruct.errors import DataFileError
from synthstruct.scale.dataset import csv_to_parquet, list_pieces, read_piece, take_rows


def test_csv_converted_chunk_by_chunk_reads_back(tmp_path: Path, small_frame: pd.DataFrame) -> None:
    csv = tmp_path / "t.csv"
    small_frame.to_csv(csv, index=False)
    files = csv_to_parquet(csv, tmp_path / "parts", partition_rows=150)
    assert [f.name for f in files] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    pieces = list_pieces(tmp_path / "parts")
    assert [p.rows for p in pieces] == [150, 150, 100]
    back = pd.concat([read_piece(p) for p in pieces], ignore_index=True)
    pd.testing.assert_frame_equal(back, read_table(csv), check_dtype=False)


def test_row_groups_are_pieces(tmp_path: Path) -> None:
    table = pa.table({"x": np.arange(1000), "y": np.arange(1000) % 7})
    pq.write_table(table, tmp_path / "one.parquet", row_group_size=300)
    pieces = list_pieces(tmp_path / "one.parquet")
    assert [p.rows for p in pieces] == [300, 300, 300, 100]
    rows = take_rows(pieces[1], np.array([0, 5, 299]))
    assert rows["x"].tolist() == [300, 305, 599]


def test_bad_datasets_fail_cleanly(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFileError):
        list_pieces(tmp_path / "empty")
    (tmp_path / "mixed").mkdir()
    pq.write_table(pa.table({"x": [1]}), tmp_path / "mixed" / "a.parquet")
    pq.write_table(pa.table({"z": [1]}), tmp_path / "mixed" / "b.parquet")
    with pytest.raises(DataFileError, match="cannot read"):
        list_pieces(tmp_path / "mixed")
