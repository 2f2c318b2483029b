"""Paths of data files shipped inside the package (policies, demo datasets)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["PACKAGE_DIR", "bundled_dataset", "builtin_policy_path"]

#: The installed ``synthstruct`` package directory (wheels are never zipped: ``zip-safe`` off).
PACKAGE_DIR = Path(__file__).resolve().parent


def builtin_policy_path(name: str) -> Path:
    return PACKAGE_DIR / "_defaults" / "policies" / f"{name}.yaml"


def bundled_dataset(stem: str, suffix: str) -> Path:
    return PACKAGE_DIR / "datasets" / f"{stem}{suffix}"
