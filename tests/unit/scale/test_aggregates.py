"""Per-partition statistics merge to what the single-machine computations give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthstruct.evaluation.fidelity import column_shapes
from synthstruct.evaluation.metric import EvaluationContext
from synthstruct.privacy.distances import nearest_neighbours
from synthstruct.evaluation.encoding import MixedEncoder
from synthstruct.scale.aggregates import (
    ColumnProfile,
    DistanceSummary,
    blocked_neighbours,
)
from synthstruct.schema.check import coerce_to_schema
from synthstruct.schema.infer import infer_schema


def _tables(small_frame: pd.DataFrame):
    schema, _ = infer_schema(small_frame, name="t")
    frame = coerce_to_schema(small_frame, schema)
    train, other = frame.iloc[:250].reset_index(drop=True), frame.iloc[250:].reset_index(drop=True)
    return schema, train, other


def test_blocked_neighbours_equal_whole_reference(small_frame: pd.DataFrame) -> None:
    schema, train, other = _tables(small_frame)
    encoder = MixedEncoder().fit(schema, train, other)
    query, reference = encoder.transform(other), encoder.transform(pd.concat([train, train.iloc[:5]]))
    whole = nearest_neighbours(query, reference, n_columns=encoder.n_columns)
    blocked = blocked_neighbours(query, reference, n_columns=encoder.n_columns, reference_block_rows=37)
    np.testing.assert_array_equal(blocked.distance, whole.distance)
    np.testing.assert_array_equal(blocked.second, whole.second)
    np.testing.assert_array_equal(blocked.index, whole.index)
    # duplicated rows in the reference make the second distance 0 for their queries
    self_query = blocked_neighbours(encoder.transform(train.iloc[:5]), reference, n_columns=encoder.n_columns,
                                    reference_block_rows=100)
    assert (self_query.second == 0).all() and (self_query.distance == 0).all()


def test_distance_summaries_add_up() -> None:
    rng = np.random.default_rng(1)
    values = np.r_[np.zeros(7), rng.random(993) * 0.4]
    parts = [DistanceSummary.of(v) for v in np.array_split(values, 4)]
    merged = parts[0] + parts[1] + parts[2] + parts[3]
    whole = DistanceSummary.of(values)
    np.testing.assert_array_equal(merged.counts, whole.counts)
    assert (merged.n, merged.zeros) == (1000, 7)
    assert abs(merged.quantile(0.5) - float(np.median(values))) <= 0.001


def test_profiles_merge_and_match_column_shapes(small_frame: pd.DataFrame) -> None:
    schema, train, other = _tables(small_frame)
    bins = ColumnProfile.bins_from(schema, train)
    merged = bins.count(other.iloc[:60]) + bins.count(other.iloc[60:])
    whole = bins.count(other)
    assert merged.rows == len(other)
    for name, kind in bins.kinds.items():
        if kind in ("numerical", "datetime"):
            np.testing.assert_array_equal(merged.counts[name], whole.counts[name])
        else:
            pd.testing.assert_series_equal(merged.counts[name].sort_index(), whole.counts[name].sort_index(),
                                           check_dtype=False, check_names=False)
    scores = bins.count(train).scores(merged)
    exact = column_shapes(EvaluationContext(train=train, synthetic=other, schema=schema)).details["columns"]
    for name, kind in bins.kinds.items():
        if kind in ("numerical", "datetime"):  # KS on bin edges: a lower bound within one bin's mass
            assert exact[name]["score"] - 1e-12 <= scores[name] <= exact[name]["score"] + 0.02
        else:
            assert abs(scores[name] - exact[name]["score"]) < 1e-12


@pytest.mark.parametrize("values", [
    np.random.default_rng(0).choice(np.array(["a", "b", None, "c", "(missing)"], dtype=object), 5_000),
    [1, "1", np.nan, None, 2.0, "x", True, "True"] * 10,  # 1 == True: counted on labels, not raw values
    pd.Categorical(["x", "y", None, "x"]),
    [np.nan] * 5,
])
def test_label_counts_equal_counting_every_label(values) -> None:
    from synthstruct.evaluation.fidelity import as_labels
    from synthstruct.scale.aggregates import label_counts

    series = pd.Series(values, dtype=object) if not isinstance(values, pd.Categorical) else pd.Series(values)
    expected = as_labels(series).value_counts().sort_index()
    got = label_counts(series)
    assert got.index.tolist() == expected.index.tolist() and got.tolist() == expected.tolist()
