"""``synthstruct release DATA [--schema S] [--engine E] [--epsilon E [--delta D]] [--rows N] [--seed K] [--policy P] [--no-resume] -o DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from synthstruct._cli._common import (
    console,
    engine_help,
    err_console,
    handle_errors,
    print_bundle_verdict,
    print_notes,
    progress_bars,
    step_progress,
)

__all__ = ["release", "print_gate"]


def print_gate(result) -> None:  # noqa: ANN001 - ReleaseResult, imported lazily
    """Print the verdict and the checks as a table."""
    gate = result.gate
    table = Table(title=f"release gate ({gate.policy})", show_lines=False)
    for col in ("check", "value", "limit", "severity", "verdict"):
        table.add_column(col)
    for c in gate.checks:
        verdict = "[green]pass[/]" if c.passed else ("[red]FAIL[/]" if c.severity == "block" else "[yellow]warn[/]")
        if getattr(c, "status", "computed") == "not_computed":
            verdict = "[dim]not computed[/]" if c.passed else verdict + " (not computed)"
        value = "—" if c.value is None else f"{c.value:.4g}"
        table.add_row(c.name, value, f"{c.comparison} {c.threshold:.4g}", c.severity, verdict)
    console.print(table)
    print_bundle_verdict(result.passed, result.output, written="released")
    if not result.passed:
        for c in gate.failed_checks():
            console.print(f"  - {c.explanation}", markup=False)


def release_on_cluster(data: Path, *, output: Path, cluster: str, distance_rows: int,
                       **options: Any) -> None:
    """The distributed release behind ``release --cluster`` and ``release-dask``: run it, print the gate and
    the partition summary, exit 1 when blocked (``distance_rows`` 0 = every synthetic row)."""
    from synthstruct.scale.release import run_distributed_release

    with step_progress(f"release {data.name} on {cluster}") as on_progress:
        result = run_distributed_release(data, output=output, cluster=cluster, distance_rows=distance_rows or None,
                                         on_progress=on_progress, **options)
    print_gate(result)
    scale = result.report["scale"]
    console.print(f"{scale['synthetic_rows']} rows in {scale['partitions']} partitions on {scale['workers']} workers; "
                  f"fitted on a sample of {scale['fit_sample']['rows']} of {scale['fit_sample']['of_input_rows']} rows")
    if not result.passed:
        raise typer.Exit(code=1)


@handle_errors
def release(
    data: Path = typer.Argument(..., help="CSV or Parquet file with the real rows (or a directory, SQLite file or database URL: docs/relational.md)."),
    output: Path = typer.Option(..., "--output", "-o", help="Bundle directory to create."),
    schema: Path = typer.Option(None, "--schema", "-s", help="Schema YAML (default: inferred from the data)."),
    engine: str = typer.Option(None, "--engine", "-e", help=engine_help()),
    epsilon: float = typer.Option(None, "--epsilon", help="Differential privacy budget ε (selects --engine dp; "
                                                          "see docs/dp.md)."),
    delta: float = typer.Option(None, "--delta", help="Differential privacy δ (default 1e-6; must be below 1/rows)."),
    rows: int = typer.Option(None, "--rows", "-n", min=1, help="Synthetic rows (default: as many as the training split; "
                                                          "with --engine dp its noisy estimate)."),
    seed: int = typer.Option(0, "--seed", help="Seed; the same input, schema and seed give the same bytes."),
    policy: str = typer.Option("default", "--policy", "-p", help="default, strict, lenient, or a policy YAML path."),
    epochs: int = typer.Option(None, "--epochs", min=1, help="Epochs for ctgan/tvae."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output directory."),
    map_: str = typer.Option(None, "--map", help="Rename data columns to the schema's: real=schema,..."),
    cluster: str = typer.Option(None, "--cluster",
                                help="Run on Dask: local, local:N or tcp://HOST:PORT (partitioned Parquet output)."),
    partition_rows: int = typer.Option(250_000, "--partition-rows", min=1, help="Rows per partition (with --cluster)."),
    fit_sample_rows: int = typer.Option(200_000, "--fit-sample-rows", min=100,
                                        help="With --cluster: rows of the seeded sample the engine is fitted on."),
    retries: int = typer.Option(2, "--retries", min=0, help="With --cluster: times a failed partition task is retried."),
    distance_rows: int = typer.Option(20_000, "--distance-rows", min=0,
                                      help="With --cluster: synthetic rows (a seeded sample over the partitions) "
                                           "compared with every training row; 0: every synthetic row."),
    no_full_distances: bool = typer.Option(False, "--no-full-distances",
                                           help="With --cluster: skip the distances of the partitions to train."),
    canaries: int = typer.Option(0, "--canaries", min=0,
                                 help="Audit run: plant M unique canary rows and report how many leak."),
    resume: bool = typer.Option(True, "--resume/--no-resume",
                                help="Continue the free text of an interrupted run of the same command "
                                     "(default), or discard it and start over."),
    to: str = typer.Option(None, "--to", help="Several tables (directory, SQLite, database URL): also write the "
                                              "synthetic tables to a new SQLite file or PostgreSQL URL."),
    no_escape_formulas: bool = typer.Option(
        False, "--no-escape-formulas",
        help="CSV: write cells starting with = + - @ as they are (default: prefix ' so spreadsheets do not run them)."),
    target: str = typer.Option(None, "--target", "-t",
                               help="Target column for the split and utility metrics, or 'none' "
                                    "(default: the schema's, or proposed by inference with a reason)."),
    explain: bool = typer.Option(False, "--explain", help="Print every inference decision in full."),
    exact_privacy: bool = typer.Option(False, "--exact-privacy",
                                       help="Distance-based privacy metrics over every row, also on large tables "
                                            "(default: sampled above the policy's max_exact_pairs; with "
                                            "--cluster: every row of the gate's inputs)."),
) -> None:
    from synthstruct._cli.relational import run_release_db, source_text
    from synthstruct.relational.sources import is_relational_source

    partitioned = cluster is not None and Path(data).is_dir() and any(Path(data).rglob("*.parquet"))
    if not partitioned and is_relational_source(source_text(data)):  # a whole database: docs/relational.md
        unsupported = [flag for flag, value in (("--engine", engine), ("--rows", rows), ("--epochs", epochs),
                                                ("--map", map_), ("--cluster", cluster), ("--canaries", canaries))
                       if value]
        if unsupported:
            from synthstruct.errors import InputError, Problem

            raise InputError("option not supported for several tables", [Problem(
                flag, "does not apply to a directory, SQLite file or database URL",
                "drop it (see 'synthstruct release-db --help')") for flag in unsupported])
        run_release_db(data, output=output, schema=schema, to=to, to_schema=None, scale=1.0, seed=seed,
                       policy=policy, overwrite=overwrite, detect_pii=True)
        return
    from synthstruct.release.pipeline import release as run_release

    from synthstruct.dp.guard import resolve_engine_options

    params = {"epochs": epochs} if epochs is not None else None
    engine, params = resolve_engine_options(engine, epsilon, delta, params)
    column_map = None
    if map_:
        from synthstruct.generate.mapping import parse_mapping

        column_map = parse_mapping(map_)
    if cluster is not None:
        from synthstruct.errors import InputError, Problem

        if canaries or column_map:
            raise InputError("option not supported on the distributed path", [Problem(
                "--cluster", "cannot be combined with --canaries or --map yet", "drop one of the options")])
        if engine == "dp":
            raise InputError("option not supported on the distributed path", [Problem(
                "--cluster", "has no differentially private mode (partitions would each spend the budget)",
                "drop --cluster to release with --epsilon")])
        release_on_cluster(data, output=output, cluster=cluster, partition_rows=partition_rows,
                           fit_sample_rows=fit_sample_rows, schema=schema, engine=engine, engine_params=params,
                           rows=rows, seed=seed, policy=policy, retries=retries, distance_rows=distance_rows,
                           full_output_distances=not no_full_distances, overwrite=overwrite,
                           exact_privacy=exact_privacy)
        return
    try:
        with progress_bars(f"release {data.name}") as (on_progress, on_text):
            result = run_release(data, output=output, schema=schema, engine=engine, engine_params=params, rows=rows,
                                 seed=seed, policy=policy, overwrite=overwrite, canaries=canaries,
                                 on_progress=on_progress, column_map=column_map, resume=resume,
                                 on_text_progress=on_text, escape_formulas=not no_escape_formulas,
                                 target=target, exact_privacy=exact_privacy)
    except KeyboardInterrupt as exc:
        err_console.print("[bold red]interrupted[/]: ", end="")
        err_console.print(f"no bundle was written to {output}", markup=False, soft_wrap=True)
        print_notes(exc)
        raise typer.Exit(code=130) from None
    from synthstruct._cli._inference import print_inference

    print_inference(result.report.get("inference") or {}, console, explain=explain)
    print_gate(result)
    leak = result.gate.metrics.get("canary_leakage")
    if leak is not None and leak.value is not None:
        planted = result.manifest["canaries"]
        console.print(f"canaries: {leak.value:.0f} of {planted['members']} member canaries leaked "
                      f"(non-members: {leak.reference:.0f}; details in report.json → metrics.canary_leakage)")
    if not result.passed:
        raise typer.Exit(code=1)
