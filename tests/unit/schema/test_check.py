"""schema.check helpers."""

from __future__ import annotations


def test_category_keys_equal_mapping_category_key_cell_by_cell():
    """The memoised keys are those of category_key per cell, with True / 1 / 1.0 told apart by type."""
    import numpy as np
    import pandas as pd

    from synthstruct.schema.check import category_key, category_keys

    series = pd.Series([1, 1.0, True, "1", " 1 ", None, np.nan, "a", 2.5, np.int64(3), False, 0, "01", [1]] * 3,
                       dtype=object)
    expected = series.map(category_key, na_action="ignore")
    got = category_keys(series)
    assert got.index.equals(series.index)
    assert [None if pd.isna(v) else v for v in got] == [None if pd.isna(v) else v for v in expected]
    assert got.iloc[2] == "True" and got.iloc[0] == "1"
