"""A local ledger of gate runs per input.

Generating again and again until the gate passes is itself a leak (each attempt is a new draw an
adversary never sees), so every bundle records how many times the gate ran for the same input,
schema and policy on this machine.
"""

from __future__ import annotations

import json
import os

from synthstruct._home import state_dir
from synthstruct.dataio import atomic_write_bytes

__all__ = ["record_gate_run"]


def record_gate_run(key: str) -> int:
    """Count one more gate run for ``key`` (a hash of input + schema + policy); return the total."""
    path = state_dir() / "gate-ledger.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        data = {}
    data[key] = int(data.get(key, 0)) + 1
    atomic_write_bytes(path, json.dumps(data, sort_keys=True).encode())
    os.chmod(path, 0o600)
    return data[key]
