"""Seeded plans: fit sample positions and output partitions."""

from __future__ import annotations

import numpy as np
import pytest

from synthstruct.errors import InputError
from synthstruct.scale.cluster import parse_cluster
from synthstruct.scale.plan import fit_sample_positions, output_partitions


def test_fit_sample_is_seeded_uniform_and_in_order() -> None:
    rows = [100, 0, 250, 50]
    picked = fit_sample_positions(rows, 120, seed=7)
    assert [len(p) for p in picked][1] == 0 and sum(len(p) for p in picked) == 120
    for positions, n in zip(picked, rows):
        assert np.all(np.diff(positions) > 0) and (len(positions) == 0 or positions.max() < n)
    again = fit_sample_positions(rows, 120, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(picked, again))
    other = fit_sample_positions(rows, 120, seed=8)
    assert not all(np.array_equal(a, b) for a, b in zip(picked, other))
    everything = fit_sample_positions(rows, 10_000, seed=7)
    assert all(np.array_equal(p, np.arange(n)) for p, n in zip(everything, rows))


def test_output_partitions_have_stable_seeds() -> None:
    parts = output_partitions(2_500, partition_rows=1_000, seed=3)
    assert [p.rows for p in parts] == [1_000, 1_000, 500]
    assert [p.file_name for p in parts] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert len({p.seed for p in parts}) == 3
    assert output_partitions(1_000, partition_rows=1_000, seed=3)[0] == parts[0]
    assert output_partitions(0, partition_rows=10, seed=3) == []


def test_parse_cluster() -> None:
    assert parse_cluster("tcp://10.0.0.1:8786").address == "tcp://10.0.0.1:8786"
    assert parse_cluster("local:3").workers == 3 and parse_cluster("local").workers is None
    assert parse_cluster("threads:2").processes is False
    for bad in ("local:0", "yarn", "local:x"):
        with pytest.raises(InputError):
            parse_cluster(bad)
