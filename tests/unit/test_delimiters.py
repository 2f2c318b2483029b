"""CSV files delimited by semicolons, tabs or pipes are read like comma files; broken ones still fail."""

from __future__ import annotations

import pandas as pd
import pytest

from synthstruct.dataio import read_table
from synthstruct.errors import DataFileError

FRAME = pd.DataFrame({"id": range(1, 41), "city": ["Lyon", "Gent", "Porto", "Bern"] * 10,
                      "amount": [f"{i * 3.5:.1f}" for i in range(40)], "note": ["a, b", "c", "d; e", "f"] * 10})


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_each_delimiter_reads_the_same_table(tmp_path, sep: str) -> None:
    path = tmp_path / "t.csv"
    FRAME.to_csv(path, index=False, sep=sep)
    got = read_table(path)
    assert list(got.columns) == list(FRAME.columns)
    assert got["note"].tolist() == FRAME["note"].tolist()  # quoted delimiters inside cells survive
    assert got["city"].tolist() == FRAME["city"].tolist()


def test_a_file_mixing_delimiters_is_still_refused_with_line_numbers(tmp_path) -> None:
    lines = FRAME.to_csv(index=False).splitlines()
    for i in range(2, len(lines), 3):
        lines[i] = lines[i].replace(",", ";")
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFileError, match="different number of fields"):
        read_table(path)
