"""``synthstruct verify DIR [--key-file F] [--require-signature]``: re-check a bundle's manifest.

Re-checks the sha256 of every output listed in ``manifest.json`` and the manifest's HMAC signature.
Exit codes: 0 every file matches and the signature is not invalid; 1 a file is missing, changed or
extra, the signature is invalid, or (with ``--require-signature``) the bundle is not signed with a
key available here; 2 ``DIR`` is not a bundle.
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
    key_file: Path = typer.Option(None, "--key-file",
                                  help="File holding the shared signing key (default: $SYNTHSTRUCT_SIGNING_KEY_FILE)."),
    require_signature: bool = typer.Option(False, "--require-signature",
                                           help="Exit 1 unless the manifest carries a valid signature."),
) -> None:
    from synthstruct.release.verify import verify_bundle

    result = verify_bundle(directory, key_file=key_file)
    failed = not result.ok or (require_signature and result.signature != "valid")
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for label, paths, style in (("missing", result.missing, "red"), ("changed", result.changed, "red"),
                                    ("extra", result.extra, "yellow")):
            for path in paths:
                console.print(f"[{style}]{label}[/]  ", end="")
                console.print(path, markup=False, highlight=False)
        words = {"valid": "[green]signature valid[/]", "invalid": "[bold red]signature invalid[/] (manifest.json was "
                 "changed after signing)", "unsigned": "[yellow]unsigned[/] (no signature in manifest.json)",
                 "unknown key": "[yellow]signed with a key not available here[/] (pass --key-file)"}
        kinds = ", ".join(result.signature_detail.get("valid", []))
        console.print(words.get(result.signature, result.signature) + (f" ({kinds} key)" if kinds else ""),
                      highlight=False)
        if result.ok:
            console.print(f"[bold green]ok[/]: {len(result.checked)} files match manifest.json", highlight=False)
        else:
            console.print(f"[bold red]mismatch[/]: {len(result.missing)} missing, {len(result.changed)} changed, "
                          f"{len(result.extra)} extra; {len(result.checked)} files match", highlight=False)
    if failed:
        raise typer.Exit(code=1)
