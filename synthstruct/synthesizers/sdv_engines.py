"""Adapters for SDV's single-table synthesizers: GaussianCopula, CTGAN and TVAE.

SDV (BUSL-1.1) stays behind these adapters and is imported only inside their methods. Before SDV
sees the data, columns are renamed to ``x0, x1, ...`` and categorical values are replaced by tokens
``c0, c1, ...`` (NaN is a token too): SDV never sees a cell value it could echo in an error, and the
synthetic categoricals come back with their original Python objects and types.

Determinism: numpy's, Python's and torch's global generators are seeded before ``fit`` and before
``sample``, and the model's own random state is set from the seed (``_set_random_state``), so the
same fitted engine and seed give identical frames.

Saved models are SDV objects pickled with cloudpickle; the pickle is signed with this machine's key
and verified before it is unpickled (:mod:`synthstruct.synthesizers.persistence`).
"""

from __future__ import annotations

import logging
import random
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthstruct.errors import EngineError, ModelIntegrityError, Problem
from synthstruct.synthesizers.base import BaseEngine, Kind, check_is_fitted
from synthstruct.synthesizers.persistence import (
    dump_signed_pickle,
    load_signed_pickle,
    write_integrity_manifest,
)

__all__ = ["SDVCTGANEngine", "SDVGaussianCopulaEngine", "SDVTVAEEngine"]

logger = logging.getLogger(__name__)

_TABLE = "table"
_MODEL_FILE = "model.pkl"


def _seed_everything(seed: int) -> None:
    """Seed every global generator SDV, RDT, ctgan and torch draw from."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch
    except ImportError:  # pragma: no cover - torch ships with SDV's deep models
        return
    torch.manual_seed(seed)


class _SDVEngine(BaseEngine):
    """Common adapter: token encoding, seeding, signed-pickle persistence."""

    uses_pickle = True
    _synthesizer_path: ClassVar[str] = ""

    def _synthesizer_kwargs(self) -> dict[str, Any]:
        return {}

    def _make_synthesizer(self, kinds: dict[str, Kind]) -> Any:
        import importlib

        from sdv.metadata import Metadata

        columns = {
            self._sdv_names_[col]: {"sdtype": "numerical" if kind == "numerical" else "categorical"}
            for col, kind in kinds.items()
        }
        metadata = Metadata.load_from_dict({"tables": {_TABLE: {"columns": columns}}})
        module_name, _, attribute = self._synthesizer_path.partition(":")
        synthesizer_class = getattr(importlib.import_module(module_name), attribute)
        return synthesizer_class(metadata, **self._synthesizer_kwargs())

    def _encode(self, frame: pd.DataFrame, kinds: dict[str, Kind]) -> pd.DataFrame:
        encoded: dict[str, Any] = {}
        self.categories_: dict[str, list[Any]] = {}
        for col in frame.columns:
            name = self._sdv_names_[col]
            if kinds[col] == "categorical":
                codes, uniques = pd.factorize(frame[col].astype(object), use_na_sentinel=False)
                self.categories_[col] = list(uniques)
                encoded[name] = pd.Series(np.char.add("c", codes.astype(str)), dtype=object)
            else:
                encoded[name] = frame[col].to_numpy(dtype=np.float64)
        return pd.DataFrame(encoded)

    def _decode(self, sampled: pd.DataFrame) -> pd.DataFrame:
        out: dict[str, Any] = {}
        for col in self.kinds_:
            values = sampled[self._sdv_names_[col]]
            if self.kinds_[col] == "numerical":
                out[col] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
                continue
            lookup = np.empty(len(self.categories_[col]), dtype=object)
            lookup[:] = self.categories_[col]
            codes = pd.to_numeric(values.astype(str).str.slice(1), errors="coerce").to_numpy()
            if np.isnan(codes).any():
                raise EngineError(f"SDV produced a value outside the training categories in column {col!r}")
            out[col] = lookup[codes.astype(np.int64)]
        return pd.DataFrame(out, columns=list(self.kinds_))

    def _fit(self, frame: pd.DataFrame, *, kinds: dict[str, Kind], target: str | None, seed: int) -> None:
        self._sdv_names_ = {col: f"x{i}" for i, col in enumerate(frame.columns)}
        self.kinds_ = {c: kinds[c] for c in frame.columns}
        encoded = self._encode(frame, kinds)
        _seed_everything(seed)
        synthesizer = self._make_synthesizer(self.kinds_)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            synthesizer.fit({_TABLE: encoded})
        self.synthesizer_ = synthesizer

    def _sample(self, n: int, *, seed: int) -> pd.DataFrame:
        if n == 0:
            return self._decode(pd.DataFrame({name: pd.Series(dtype=object) if self.kinds_[c] == "categorical"
                                              else pd.Series(dtype=np.float64)
                                              for c, name in self._sdv_names_.items()}))
        _seed_everything(seed)
        synthesizer = self.synthesizer_
        synthesizer.reset_sampling()
        synthesizer._set_random_state(seed)  # SDV's hook; otherwise it uses a fixed seed
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sampled = synthesizer.sample(num_rows=n)
        if isinstance(sampled, dict):  # SDV 2.x returns {table: frame}
            sampled = sampled[_TABLE]
        return self._decode(sampled.reset_index(drop=True))

    def save(self, directory: Path | str) -> None:
        """Pickle the fitted engine (cloudpickle) and sign it with this machine's key."""
        check_is_fitted(self)
        directory = Path(directory)
        dump_signed_pickle(self, directory / _MODEL_FILE)
        write_integrity_manifest(directory)

    @classmethod
    def load(cls, directory: Path | str) -> _SDVEngine:
        """Verify the directory and the pickle's signature, then unpickle the engine.

        Raises:
            ModelIntegrityError: Files changed, or the pickle was not signed on this machine.
        """
        engine = load_signed_pickle(Path(directory), _MODEL_FILE)
        if not isinstance(engine, cls):
            raise ModelIntegrityError("saved model is of another engine", [Problem(
                _MODEL_FILE, f"holds a {type(engine).__name__}, not a {cls.__name__}",
                f"load it with {type(engine).__name__}.load")])
        return engine


class SDVGaussianCopulaEngine(_SDVEngine):
    """SDV's ``GaussianCopulaSynthesizer`` with its default parameters."""

    name = "gaussian_copula"
    _synthesizer_path = "sdv.single_table:GaussianCopulaSynthesizer"

    def __init__(self) -> None:
        pass


class _SDVDeepEngine(_SDVEngine):
    """CTGAN / TVAE: ``epochs``, ``batch_size`` (a multiple of 10) and ``verbose`` progress output."""

    def __init__(self, *, epochs: int = 300, batch_size: int = 500, verbose: bool = False) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.verbose = verbose

    def _synthesizer_kwargs(self) -> dict[str, Any]:
        return {"epochs": int(self.epochs), "batch_size": int(self.batch_size), "verbose": bool(self.verbose),
                "enable_gpu": False}

    def _fit(self, frame: pd.DataFrame, *, kinds: dict[str, Kind], target: str | None, seed: int) -> None:
        import torch

        deterministic = torch.are_deterministic_algorithms_enabled()
        torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            super()._fit(frame, kinds=kinds, target=target, seed=seed)
        finally:
            torch.use_deterministic_algorithms(deterministic)


class SDVCTGANEngine(_SDVDeepEngine):
    """SDV's ``CTGANSynthesizer`` (conditional GAN), on CPU."""

    name = "ctgan"
    _synthesizer_path = "sdv.single_table:CTGANSynthesizer"


class SDVTVAEEngine(_SDVDeepEngine):
    """SDV's ``TVAESynthesizer`` (variational autoencoder), on CPU."""

    name = "tvae"
    _synthesizer_path = "sdv.single_table:TVAESynthesizer"
