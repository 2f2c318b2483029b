"""``synthstruct release-db SOURCE -o DIR [--to URL]``, ``synthstruct infer-db SOURCE -o schema.yaml`` and
``synthstruct generate-db PACK -n N -o DIR`` (a database from a relational pack, no data).

SOURCE is a directory of CSV/Parquet files (one per table), a SQLite file or a database URL
(``postgresql://user@host:5432/db``; the password from ``PGPASSWORD`` or ``~/.pgpass``). ``synthstruct
release`` hands such sources to ``release-db`` too.
"""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.table import Table

from synthstruct._cli._common import console, handle_errors

__all__ = ["generate_db", "infer_db", "print_relational", "release_db", "run_generate_db", "run_release_db",
           "source_text"]


def source_text(value: str | Path) -> str:
    """The source as the user typed it (a URL passed through ``Path`` lost one slash: ``postgresql:/u@h``)."""
    text = str(value)
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*):/(?!/)", r"\1://", text)


def print_relational(result) -> None:  # noqa: ANN001 - RelationalResult, imported lazily
    """Print the per-table verdicts and the cross-table checks."""
    table = Table(title="relational release gate", show_lines=False)
    for col in ("table / check", "value", "limit", "verdict"):
        table.add_column(col)
    for name, gate in result.gates.items():
        failed = gate.failed_checks()
        verdict = "[green]pass[/]" if gate.passed else "[red]FAIL[/]"
        table.add_row(f"table {name}", f"{len(gate.checks) - len(failed)}/{len(gate.checks)} checks", "", verdict)
    for c in result.checks:
        verdict = "[green]pass[/]" if c["passed"] else ("[red]FAIL[/]" if c["severity"] == "block" else "[yellow]warn[/]")
        value = "—" if c["value"] is None else f"{c['value']:.4g}"
        table.add_row(c["name"], value, f"{c['comparison']} {c['threshold']:g}", verdict)
    console.print(table)
    if result.passed:
        console.print(f"[bold green]released[/] → {result.output} (data/, report.json, manifest.json)")
    else:
        console.print(f"[bold red]blocked[/] → {result.output} (report.json, manifest.json; no data written)")
    if result.database:
        console.print(f"synthetic tables written to {result.database}", markup=False)
    if not result.passed:
        for name, gate in result.gates.items():
            for c in gate.failed_checks():
                console.print(f"  - {name}: {c.explanation}", markup=False)
        for c in result.checks:
            if not c["passed"] and c["severity"] == "block":
                console.print(f"  - {c['explanation']}", markup=False)


@handle_errors
def release_db(
    source: str = typer.Argument(..., help="Directory of CSV/Parquet files, SQLite file, or database URL."),
    output: Path = typer.Option(..., "--output", "-o", help="Bundle directory to create."),
    schema: Path = typer.Option(None, "--schema", "-s", help="Relational schema YAML, or SDV multi-table metadata .json (default: inferred)."),
    to: str = typer.Option(None, "--to", help="Also write the synthetic tables to a new SQLite file or a "
                                              "PostgreSQL URL (one transaction, only when the gate passes)."),
    to_schema: str = typer.Option(None, "--to-schema", help="PostgreSQL schema to create (default: synthetic)."),
    scale: float = typer.Option(1.0, "--scale", min=0.001, help="Root tables get SCALE x their training rows."),
    seed: int = typer.Option(0, "--seed", help="Seed; the same input, schema and seed give the same tables."),
    policy: str = typer.Option("default", "--policy", "-p", help="default, strict, lenient, or a policy YAML path."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output directory."),
    no_pii: bool = typer.Option(False, "--no-pii", help="Skip content-based PII detection while inferring kinds."),
    engine: str = typer.Option(None, "--engine", help="fast_copula (default) or hma (SDV's HMASynthesizer, for "
                                                      "comparison); default the schema's engine."),
) -> None:
    run_release_db(source, output=output, schema=schema, to=to, to_schema=to_schema, scale=scale, seed=seed,
                   policy=policy, overwrite=overwrite, detect_pii=not no_pii, engine=engine)


def run_release_db(source: str | Path, *, output: Path, schema: Path | None, to: str | None, to_schema: str | None,
                   scale: float, seed: int, policy: str, overwrite: bool, detect_pii: bool,
                   engine: str | None = None) -> None:
    """Run a relational release, print the verdict, exit 1 when blocked (shared by release and release-db)."""
    from synthstruct.relational.pipeline import release_relational

    result = release_relational(source_text(source), output=output, schema=schema, policy=policy, seed=seed,
                                scale=scale, to=source_text(to) if to else None, to_schema=to_schema,
                                overwrite=overwrite, detect_pii=detect_pii, engine=engine)
    print_relational(result)
    if not result.passed:
        raise typer.Exit(code=1)


@handle_errors
def infer_db(
    source: str = typer.Argument(..., help="Directory of CSV/Parquet files, SQLite file, or database URL."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the schema here (default: stdout)."),
    name: str = typer.Option("database", "--name", help="Name of the relational schema."),
    no_pii: bool = typer.Option(False, "--no-pii", help="Skip content-based PII detection (faster)."),
    sdv: bool = typer.Option(False, "--sdv", help="Write SDV multi-table metadata (JSON) instead."),
) -> None:
    from synthstruct.dataio import atomic_write_bytes
    from synthstruct.relational.infer import infer_relational
    from synthstruct.relational.model import dump_relational
    from synthstruct.relational.sources import read_source

    src = read_source(source_text(source))
    schema, comments = infer_relational(src.tables, declared=src.declared, name=name, detect_pii=not no_pii)
    if sdv:
        import json

        from synthstruct.relational.sdv_metadata import to_sdv_multi_table

        text = json.dumps(to_sdv_multi_table(schema), indent=2) + "\n"
    else:
        notes = "".join(f"#   {k}: {v}\n" for k, v in sorted(comments.items()) if "." not in k or "key" in v)
        text = (f"# Relational schema proposed by 'synthstruct infer-db' from {src.label}.\n"
                "# Review the keys, relationships, reference tables and sequence keys (docs/relational.md):\n"
                + notes + dump_relational(schema))
    if output is None:
        typer.echo(text, nl=False)
    else:
        atomic_write_bytes(output, text.encode("utf-8"))
        console.print(f"relational schema written to {output} ({len(schema.tables)} tables, "
                      f"{len(schema.relationships)} relationships)")


@handle_errors
def generate_db(
    schema: Path = typer.Argument(..., help="Relational pack: relational schema YAML with priors, rules and "
                                            "children counts (e.g. schemas/medical/patient_history.rel.yaml)."),
    output: Path = typer.Option(..., "--output", "-o", help="Directory to create: one file per table and qc.json."),
    rows: int = typer.Option(..., "--rows", "-n", min=1, help="Rows of each root table (children follow)."),
    seed: int = typer.Option(0, "--seed", help="Seed; the same pack and seed give the same tables."),
    fmt: str = typer.Option("csv", "--format", help="csv or parquet."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output directory."),
) -> None:
    run_generate_db(schema, output=output, rows=rows, seed=seed, fmt=fmt, overwrite=overwrite)


def run_generate_db(schema: Path, *, output: Path, rows: int, seed: int, fmt: str = "csv",
                    overwrite: bool = False) -> None:
    """Generate a database from a relational pack; exit 1 when quality control fails (shared with generate)."""
    import json

    from synthstruct._limits import check_rows
    from synthstruct.dataio import atomic_directory, atomic_write_bytes, check_output_dir, write_table
    from synthstruct.errors import InputError, Problem
    from synthstruct.relational.generate import generate_relational
    from synthstruct.relational.model import load_relational

    if fmt not in ("csv", "parquet"):
        raise InputError("unsupported output format", [Problem("--format", f"{fmt!r}", "use csv or parquet")])
    check_output_dir(output, overwrite=overwrite)
    pack = load_relational(schema)
    check_rows(rows, max(len(s.schema_.columns) for s in pack.tables.values()))
    result = generate_relational(pack, rows, seed=seed)
    with atomic_directory(output, overwrite=overwrite) as tmp:
        for name, frame in result.tables.items():
            write_table(frame, tmp / f"{name}.{fmt}")
        atomic_write_bytes(tmp / "qc.json", (json.dumps(result.report, indent=2, sort_keys=True) + "\n").encode())
    report = result.report
    table = Table(title=f"generated {pack.name}", show_lines=False)
    for col in ("table", "rows", "quality control"):
        table.add_column(col)
    for name, n in report["rows"].items():
        ok = report["tables"][name].get("passed", False)
        table.add_row(name, str(n), "[green]pass[/]" if ok else "[red]FAIL[/]")
    console.print(table)
    seq = ", ".join(f"{t} {s['in_order']:.0%}" for t, s in report["sequences"].items()) or "none"
    console.print(f"referential integrity {report['referential_integrity']['value']:.0%}; sequences in order: {seq}")
    verdict = "[green]passed[/]" if report["passed"] else "[red]FAILED[/]"
    console.print(f"quality control {verdict} → {output / 'qc.json'}")
    if not report["passed"]:
        raise typer.Exit(code=1)
