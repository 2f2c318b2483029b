"""``synthstruct infer DATA -o schema.yaml``."""

from __future__ import annotations

from pathlib import Path

import typer

from synthstruct._cli._common import console, handle_errors

__all__ = ["infer"]


@handle_errors
def infer(
    data: Path = typer.Argument(..., help="CSV or Parquet file."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the schema here (default: stdout)."),
    name: str = typer.Option(None, "--name", help="Table name (default: the file name)."),
    no_pii: bool = typer.Option(False, "--no-pii", help="Skip content-based PII detection (faster)."),
    seed: int = typer.Option(0, "--seed", help="Seed for the value samples used in detection."),
) -> None:
    from synthstruct.dataio import atomic_write_bytes, check_output_file, read_table, table_name_for
    from synthstruct.schema.check import validate_table
    from synthstruct.schema.io import dump_schema

    if output is not None:
        check_output_file(output, overwrite=True)  # a missing or read-only folder fails before inference
    frame = read_table(data)
    validate_table(frame, source=str(data))
    from synthstruct.schema.infer import infer_schema  # loads Presidio: only for valid input

    schema, comments = infer_schema(frame, name=name or table_name_for(data), detect_pii=not no_pii, seed=seed)
    header = (f"# Schema proposed by 'synthstruct infer' from {data.name} ({len(frame)} rows).\n"
              "# Review every column: kinds decide what is learned (structured), generated (id, pii) or\n"
              "# written by a text generator (text). See docs/schema.md.\n")
    text = header + dump_schema(schema, comments=comments)
    if output is None:
        typer.echo(text, nl=False)
    else:
        atomic_write_bytes(output, text.encode("utf-8"))
        console.print(f"schema written to {output} ({len(schema.columns)} columns)")
