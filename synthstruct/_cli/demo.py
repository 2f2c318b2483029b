"""``synthstruct demo [-o DIR]``: the whole path on the three bundled datasets."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from synthstruct._cli._common import console, handle_errors, step_progress

__all__ = ["DEMO_DATASETS", "demo"]

#: (domain, dataset stem) of the bundled demo data; files live in ``synthstruct/datasets``.
DEMO_DATASETS = (("medical", "heart_disease"), ("financial", "german_credit"), ("customer service", "clothing_reviews"))


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


@handle_errors
def demo(
    output: Path = typer.Option(Path("demo-output"), "--output", "-o", help="Directory for the three bundles."),
    engine: str = typer.Option(None, "--engine", "-e", help="Engine (default fast_copula)."),
    policy: str = typer.Option("default", "--policy", "-p", help="Release policy."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    from synthstruct._resources import bundled_dataset
    from synthstruct.release.pipeline import release

    from rich import box

    summary = Table(title="synthstruct demo", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("table", "rows", "verdict", "copies Δ", "DCR", "shapes", "F1"):
        summary.add_column(col, no_wrap=True)
    bundles = []
    for domain, stem in DEMO_DATASETS:
        with step_progress(f"{domain}: {stem}") as on_progress:
            result = release(bundled_dataset(stem, ".csv"), schema=bundled_dataset(stem, ".yaml"),
                             output=output / stem, engine=engine, policy=policy, seed=seed, overwrite=True,
                             on_progress=on_progress)
        m = result.gate.metrics
        exact = m.get("exact_match")
        excess = None if exact is None or exact.value is None or exact.reference is None else exact.value - exact.reference
        dcr = m.get("dcr")
        dcr_ratio = None if dcr is None or not dcr.value or not dcr.reference else dcr.value / dcr.reference
        shapes = m.get("column_shapes")
        util = m.get("utility")
        rows = result.report["rows"]
        summary.add_row(stem, f"{rows['input']}→{rows['synthetic']}",
                        "[green]released[/]" if result.passed else "[red]blocked[/]",
                        _fmt(excess), _fmt(dcr_ratio), _fmt(shapes.value if shapes else None),
                        _fmt(util.value if util else None))
        bundles.append(f"  {stem} ({domain}): {result.output}/ ({'data + ' if result.passed else 'no data, '}report.html)")
    console.print(summary)
    console.print(f"engine: {engine or 'fast_copula'}, policy: {policy}. Bundles:")
    for line in bundles:
        console.print(line, markup=False)
    console.print("copies Δ = exact-copy share above a fresh real sample's; DCR = median distance to "
                  "training rows / to unseen rows (1 = no closer); shapes = column-shape similarity; "
                  "F1 = train-on-synthetic / train-on-real F1 ratio on held-out rows.", markup=False)
