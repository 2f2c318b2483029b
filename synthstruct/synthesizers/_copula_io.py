"""Saving and loading a fitted fast copula as ``model.json`` + ``arrays.npz`` (no pickle).

Category values keep their Python type through JSON (:func:`encode_value` / :func:`decode_value`);
every array of every stratum goes to one ``.npz``; the directory gets an integrity manifest.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from synthstruct.errors import InputError, Problem
from synthstruct.synthesizers.base import BaseEngine
from synthstruct.synthesizers.persistence import verify_integrity, write_integrity_manifest

__all__ = ["decode_value", "encode_value", "read_model", "write_model"]

#: The engine class being saved or rebuilt (``FastCopulaEngine``; not imported: it imports this module).
EngineT = TypeVar("EngineT", bound=BaseEngine)

_MODEL_FILE = "model.json"
_ARRAYS_FILE = "arrays.npz"
_FORMAT = "synthstruct-fast-copula/1"


def write_model(engine: Any, directory: Path) -> None:
    """Write a fitted ``engine`` into ``directory`` with its integrity manifest."""
    arrays: dict[str, np.ndarray] = {}
    strata = []
    for i, stratum in enumerate(engine.strata_):
        arrays[f"s{i}_chol"] = stratum["chol"]
        dims = []
        for j, dim in enumerate(stratum["dims"]):
            arrays[f"s{i}_d{j}_values"] = dim["values"]
            arrays[f"s{i}_d{j}_probs"] = np.asarray(dim["probs"], dtype=np.float64)
            if "parent" in dim:
                arrays[f"s{i}_d{j}_cond"] = dim["cond"]
            dims.append({k: dim[k] for k in ("column", "role", "mode", "parent") if k in dim})
        strata.append({"label": stratum["label"], "weight": float(stratum["weight"]), "dims": dims})
    if hasattr(engine, "pooled_labels_"):
        arrays["pooled_labels"] = engine.pooled_labels_
        arrays["pooled_weights"] = np.asarray(engine.pooled_weights_, dtype=np.float64)
    model = {
        "format": _FORMAT, "params": engine.get_params(), "columns": engine.columns_, "kinds": engine.kinds_,
        "target": engine.target_, "integer": engine.integer_, "parents": engine.parents_, "strata": strata,
        "categories": {c: [encode_value(c, v) for v in vals] for c, vals in engine.categories_.items()},
    }
    (directory / _MODEL_FILE).write_text(json.dumps(model), encoding="utf-8")
    np.savez(directory / _ARRAYS_FILE, **arrays)
    write_integrity_manifest(directory)


def read_model(cls: type[EngineT], directory: Path) -> EngineT:
    """Rebuild an engine of class ``cls`` from ``directory`` after checking its integrity manifest."""
    verify_integrity(directory)
    model = json.loads((directory / _MODEL_FILE).read_text(encoding="utf-8"))
    with np.load(directory / _ARRAYS_FILE, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    engine = cls(**model["params"])
    engine.categories_ = {c: [decode_value(v) for v in vals] for c, vals in model["categories"].items()}
    engine.integer_ = model["integer"]
    engine.target_ = model["target"]
    engine.parents_ = model["parents"]
    engine.strata_ = []
    for i, stratum in enumerate(model["strata"]):
        dims = [{**d, "values": arrays[f"s{i}_d{j}_values"], "probs": arrays[f"s{i}_d{j}_probs"],
                 **({"cond": arrays[f"s{i}_d{j}_cond"]} if "parent" in d else {})}
                for j, d in enumerate(stratum["dims"])]
        engine.strata_.append({"label": stratum["label"], "weight": stratum["weight"], "dims": dims,
                               "chol": arrays[f"s{i}_chol"]})
    if "pooled_labels" in arrays:
        engine.pooled_labels_ = arrays["pooled_labels"]
        engine.pooled_weights_ = arrays["pooled_weights"]
    engine.columns_ = model["columns"]
    engine.kinds_ = model["kinds"]
    return engine


def encode_value(column: str, value: Any) -> dict[str, Any]:
    """JSON form of a category value that keeps its Python type (str, int, float, bool, NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return {"t": "nan"}
    if isinstance(value, (bool, np.bool_)):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, (int, np.integer)):
        return {"t": "int", "v": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"t": "float", "v": float(value) if math.isfinite(value) else str(value)}
    if isinstance(value, str):
        return {"t": "str", "v": value}
    raise InputError("cannot save this engine", [Problem(
        f"column {column!r}", f"has categorical values of type {type(value).__name__}",
        "convert categorical values to str, int, float or bool before fitting")])


def decode_value(item: dict[str, Any]) -> Any:
    """Inverse of :func:`encode_value`."""
    kind = item["t"]
    if kind == "nan":
        return np.nan
    if kind == "float":
        return float(item["v"])
    return {"bool": bool, "int": int, "str": str}[kind](item["v"])
