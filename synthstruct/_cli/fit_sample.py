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
    protect_k: int = typer.Option(5, "--protect-k", min=0, help="Value protection k (0 = off)."),
    seed: int = typer.Option(0, "--seed"),
    target: str = typer.Option(None, "--target", "-t", help="Target column (conditional sampling), or 'none'."),
) -> None:
    from synthstruct.dataio import read_table, table_name_for
    from synthstruct.errors import DataFileError, Problem
    from synthstruct.release.pipeline import schema_for
    from synthstruct.synthesizers.table import DEFAULT_ENGINE, TableSynthesizer

    if output.exists():
        raise DataFileError("model directory exists", [Problem(str(output), "already exists",
                                                              "choose a new directory")], source=str(output))
    frame = read_table(data)
    schema_obj, _ = schema_for(frame, schema, name=table_name_for(data), source=str(data), target=target)
    params = {"epochs": epochs} if epochs is not None else None
    synth = TableSynthesizer(engine=engine or DEFAULT_ENGINE, engine_params=params, protect_k=protect_k)
    with console.status(f"fitting {synth.engine} on {len(frame)} rows"):
        synth.fit(frame, schema=schema_obj, seed=seed, source=str(data))
    tmp = output.with_name(f".{output.name}.tmp")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    try:
        synth.save(tmp)
        tmp.rename(output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    console.print(f"model saved to {output}")


@handle_errors
def sample(
    model: Path = typer.Argument(..., help="Model directory written by 'synthstruct fit'."),
    rows: int = typer.Option(..., "--rows", "-n", min=0, help="Rows to generate."),
    output: Path = typer.Option(..., "--output", "-o", help="Output file (.csv or .parquet)."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    from synthstruct.dataio import write_table
    from synthstruct.schema.check import to_output
    from synthstruct.synthesizers.table import TableSynthesizer

    synth = TableSynthesizer.load(model)
    with console.status(f"sampling {rows} rows"):
        frame = synth.sample(rows, seed=seed)
    write_table(to_output(frame, synth.schema_), output)
    console.print(f"{rows} rows written to {output}")
