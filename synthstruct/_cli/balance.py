"""``synthstruct balance DATA --target COL [--ratio 1:1 | --counts CLASS=N,...] [--engine E] -o OUT``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from synthstruct._cli._common import console, engine_help, handle_errors, print_bundle_verdict

__all__ = ["balance", "print_balance"]


def print_balance(result) -> None:  # noqa: ANN001 - BalanceResult, imported lazily
    """Print rows per class, the lift table and the per-class privacy verdict."""
    report = result.report
    classes = Table(title=f"rows per class ({report['target']})")
    for col in ("class", "real train", "added", "output", "real test"):
        classes.add_column(col)
    for c in report["classes"]:
        classes.add_row(str(c["class"]), str(c["train_rows"]), str(c["added_rows"]), str(c["output_rows"]),
                        str(c["test_rows"]))
    console.print(classes)
    lift = report.get("lift")
    if lift:
        table = Table(title=f"lift on the real test split (mean ± sd over {len(lift['seeds'])} seeds)")
        for col in ("training data", "minority F1", "PR-AUC", "balanced acc."):
            table.add_column(col)
        for method, scores in lift["methods"].items():
            table.add_row(method, *(f"{scores[s]['mean']:.3f} ± {scores[s]['std']:.3f}"
                                    for s in ("minority_f1", "pr_auc", "balanced_accuracy")))
        console.print(table)
        for line in lift["verdicts"]:
            console.print(f"  {line}", markup=False)
    for entry in report["privacy"]["classes"]:
        gate = entry["gate"]
        word = "[green]passed[/]" if gate["passed"] else "[red]BLOCKED[/]"
        warns = f" (warnings: {', '.join(gate['warnings'])})" if gate["warnings"] else ""
        console.print(f"per-class privacy, class {entry['class']}: {word}{warns}", highlight=False)
    if result.output is not None:
        print_bundle_verdict(result.passed, result.output, written="written")


@handle_errors
def balance(
    data: Path = typer.Argument(..., help="CSV or Parquet file with the real rows."),
    target: str = typer.Option(..., "--target", "-t", help="The label column to balance."),
    output: Path = typer.Option(..., "--output", "-o", help="Bundle directory to create."),
    ratio: str = typer.Option(None, "--ratio", help="MINORITY:MAJORITY to reach, e.g. 1:1 (default) or 1:2."),
    counts: str = typer.Option(None, "--counts", help="Rows wanted per class in the output, e.g. 1=4000,2=4000."),
    engine: str = typer.Option(None, "--engine", "-e", help=engine_help(without=("dp",))),
    schema: Path = typer.Option(None, "--schema", "-s", help="Schema YAML (default: inferred from the data)."),
    seed: int = typer.Option(0, "--seed", help="Seed; the same input, schema and seed give the same data."),
    test_fraction: float = typer.Option(0.2, "--test-fraction", help="Share of each class held out for testing."),
    policy: str = typer.Option("default", "--policy", "-p", help="Policy whose per-class checks form the gate."),
    strategy: str = typer.Option("auto", "--strategy", help="auto, conditional (one model) or per_class."),
    lift_seeds: int = typer.Option(5, "--lift-seeds", min=0, help="Seeds for the lift table (0 skips it)."),
    min_class_rows: int = typer.Option(10, "--min-class-rows", help="Fewest training rows a class to augment may have."),
    epochs: int = typer.Option(None, "--epochs", min=1, help="Epochs for ctgan/tvae."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output directory."),
) -> None:
    from synthstruct.balance.api import balance as run_balance

    params = {"epochs": epochs} if epochs is not None else None
    with console.status("balancing: split → fit → sample per class → per-class gate → lift → write"):
        result = run_balance(data, target=target, ratio=ratio, counts=counts, engine=engine, engine_params=params,
                             schema=schema, seed=seed, output=output, test_fraction=test_fraction, policy=policy,
                             strategy=strategy, lift_seeds=lift_seeds, min_class_rows=min_class_rows,
                             overwrite=overwrite)
    print_balance(result)
    if not result.passed:
        raise typer.Exit(code=1)
