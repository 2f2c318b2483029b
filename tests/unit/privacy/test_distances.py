"""Nearest-neighbour distances against a brute-force float64 reference implementation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthstruct.evaluation.metric import EvaluationContext
from synthstruct.privacy.distances import NeighbourDistances, nearest_neighbours, neighbour_distances
from synthstruct.evaluation.encoding import MixedEncoder
from synthstruct.schema.model import Schema

SCHEMA = Schema.model_validate({
    "schema_version": 1,
    "name": "mixed",
    "columns": {
        "pid": {"kind": "id", "strategy": "sequence"},
        "x": {"kind": "numerical"},
        "y": {"kind": "numerical"},
        "when": {"kind": "datetime"},
        "colour": {"kind": "categorical"},
        "code": {"kind": "categorical"},
        "flag": {"kind": "boolean"},
        "grade": {"kind": "ordinal", "order": ["low", "mid", "high"]},
        "note": {"kind": "text"},
    },
})


def mixed_frame(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Random mixed data with missing values in every structured column."""
    def holes(values: pd.Series, share: float = 0.1) -> pd.Series:
        return values.mask(rng.random(n) < share)

    frame = pd.DataFrame({
        "pid": [f"P{i}" for i in range(n)],
        "x": holes(pd.Series(rng.normal(size=n) * 10)),
        "y": pd.Series(rng.integers(0, 4, size=n).astype(float)),  # many ties
        "when": holes(pd.Series(pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"))),
        "colour": holes(pd.Series(rng.choice(["red", "green", "blue"], size=n), dtype=object)),
        "code": holes(pd.Series(rng.integers(0, 150, size=n).astype(str), dtype=object)),
        "flag": pd.Series(rng.choice([True, False], size=n), dtype="boolean").mask(rng.random(n) < 0.1),
        "grade": holes(pd.Series(rng.choice(["low", "mid", "high"], size=n), dtype=object)),
        "note": ["free text"] * n,
    })
    return frame


def brute_force(query: pd.DataFrame, reference: pd.DataFrame, train: pd.DataFrame) -> np.ndarray:
    """The documented distance, written directly in float64 (full matrix)."""
    columns = SCHEMA.structured_columns
    total = np.zeros((len(query), len(reference)))
    for name in columns:
        kind = SCHEMA.columns[name].kind
        if kind in ("numerical", "datetime"):
            def num(s: pd.Series) -> np.ndarray:
                if kind == "datetime":
                    out = s.to_numpy("datetime64[ns]").astype("int64").astype(float)
                    out[s.isna().to_numpy()] = np.nan
                    return out
                return s.to_numpy(float)
            t = num(train[name])
            t = t[~np.isnan(t)]
            lo, hi = np.quantile(t, [0.01, 0.99])
            a, b = num(query[name])[:, None], num(reference[name])[None, :]
            d = np.minimum(np.abs(a - b) / (hi - lo), 1.0)
            d = np.where(np.isnan(a) & np.isnan(b), 0.0, np.where(np.isnan(a) | np.isnan(b), 1.0, d))
        else:
            a = query[name].astype(object).to_numpy()
            b = reference[name].astype(object).to_numpy()
            d = np.array([[0.0 if (pd.isna(u) and pd.isna(v)) or (not pd.isna(u) and not pd.isna(v) and u == v)
                           else 1.0 for v in b] for u in a])
        total += d
    return total / len(columns)


@pytest.mark.parametrize("max_onehot", [64, 2])  # one-hot path and code-comparison path
def test_nearest_neighbours_match_brute_force(max_onehot: int) -> None:
    rng = np.random.default_rng(7)
    train, query = mixed_frame(300, rng), mixed_frame(120, rng)
    query.iloc[:5] = train.iloc[10:15].to_numpy()  # exact copies -> distance 0
    encoder = MixedEncoder(max_onehot=max_onehot).fit(SCHEMA, train, query)
    nn = nearest_neighbours(encoder.transform(query), encoder.transform(train),
                            n_columns=encoder.n_columns, block_rows=17, n_jobs=2)
    full = brute_force(query, train, train)
    expected = np.sort(full, axis=1)
    np.testing.assert_allclose(nn.distance, expected[:, 0], atol=1e-5)
    np.testing.assert_allclose(nn.second, expected[:, 1], atol=1e-5)
    np.testing.assert_allclose(full[np.arange(len(query)), nn.index], expected[:, 0], atol=1e-5)
    assert np.all(nn.distance[:5] == 0.0)
    assert encoder.n_columns == 7  # id and text columns are excluded


def test_missing_against_missing_is_zero_and_against_value_is_one() -> None:
    schema = Schema.model_validate({"schema_version": 1, "name": "m", "columns": {
        "x": {"kind": "numerical"}, "c": {"kind": "categorical"}}})
    train = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b", "a"]})
    query = pd.DataFrame({"x": [np.nan, np.nan], "c": [None, "a"]})
    reference = pd.DataFrame({"x": [np.nan, 100.0], "c": [None, None]})
    encoder = MixedEncoder().fit(schema, train, query, reference)
    nn = nearest_neighbours(encoder.transform(query), encoder.transform(reference), n_columns=2)
    # row 0: (NaN, None) vs (NaN, None) = 0; vs (100, None) = (1 + 0) / 2
    # row 1: (NaN, 'a') vs (NaN, None) = (0 + 1) / 2; vs (100, None) = (1 + 1) / 2
    np.testing.assert_allclose(nn.distance, [0.0, 0.5])
    np.testing.assert_allclose(nn.second, [0.5, 1.0])


def test_from_context_subsamples_train_to_holdout_size_deterministically() -> None:
    rng = np.random.default_rng(3)
    train, holdout, synthetic = mixed_frame(400, rng), mixed_frame(100, rng), mixed_frame(150, rng)
    ctx = EvaluationContext(train=train, synthetic=synthetic, schema=SCHEMA, holdout=holdout, seed=5)
    dist = neighbour_distances(ctx)
    again = NeighbourDistances.from_context(
        EvaluationContext(train=train, synthetic=synthetic, schema=SCHEMA, holdout=holdout, seed=5))
    assert dist.train.n_rows == dist.holdout.n_rows == 100
    np.testing.assert_array_equal(dist.train_index, again.train_index)
    np.testing.assert_array_equal(dist.synthetic_to_train.distance, again.synthetic_to_train.distance)
    assert len(dist.train_to_synthetic.distance) == 100
    assert len(dist.holdout_to_synthetic.distance) == 100
    described = dist.describe()
    assert described["train_subsampled_to_holdout_size"] is True
    assert described["train_rows_used"] == 100 and described["columns_used"] == 7


def test_without_holdout_uses_all_train_rows() -> None:
    rng = np.random.default_rng(4)
    train, synthetic = mixed_frame(200, rng), mixed_frame(50, rng)
    dist = neighbour_distances(EvaluationContext(train=train, synthetic=synthetic, schema=SCHEMA))
    assert dist.train.n_rows == 200
    assert dist.synthetic_to_holdout is None and dist.holdout_to_synthetic is None
    assert np.all((dist.synthetic_to_train.distance >= 0) & (dist.synthetic_to_train.distance <= 1))


def test_both_directions_from_one_pass_equal_two_separate_passes() -> None:
    """nearest_neighbours_both gives exactly what two nearest_neighbours calls give, ties included."""
    import numpy as np
    import pandas as pd

    from synthstruct.privacy.distances import MixedEncoder, nearest_neighbours, nearest_neighbours_both
    from synthstruct.schema.model import Schema

    rng = np.random.default_rng(0)

    def frame(n: int) -> pd.DataFrame:  # few distinct values: many tied distances
        return pd.DataFrame({"a": rng.integers(0, 5, n).astype(float), "b": rng.choice(list("xyz"), n),
                             "c": rng.normal(size=n).round(1)})

    schema = Schema.model_validate({"schema_version": 1, "name": "t", "columns": {
        "a": {"kind": "numerical"}, "b": {"kind": "categorical"}, "c": {"kind": "numerical"}}})
    left, right = frame(900), frame(500)
    encoder = MixedEncoder().fit(schema, left, None, right)
    a, b = encoder.transform(left), encoder.transform(right)
    for block_rows in (None, 7, 128):
        forward, backward = nearest_neighbours_both(a, b, n_columns=encoder.n_columns, block_rows=block_rows)
        for got, want in ((forward, nearest_neighbours(a, b, n_columns=encoder.n_columns)),
                          (backward, nearest_neighbours(b, a, n_columns=encoder.n_columns))):
            np.testing.assert_array_equal(got.distance, want.distance)
            np.testing.assert_array_equal(got.second, want.second)
            np.testing.assert_array_equal(got.index, want.index)
        _, distances_only = nearest_neighbours_both(a, b, n_columns=encoder.n_columns, block_rows=block_rows,
                                                    backward="distance")
        np.testing.assert_array_equal(distances_only.distance, backward.distance)
        assert np.isnan(distances_only.second).all() and (distances_only.index == -1).all()


def _dot_product_sums(query, reference) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The kernel as it was before the byte counts: one-hot dot product, then the same float32 passes."""
    total = (np.float32(query.n_onehot_columns) - query.onehot @ reference.onehot.T).astype(np.float32)
    for j in range(query.scaled.shape[1]):
        total += np.minimum(np.abs(query.scaled[:, j, None] - reference.scaled[None, :, j]), np.float32(1.0))
    for j in range(query.codes.shape[1]):
        total += (query.codes[:, j, None] != reference.codes[None, :, j]).astype(np.float32)
    return total


@pytest.mark.parametrize("max_onehot", [64, 2])
def test_byte_counted_mismatches_equal_the_one_hot_dot_product_bit_for_bit(max_onehot: int) -> None:
    """The categorical count moved from a float32 matrix product to byte counts of level slots; every sum is
    the same float32 value, so distances, ties and reports do not change."""
    from synthstruct.privacy.distances import PreparedReference, block_distance_sums

    rng = np.random.default_rng(11)
    train, query = mixed_frame(200, rng), mixed_frame(90, rng)
    encoder = MixedEncoder(max_onehot=max_onehot).fit(SCHEMA, train, query)
    q, r = encoder.transform(query), encoder.transform(train)
    assert q.levels.dtype == np.uint8 and q.levels.shape == (90, q.n_onehot_columns)
    got = block_distance_sums(q, 0, q.n_rows, PreparedReference(r))
    np.testing.assert_array_equal(got, _dot_product_sums(q, r))


def test_unseen_values_match_nothing_not_even_each_other() -> None:
    """A value the encoder was not fitted on has no one-hot slot: it differs from every value, itself included
    (as it did with the one-hot dot product, where its row of zeros matched nothing)."""
    schema = Schema.model_validate({"schema_version": 1, "name": "u", "columns": {
        "c": {"kind": "categorical"}, "d": {"kind": "categorical"}}})
    fitted = pd.DataFrame({"c": ["a", "b"], "d": ["x", "y"]})
    encoder = MixedEncoder().fit(schema, fitted)
    unseen = pd.DataFrame({"c": ["zz", "a"], "d": ["x", "x"]})
    enc = encoder.transform(unseen)
    nn = nearest_neighbours(enc, enc, n_columns=2)
    # row 0 against itself: c differs (unseen), d equal -> 1/2; row 1 against itself: 0
    np.testing.assert_allclose(nn.distance, [0.5, 0.0])
    from synthstruct.privacy.distances import PreparedReference, block_distance_sums

    np.testing.assert_array_equal(block_distance_sums(enc, 0, 2, PreparedReference(enc)), [[1.0, 1.0], [1.0, 0.0]])


def test_more_than_255_one_hot_columns_are_counted_without_overflow() -> None:
    """Past 255 categorical columns the mismatch count needs more than a byte."""
    n_columns = 300
    schema = Schema.model_validate({"schema_version": 1, "name": "w", "columns": {
        f"c{i}": {"kind": "categorical"} for i in range(n_columns)}})
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({f"c{i}": rng.choice(["p", "q"], size=6) for i in range(n_columns)})
    opposite = frame.replace({"p": "q", "q": "p"})
    encoder = MixedEncoder().fit(schema, frame, opposite)
    from synthstruct.privacy.distances import PreparedReference, block_distance_sums

    q, r = encoder.transform(opposite), encoder.transform(frame)
    got = block_distance_sums(q, 0, 6, PreparedReference(r))
    np.testing.assert_array_equal(np.diag(got), np.full(6, 300.0))  # every column differs: 300, not 300 - 256
    np.testing.assert_array_equal(got, _dot_product_sums(q, r))


def test_max_onehot_beyond_a_byte_is_refused() -> None:
    with pytest.raises(ValueError, match="max_onehot"):
        MixedEncoder(max_onehot=254)


def test_codes_kept_from_fit_equal_coding_the_frame_again() -> None:
    """row_keys / transform of a frame given to fit reuse the fit's codes: the same as a copy coded afresh."""
    rng = np.random.default_rng(11)
    train, holdout, synthetic = mixed_frame(300, rng), mixed_frame(80, rng), mixed_frame(200, rng)
    train.loc[:5, "code"] = [str(i) for i in range(1000, 1006)]  # values only one frame holds
    encoder = MixedEncoder().fit(SCHEMA, train, holdout, synthetic)
    assert encoder._frame_codes  # the fit kept codes of its frames
    for frame in (train, holdout, synthetic):
        fresh = frame.copy()  # another object: coded from its cells
        for name in encoder.levels_:
            kept, coded = encoder.category_codes(frame, name), encoder.category_codes(fresh, name)
            assert kept.dtype == coded.dtype == np.int64 and np.array_equal(kept, coded)
        assert np.array_equal(encoder.row_keys(frame), encoder.row_keys(fresh))
        a, b = encoder.transform(frame), encoder.transform(fresh)
        assert np.array_equal(a.levels, b.levels) and np.array_equal(a.codes, b.codes) and np.array_equal(a.onehot, b.onehot)
    import pickle

    shipped = pickle.loads(pickle.dumps(encoder))  # noqa: S301 - our own object; as sent to Dask workers
    assert not hasattr(shipped, "_frame_codes") and np.array_equal(shipped.row_keys(train), encoder.row_keys(train))
