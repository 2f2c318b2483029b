"""schema.check helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


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


def test_to_output_integers_equal_pandas_nullable_cast() -> None:
    """Integer columns are built from int64 values and a mask: the same Series as ``astype("Int64")``;
    values outside int64 take pandas' conversion (and its error)."""
    from synthstruct.schema.check import _nullable_int

    rng = np.random.default_rng(3)
    values = np.round(rng.normal(0, 1e6, 5_000))
    values[::9] = np.nan
    values[1:4] = [-0.0, 2.0**62, -(2.0**62)]
    index = pd.RangeIndex(10, 5_010)
    expected = pd.Series(values, index=index).astype("Int64")
    got = _nullable_int(values, index)
    pd.testing.assert_series_equal(got, expected)
    assert got.isna().sum() == expected.isna().sum() > 0
    pd.testing.assert_series_equal(_nullable_int(np.array([np.nan, np.nan]), pd.RangeIndex(2)),
                                   pd.Series([np.nan, np.nan]).astype("Int64"))
    for bad in (np.array([1.0, np.inf]), np.array([1.0, 2.0**64]), np.array([-(2.0**64), np.nan])):
        with pytest.raises(Exception) as theirs:
            pd.Series(bad).astype("Int64")
        with pytest.raises(theirs.type):  # pandas' own error
            _nullable_int(bad, pd.RangeIndex(2))
