"""Sampling one chunk of a fitted fast-copula stratum, reading every dimension off the normal scale."""

from __future__ import annotations

from typing import Any

import numpy as np

from synthstruct.synthesizers._copula_math import cut_table, grid_table, interp_normal_table, lookup_cuts
from synthstruct.synthesizers._copula_tree import conditional_cuts, sample_conditional

__all__ = ["prepare_tables", "sample_chunk"]


def prepare_tables(stratum: dict[str, Any]) -> None:
    """Build (once) the lookup tables and decode order that :func:`sample_chunk` reads."""
    if "_chol_t" not in stratum:
        stratum["_chol_t"] = np.ascontiguousarray(stratum["chol"].T)
    if "_decode_order" not in stratum:  # parents before children (the tree is in BFS order)
        dims = stratum["dims"]
        children = [j for j, d in enumerate(dims) if "parent" in d]
        depth = {d["column"]: 0 for d in dims}
        for _ in children:
            for j in children:
                depth[dims[j]["column"]] = depth[dims[j]["parent"]] + 1
        free = [j for j in range(len(dims)) if j not in children]
        stratum["_decode_order"] = free + sorted(children, key=lambda j: depth[dims[j]["column"]])
    for dim in stratum["dims"]:
        if "parent" in dim:
            conditional_cuts(dim)
        elif dim["mode"] == "grid":
            grid_table(dim)
        elif dim["mode"] in ("steps", "categories"):
            cut_table(dim)


def sample_chunk(stratum: dict[str, Any], rows: np.ndarray | slice, rng: np.random.Generator,
                 numeric_out: dict[str, np.ndarray], codes_out: dict[str, np.ndarray],
                 integer: set[str]) -> None:
    """Fill ``rows`` of the outputs from one stratum's copula.

    Every dimension is read directly on the normal scale through tables built once per model:
    category/step cuts (``ndtri`` of cumulative probabilities) and quantile functions.
    """
    chol_t = stratum["_chol_t"]
    size = rows.stop - rows.start if isinstance(rows, slice) else len(rows)
    normals = rng.standard_normal((size, chol_t.shape[0]), dtype=np.float32) @ chol_t
    missing_masks: dict[str, np.ndarray] = {}
    for j in stratum["_decode_order"]:
        dim = stratum["dims"][j]
        col, mode = dim["column"], dim["mode"]
        if "parent" in dim:
            parent = codes_out[dim["parent"]][rows]
            position = sample_conditional(normals[:, j], parent, dim)
            codes_out[col][rows] = dim["values"][position]
        elif mode == "grid":
            values = interp_normal_table(normals[:, j], grid_table(dim))
            numeric_out[col][rows] = np.round(values) if col in integer else values
        elif mode in ("steps", "categories"):
            picked = dim["values"][lookup_cuts(normals[:, j], dim)]
            if dim["role"] == "missing":
                missing_masks[col] = picked > 0.5
            elif mode == "categories":
                codes_out[col][rows] = picked
            else:
                numeric_out[col][rows] = picked
    for col, mask in missing_masks.items():
        if isinstance(rows, slice):
            numeric_out[col][rows][mask] = np.nan
        else:
            numeric_out[col][rows[mask]] = np.nan
