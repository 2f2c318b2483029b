"""Tamper-evident model directories and authenticated pickles.

A saved model is a directory. :func:`write_integrity_manifest` records the SHA-256 of every file in
``integrity.json``; :func:`verify_integrity` refuses a directory where a file was added, removed or
changed. Pickle files can run arbitrary code when they are loaded, so they are additionally signed
with HMAC-SHA256 under a key that never leaves this machine (:func:`local_secret`), and
:func:`load_signed_pickle` checks that signature *before* unpickling. A pickled model written on
another machine therefore cannot be loaded here (unless both share ``SYNTHSTRUCT_SECRET``); models
saved in data-only formats (JSON + ``.npz``) stay portable because only their hashes are checked.

The key lives in ``$SYNTHSTRUCT_HOME/secret.key`` (default ``~/.local/share/synthstruct``), created
on first use with mode ``0600``; the environment variable ``SYNTHSTRUCT_SECRET`` overrides it. A key
file or folder that others can open is refused (:mod:`synthstruct._home`).

``integrity.json`` itself is signed (key ``hmac``, :mod:`synthstruct.signing`) with the machine key
and an optional user key: editing a file *and* rewriting its hash is caught on this machine.
A model signed only with another machine's key still loads when it holds no pickle (its hashes are
checked, a warning says it is not authenticated here) unless ``SYNTHSTRUCT_REQUIRE_SIGNATURE=1``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import logging

from synthstruct.errors import ModelIntegrityError, Problem
from synthstruct.signing import local_secret

__all__ = [
    "MANIFEST_NAME",
    "derive_secret",
    "dump_signed_pickle",
    "load_signed_pickle",
    "local_secret",
    "verify_integrity",
    "write_integrity_manifest",
]

MANIFEST_NAME = "integrity.json"
_FORMAT = "synthstruct-integrity/1"
_PICKLE_SUFFIXES = (".pkl", ".pickle")
log = logging.getLogger(__name__)


def derive_secret(purpose: str, seed: int) -> bytes:
    """A 32-byte secret for ``purpose`` and ``seed``: HMAC-SHA256 of the local key.

    Deterministic on one machine (same purpose and seed give the same bytes), unguessable elsewhere.
    """
    message = f"synthstruct:{purpose}:{int(seed)}".encode()
    return hmac.new(local_secret(), message, hashlib.sha256).digest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _signature(data: bytes) -> str:
    return hmac.new(local_secret(), data, hashlib.sha256).hexdigest()


def _model_files(directory: Path) -> list[str]:
    files = [p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()]
    return sorted(f for f in files if f != MANIFEST_NAME)


def write_integrity_manifest(directory: Path | str, *, sign: Iterable[str] = ()) -> dict[str, Any]:
    """Hash every file of ``directory`` and write ``integrity.json``.

    Args:
        directory: The saved model directory.
        sign: Relative paths to sign with the local key in addition to the pickle files
            (``*.pkl``, ``*.pickle``), which are always signed.

    Returns:
        The manifest written.
    """
    directory = Path(directory)
    files = _model_files(directory)
    to_sign = set(sign) | {f for f in files if f.endswith(_PICKLE_SUFFIXES)}
    manifest: dict[str, Any] = {
        "format": _FORMAT,
        "files": {f: _sha256(directory / f) for f in files},
        "signatures": {f: _signature((directory / f).read_bytes()) for f in sorted(to_sign)},
    }
    from synthstruct.signing import SIGNATURE_FIELD, sign_document

    manifest[SIGNATURE_FIELD] = sign_document(manifest)
    (directory / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return manifest


def _read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST_NAME
    fix = "load only model directories written by synthstruct's save(), unchanged"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelIntegrityError("saved model has no integrity manifest",
                                  [Problem(str(path), "file is missing", fix)]) from None
    except (OSError, ValueError):
        raise ModelIntegrityError("saved model has an unreadable integrity manifest",
                                  [Problem(str(path), "is not valid JSON", fix)]) from None
    if (not isinstance(manifest, dict) or manifest.get("format") != _FORMAT
            or not isinstance(manifest.get("files"), dict) or not isinstance(manifest.get("signatures"), dict)):
        raise ModelIntegrityError("saved model has an invalid integrity manifest",
                                  [Problem(str(path), f"is not a {_FORMAT} manifest", fix)])
    return manifest


def verify_integrity(directory: Path | str) -> dict[str, Any]:
    """Check that ``directory`` is exactly what ``write_integrity_manifest`` recorded.

    Returns:
        The manifest.

    Raises:
        ModelIntegrityError: A file was added, removed or changed, or a signed file was signed with
            another key (written on another machine) — every problem is listed.
    """
    directory = Path(directory)
    manifest = _read_manifest(directory)
    recorded: dict[str, str] = manifest["files"]
    present = set(_model_files(directory))
    fix = "save the model again from its source; do not edit saved model files"
    problems = [Problem(f, "was added after saving", fix) for f in sorted(present - set(recorded))]
    problems += [Problem(f, "is missing", fix) for f in sorted(set(recorded) - present)]
    for name in sorted(present & set(recorded)):
        if not hmac.compare_digest(_sha256(directory / name), str(recorded[name])):
            problems.append(Problem(name, "was changed after saving (SHA-256 differs)", fix))
    for name, signature in sorted(manifest["signatures"].items()):
        if name in present and not hmac.compare_digest(_signature((directory / name).read_bytes()), str(signature)):
            problems.append(Problem(name, _FOREIGN_KEY_MESSAGE, _FOREIGN_KEY_FIX))
    problems += _signature_problems(manifest, pickled=any(f.endswith(_PICKLE_SUFFIXES) for f in recorded))
    if problems:
        raise ModelIntegrityError(f"saved model in {directory} failed the integrity check", problems)
    return manifest


def _signature_problems(manifest: dict[str, Any], *, pickled: bool) -> list[Problem]:
    """Problems with the manifest's own HMAC (edited manifest; unsigned or foreign when required)."""
    from synthstruct.signing import check_signatures

    check = check_signatures(manifest)
    fix = "save the model again from its source; do not edit saved model files"
    if check.status == "invalid":
        return [Problem(MANIFEST_NAME, "was changed after it was signed (its HMAC does not match)", fix)]
    if check.status == "valid":
        return []
    required = os.environ.get("SYNTHSTRUCT_REQUIRE_SIGNATURE", "") not in ("", "0")
    what = "is not signed" if check.status == "unsigned" else "is signed with a key not available here"
    if required:
        return [Problem(MANIFEST_NAME, f"{what} (SYNTHSTRUCT_REQUIRE_SIGNATURE is set)", _FOREIGN_KEY_FIX)]
    if not pickled:
        log.warning("model %s %s: its file hashes were checked but not authenticated", MANIFEST_NAME, what)
    return []


_FOREIGN_KEY_MESSAGE = ("is not signed with this machine's key: it was written on another machine or "
                        "altered, and loading a pickle can run arbitrary code, so it is refused")
_FOREIGN_KEY_FIX = ("refit the model here, or share a key on purpose by setting SYNTHSTRUCT_SECRET to the "
                    "same value on both machines")


def dump_signed_pickle(obj: Any, path: Path | str) -> None:
    """Write ``obj`` with cloudpickle (falling back to pickle); sign it via the manifest afterwards."""
    try:
        import cloudpickle as pickler
    except ImportError:  # pragma: no cover - cloudpickle ships with SDV
        pickler = pickle
    Path(path).write_bytes(pickler.dumps(obj))


def load_signed_pickle(directory: Path | str, name: str) -> Any:
    """Unpickle ``directory/name`` only after its HMAC signature and the whole directory check out.

    The bytes are read once, verified, and the same bytes are unpickled (no check-then-read race).

    Raises:
        ModelIntegrityError: The directory fails :func:`verify_integrity`, or the file is not signed
            with this machine's key.
    """
    directory = Path(directory)
    manifest = verify_integrity(directory)
    signature = manifest["signatures"].get(name)
    data = (directory / name).read_bytes()
    if signature is None or not hmac.compare_digest(_signature(data), str(signature)):
        raise ModelIntegrityError(f"refusing to load pickled model {name!r}",
                                  [Problem(name, _FOREIGN_KEY_MESSAGE, _FOREIGN_KEY_FIX)])
    return pickle.loads(data)  # noqa: S301 - authenticated above
