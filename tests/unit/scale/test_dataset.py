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
from synthstruct.scale.dataset import (
    csv_to_parquet,
    list_pieces,
    read_piece,
    take_rows,
    typed_sample,
)


def test_csv_converted_chunk_by_chunk_reads_back(tmp_path: Path, small_frame: pd.DataFrame) -> None:
    csv = tmp_path / "t.csv"
    small_frame.to_csv(csv, index=False)
    files = csv_to_parquet(csv, tmp_path / "parts", partition_rows=150)
    assert [f.name for f in files] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    pieces = list_pieces(tmp_path / "parts")
    assert [p.rows for p in pieces] == [150, 150, 100]
    back = pd.concat([read_piece(p) for p in pieces], ignore_index=True)
    assert all(pd.api.types.is_object_dtype(back[c]) for c in back.columns)  # cells kept as text
    pd.testing.assert_frame_equal(typed_sample(back, source=csv), read_table(csv))


def test_leading_zeros_survive_chunked_conversion(tmp_path: Path) -> None:
    """Chunks that happen to hold only 5-digit ZIPs must not turn the column into numbers."""
    zips = ["12345", "23456", "99999", "02134", "00501"]  # the first chunk has no leading zero
    lines = [f"{zips[i % 5] if i < 5 else zips[3 + i % 2]},{i},{'x' if i % 3 else ''},{i / 4 if i % 4 else ''}"
             for i in range(20)]
    csv = tmp_path / "zips.csv"
    csv.write_text("zip,n,tag,amount\n" + "\n".join(lines) + "\n", encoding="utf-8")
    csv_to_parquet(csv, tmp_path / "parts", partition_rows=5)
    first = read_piece(list_pieces(tmp_path / "parts")[0])
    assert first["zip"].tolist() == zips  # text, not 12345 as an integer
    back = typed_sample(pd.concat([read_piece(p) for p in list_pieces(tmp_path / "parts")], ignore_index=True),
                        source=csv)
    expected = read_table(csv)
    pd.testing.assert_frame_equal(back, expected)
    assert back["zip"].iloc[5:7].tolist() == ["00501", "02134"] and back["n"].dtype == "int64"


def test_infinity_in_a_converted_csv_is_refused_as_read_table_does(tmp_path: Path) -> None:
    csv = tmp_path / "inf.csv"
    csv.write_text("a,b\n1,x\ninf,y\n", encoding="utf-8")
    csv_to_parquet(csv, tmp_path / "parts", partition_rows=1)
    back = pd.concat([read_piece(p) for p in list_pieces(tmp_path / "parts")], ignore_index=True)
    with pytest.raises(DataFileError, match="infinite"):
        read_table(csv)
    with pytest.raises(DataFileError, match="infinite"):
        typed_sample(back, source=csv)


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
