"""Scale-out: releases of tables larger than one machine, run on Dask with bounded memory.

Inputs and outputs are partitioned Parquet datasets (a directory of files). The synthesizer is fitted
on a seeded sample of the input; synthetic rows are drawn partition by partition with per-partition
seeds (identical output whatever the number of workers); privacy and fidelity statistics are computed
per partition and merged. See ``docs/scale.md``. Dask is imported only when a cluster is used.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_distributed_release"]


def __getattr__(name: str) -> Any:  # lazy: ``import synthstruct.scale`` must not import dask
    if name == "run_distributed_release":
        from synthstruct.scale.release import run_distributed_release

        return run_distributed_release
    raise AttributeError(name)
