"""``synthstruct verify DIR``: re-check the sha256 of every output listed in a bundle's manifest.

Exit codes: 0 every file matches; 1 a file is missing, changed or extra; 2 ``DIR`` is not a bundle.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from synthstruct._cli._common import console, handle_errors

__all__ = ["verify"]


@handle_errors
def verify(
    directory: Path = typer.Argument(..., help="Bundle directory written by `synthstruct release`."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON instead of text."),
) -> None:
    from synthstruct.release.verify import verify_bundle

    result = verify_bundle(directory)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for label, paths, style in (("missing", result.missing, "red"), ("changed", result.changed, "red"),
                                    ("extra", result.extra, "yellow")):
            for path in paths:
                console.print(f"[{style}]{label}[/]  ", end="")
                console.print(path, markup=False, highlight=False)
        if result.ok:
            console.print(f"[bold green]ok[/]: {len(result.checked)} files match manifest.json", highlight=False)
        else:
            console.print(f"[bold red]mismatch[/]: {len(result.missing)} missing, {len(result.changed)} changed, "
                          f"{len(result.extra)} extra; {len(result.checked)} files match", highlight=False)
    if not result.ok:
        raise typer.Exit(code=1)
