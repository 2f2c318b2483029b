"""Where synthstruct keeps per-user state (the local secret key, the gate-attempt ledger)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["state_dir"]


def state_dir() -> Path:
    """``$SYNTHSTRUCT_HOME`` or ``~/.local/share/synthstruct``, created on first use (mode 0700)."""
    configured = os.environ.get("SYNTHSTRUCT_HOME")
    path = Path(configured).expanduser() if configured else Path.home() / ".local" / "share" / "synthstruct"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
