"""Which synthetic rows a partition task compares with every training row."""

from __future__ import annotations

import numpy as np

from synthstruct.scale.plan import output_partitions
from synthstruct.scale.tasks import distance_positions


def test_distance_sample_is_spread_over_partitions_and_seeded() -> None:
    parts = output_partitions(1_050, partition_rows=300, seed=4)  # 300, 300, 300, 150
    chosen = [distance_positions(p, 210, 1_050) for p in parts]
    assert [len(c) for c in chosen] == [60, 60, 60, 30]  # ceil(210 * rows / 1050)
    for part, positions in zip(parts, chosen):
        assert np.all(np.diff(positions) > 0) and positions.min() >= 0 and positions.max() < part.rows
        np.testing.assert_array_equal(positions, distance_positions(part, 210, 1_050))  # same on any worker
    assert not np.array_equal(chosen[0], chosen[1])  # each partition draws its own rows


def test_every_row_when_the_budget_covers_the_output() -> None:
    parts = output_partitions(1_000, partition_rows=400, seed=0)
    assert all(distance_positions(p, 1_000, 1_000) is None for p in parts)
    assert all(distance_positions(p, None, 1_000) is None for p in parts)
    assert len(distance_positions(parts[0], 500, 1_000)) == 200
