"""The built-in policies, suites and recognizers ship in the wheel (``synthstruct/_defaults``) and are
shown to reviewers at the top level (``privacy/``, ``evaluation/suites``): the two copies must be equal,
file for file, so a review of one is a review of the other."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = ROOT / "synthstruct" / "_defaults"
PAIRS = [
    (DEFAULTS / "policies", ROOT / "privacy" / "policies"),
    (DEFAULTS / "suites", ROOT / "evaluation" / "suites"),
    (DEFAULTS / "recognizers", ROOT / "privacy" / "recognizers"),
]


@pytest.mark.parametrize(("packaged", "reviewed"), PAIRS, ids=[p[0].name for p in PAIRS])
def test_packaged_and_reviewed_copies_are_identical(packaged: Path, reviewed: Path) -> None:
    names = sorted(p.name for p in packaged.glob("*.yaml"))
    assert names, f"no YAML files in {packaged}"
    assert names == sorted(p.name for p in reviewed.glob("*.yaml")), f"{packaged} and {reviewed} list different files"
    differing = [name for name in names if (packaged / name).read_bytes() != (reviewed / name).read_bytes()]
    assert not differing, f"copies differ: {differing}; edit synthstruct/_defaults and copy to {reviewed}"
