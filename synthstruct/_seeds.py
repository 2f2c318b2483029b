"""Every random stream of a run is derived here from the run's seed and a stream name.

``stream_seed(seed, "split")``, ``stream_seed(seed, "gate")``, ``stream_seed(seed, "partition", i)`` ...:
the same seed gives the same streams on every machine (sha256 of the JSON of the seed and the
name), and two names never share a stream. docs/architecture.md lists the streams.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

__all__ = ["stream_rng", "stream_seed"]


def stream_seed(seed: int, *stream: str | int) -> int:
    """A 32-bit seed for one named random stream, derived from the release seed (32 bits so that every
    library accepts it: scikit-learn, torch, numpy's legacy API)."""
    key = json.dumps([int(seed), *stream]).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big")


def stream_rng(seed: int, *stream: str | int) -> np.random.Generator:
    """A numpy generator on the stream ``stream`` of ``seed``."""
    return np.random.default_rng(stream_seed(seed, *stream))
