"""``synthstruct scan DATA [--schema S] -o findings.json [--show-values]``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from synthstruct._cli._common import console, handle_errors

__all__ = ["scan"]


@handle_errors
def scan(
    data: Path = typer.Argument(..., help="CSV or Parquet file."),
    output: Path = typer.Option(..., "--output", "-o", help="Write the findings (JSON) here."),
    schema_path: Path = typer.Option(None, "--schema", help="Schema YAML: 'text' columns are scanned cell by cell."),
    show_values: bool = typer.Option(False, "--show-values",
                                     help="Include the matched raw values in the findings (sensitive!)."),
    recognizers: list[Path] = typer.Option(None, "--recognizers",
                                           help="Recognizer YAML file or folder (default: the built-in ones)."),
    seed: int = typer.Option(0, "--seed", help="Seed for the value samples of the column classifier."),
) -> None:
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from synthstruct.dataio import atomic_write_bytes, check_output_file, read_table
    from synthstruct.schema.io import load_schema

    check_output_file(output, overwrite=True)  # a folder, a missing or read-only folder fail before scanning
    frame = read_table(data)
    schema = load_schema(schema_path) if schema_path is not None else None
    if recognizers:  # validate the YAML before loading any model
        from synthstruct.pii.recognizers import load_recognizer_specs

        load_recognizer_specs(list(recognizers))
    from synthstruct.pii.presidio_engine import ensure_offline
    from synthstruct.pii.scanner import get_scan_analyzer, scan_frame

    ensure_offline()
    analyzer = get_scan_analyzer(None, tuple(str(p) for p in recognizers) if recognizers else None)
    report = scan_frame(frame, schema=schema, analyzer=analyzer, show_values=show_values, seed=seed)
    payload = report.to_dict() | {"source": data.name}
    atomic_write_bytes(output, (json.dumps(payload, indent=2, sort_keys=False) + "\n").encode("utf-8"))
    _print_summary(payload)
    console.print(f"findings written to {output} ({len(report.findings)} spans in "
                  f"{len(report.text_columns)} text columns, {len(report.columns)} PII columns)")


def _print_summary(payload: dict) -> None:
    from rich.table import Table

    table = Table(title="personal data found", show_lines=False)
    for head in ("column", "mode", "entity / counts", "share of cells"):
        table.add_column(head)
    for name, info in payload["columns"].items():
        table.add_row(name, "column", info["entity"], f"{info['share']:.0%} ({info['share_basis']})")
    for name, info in payload["text_columns"].items():
        counts = ", ".join(f"{k} {v}" for k, v in info["counts"].items()) or "none"
        table.add_row(name, "cells", counts, f"{info['share_of_cells_with_pii']:.0%} with PII")
    console.print(table)
