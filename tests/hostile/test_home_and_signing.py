"""The state folder's permissions are checked before the key is used; manifests are HMAC-signed."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synthstruct._home import state_dir
from synthstruct.cli import app
from synthstruct.errors import FileAccessError
from synthstruct.signing import SIGNATURE_FIELD, check_signatures, sign_document
from synthstruct.synthesizers.persistence import local_secret


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("SYNTHSTRUCT_HOME", str(path))
    monkeypatch.delenv("SYNTHSTRUCT_SECRET", raising=False)
    monkeypatch.delenv("SYNTHSTRUCT_SIGNING_KEY", raising=False)
    monkeypatch.delenv("SYNTHSTRUCT_SIGNING_KEY_FILE", raising=False)
    return path


def test_new_state_folder_and_key_are_private(home: Path) -> None:
    local_secret()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "secret.key").stat().st_mode) == 0o600


def test_loose_folder_without_key_is_tightened(home: Path) -> None:
    home.mkdir()
    os.chmod(home, 0o777)
    state_dir()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    local_secret()
    assert (home / "secret.key").is_file()


def test_loose_folder_holding_a_key_is_refused_before_the_key_is_read(home: Path) -> None:
    local_secret()
    os.chmod(home, 0o777)
    before = (home / "secret.key").read_bytes()
    with pytest.raises(FileAccessError, match="other users can open the folder"):
        local_secret()
    assert (home / "secret.key").read_bytes() == before


def test_key_readable_by_others_is_refused(home: Path) -> None:
    local_secret()
    os.chmod(home / "secret.key", 0o644)
    with pytest.raises(FileAccessError, match="can be read or changed by other users"):
        local_secret()


def test_key_that_is_a_symlink_is_refused(home: Path, tmp_path: Path) -> None:
    home.mkdir(mode=0o700)
    (tmp_path / "planted").write_text("00" * 32)
    os.symlink(tmp_path / "planted", home / "secret.key")
    with pytest.raises(FileAccessError, match="not a regular file"):
        local_secret()


def test_cli_reports_a_loose_home_as_exit_2(home: Path, tmp_path: Path) -> None:
    local_secret()
    os.chmod(home, 0o777)
    data = tmp_path / "d.csv"
    data.write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(60)))
    result = CliRunner().invoke(app, ["fit", str(data), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2 and "FileAccessError" in result.output
    assert not (tmp_path / "m").exists()


def test_signature_detects_a_change_and_names_the_keys(home: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    doc = {"outputs": [{"path": "a", "sha256": "0" * 64}], "released": True}
    doc[SIGNATURE_FIELD] = sign_document(doc)
    assert check_signatures(doc).status == "valid"
    doc["released"] = False
    assert check_signatures(doc).status == "invalid"
    del doc[SIGNATURE_FIELD]
    assert check_signatures(doc).status == "unsigned"
    key = tmp_path / "shared.key"
    key.write_text("a-long-shared-secret-for-tests")
    monkeypatch.setenv("SYNTHSTRUCT_SIGNING_KEY_FILE", str(key))
    doc[SIGNATURE_FIELD] = sign_document(doc)
    assert [e["key"] for e in doc[SIGNATURE_FIELD]] == ["machine", "user"]
    # a receiver on another machine (another machine key) with the shared key
    monkeypatch.setenv("SYNTHSTRUCT_SECRET", "another machine")
    check = check_signatures(doc)
    assert check.status == "valid" and check.valid == ["user"] and len(check.unknown) == 1
    monkeypatch.delenv("SYNTHSTRUCT_SIGNING_KEY_FILE")
    assert check_signatures(doc).status == "unknown key"
    assert check_signatures(doc, key_file=key).status == "valid"


def test_verify_with_a_shared_key_on_another_machine(home: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from synthstruct.release.bundle import write_manifest

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "report.json").write_text("{}")
    key = tmp_path / "shared.key"
    key.write_text("another-long-shared-secret")
    monkeypatch.setenv("SYNTHSTRUCT_SIGNING_KEY_FILE", str(key))
    from synthstruct.release.bundle import bundle_outputs

    write_manifest(bundle, {"released": False, "outputs": bundle_outputs(bundle)})
    monkeypatch.delenv("SYNTHSTRUCT_SIGNING_KEY_FILE")
    monkeypatch.setenv("SYNTHSTRUCT_SECRET", "the receiver's machine")
    plain = CliRunner().invoke(app, ["verify", str(bundle), "--require-signature"])
    assert plain.exit_code == 1 and "key not available" in plain.output
    keyed = CliRunner().invoke(app, ["verify", str(bundle), "--key-file", str(key), "--require-signature"])
    assert keyed.exit_code == 0 and "signature valid (user key)" in keyed.output
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["released"] = True  # a forged verdict
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    forged = CliRunner().invoke(app, ["verify", str(bundle), "--key-file", str(key)])
    assert forged.exit_code == 1 and "signature invalid" in forged.output
