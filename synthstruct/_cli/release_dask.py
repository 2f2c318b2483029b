"""``synthstruct release-dask DATA -o DIR [--cluster local[:N] | tcp://HOST:PORT] [--partition-rows R]``.

The same run as ``synthstruct release DATA --cluster ...`` (one code path, :func:`release_on_cluster`), with
``--cluster local`` as its default. The distributed release (:func:`synthstruct.scale.release.run_distributed_release`): input a CSV, a
Parquet file or a directory of Parquet files; output ``data/<table>/part-NNNNN.parquet``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from synthstruct._cli._common import engine_help, handle_errors
from synthstruct._cli.release_cmd import release_on_cluster

__all__ = ["release_dask"]


@handle_errors
def release_dask(
    data: Path = typer.Argument(..., help="CSV file, Parquet file, or directory of Parquet files."),
    output: Path = typer.Option(..., "--output", "-o", help="Bundle directory to create."),
    cluster: str = typer.Option("local", "--cluster", help="local, local:N (N worker processes) or tcp://HOST:PORT."),
    partition_rows: int = typer.Option(250_000, "--partition-rows", min=1, help="Rows per synthetic partition."),
    fit_sample_rows: int = typer.Option(200_000, "--fit-sample-rows", min=100,
                                        help="Rows of the seeded sample the engine is fitted on."),
    schema: Path = typer.Option(None, "--schema", "-s", help="Schema YAML (default: inferred from the fit sample)."),
    engine: str = typer.Option(None, "--engine", "-e", help=engine_help(without=("dp",))),
    rows: int = typer.Option(None, "--rows", "-n", min=0, help="Synthetic rows (default: the input's size x train share)."),
    seed: int = typer.Option(0, "--seed", help="Seed; the same input and seed give the same bytes on any cluster size."),
    policy: str = typer.Option("default", "--policy", "-p", help="default, strict, lenient, or a policy YAML path."),
    retries: int = typer.Option(2, "--retries", min=0, help="Times a failed partition task is retried."),
    no_full_distances: bool = typer.Option(False, "--no-full-distances",
                                           help="Skip nearest-neighbour distances of every partition to train."),
    distance_rows: int = typer.Option(20_000, "--distance-rows", min=0,
                                      help="Synthetic rows (a seeded sample over the partitions) compared with "
                                           "every training row; 0: every synthetic row."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output directory."),
    exact_privacy: bool = typer.Option(False, "--exact-privacy",
                                       help="The gate's distance-based privacy metrics over every row of its inputs "
                                            "(default: sampled above the policy's max_exact_pairs)."),
) -> None:
    release_on_cluster(data, output=output, cluster=cluster, partition_rows=partition_rows,
                       fit_sample_rows=fit_sample_rows, schema=schema, engine=engine, rows=rows, seed=seed,
                       policy=policy, retries=retries, full_output_distances=not no_full_distances,
                       distance_rows=distance_rows, overwrite=overwrite, exact_privacy=exact_privacy)
