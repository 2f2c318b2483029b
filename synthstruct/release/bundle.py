"""Shared pieces of a written bundle (release, balance): the file inventory and ``manifest.json``.

A bundle directory ends with ``manifest.json``, which lists every other file with its SHA-256 and
size, and is signed (HMAC-SHA256, :mod:`synthstruct.signing`) with the machine key and, when one is
configured, a user key, so that an edited file whose hash was rewritten is caught by ``verify``. ``report.json`` and ``report.html`` carry timings, so only their content, not their bytes,
repeats from run to run; every other file is byte-reproducible for the same input and seed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synthstruct.dataio import atomic_write_bytes, file_sha256

__all__ = ["MANIFEST_NAME", "VARYING_FILES", "bundle_outputs", "write_manifest"]

MANIFEST_NAME = "manifest.json"
#: Files of a bundle whose bytes differ between identical runs (they carry timings).
VARYING_FILES = ("report.json", "report.html")


def bundle_outputs(directory: Path) -> list[dict[str, Any]]:
    """``{"path", "sha256", "bytes", "reproducible"}`` for every file below ``directory``, sorted by path."""
    outputs: list[dict[str, Any]] = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = path.relative_to(directory).as_posix()
        outputs.append({"path": rel, "sha256": file_sha256(path), "bytes": path.stat().st_size,
                        "reproducible": rel not in VARYING_FILES})
    return outputs


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """Sign ``manifest`` and write it as indented JSON to ``directory / "manifest.json"`` (atomically).

    The signature entries are added to ``manifest`` itself (key ``hmac``).
    """
    from synthstruct.signing import SIGNATURE_FIELD, sign_document

    manifest.pop(SIGNATURE_FIELD, None)
    manifest[SIGNATURE_FIELD] = sign_document(manifest)
    atomic_write_bytes(directory / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode())
