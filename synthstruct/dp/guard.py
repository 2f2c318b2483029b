"""Refuse setups whose output would not be covered by the differential privacy guarantee.

The guarantee of the ``dp`` engine covers the synthetic table *given the schema*. Anything else that
reads the real rows and shapes the output would fall outside it, so a DP fit refuses it with a typed
error (exit 2) instead of releasing something non-private labelled DP:

* value protection (``protect_k > 0``): its clip bounds and rare-category list are computed on the rows;
* ``fixed_combinations`` constraints: the allowed combinations are read from the rows;
* text columns with a generator other than ``placeholder``: they learn from the real texts;
* a ``domain`` engine parameter: the public domain must come from the schema, where it is reviewed.

``id``, ``pii`` and ``placeholder`` text columns are generated without looking at any real value in a DP
fit (no replay guard, no learned missing share), so they are covered with zero budget.
"""

from __future__ import annotations

from typing import Any

from synthstruct.errors import InputError, Problem
from synthstruct.schema.model import FixedCombinations, Schema

__all__ = ["check_dp_setup", "require_declared_schema"]


def check_dp_setup(schema: Schema, *, protect_k: int, engine_params: dict[str, Any] | None) -> None:
    """Raise :class:`InputError` listing every option that would break the DP guarantee."""
    problems: list[Problem] = []
    if protect_k:
        problems.append(Problem("protect_k", f"value protection (k={protect_k}) computes clip bounds and rare "
                                "categories on the real rows, outside the DP guarantee",
                                "set protect_k to 0 (--protect-k 0); the dp engine's noise protects rare values"))
    for i, con in enumerate(schema.constraints):
        if isinstance(con, FixedCombinations):
            problems.append(Problem(f"constraints[{i}]", "fixed_combinations reads the allowed combinations from "
                                    "the real rows", "remove the constraint or list the combinations as one "
                                    "categorical column with declared categories"))
    for name, col in schema.columns.items():
        if col.kind == "text" and getattr(col, "generator", "placeholder") != "placeholder":
            problems.append(Problem(f"column {name!r}", f"text generator {col.generator!r} learns from the real "
                                    "texts, outside the DP guarantee", "use generator: placeholder or drop the column"))
    if engine_params and "domain" in engine_params:
        problems.append(Problem("engine.domain", "the public domain is read from the schema",
                                "declare bounds and categories in the schema instead"))
    if problems:
        raise InputError("this setup would break the differential privacy guarantee", problems)


def require_declared_schema(inferred: bool) -> None:
    """A DP release needs a schema written or reviewed by people: an inferred one is a function of the rows."""
    if inferred:
        raise InputError("differential privacy needs a declared schema", [Problem(
            "--schema", "the schema was inferred from the real rows (its kinds, categories and bounds are data, "
                        "outside the guarantee)",
            "write a schema (synthstruct infer DATA -o schema.yaml, then review it: declare public categories "
            "and min/max) and pass --schema schema.yaml")])
