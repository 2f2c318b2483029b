"""Keyed signatures (HMAC-SHA256) of manifests: bundle ``manifest.json`` and model ``integrity.json``.

A SHA-256 list alone only shows accidental damage: whoever edits a file can rewrite its hash. A
manifest is therefore signed with a key the editor does not have:

* the **machine key** (``secret.key`` in the state folder, or ``SYNTHSTRUCT_SECRET``), always; it proves
  the file was written on this machine (or by a team sharing ``SYNTHSTRUCT_SECRET``);
* a **user key**, when ``SYNTHSTRUCT_SIGNING_KEY`` (a passphrase) or ``SYNTHSTRUCT_SIGNING_KEY_FILE`` (a
  file holding it) is set, so that a receiver given the same key can check a bundle elsewhere.

The signature covers the manifest's canonical JSON (sorted keys, no spaces) without its ``hmac``
field; each entry names the key kind and a key id (a hash of the key, never the key).
:func:`check_signatures` answers ``unsigned``, ``valid``, ``invalid`` or ``unknown key`` (signed
with a key that is not available here).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthstruct._home import KEY_FILE, check_key_file, state_dir
from synthstruct.errors import InputError, ModelIntegrityError, Problem

__all__ = ["SIGNATURE_FIELD", "SignatureCheck", "available_keys", "check_signatures", "local_secret", "sign_document",
           "user_key"]

SIGNATURE_FIELD = "hmac"


def user_key(key_file: str | Path | None = None) -> bytes | None:
    """The user signing key: ``key_file``, else ``$SYNTHSTRUCT_SIGNING_KEY_FILE``, else ``$SYNTHSTRUCT_SIGNING_KEY``.

    Raises:
        InputError: the key file is missing, unreadable or empty.
    """
    path = key_file or os.environ.get("SYNTHSTRUCT_SIGNING_KEY_FILE")
    if path:
        path = Path(path)
        try:
            data = path.read_bytes().strip()
        except OSError:
            raise InputError("signing key file cannot be read", [Problem(
                str(path), "is missing or unreadable", "pass a readable file holding the shared key")]) from None
        if len(data) < 16:
            raise InputError("signing key too short", [Problem(
                str(path), "holds fewer than 16 bytes", "use a long random key, e.g. openssl rand -hex 32")])
        return hashlib.sha256(b"synthstruct-user-key\0" + data).digest()
    phrase = os.environ.get("SYNTHSTRUCT_SIGNING_KEY")
    if phrase:
        return hashlib.sha256(b"synthstruct-user-key\0" + phrase.encode("utf-8")).digest()
    return None


def key_id(key: bytes) -> str:
    """A public name for ``key`` (16 hex digits of a hash; reveals nothing usable)."""
    return hashlib.sha256(b"synthstruct-key-id\0" + key).hexdigest()[:16]


def local_secret() -> bytes:
    """The machine-local signing key (32 random bytes), created on first use.

    ``SYNTHSTRUCT_SECRET`` (any string) overrides the key file, e.g. to share models between the
    machines of one team or in CI.
    """
    override = os.environ.get("SYNTHSTRUCT_SECRET")
    if override:
        return hashlib.sha256(override.encode("utf-8")).digest()
    path = state_dir() / KEY_FILE
    check_key_file(path)
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    except (ValueError, UnicodeDecodeError):
        raise ModelIntegrityError("the machine key is damaged", [Problem(
            str(path), "is not a hex key written by synthstruct",
            "delete it (a new key is created; sign models and bundles again)")]) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex())
    return key


def available_keys(key_file: str | Path | None = None) -> dict[str, tuple[str, bytes]]:
    """``key id -> (kind, key)`` for the machine key and, when configured, the user key."""
    keys = {}
    machine = local_secret()
    keys[key_id(machine)] = ("machine", machine)
    user = user_key(key_file)
    if user is not None:
        keys[key_id(user)] = ("user", user)
    return keys


def _canonical(document: dict[str, Any]) -> bytes:
    body = {k: v for k, v in document.items() if k != SIGNATURE_FIELD}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("utf-8")


def sign_document(document: dict[str, Any], key_file: str | Path | None = None) -> list[dict[str, str]]:
    """The ``hmac`` entries for ``document`` (one per available key, machine key first)."""
    data = _canonical(document)
    return [{"key": kind, "key_id": kid, "hmac_sha256": hmac.new(key, data, hashlib.sha256).hexdigest()}
            for kid, (kind, key) in available_keys(key_file).items()]


@dataclass
class SignatureCheck:
    """The outcome of checking a document's signatures.

    Attributes:
        status: ``unsigned``, ``valid``, ``invalid`` or ``unknown key``.
        valid: Key kinds whose signature matched.
        invalid: Key kinds whose signature did not match (the document changed after signing).
        unknown: Key ids of signatures made with keys not available here.
    """

    status: str
    valid: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "valid": self.valid, "invalid": self.invalid, "unknown_key_ids": self.unknown}


def check_signatures(document: dict[str, Any], key_file: str | Path | None = None) -> SignatureCheck:
    """Check ``document[SIGNATURE_FIELD]`` against the keys available here."""
    entries = document.get(SIGNATURE_FIELD)
    if not entries:
        return SignatureCheck("unsigned")
    if not isinstance(entries, list):
        return SignatureCheck("invalid", invalid=["malformed"])
    keys = available_keys(key_file)
    data = _canonical(document)
    result = SignatureCheck("unknown key")
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("hmac_sha256"), str):
            result.invalid.append("malformed")
            continue
        kid = str(entry.get("key_id", ""))
        if kid not in keys:
            result.unknown.append(kid)
            continue
        kind, key = keys[kid]
        expected = hmac.new(key, data, hashlib.sha256).hexdigest()
        (result.valid if hmac.compare_digest(expected, entry["hmac_sha256"]) else result.invalid).append(kind)
    if result.invalid:
        result.status = "invalid"
    elif result.valid:
        result.status = "valid"
    return result
