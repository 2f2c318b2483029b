"""The run record: the ``manifest.json`` of every bundle, as versioned pydantic models.

One place builds it for the three writers: :func:`synthstruct.release.pipeline.release`,
:func:`synthstruct.scale.release.release_distributed` (both :class:`ReleaseManifest`) and
:func:`synthstruct.balance.balance` (:class:`BalanceManifest`). Fields a run does not have are
left out of the file (not written as ``null``): the Dask release has no ``text`` or ``canaries``
record, a single-machine release no ``scale`` record, a release without the ``dp`` engine no
``differential_privacy`` record. Key order is the field order below.
"""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MANIFEST_VERSION", "BalanceManifest", "ReleaseManifest", "package_versions"]

MANIFEST_VERSION = 1
_PACKAGES = ("synthstruct", "sdv", "sdmetrics", "numpy", "pandas", "scikit-learn", "scipy", "pyarrow",
             "faker", "presidio-analyzer", "torch")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape the output, and Python's."""
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    found["python"] = platform.python_version()
    return found


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to ``manifest.json`` (unset optional records left out)."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class InputRecord(_Record):
    file: str | None
    sha256: str
    rows: int
    columns: int


class SchemaRecord(_Record):
    sha256: str
    inferred: bool


class PolicyRecord(_Record):
    name: str
    source: str
    sha256: str


class EngineRecord(_Record):
    name: str
    params: dict[str, Any]
    protect_k: Any
    strategy: str | None = None  # balance: how minority rows are drawn


class SplitRecord(_Record):
    holdout_fraction: float
    train_rows: int
    holdout_rows: int
    stratified_on: str | None


class GateRecord(_Record):
    passed: bool
    attempts: int | None = None  # the release gate's run count for this input (release only)
    failed: list[str]


class ReleaseManifest(_Record):
    """``manifest.json`` of a release bundle (single machine or Dask)."""

    manifest_version: int
    released: bool
    table: str
    input: InputRecord
    schema_: SchemaRecord = Field(alias="schema")
    policy: PolicyRecord
    seed: int
    engine: EngineRecord
    text: dict[str, Any] | None = None
    differential_privacy: dict[str, Any] | None = None
    split: SplitRecord
    gate: GateRecord
    canaries: dict[str, Any] | None = None
    scale: dict[str, Any] | None = None
    timings: dict[str, Any]
    versions: dict[str, str]
    outputs: list[dict[str, Any]]


class BalanceManifest(_Record):
    """``manifest.json`` of a balance bundle."""

    manifest_version: int
    kind: Literal["balance"]
    written: bool
    table: str
    input: InputRecord
    schema_inferred: bool
    seed: int
    engine: EngineRecord
    policy: str
    test_fraction: float
    rows: dict[str, Any]
    classes: Any
    gate: GateRecord
    timings: dict[str, Any]
    versions: dict[str, str]
    outputs: list[dict[str, Any]]
