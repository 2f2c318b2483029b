"""Integrity manifests, the local key, and signed pickles."""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import pytest

from synthstruct.errors import ModelIntegrityError
from synthstruct.synthesizers import persistence
from synthstruct.synthesizers.persistence import (
    derive_secret,
    dump_signed_pickle,
    load_signed_pickle,
    local_secret,
    verify_integrity,
    write_integrity_manifest,
)


@pytest.fixture(autouse=True)
def _no_secret_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHSTRUCT_SECRET", raising=False)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "model"
    (directory / "sub").mkdir(parents=True)
    (directory / "model.json").write_text('{"a": 1}')
    (directory / "sub" / "arrays.bin").write_bytes(b"\x00\x01\x02")
    return directory


def test_local_secret_is_created_once_with_mode_0600() -> None:
    key = local_secret()
    path = Path(os.environ["SYNTHSTRUCT_HOME"]) / "secret.key"
    assert len(key) == 32 and path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_secret() == key


def test_env_secret_overrides_the_key_file(monkeypatch: pytest.MonkeyPatch) -> None:
    file_key = local_secret()
    monkeypatch.setenv("SYNTHSTRUCT_SECRET", "team-shared")
    assert local_secret() != file_key and len(local_secret()) == 32


def test_derive_secret_depends_on_purpose_seed_and_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    a = derive_secret("salt", 1)
    assert a == derive_secret("salt", 1)
    assert a != derive_secret("salt", 2) and a != derive_secret("other", 1)
    monkeypatch.setenv("SYNTHSTRUCT_HOME", str(tmp_path / "elsewhere"))
    assert derive_secret("salt", 1) != a


def test_manifest_lists_every_file_and_verifies(model_dir: Path) -> None:
    manifest = write_integrity_manifest(model_dir)
    assert sorted(manifest["files"]) == ["model.json", "sub/arrays.bin"]
    assert manifest["signatures"] == {}
    assert verify_integrity(model_dir)["files"] == manifest["files"]


@pytest.mark.parametrize("tamper", ["change", "add", "remove", "manifest"])
def test_any_change_is_refused(model_dir: Path, tamper: str) -> None:
    write_integrity_manifest(model_dir)
    if tamper == "change":
        (model_dir / "sub" / "arrays.bin").write_bytes(b"\x00\x01\x03")
    elif tamper == "add":
        (model_dir / "new.py").write_text("print('hi')")
    elif tamper == "remove":
        (model_dir / "model.json").unlink()
    else:
        (model_dir / "integrity.json").unlink()
    with pytest.raises(ModelIntegrityError) as info:
        verify_integrity(model_dir)
    assert info.value.problems


class _Boom:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, ("echo should-never-run",))


def test_signed_pickle_round_trip(model_dir: Path) -> None:
    dump_signed_pickle({"weights": [1, 2, 3]}, model_dir / "model.pkl")
    manifest = write_integrity_manifest(model_dir)
    assert set(manifest["signatures"]) == {"model.pkl"}
    assert load_signed_pickle(model_dir, "model.pkl") == {"weights": [1, 2, 3]}


def test_pickle_from_another_machine_is_refused_before_unpickling(
        model_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (model_dir / "model.pkl").write_bytes(pickle.dumps(_Boom()))
    write_integrity_manifest(model_dir)  # signed with the "other machine's" key
    monkeypatch.setenv("SYNTHSTRUCT_HOME", str(tmp_path / "this-machine"))
    called = []
    monkeypatch.setattr(persistence.pickle, "loads", lambda data: called.append(data))
    with pytest.raises(ModelIntegrityError, match="another machine") as info:
        load_signed_pickle(model_dir, "model.pkl")
    assert "SYNTHSTRUCT_SECRET" in str(info.value)
    assert not called


def test_rehashed_but_unsigned_pickle_is_refused(model_dir: Path) -> None:
    """An attacker who rewrites the manifest without the key cannot get a pickle loaded."""
    import json

    dump_signed_pickle([1], model_dir / "model.pkl")
    write_integrity_manifest(model_dir)
    (model_dir / "model.pkl").write_bytes(pickle.dumps(_Boom()))
    manifest = json.loads((model_dir / "integrity.json").read_text())
    manifest["files"]["model.pkl"] = persistence._sha256(model_dir / "model.pkl")
    del manifest["signatures"]["model.pkl"]
    (model_dir / "integrity.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match="changed after it was signed"):  # the manifest's own HMAC
        load_signed_pickle(model_dir, "model.pkl")
    del manifest["hmac"]  # stripping the manifest signature does not help: the pickle is unsigned
    (model_dir / "integrity.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match="refusing"):
        load_signed_pickle(model_dir, "model.pkl")


def test_rehashed_data_file_is_caught_by_the_manifest_hmac(model_dir: Path) -> None:
    """Editing a data-only file and rewriting its hash breaks the signature of integrity.json."""
    import json

    (model_dir / "arrays.bin").write_bytes(b"real values")
    write_integrity_manifest(model_dir)
    verify_integrity(model_dir)
    (model_dir / "arrays.bin").write_bytes(b"forged values")
    manifest = json.loads((model_dir / "integrity.json").read_text())
    manifest["files"]["arrays.bin"] = persistence._sha256(model_dir / "arrays.bin")
    (model_dir / "integrity.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match="changed after it was signed"):
        verify_integrity(model_dir)
