"""Conformance checks for engines, like scikit-learn's ``check_estimator``.

Run every check on a factory that returns a fresh, unfitted engine::

    from synthstruct.testing import check_engine
    check_engine(lambda: FastCopulaEngine())

Each check raises ``AssertionError`` naming the check and what broke. Saving writes through
:mod:`synthstruct.synthesizers.persistence`, which signs pickles with the machine key under
``$SYNTHSTRUCT_HOME``: point that variable at a temporary folder in test suites.
"""

from __future__ import annotations

import inspect
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from synthstruct.errors import ModelIntegrityError, NotFittedError
from synthstruct.synthesizers.base import BaseEngine

__all__ = ["CHECKS", "check_engine", "conformance_frame"]

EngineFactory = Callable[[], BaseEngine]


def conformance_frame(n: int = 120, seed: int = 0) -> tuple[pd.DataFrame, dict[str, str]]:
    """A small mixed table: two correlated numericals (one with NaN), string and int categoricals."""
    rng = np.random.default_rng(seed)
    x = rng.normal(40.0, 10.0, n)
    y = np.where(rng.random(n) < 0.1, np.nan, 2.0 * x + rng.normal(0.0, 3.0, n))
    colour = rng.choice(np.array(["red", "green", "blue"], dtype=object), n)
    colour[rng.random(n) < 0.05] = np.nan
    level = rng.choice(np.array([1, 2, 3], dtype=object), n)
    frame = pd.DataFrame({"x": x, "y": y, "colour": colour, "level": level})
    kinds = {"x": "numerical", "y": "numerical", "colour": "categorical", "level": "categorical"}
    return frame, kinds


def _fitted(factory: EngineFactory, seed: int = 0) -> tuple[BaseEngine, pd.DataFrame, dict[str, str]]:
    frame, kinds = conformance_frame()
    engine = factory()
    returned = engine.fit(frame, kinds=kinds, target="level", seed=seed)
    assert returned is engine, "fit must return self"
    return engine, frame, kinds


def check_init_stores_params(factory: EngineFactory) -> None:
    """``__init__`` takes keyword-only params, stores them as given, and ``get_params`` round-trips."""
    engine = factory()
    sig = inspect.signature(type(engine).__init__)
    positional = [p for p in list(sig.parameters.values())[1:] if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert not positional, f"__init__ parameters must be keyword-only: {[p.name for p in positional]}"
    params = engine.get_params()
    assert set(params) == set(list(sig.parameters)[1:]), "get_params must return every constructor parameter"
    clone = type(engine)(**params)
    assert clone.get_params() == params, "get_params must round-trip through the constructor"
    learned = [k for k in vars(engine) if k.endswith("_") and not k.startswith("__")]
    assert not learned, f"__init__ must not set learned attributes: {learned}"


def check_unfitted_sample_raises(factory: EngineFactory) -> None:
    """Sampling before ``fit`` raises ``NotFittedError``."""
    try:
        factory().sample(5, seed=0)
    except NotFittedError:
        return
    raise AssertionError("sample before fit must raise NotFittedError")


def check_sample_shape_and_kinds(factory: EngineFactory) -> None:
    """``sample(n)`` returns ``n`` rows, the fitted columns in order, float numericals, known categories."""
    engine, frame, kinds = _fitted(factory)
    out = engine.sample(200, seed=1)
    assert len(out) == 200, f"expected 200 rows, got {len(out)}"
    assert list(out.columns) == list(frame.columns), "sample must return the fitted columns in order"
    for col, kind in kinds.items():
        if kind == "numerical":
            assert out[col].dtype == np.float64, f"numerical column {col!r} must be float64"
            continue
        seen = {v for v in frame[col] if not pd.isna(v)}
        produced = [v for v in out[col] if not pd.isna(v)]
        assert all(v in seen for v in produced), f"categorical column {col!r} has values not seen in training"
        types = {type(v) for v in frame[col] if not pd.isna(v)}
        assert {type(v) for v in produced} <= types, f"categorical column {col!r} changed its value types"


def check_sample_zero_rows(factory: EngineFactory) -> None:
    """``sample(0)`` returns an empty frame with the fitted columns."""
    engine, frame, _ = _fitted(factory)
    out = engine.sample(0, seed=0)
    assert len(out) == 0 and list(out.columns) == list(frame.columns), "sample(0) must be empty with the columns"


def check_deterministic(factory: EngineFactory) -> None:
    """Same fit seed and sample seed give identical frames; another sample seed gives another frame.

    Engines with ``deterministic_fit = False`` (differentially private ones, whose noise must come from
    a cryptographic RNG and not from the recorded seed) only need a fitted model to sample deterministically.
    """
    first, _, _ = _fitted(factory, seed=3)
    a = first.sample(150, seed=7)
    if getattr(first, "deterministic_fit", True):
        second, _, _ = _fitted(factory, seed=3)
        b = second.sample(150, seed=7)
        pd.testing.assert_frame_equal(a, b, obj="two fits with the same seeds")
    pd.testing.assert_frame_equal(a, first.sample(150, seed=7), obj="two samples with the same seed")
    assert not a.equals(first.sample(150, seed=8)), "different sample seeds must give different rows"


def check_save_load_roundtrip(factory: EngineFactory) -> None:
    """``save`` then ``load`` gives an engine that samples the identical frame."""
    engine, _, _ = _fitted(factory)
    with tempfile.TemporaryDirectory() as tmp:
        engine.save(Path(tmp))
        loaded = type(engine).load(Path(tmp))
    pd.testing.assert_frame_equal(engine.sample(100, seed=5), loaded.sample(100, seed=5), obj="after load")


def check_tampered_model_refused(factory: EngineFactory) -> None:
    """Changing, adding or removing a saved file makes ``load`` raise ``ModelIntegrityError``."""
    engine, _, _ = _fitted(factory)
    for tamper in ("change", "add", "remove"):
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            engine.save(directory)
            files = sorted(p for p in directory.iterdir() if p.name != "integrity.json")
            if tamper == "change":
                data = bytearray(files[0].read_bytes())
                data[len(data) // 2] ^= 0xFF
                files[0].write_bytes(bytes(data))
            elif tamper == "add":
                (directory / "extra.bin").write_bytes(b"\x00")
            else:
                files[0].unlink()
            try:
                type(engine).load(directory)
            except ModelIntegrityError:
                continue
            raise AssertionError(f"load must refuse a model directory with a file {tamper}d")


CHECKS: tuple[Callable[[EngineFactory], None], ...] = (
    check_init_stores_params,
    check_unfitted_sample_raises,
    check_sample_shape_and_kinds,
    check_sample_zero_rows,
    check_deterministic,
    check_save_load_roundtrip,
    check_tampered_model_refused,
)


def check_engine(factory: EngineFactory) -> None:
    """Run every conformance check on engines made by ``factory``.

    Raises:
        AssertionError: The first failing check, prefixed by its name.
    """
    for check in CHECKS:
        try:
            check(factory)
        except AssertionError as error:
            raise AssertionError(f"{check.__name__}: {error}") from error
