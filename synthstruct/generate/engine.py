"""Schema-only generation: rows from priors, dependencies, rules, Faker PII and text — no real data.

Steps (the "framework → content → details → refinement" order of the packs):

1. **plan** — validate the requirement spec against the schema, order the columns so that every
   column comes after the columns it reads (``depends_on``, derive expressions, compose fields), and
   refuse columns that cannot be sampled without data; all before anything is drawn;
2. **framework** — structured columns from their priors (requested shares as exact quotas);
3. **content and details** — derived columns, then text (compose rules fill templates from the
   row; other text columns use their text backend);
4. **refinement** — every row is checked against the schema (bounds, categories, constraints),
   the ``check`` rules and the text requirements; rows that fail are regenerated (keeping their
   requested class), up to ``max_rounds``; the counts go to the quality report;
5. ids and PII (Faker / patterns / Luhn-valid masked cards) are filled last, for all rows at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.errors import DataValidationError, Problem, SchemaError
from synthstruct.schema.rules import dependencies
from synthstruct.generate.compose import (
    TextRequirement,
    backend_column,
    compose_column,
    text_requirements,
)
from synthstruct.schema.expr import parse_expression
from synthstruct.generate.priors import quota_sample, sample_column, sampling_gaps
from synthstruct.generate.spec import RequirementSpec, validate_spec
from synthstruct.schema.model import (
    CheckRule,
    ComposeRule,
    DatetimeColumn,
    DeriveRule,
    NumericalColumn,
    Schema,
)

__all__ = ["GenerationResult", "generate_table", "plan_order"]

log = logging.getLogger(__name__)
_LATE = ("id", "pii")
_TIME_CODES = ("%H", "%M", "%S", "%I", "%p", "%T", "%X", "%c")


@dataclass
class GenerationResult:
    """Generated rows (output representation) and their quality-control report."""

    data: pd.DataFrame
    report: dict[str, Any]
    regeneration: dict[str, Any] = field(default_factory=dict)


def plan_order(schema: Schema) -> list[str]:
    """Columns in generation order (parents first; ids and PII last), schema order among equals."""
    deps = dependencies(schema)
    order: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        done.add(name)
        for parent in sorted(deps.get(name, ()), key=list(schema.columns).index):
            visit(parent)
        order.append(name)

    for name in schema.columns:
        visit(name)
    return [c for c in order if schema.columns[c].kind not in _LATE] + \
        [c for c in order if schema.columns[c].kind in _LATE]


def _plan_problems(schema: Schema, given: tuple[str, ...] = ()) -> list[Problem]:
    produced = {r.column for r in schema.rules if isinstance(r, (DeriveRule, ComposeRule))} | set(given)
    problems = []
    for name, col in schema.columns.items():
        if name in produced or col.kind in ("text", *_LATE):
            continue
        gap = sampling_gaps(schema, name)
        if gap:
            problems.append(Problem(f"columns.{name}", f"cannot be generated without data: it {gap}",
                                    "add a prior (see docs/generate.md) or a derive rule"))
    return problems


class _Generator:
    """One generation run: holds the plan, the compiled rules and the requirements."""

    def __init__(self, schema: Schema, spec: RequirementSpec, seed: int) -> None:
        self.schema = schema
        self.spec = spec
        self.seed = seed
        self.order = plan_order(schema)
        self.derive = {r.column: parse_expression(r.expr) for r in schema.rules if isinstance(r, DeriveRule)}
        self.compose = {r.column: r for r in schema.rules if isinstance(r, ComposeRule)}
        self.checks = [(i, parse_expression(r.expr)) for i, r in enumerate(schema.rules) if isinstance(r, CheckRule)]
        self.text_req: dict[str, TextRequirement] = {
            name: text_requirements(schema, name, spec.text[name].model_dump() if name in spec.text else None)
            for name in schema.columns_of("text")}
        self._rowless = schema.model_copy(update={"primary_key": None})

    # ------------------------------------------------------------------ rows
    def sample_rows(self, n: int, rng: np.random.Generator, fixed: dict[str, np.ndarray], round_: int) -> pd.DataFrame:
        frame = pd.DataFrame(index=pd.RangeIndex(n))
        for name in self.order:
            col = self.schema.columns[name]
            if col.kind in _LATE:
                continue
            if name in fixed:
                frame[name] = fixed[name]
            elif name in self.derive:
                frame[name] = self._derived(name, frame)
            elif name in self.compose:
                frame[name] = compose_column(self.compose[name], frame, rng, self.text_req[name])
            elif col.kind == "text":
                frame[name] = backend_column(self.schema, name, frame, self.seed * 1009 + round_, self.text_req[name])
            else:
                frame[name] = self._sampled(name, frame, n, rng)
        return frame

    def _sampled(self, name: str, frame: pd.DataFrame, n: int, rng: np.random.Generator) -> Any:
        col = self.schema.columns[name]
        values = sample_column(self.schema, name, frame, n, rng)
        if isinstance(col, DatetimeColumn) and not any(code in col.format for code in _TIME_CODES):
            values = values.dt.normalize()
        return values.to_numpy() if isinstance(values, pd.Series) else values

    def _derived(self, name: str, frame: pd.DataFrame) -> Any:
        col = self.schema.columns[name]
        value = self.derive[name].evaluate(frame)
        if np.ndim(value) == 0:
            value = np.full(len(frame), value)
        if col.kind == "boolean":
            return np.asarray(value, dtype=bool)
        if col.kind == "datetime":
            return pd.to_datetime(pd.Series(value)).to_numpy()
        if isinstance(col, NumericalColumn):
            numbers = np.asarray(value, dtype="float64")
            if col.dtype == "int":
                return np.round(numbers).astype("int64")
            return np.round(numbers, col.decimals) if col.decimals is not None else numbers
        return np.asarray(value, dtype=object)

    # ------------------------------------------------------------------ checks
    def failures(self, frame: pd.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
        """Rows breaking any rule (schema rules and constraints, check rules, text requirements) and
        the number of rows breaking each rule."""
        from synthstruct.evaluation.validity import row_validity_mask

        valid, counts = row_validity_mask(frame, self._rowless)
        bad = ~valid
        for i, expression in self.checks:
            broken = ~expression.evaluate_bool(frame)
            counts[f"rules[{i}].check"] = int(broken.sum())
            bad |= broken
        for name, req in self.text_req.items():
            for rule, broken in req.failures(frame[name]).items():
                counts[f"text.{name}.{rule}"] = int(broken.sum())
                bad |= broken
        return bad, counts


_SEX_COLUMNS = ("sex", "gender")
_NAME_METHODS = {"PERSON": ("name_female", "name_male"), "FIRST_NAME": ("first_name_female", "first_name_male")}


def _sex_aware_names(schema: Schema, frame: pd.DataFrame, entity: str, rng: np.random.Generator) -> pd.Series | None:
    """Names that agree with a ``sex`` / ``gender`` column holding female / male (``None`` if there is none)."""
    from synthstruct.synthesizers.pii import seeded_faker

    sex = next((c for c in _SEX_COLUMNS if c in frame.columns), None)
    if sex is None or entity not in _NAME_METHODS:
        return None
    fake = seeded_faker(schema.locale)
    fake.seed_instance(int(rng.integers(0, 2**62)))
    female, male = (getattr(fake, m) for m in _NAME_METHODS[entity])
    values = frame[sex].astype(str).str.lower().tolist()
    return pd.Series([female() if v.startswith("f") else male() if v.startswith("m") else fake.name()
                      for v in values], dtype=object)


def _late_columns(schema: Schema, frame: pd.DataFrame, seed: int) -> dict[str, pd.Series]:
    from synthstruct.generate.formats import masked_card_numbers
    from synthstruct.synthesizers.pii import make_generator

    out = {}
    n = len(frame)
    empty = pd.Series([], dtype=object)
    for i, name in enumerate(schema.columns_of(*_LATE)):
        col = schema.columns[name]
        rng = np.random.default_rng([seed, 7919, i])
        if col.kind == "pii" and col.entity == "CREDIT_CARD" and col.pattern and "*" in col.pattern:
            masked, _full = masked_card_numbers(col.pattern, n, rng)
            out[name] = pd.Series(masked, dtype=object)
            continue
        if col.kind == "pii" and col.strategy == "fake" and not col.locale:
            names = _sex_aware_names(schema, frame, col.entity, rng)
            if names is not None:
                out[name] = names
                continue
        generator = make_generator(col, locale=schema.locale).fit(empty)
        out[name] = generator.generate(n, rng).reset_index(drop=True)
    return out


def _fixed_shares(schema: Schema, spec: RequirementSpec, n: int, seed: int) -> dict[str, np.ndarray]:
    from synthstruct.schema.rules import allowed_values, key

    fixed = {}
    for j, (column, shares) in enumerate(sorted(spec.shares.items())):
        values = allowed_values(schema, column) or list(shares)
        by_key = {key(v): s for v, s in shares.items()}
        drawn = quota_sample(list(values), [by_key.get(key(v), 0.0) for v in values], n,
                             np.random.default_rng([seed, 104729, j]))
        fixed[column] = drawn.astype(bool) if schema.columns[column].kind == "boolean" else drawn
    return fixed


def generate_table(schema: Schema, n: int | None = None, *, spec: RequirementSpec | None = None, seed: int = 0,
                   max_rounds: int = 25, given: pd.DataFrame | None = None) -> GenerationResult:
    """Generate ``n`` rows from the schema's priors and rules (no real data).

    Args:
        schema: A validated schema with priors / rules (e.g. a pack under ``schemas/``).
        n: Number of rows (default: ``spec.rows``).
        spec: Requirement spec: class shares, text requirements.
        seed: Seed; the same schema, spec and seed give identical rows.
        max_rounds: Regeneration rounds for rows that break a rule before giving up.
        given: Values of some columns, one row per generated row (relational packs: a child's copy of its
            parent's columns, its event times); they are not drawn, other columns and rules read them,
            and regenerated rows keep them. Columns of kind id / pii cannot be given.

    Returns:
        The rows (datetimes formatted, integers as nullable ints) and the quality-control report.

    Raises:
        SchemaError: the spec does not fit the schema, or a column cannot be generated without data.
        DataValidationError: some rows still break a rule after ``max_rounds`` regenerations.
    """
    from synthstruct.generate.qc import quality_report
    from synthstruct.schema.check import to_output

    spec = spec or RequirementSpec()
    validate_spec(spec, schema)
    given_names = tuple(given.columns) if given is not None else ()
    problems = _plan_problems(schema, given_names)
    problems += [Problem(f"columns.{c}", "cannot be given: it is not a structured column of the schema",
                         "give only structured columns") for c in given_names
                 if c not in schema.columns or schema.columns[c].kind in _LATE]
    if problems:
        raise SchemaError("schema cannot be used for schema-only generation", problems)
    n = n if n is not None else spec.rows
    if given is not None and n is None:
        n = len(given)
    if n is None or n < 1:
        raise SchemaError("no row count", [Problem("rows", "how many rows to generate is not set",
                                                   "pass -n N or set rows: in the spec")])
    gen = _Generator(schema, spec, seed)
    fixed = _fixed_shares(schema, spec, n, seed)
    if given is not None:
        if len(given) != n:
            raise SchemaError("given values do not match the row count", [Problem(
                "given", f"{len(given)} rows of given values for {n} rows", "give one row per generated row")])
        fixed.update({c: given[c].to_numpy() for c in given_names})
    frame = gen.sample_rows(n, np.random.default_rng([seed, 0]), fixed, 0)
    first_counts: dict[str, int] = {}
    regenerated = 0
    rounds = 0
    for round_ in range(1, max_rounds + 1):
        bad, counts = gen.failures(frame)
        if round_ == 1:
            first_counts = counts
        if not bad.any():
            break
        rows = np.flatnonzero(bad)
        rounds, regenerated = round_, regenerated + len(rows)
        keep = {c: v[rows] for c, v in fixed.items()}
        fresh = gen.sample_rows(len(rows), np.random.default_rng([seed, round_]), keep, round_)
        fresh.index = frame.index[rows]
        for column in fresh.columns:
            frame.loc[frame.index[rows], column] = fresh[column].to_numpy()
    else:
        still = {rule: count for rule, count in gen.failures(frame)[1].items() if count}
        raise DataValidationError("rules cannot be met", [Problem(
            rule, f"{count} rows still break it after {max_rounds} regeneration rounds",
            "loosen the prior or the rule so that valid rows are not rare") for rule, count in sorted(still.items())])
    frame = frame.infer_objects()
    for name, series in _late_columns(schema, frame, seed).items():
        frame[name] = series.to_numpy()
    frame = to_output(frame[list(schema.columns)], schema)
    regeneration = {"rounds": rounds, "rows_regenerated": regenerated,
                    "first_round_failures": {k: v for k, v in sorted(first_counts.items()) if v}}
    report = quality_report(frame, schema, spec=spec, text_requirements=gen.text_req, regeneration=regeneration)
    log.info("generated %d rows in %d regeneration rounds", n, rounds)
    return GenerationResult(frame, report, regeneration)
