"""``synthstruct generate SCHEMA -n N [--set col=value:share,...] [--spec spec.yaml] [--seed K] -o OUT``.

Schema-only generation: no real data. Writes OUT (CSV or Parquet by suffix, atomically) and the
quality-control report next to it (``OUT`` without suffix + ``.qc.json``).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from synthstruct._cli._common import console, handle_errors

__all__ = ["generate", "qc_path_for"]


def _is_relational(path: Path) -> bool:
    """Whether a schema file is a relational pack (its first key is ``relational_version``)."""
    try:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip() and not line.lstrip().startswith("#"):
                    return line.startswith("relational_version:")
    except (OSError, UnicodeDecodeError):
        return False
    return False


def qc_path_for(output: Path) -> Path:
    """Where the quality report of ``output`` goes: ``cases.csv`` -> ``cases.qc.json``."""
    return output.with_name(f"{output.stem}.qc.json")


@handle_errors
def generate(
    schema: Path = typer.Argument(..., help="Schema YAML with priors and rules (e.g. schemas/medical/patient_case.yaml)."),
    output: Path = typer.Option(..., "--output", "-o", help="Output file (.csv or .parquet)."),
    rows: int = typer.Option(None, "--rows", "-n", min=1, help="Rows to generate (default: the spec's rows)."),
    set_shares: str = typer.Option(None, "--set", help="Class shares, e.g. sentiment=positive:0.5,sentiment=negative:0.5."),
    spec: Path = typer.Option(None, "--spec", help="Requirement spec YAML (rows, shares, text lengths, required elements)."),
    seed: int = typer.Option(0, "--seed", help="Seed; the same schema, spec and seed give the same rows."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output file."),
    no_escape_formulas: bool = typer.Option(
        False, "--no-escape-formulas",
        help="CSV: write cells starting with = + - @ as they are (default: prefix ' so spreadsheets do not run them)."),
) -> None:
    from synthstruct._limits import check_rows
    from synthstruct.dataio import SUPPORTED_SUFFIXES, atomic_write_bytes, check_output_dir, check_output_file, write_table
    from synthstruct.errors import DataFileError, Problem
    from synthstruct.generate import (
        generate_table,
        load_spec,
        merge_spec,
        parse_set_option,
    )
    from synthstruct.schema.io import load_schema

    if _is_relational(schema):  # a relational pack: a directory of tables, as generate-db
        from synthstruct._cli.relational import run_generate_db

        if rows is None or spec is not None or set_shares:
            raise DataFileError("relational pack", [Problem(
                schema.name, "is a relational pack (several tables)", "pass -n N and an output directory; "
                "--spec and --set are for single-table packs (or use synthstruct generate-db)")])
        run_generate_db(schema, output=output, rows=rows, seed=seed, overwrite=overwrite)
        return
    if output.parent.exists():
        check_output_file(output, overwrite=overwrite, suffixes=SUPPORTED_SUFFIXES)
    else:  # created just before writing, once generation worked
        if output.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise DataFileError("unsupported output format", [Problem(
                output.name, f"suffix {output.suffix or '(none)'!r}", "use .csv or .parquet")])
        check_output_dir(output.parent)
    loaded = load_schema(schema)
    request = merge_spec(load_spec(spec) if spec else None, rows=rows,
                         set_shares=parse_set_option(set_shares) if set_shares else None)
    check_rows(request.rows, len(loaded.columns))
    result = generate_table(loaded, spec=request, seed=seed)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_table(result.data, output, escape_csv_formulas=not no_escape_formulas)
    qc_path = qc_path_for(output)
    atomic_write_bytes(qc_path, (json.dumps(result.report, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    regen = result.report["consistency"]["regeneration"]
    verdict = "[green]passed[/]" if result.report["passed"] else "[red]FAILED[/]"
    console.print(f"generated {len(result.data)} rows → {output}; quality control {verdict} → {qc_path}")
    console.print(f"rows regenerated for breaking a rule: {regen.get('rows_regenerated', 0)} "
                  f"in {regen.get('rounds', 0)} rounds")
    if not result.report["passed"]:
        failed = [name for name in ("completeness", "consistency", "diversity", "accuracy")
                  if not result.report[name]["passed"]]
        failed += [f"shares.{c}" for c, s in result.report["shares"]["requested"].items() if not s["passed"]]
        console.print(f"failed quality-control sections: {', '.join(failed)} (details in {qc_path})")
        raise typer.Exit(code=1)
