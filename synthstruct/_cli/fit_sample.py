"""``synthstruct fit DATA --schema S -o MODEL_DIR`` and ``synthstruct sample MODEL_DIR -n N -o FILE``."""

from __future__ import annotations

from pathlib import Path

import typer

from synthstruct._cli._common import console, handle_errors

__all__ = ["fit", "sample"]


@handle_errors
def fit(
    data: Path = typer.Argument(..., help="CSV or Parquet file with the real rows."),
    schema: Path = typer.Option(None, "--schema", "-s", help="Schema YAML (default: inferred)."),
    output: Path = typer.Option(..., "--output", "-o", help="Model directory to create."),
    engine: str = typer.Option(None, "--engine", "-e", help="Engine name (default fast_copula)."),
    epochs: int = typer.Option(None, "--epochs", min=1, help="Epochs for ctgan/tvae."),
    protect_k: int = typer.Option(None, "--protect-k", min=0,
                                  help="Value protection k (0 = off; default 5, and 0 with --engine dp)."),
    epsilon: float = typer.Option(None, "--epsilon", help="Differential privacy budget ε (selects --engine dp)."),
    delta: float = typer.Option(None, "--delta", help="Differential privacy δ (default 1e-6; below 1/rows)."),
    seed: int = typer.Option(0, "--seed"),
    no_raw_values: bool = typer.Option(
        False, "--no-raw-values",
        help="Keep numbers in the saved model only as means of at least --protect-k rows (default engine only)."),
    target: str = typer.Option(None, "--target", "-t", help="Target column (conditional sampling), or 'none'."),
) -> None:
    from synthstruct.dataio import atomic_directory, check_output_dir, read_table, table_name_for
    from synthstruct.errors import DataFileError, Problem
    from synthstruct.release.pipeline import schema_for
    from synthstruct.schema.io import load_schema
    from synthstruct.synthesizers.table import DEFAULT_ENGINE, TableSynthesizer

    if output.exists() or output.is_symlink():
        raise DataFileError("model directory exists", [Problem(str(output), "already exists",
                                                              "choose a new directory")], source=str(output))
    from synthstruct.dp.guard import is_private, require_declared_schema, resolve_engine_options

    check_output_dir(output)  # a read-only or impossible path fails before fitting
    schema_obj = load_schema(schema) if schema is not None else None  # a bad schema fails before reading data
    params = {"epochs": epochs} if epochs is not None else None
    engine, params = resolve_engine_options(engine, epsilon, delta, params)
    if protect_k is None:
        protect_k = 0 if is_private(engine) else 5
    synth = TableSynthesizer(engine=engine or DEFAULT_ENGINE, engine_params=params, protect_k=protect_k,
                             raw_values=not no_raw_values)
    synth.check_raw_values()  # --no-raw-values with an engine that keeps values fails before reading data
    frame = read_table(data)
    schema_obj, inferred = schema_for(frame, schema_obj, name=table_name_for(data), source=str(data),
                                      target=target)
    if is_private(engine):
        require_declared_schema(inferred)
    with console.status(f"fitting {synth.engine} on {len(frame)} rows"):
        synth.fit(frame, schema=schema_obj, seed=seed, source=str(data))
    # a fresh, randomly named private sibling (never a predictable path an attacker could plant a link at)
    with atomic_directory(output) as tmp:
        tmp.rmdir()
        synth.save(tmp)
    console.print(f"model saved to {output}")


@handle_errors
def sample(
    model: Path = typer.Argument(..., help="Model directory written by 'synthstruct fit'."),
    rows: int = typer.Option(..., "--rows", "-n", min=1, help="Rows to generate."),
    output: Path = typer.Option(..., "--output", "-o", help="Output file (.csv or .parquet)."),
    seed: int = typer.Option(0, "--seed"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output file."),
    no_escape_formulas: bool = typer.Option(
        False, "--no-escape-formulas",
        help="CSV: write cells starting with = + - @ as they are (default: prefix ' so spreadsheets do not run them)."),
) -> None:
    from synthstruct._limits import check_rows
    from synthstruct.dataio import SUPPORTED_SUFFIXES, check_output_file, write_table
    from synthstruct.schema.check import to_output
    from synthstruct.synthesizers.table import TableSynthesizer

    check_output_file(output, overwrite=overwrite, suffixes=SUPPORTED_SUFFIXES)
    synth = TableSynthesizer.load(model)
    check_rows(rows, len(synth.schema_.columns))
    with console.status(f"sampling {rows} rows"):
        frame = synth.sample(rows, seed=seed)
    write_table(to_output(frame, synth.schema_), output, escape_csv_formulas=not no_escape_formulas)
    console.print(f"{rows} rows written to {output}")
