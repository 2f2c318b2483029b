"""The CLI turns off transformers' own progress bars, which would interleave with its progress display."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CODE = """
import json, sys
if sys.argv[1] == "cli":
    import synthstruct.cli  # noqa: F401  (what the console script imports first)
from transformers.utils import logging
print(json.dumps({"bars": logging.is_progress_bar_enabled()}))
"""


def _bars(mode: str, **env: str) -> bool:
    out = subprocess.run([sys.executable, "-c", CODE, mode], capture_output=True, text=True, check=True,
                         env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", **env})
    return bool(json.loads(out.stdout.strip().splitlines()[-1])["bars"])


def test_the_cli_turns_transformers_progress_bars_off_unless_the_user_asked_for_them() -> None:
    pytest.importorskip("transformers")
    assert _bars("plain") is True  # the control: transformers shows them by default
    assert _bars("cli") is False
    assert _bars("cli", HF_HUB_DISABLE_PROGRESS_BARS="0") is True  # a user's own setting wins
