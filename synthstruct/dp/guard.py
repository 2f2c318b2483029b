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

__all__ = ["check_dp_setup", "check_policy", "is_private", "require_declared_schema",
           "resolve_engine_options"]


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


def resolve_engine_options(engine: str | None, epsilon: float | None, delta: float | None,
                           engine_params: dict[str, Any] | None) -> tuple[str | None, dict[str, Any] | None]:
    """Turn the CLI's ``--engine``/``--epsilon``/``--delta`` into an engine name and parameters.

    ``--epsilon`` alone selects the ``dp`` engine; ``--engine dp`` needs ``--epsilon`` (no silent default
    budget); ``--epsilon``/``--delta`` with a non-private engine are refused (they would be ignored and
    the output could be mistaken for private).

    Raises:
        InputError: any of the combinations above, or an invalid ε or δ.
    """
    from synthstruct._registry import ENGINES
    from synthstruct.dp.accounting import check_budget

    name = engine or ("dp" if epsilon is not None else None)
    private = name is not None and name in ENGINES and bool(getattr(ENGINES.get(name), "differentially_private",
                                                                    False))
    if (epsilon is not None or delta is not None) and name is not None and not private:
        raise InputError("--epsilon/--delta need a differentially private engine", [Problem(
            "--engine", f"{name!r} gives no differential privacy guarantee; the budget would be ignored",
            "use --engine dp (or drop --epsilon/--delta)")])
    if not private:
        return name, engine_params
    if epsilon is None:
        raise InputError("the dp engine needs a privacy budget", [Problem(
            "--epsilon", "is missing", "pass e.g. --epsilon 1 (and optionally --delta 1e-6)")])
    params = dict(engine_params or {})
    params["epsilon"] = float(epsilon)
    params["delta"] = float(delta) if delta is not None else params.get("delta", 1e-6)
    check_budget(params["epsilon"], params["delta"])
    return name, params


def is_private(engine: str | None) -> bool:
    """Whether the registered engine ``engine`` gives a differential privacy guarantee."""
    from synthstruct._registry import ENGINES

    return engine is not None and engine in ENGINES and bool(getattr(ENGINES.get(engine), "differentially_private",
                                                                     False))


def check_policy(policy: Any, engine: str | None, engine_params: dict[str, Any] | None) -> None:
    """Refuse, before fitting, a run that a policy with ``require_dp`` would block."""
    need = getattr(policy, "require_dp", None)
    if need is None:
        return
    params = engine_params or {}
    problems = []
    if not is_private(engine):
        problems.append(Problem("--engine", f"policy {policy.name!r} requires differential privacy "
                                f"(require_dp.max_epsilon = {need.max_epsilon:g})",
                                f"use --engine dp --epsilon {need.max_epsilon:g} (or less)"))
    else:
        if float(params.get("epsilon", float("inf"))) > need.max_epsilon:
            problems.append(Problem("--epsilon", f"is above the policy's require_dp.max_epsilon = {need.max_epsilon:g}",
                                    f"pass --epsilon {need.max_epsilon:g} or less"))
        if need.max_delta is not None and float(params.get("delta", 1e-6)) > need.max_delta:
            problems.append(Problem("--delta", f"is above the policy's require_dp.max_delta = {need.max_delta:g}",
                                    f"pass --delta {need.max_delta:g} or less"))
    if problems:
        raise InputError("the policy requires differential privacy", problems)
