"""``synthstruct audit --real TRAIN --synthetic SYN [--holdout H] [--schema S] [--policy P] -o DIR``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from synthstruct._cli._common import console, handle_errors

__all__ = ["audit"]


def _print_result(result) -> None:  # noqa: ANN001 - AuditResult, imported lazily
    table = Table(title="audit metrics", show_lines=False)
    for col in ("metric", "synthetic", "holdout reference", "note"):
        table.add_column(col)
    for name, m in result.gate.metrics.items():
        value = "—" if m.value is None else f"{m.value:.4g}"
        ref = "—" if m.reference is None else f"{m.reference:.4g}"
        table.add_row(name, value, ref, (m.note or "")[:80])
    console.print(table)
    for c in result.gate.checks:
        if not c.passed or getattr(c, "status", "computed") == "not_computed":
            tag = "[red]FAIL[/]" if c.severity == "block" else "[yellow]warn[/]"
            tag = "[dim]not computed[/]" if c.passed else tag
            console.print(f"{tag} ", end="")
            console.print(c.explanation, markup=False)
    if result.passed is None:
        console.print(f"[bold]audited[/] (no policy, no verdict) → {result.output}")
    elif result.passed:
        console.print(f"[bold green]passes policy {result.gate.policy}[/] → {result.output}")
    else:
        console.print(f"[bold red]would be blocked by policy {result.gate.policy}[/] → {result.output / 'report.html'}")


@handle_errors
def audit(
    real: Path = typer.Option(..., "--real", "-r", help="The real rows the generator was trained on (CSV/Parquet)."),
    synthetic: Path = typer.Option(..., "--synthetic", "-y", help="The synthetic rows to audit (CSV/Parquet)."),
    output: Path = typer.Option(..., "--output", "-o", help="Report directory to create."),
    holdout: Path = typer.Option(None, "--holdout", "-H",
                                 help="Real rows the generator never saw (the control; strongly advised)."),
    schema: Path = typer.Option(None, "--schema", "-s", help="Schema YAML (default: inferred from the real rows)."),
    policy: str = typer.Option(None, "--policy", "-p",
                               help="default, strict, lenient or a policy YAML: apply the release gate (exit 1 if it blocks)."),
    seed: int = typer.Option(0, "--seed", help="Seed for subsampling inside the metrics."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output directory."),
    target: str = typer.Option(None, "--target", "-t", help="Target column for utility metrics, or 'none'."),
) -> None:
    """Audit synthetic data from any generator; exit 1 when ``--policy`` would block it, 2 on bad input."""
    from synthstruct.release.audit import audit as run_audit

    with console.status("auditing: load → check → metrics → report"):
        result = run_audit(real, synthetic, output=output, holdout=holdout, schema=schema, policy=policy,
                           seed=seed, overwrite=overwrite, target=target)
    _print_result(result)
    if result.passed is False:
        raise typer.Exit(code=1)
