"""The run record (release/manifest.py): strict, ordered, and optional records left out when unset."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from synthstruct.release.manifest import MANIFEST_VERSION, BalanceManifest, ReleaseManifest, package_versions


def _release(**extra: object) -> dict:
    return {
        "outputs": [{"path": "report.json", "sha256": "x", "bytes": 1, "reproducible": False}],
        "manifest_version": MANIFEST_VERSION, "released": True, "table": "t",
        "input": {"file": "t.csv", "sha256": "a", "rows": 10, "columns": 2},
        "schema": {"sha256": "b", "inferred": False},
        "policy": {"name": "default", "source": "default", "sha256": "c"}, "seed": 0,
        "engine": {"name": "fast_copula", "params": {}, "protect_k": 5},
        "split": {"holdout_fraction": 0.2, "train_rows": 8, "holdout_rows": 2, "stratified_on": None},
        "gate": {"passed": True, "attempts": 1, "failed": []},
        "timings": {"fit": 0.1}, "versions": {"python": "3.11"}, **extra,
    }


def test_field_order_is_the_file_order_and_unset_records_are_left_out():
    out = ReleaseManifest.model_validate(_release(scale={"partitions": 2})).to_dict()
    assert list(out) == ["manifest_version", "released", "table", "input", "schema", "policy", "seed", "engine",
                         "split", "gate", "scale", "timings", "versions", "outputs"]
    assert "text" not in out and "canaries" not in out and "strategy" not in out["engine"]


def test_explicit_nulls_are_kept():
    out = ReleaseManifest.model_validate(_release(text=None, canaries=None)).to_dict()
    assert out["text"] is None and out["canaries"] is None
    assert list(out).index("text") < list(out).index("split") < list(out).index("canaries")


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError):
        ReleaseManifest.model_validate(_release(surprise=1))
    with pytest.raises(ValidationError):
        BalanceManifest.model_validate({"manifest_version": 1, "kind": "other"})


def test_package_versions_name_python_and_synthstruct():
    versions = package_versions()
    assert "python" in versions and "numpy" in versions
