"""Re-check a release bundle against its ``manifest.json``.

``verify_bundle(dir)`` recomputes the sha256 of every file listed in ``manifest.json["outputs"]`` and
reports files that are missing, changed (hash or size differs) or extra (present in the directory but
not listed; ``manifest.json`` itself is never listed), and checks the manifest's HMAC signature
(:mod:`synthstruct.signing`): ``unsigned``, ``valid``, ``invalid`` or ``unknown key``. Findings are
data (:class:`BundleCheck`); only a directory that is not a bundle at all raises
:class:`~synthstruct.errors.InputError`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from synthstruct.dataio import file_sha256
from synthstruct.errors import InputError, Problem

__all__ = ["MANIFEST_NAME", "BundleCheck", "verify_bundle"]

MANIFEST_NAME = "manifest.json"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_RESTORE = "restore manifest.json from the original bundle"


@dataclass
class BundleCheck:
    """The outcome of verifying one bundle.

    Attributes:
        directory: The bundle directory.
        checked: Paths (relative, POSIX) whose hash and size match the manifest.
        missing: Listed in the manifest but absent.
        changed: Present but with a different sha256 or size.
        extra: Present in the directory but not listed in the manifest.
        released: The manifest's ``released`` flag (``None`` if absent).
        signature: ``unsigned``, ``valid``, ``invalid`` (the manifest changed after signing) or
            ``unknown key`` (signed with a key not available here).
        signature_detail: Which keys matched, failed or are unknown.
    """

    directory: Path
    checked: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    released: bool | None = None
    signature: str = "unsigned"
    signature_detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when nothing is missing, changed or extra and the signature is not invalid."""
        return not (self.missing or self.changed or self.extra) and self.signature != "invalid"

    def to_dict(self) -> dict[str, Any]:
        return {"directory": str(self.directory), "ok": self.ok, "released": self.released,
                "signature": self.signature, "signature_detail": self.signature_detail,
                "checked": self.checked, "missing": self.missing, "changed": self.changed, "extra": self.extra}


def _not_a_bundle(directory: Path, message: str, fix: str) -> InputError:
    return InputError("not a release bundle", [Problem(str(directory), message, fix)], source=str(directory))


def _load_manifest(directory: Path) -> dict[str, Any]:
    if not directory.is_dir():
        raise _not_a_bundle(directory, "is not a directory", "pass the directory written by `synthstruct release`")
    path = directory / MANIFEST_NAME
    if not path.is_file():
        raise _not_a_bundle(directory, f"has no {MANIFEST_NAME}", "pass the directory written by `synthstruct release`")
    if path.stat().st_size > 64 << 20:
        raise _not_a_bundle(directory, f"{MANIFEST_NAME} is larger than 64 MiB", _RESTORE)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        where = f"position {getattr(exc, 'pos', '?')}"
        raise _not_a_bundle(directory, f"{MANIFEST_NAME} is not valid JSON ({type(exc).__name__} at {where})",
                            _RESTORE) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("outputs"), list):
        raise _not_a_bundle(directory, f"{MANIFEST_NAME} has no outputs list", _RESTORE)
    return manifest


def _entries(directory: Path, outputs: list[Any]) -> list[tuple[str, str, int | None]]:
    """Validated ``(path, sha256, bytes)`` triples; a malformed entry makes the manifest unusable."""
    problems, entries = [], []
    for i, item in enumerate(outputs):
        where = f"{MANIFEST_NAME}: outputs[{i}]"
        rel = item.get("path") if isinstance(item, dict) else None
        sha = item.get("sha256") if isinstance(item, dict) else None
        size = item.get("bytes") if isinstance(item, dict) else None
        pure = PurePosixPath(rel) if isinstance(rel, str) else None
        if pure is None or pure.is_absolute() or ".." in pure.parts or rel in ("", "."):
            problems.append(Problem(where, "path must be a relative path inside the bundle", _RESTORE))
        elif not isinstance(sha, str) or not _SHA256.match(sha):
            problems.append(Problem(where, "sha256 must be 64 lowercase hex digits", _RESTORE))
        else:
            entries.append((pure.as_posix(), sha, size if isinstance(size, int) else None))
    if problems:
        raise InputError("not a release bundle: malformed manifest", problems, source=str(directory))
    return entries


def verify_bundle(directory: str | Path, *, key_file: str | Path | None = None) -> BundleCheck:
    """Recompute the hash of every output listed in the bundle's manifest.

    Args:
        directory: A bundle directory written by :func:`synthstruct.release.pipeline.release`.
        key_file: A file holding the shared user key (default: ``$SYNTHSTRUCT_SIGNING_KEY_FILE`` or
            ``$SYNTHSTRUCT_SIGNING_KEY``); the machine key is always tried.

    Returns:
        A :class:`BundleCheck`; ``ok`` is False when a file is missing, changed or extra.

    Raises:
        InputError: ``directory`` is not a bundle (no directory, no or unreadable ``manifest.json``,
            malformed ``outputs``).
    """
    directory = Path(directory)
    manifest = _load_manifest(directory)
    from synthstruct.signing import check_signatures

    signature = check_signatures(manifest, key_file)
    result = BundleCheck(directory=directory, released=manifest.get("released"), signature=signature.status,
                         signature_detail=signature.to_dict())
    listed = set()
    for rel, sha, size in _entries(directory, manifest["outputs"]):
        listed.add(rel)
        path = directory / rel
        if not path.is_file():
            result.missing.append(rel)
        elif (size is not None and path.stat().st_size != size) or file_sha256(path) != sha:
            result.changed.append(rel)
        else:
            result.checked.append(rel)
    present = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}
    result.extra = sorted(present - listed - {MANIFEST_NAME})
    return result
