"""Cross-field checks of priors, dependencies and rules, reported with YAML paths.

:func:`generation_problems` is called with :meth:`synthstruct.schema.model.Schema.semantic_problems`
by :func:`synthstruct.schema.io.validate_model` (and per table by the relational schema), so every
schema load finds these problems before any generation starts: probabilities that do not sum
to 1, ``min > max``, a prior outside the column's bounds, unknown columns in rules, a dependency
cycle, contradictory constraints.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from typing import Any

import pandas as pd

from synthstruct.errors import Problem
from synthstruct.schema.model import (
    BooleanColumn,
    CategoricalColumn,
    CheckRule,
    ComposeRule,
    DatetimeColumn,
    DeriveRule,
    Inequality,
    NumericalColumn,
    NumericPrior,
    OrdinalColumn,
    Positive,
    Schema,
)

__all__ = ["allowed_values", "dependencies", "generation_problems", "key", "parse_timestamp", "placeholders"]

_TOLERANCE = 1e-6
_PARAMS = {"normal": ("mean", "std"), "lognormal": ("median", "sigma"), "uniform": ("low", "high"),
           "poisson": ("lam",), "constant": ("value",)}
_LATE_KINDS = ("pii", "id")  # generated after the rows are accepted; rules cannot read them


def key(value: Any) -> str:
    """The text key of a category or parent value (``1``, ``1.0``, ``"1"`` are equal; booleans lower-case)."""
    from synthstruct.schema.check import category_key

    if isinstance(value, bool):
        return "true" if value else "false"
    text = category_key(value)
    return text.lower() if text in ("True", "False") else text


def allowed_values(schema: Schema, name: str) -> list[Any] | None:
    """Declared values of a categorical / ordinal / boolean column (``None`` when open)."""
    col = schema.columns[name]
    if isinstance(col, CategoricalColumn):
        if col.categories is not None:
            return list(col.categories)
        return list(col.prior) if col.prior else None
    if isinstance(col, OrdinalColumn):
        return list(col.order)
    if isinstance(col, BooleanColumn):
        return [True, False]
    return None


def placeholders(template: str) -> list[str]:
    """The ``{name}`` fields of a template (raises ``ValueError`` on malformed braces)."""
    return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]


def dependencies(schema: Schema) -> dict[str, set[str]]:
    """Column -> the columns its generation reads (``depends_on``, derive expressions, compose fields).

    Expressions that do not parse contribute nothing (they are reported elsewhere).
    """
    from synthstruct.schema.expr import ExpressionError, parse_expression

    deps: dict[str, set[str]] = {name: set() for name in schema.columns}
    for name, col in schema.columns.items():
        parent = getattr(col, "depends_on", None)
        if parent:
            deps[name].add(parent)
    for rule in schema.rules:
        if isinstance(rule, DeriveRule) and rule.column in deps:
            try:
                deps[rule.column] |= parse_expression(rule.expr).names
            except ExpressionError:
                pass
        elif isinstance(rule, ComposeRule) and rule.column in deps:
            slots = set(rule.slots) | {s for case in rule.cases.values() for s in case.slots}
            for template in _templates(rule):
                try:
                    deps[rule.column] |= {f for f in placeholders(template) if f not in slots}
                except ValueError:
                    pass
            if rule.by:
                deps[rule.column].add(rule.by)
    return deps


def _templates(rule: ComposeRule) -> Iterable[str]:
    yield from rule.templates
    for case in rule.cases.values():
        yield from case.templates


def generation_problems(schema: Schema) -> list[Problem]:
    """Every problem of the schema's priors, dependencies and rules (empty list when there are none)."""
    problems: list[Problem] = []
    for name, col in schema.columns.items():
        path = f"columns.{name}"
        if isinstance(col, (CategoricalColumn, OrdinalColumn)):
            problems += _categorical(schema, name, col, path)
        elif isinstance(col, NumericalColumn):
            problems += _numerical(schema, name, col, path)
        elif isinstance(col, DatetimeColumn):
            problems += _datetime(col, path)
        elif isinstance(col, BooleanColumn):
            problems += _parent(schema, name, col, path)
    problems += _rules(schema)
    problems += _cycles(schema)
    problems += _contradictions(schema)
    return problems


# --------------------------------------------------------------------------- columns
def _probabilities(probs: dict[Any, float], allowed: list[Any] | None, path: str) -> list[Problem]:
    out = []
    total = sum(probs.values())
    if abs(total - 1.0) > _TOLERANCE:
        out.append(Problem(path, f"probabilities sum to {total:.6g}, not 1", "make the shares add up to 1"))
    if allowed is not None:
        known = {key(v) for v in allowed}
        for value in probs:
            if key(value) not in known:
                out.append(Problem(f"{path}.{value}", "is not a declared category of the column",
                                   "add it to the column's categories or fix the spelling"))
    return out


def _parent(schema: Schema, name: str, col: Any, path: str) -> list[Problem]:
    """``depends_on`` / ``conditional`` consistency, shared by every prior-carrying kind."""
    out: list[Problem] = []
    parent, conditional = col.depends_on, col.conditional
    if parent is None and conditional is None:
        return out
    if parent is None or conditional is None:
        missing = "conditional" if parent is not None else "depends_on"
        return [Problem(f"{path}.{missing}", "depends_on and conditional go together",
                        f"add {missing} or remove the other key")]
    if parent == name:
        return [Problem(f"{path}.depends_on", "a column cannot depend on itself", "name another column")]
    if parent not in schema.columns:
        return [Problem(f"{path}.depends_on", f"names column {parent!r}, which the schema does not declare",
                        "declare the column or fix the name")]
    if schema.columns[parent].kind not in ("categorical", "ordinal", "boolean", "numerical"):
        return [Problem(f"{path}.depends_on", f"parent {parent!r} has kind {schema.columns[parent].kind!r}",
                        "depend on a categorical, ordinal, boolean or integer column")]
    values = allowed_values(schema, parent)
    if values is not None:
        known = {key(v) for v in values}
        for value in conditional:
            if key(value) not in known:
                out.append(Problem(f"{path}.conditional.{value}", f"is not a value of parent {parent!r}",
                                   "use the parent's declared values"))
        if col.prior is None:
            listed = {key(v) for v in conditional}
            if any(key(v) not in listed for v in values):
                out.append(Problem(f"{path}.conditional", "some parent values have no entry and there is no prior",
                                   "add a prior (used for the other parent values) or list every parent value"))
    return out


def _categorical(schema: Schema, name: str, col: Any, path: str) -> list[Problem]:
    declared = col.categories if isinstance(col, CategoricalColumn) else col.order
    out = []
    if col.prior is not None:
        out += _probabilities(col.prior, declared, f"{path}.prior")
    for value, probs in (col.conditional or {}).items():
        out += _probabilities(probs, declared if declared is not None else None, f"{path}.conditional.{value}")
    return out + _parent(schema, name, col, path)


def _numeric_prior(prior: NumericPrior, col: NumericalColumn, path: str) -> list[Problem]:
    out = []
    for param in _PARAMS[prior.distribution]:
        if getattr(prior, param) is None:
            out.append(Problem(f"{path}.{param}", f"a {prior.distribution} prior needs {param}", f"add {param}"))
    if out:
        return out
    if prior.distribution == "uniform" and prior.low > prior.high:
        out.append(Problem(f"{path}.low", "low is greater than high", "swap or correct the bounds"))
    centre = {"normal": prior.mean, "lognormal": prior.median, "poisson": prior.lam, "constant": prior.value,
              "uniform": None}[prior.distribution]
    lo = prior.low if prior.distribution == "uniform" else centre
    hi = prior.high if prior.distribution == "uniform" else centre
    if col.min is not None and hi is not None and hi < col.min or col.max is not None and lo is not None and lo > col.max:
        out.append(Problem(path, "the prior lies outside the column's min/max",
                           "move the prior inside the bounds or widen them"))
    return out


def _numerical(schema: Schema, name: str, col: NumericalColumn, path: str) -> list[Problem]:
    out = []
    if col.prior is not None:
        out += _numeric_prior(col.prior, col, f"{path}.prior")
    for value, prior in (col.conditional or {}).items():
        out += _numeric_prior(prior, col, f"{path}.conditional.{value}")
    return out + _parent(schema, name, col, path)


def parse_timestamp(text: str | None, fmt: str) -> pd.Timestamp | None:
    if text is None:
        return None
    parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    if pd.isna(parsed):
        parsed = pd.to_datetime(text, errors="coerce")
    return None if pd.isna(parsed) else parsed


def _datetime(col: DatetimeColumn, path: str) -> list[Problem]:
    out = []
    bounds = {}
    for part, text in (("min", col.min), ("max", col.max),
                       ("prior.start", col.prior and col.prior.start), ("prior.end", col.prior and col.prior.end)):
        if text is not None:
            bounds[part] = parse_timestamp(text, col.format)
            if bounds[part] is None:
                out.append(Problem(f"{path}.{part}", "is not a date/time", f"write it in the format {col.format!r}"))
    for low, high in (("min", "max"), ("prior.start", "prior.end")):
        if bounds.get(low) is not None and bounds.get(high) is not None and bounds[low] > bounds[high]:
            out.append(Problem(f"{path}.{low}", f"{low} is after {high}", "swap or correct the dates"))
    if col.prior is not None:
        for part in ("hour_weights", "weekday_weights"):
            weights = getattr(col.prior, part)
            if weights is not None and sum(weights) <= 0:
                out.append(Problem(f"{path}.prior.{part}", "all weights are zero", "give some weight to at least one"))
        start = bounds.get("prior.start", bounds.get("min"))
        end = bounds.get("prior.end", bounds.get("max"))
        if start is None or end is None:
            out.append(Problem(f"{path}.prior", "a datetime prior needs a range",
                               "set the column's min and max (or prior.start and prior.end)"))
    return out


# --------------------------------------------------------------------------- rules
def _expression_problems(schema: Schema, text: str, path: str) -> list[Problem]:
    from synthstruct.schema.expr import ExpressionError, parse_expression

    try:
        expression = parse_expression(text)
    except ExpressionError as exc:
        return [Problem(path, f"expression {exc}", "see docs/generate.md for the expression grammar")]
    out = []
    for ref in sorted(expression.names):
        if ref not in schema.columns:
            out.append(Problem(path, f"names column {ref!r}, which the schema does not declare",
                               "declare the column or fix the name"))
        elif schema.columns[ref].kind in _LATE_KINDS:
            out.append(Problem(path, f"reads {ref!r}, a {schema.columns[ref].kind} column generated last",
                               "rules may read structured and text columns only"))
    return out


def _compose_problems(schema: Schema, rule: ComposeRule, path: str) -> list[Problem]:
    out = []
    if not rule.templates and (not rule.cases or any(not c.templates for c in rule.cases.values())):
        out.append(Problem(f"{path}.templates", "no templates for some rows",
                           "give templates, or templates in every case"))
    if rule.by is not None and rule.by not in schema.columns:
        out.append(Problem(f"{path}.by", f"names column {rule.by!r}, which the schema does not declare",
                           "declare the column or fix the name"))
    elif rule.by is not None and (values := allowed_values(schema, rule.by)) is not None:
        known = {key(v) for v in values}
        out += [Problem(f"{path}.cases.{v}", f"is not a value of {rule.by!r}", "use the column's declared values")
                for v in rule.cases if key(v) not in known]
    elif rule.cases and rule.by is None:
        out.append(Problem(f"{path}.by", "cases need a 'by' column", "add by: COLUMN"))
    slots = set(rule.slots) | {s for case in rule.cases.values() for s in case.slots}
    for where, templates in [("templates", rule.templates)] + [
            (f"cases.{v}.templates", c.templates) for v, c in rule.cases.items()]:
        for j, template in enumerate(templates):
            try:
                fields = placeholders(template)
            except ValueError:
                out.append(Problem(f"{path}.{where}[{j}]", "has unbalanced braces", "write {slot} or {column}"))
                continue
            for field in fields:
                if field in slots:
                    continue
                if field not in schema.columns:
                    out.append(Problem(f"{path}.{where}[{j}]", f"field {{{field}}} is neither a slot nor a column",
                                       "add it under slots or fix the name"))
                elif schema.columns[field].kind in _LATE_KINDS:
                    out.append(Problem(f"{path}.{where}[{j}]", f"reads {field!r}, generated last",
                                       "templates may read structured and text columns only"))
    for slot, values in list(rule.slots.items()) + [(s, v) for c in rule.cases.values() for s, v in c.slots.items()]:
        if not values:
            out.append(Problem(f"{path}.slots.{slot}", "has no values", "list at least one value"))
    return out


def _rules(schema: Schema) -> list[Problem]:
    out: list[Problem] = []
    produced: dict[str, str] = {}
    for i, rule in enumerate(schema.rules):
        path = f"rules[{i}]"
        if isinstance(rule, CheckRule):
            out += _expression_problems(schema, rule.expr, f"{path}.expr")
            continue
        if rule.column not in schema.columns:
            out.append(Problem(f"{path}.column", f"names column {rule.column!r}, which the schema does not declare",
                               "declare the column or fix the name"))
            continue
        if rule.column in produced:
            out.append(Problem(f"{path}.column", f"column {rule.column!r} is already produced by {produced[rule.column]}",
                               "keep one rule per column"))
        produced[rule.column] = path
        col = schema.columns[rule.column]
        if isinstance(rule, DeriveRule):
            if col.kind not in ("numerical", "datetime", "boolean", "categorical", "ordinal"):
                out.append(Problem(f"{path}.column", f"cannot derive a {col.kind} column", "derive structured columns"))
            if getattr(col, "prior", None) is not None or getattr(col, "depends_on", None) is not None:
                out.append(Problem(f"{path}.column", "the column also has a prior, which the rule would override",
                                   "remove the column's prior / depends_on"))
            out += _expression_problems(schema, rule.expr, f"{path}.expr")
        else:
            if col.kind != "text":
                out.append(Problem(f"{path}.column", f"compose writes text, but the column has kind {col.kind!r}",
                                   "compose text columns only"))
            out += _compose_problems(schema, rule, path)
    return out


def _cycles(schema: Schema) -> list[Problem]:
    deps = dependencies(schema)
    state: dict[str, int] = {}
    cyclic: list[str] = []
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(deps.get(node, ())):
            if nxt not in deps:
                continue
            if state.get(nxt) == 1:
                cyclic.extend(stack[stack.index(nxt):])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in deps:
        if node not in state:
            visit(node)
    return [Problem(f"columns.{name}", "is part of a dependency cycle (depends_on / rules)",
                    "break the cycle: one of the columns must not read the other") for name in sorted(set(cyclic))]


def _contradictions(schema: Schema) -> list[Problem]:
    out: list[Problem] = []
    pairs: dict[tuple[str, str], int] = {}
    for i, con in enumerate(schema.constraints):
        if isinstance(con, Inequality):
            if (con.high, con.low) in pairs:
                j = pairs[(con.high, con.low)]
                out.append(Problem(f"constraints[{i}]", f"contradicts constraints[{j}] (each column must be below the other)",
                                   "remove one of the two inequalities"))
            pairs[(con.low, con.high)] = i
            low, high = schema.columns.get(con.low), schema.columns.get(con.high)
            if isinstance(low, NumericalColumn) and isinstance(high, NumericalColumn) and \
                    low.min is not None and high.max is not None and low.min > high.max:
                out.append(Problem(f"constraints[{i}]", f"{con.low!r} has min above the max of {con.high!r}",
                                   "correct the bounds or the constraint"))
        elif isinstance(con, Positive):
            col = schema.columns.get(con.column)
            if isinstance(col, NumericalColumn) and col.max is not None and (col.max <= 0 if con.strict else col.max < 0):
                out.append(Problem(f"constraints[{i}]", f"{con.column!r} must be positive but its max does not allow it",
                                   "correct max or remove the constraint"))
    return out
