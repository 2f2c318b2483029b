"""Schema models: strict, versioned pydantic models for ``schema.yaml``.

A schema describes one table: its columns (each with a ``kind``), keys, the target column, the
quasi-identifiers and sensitive columns the privacy metrics use, and constraints between columns.
Unknown keys are errors (``extra="forbid"``); ``schema_version`` is required so that the format can
evolve. Cross-field rules (a constraint naming a missing column, ``min > max`` ...) are checked in
:func:`Schema.semantic_problems`, collected and raised once by :mod:`synthstruct.schema.io`.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from synthstruct.errors import Problem
from synthstruct.pii.entities import PII_ENTITIES

#: Default of a text column's ``steer`` (label steering strength), chosen by measurement (docs/text.md).
STEER_DEFAULT = 3.0

__all__ = [
    "SCHEMA_VERSION",
    "BooleanColumn",
    "CategoricalColumn",
    "ConstantColumn",
    "CheckRule",
    "ComposeCase",
    "ComposeRule",
    "DatetimePrior",
    "DeriveRule",
    "NumberFormat",
    "NumericPrior",
    "Rule",
    "Column",
    "Constraint",
    "DatetimeColumn",
    "FixedCombinations",
    "IdColumn",
    "Inequality",
    "NumericalColumn",
    "OrdinalColumn",
    "PiiColumn",
    "PII_ENTITIES",
    "Positive",
    "Range",
    "Schema",
    "STRUCTURED_KINDS",
    "TextColumn",
]

SCHEMA_VERSION = 1


#: Column kinds that a tabular engine learns (``id``, ``pii`` and ``text`` never reach an engine).
STRUCTURED_KINDS = ("categorical", "ordinal", "numerical", "datetime", "boolean")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=True)


class _ColumnBase(_Strict):
    description: str | None = Field(default=None, description="What the column holds, for people.")


# ---------------------------------------------------------------- priors (schema-only generation)
#: A category value as written in YAML (``1``, ``"1"`` and ``1.0`` are the same category).
CategoryValue = Union[str, int, float, bool]
#: Category -> probability; the probabilities of one prior sum to 1 (checked in ``semantic_problems``).
Probabilities = dict[CategoryValue, Annotated[float, Field(ge=0, le=1)]]


class NumericPrior(_Strict):
    """A distribution for a numerical column: ``normal`` (mean, std), ``lognormal`` (median, sigma),
    ``uniform`` (low, high), ``poisson`` (lam) or ``constant`` (value). Draws outside the column's
    ``min``/``max`` are redrawn, then clipped. Used only by schema-only generation."""

    distribution: Literal["normal", "lognormal", "uniform", "poisson", "constant"]
    mean: float | None = None
    std: float | None = Field(default=None, ge=0)
    median: float | None = Field(default=None, gt=0)
    sigma: float | None = Field(default=None, ge=0)
    low: float | None = None
    high: float | None = None
    lam: float | None = Field(default=None, ge=0)
    value: float | None = None


class DatetimePrior(_Strict):
    """Where datetimes fall: uniformly between ``start`` and ``end`` (default: the column's ``min`` and
    ``max``), with optional relative weights per hour of day (24) and per weekday (7, Monday first)."""

    start: str | None = None
    end: str | None = None
    hour_weights: list[Annotated[float, Field(ge=0)]] | None = Field(default=None, min_length=24, max_length=24)
    weekday_weights: list[Annotated[float, Field(ge=0)]] | None = Field(default=None, min_length=7, max_length=7)


class IdColumn(_ColumnBase):
    """An identifier. Never learned; generated from ``pattern`` (``#`` digit, ``?`` letter) or as a
    sequence / UUID. Unique per release."""

    kind: Literal["id"]
    strategy: Literal["pattern", "sequence", "uuid"] = "pattern"
    pattern: str | None = Field(default=None, description="e.g. 'P-######'; required for 'pattern'.")
    start: int = Field(default=1, description="First value of a 'sequence'.")


class CategoricalColumn(_ColumnBase):
    """Unordered categories. ``categories`` (optional) lists the allowed values."""

    kind: Literal["categorical"]
    categories: list[str | int | float | bool] | None = None
    prior: Probabilities | None = Field(default=None, description="Category -> probability (sums to 1).")
    depends_on: str | None = Field(default=None, description="Parent column of ``conditional``.")
    conditional: dict[CategoryValue, Probabilities] | None = Field(default=None, description=(
        "Parent value -> probabilities; parent values not listed use ``prior``."))


class OrdinalColumn(_ColumnBase):
    """Ordered categories; ``order`` lists them from lowest to highest."""

    kind: Literal["ordinal"]
    order: list[str | int | float]
    prior: Probabilities | None = None
    depends_on: str | None = None
    conditional: dict[CategoryValue, Probabilities] | None = None


class NumberFormat(_Strict):
    """How the numbers of a column are written in the data (and written back): currency ``prefix``
    or ``suffix`` (``$``, `` €``, ``%``), ``thousands`` separator, ``decimal`` mark."""

    prefix: str = Field(default="", max_length=8)
    suffix: str = Field(default="", max_length=8)
    thousands: Literal["", ",", ".", " ", "\u00a0", "'"] = ""
    decimal: Literal[".", ","] = "."


class NumericalColumn(_ColumnBase):
    """Integer or float values, optionally bounded, rounded to ``decimals``. With ``format`` the data
    holds formatted texts (``$1,234.50``, ``12,5 %``), parsed on input and written back the same way."""

    kind: Literal["numerical"]
    dtype: Literal["int", "float"] = "float"
    min: float | None = None
    max: float | None = None
    decimals: int | None = Field(default=None, ge=0, le=12)
    unit: str | None = None
    format: NumberFormat | None = None
    prior: NumericPrior | None = None
    depends_on: str | None = None
    conditional: dict[CategoryValue, NumericPrior] | None = None


class DatetimeColumn(_ColumnBase):
    """Dates or timestamps, parsed and written with ``format`` (strftime codes)."""

    kind: Literal["datetime"]
    format: str = "%Y-%m-%d"
    min: str | None = None
    max: str | None = None
    prior: DatetimePrior | None = None


class BooleanColumn(_ColumnBase):
    """True / false values. ``true_value`` / ``false_value`` keep the data's spelling in the output
    (``yes``/``no``, ``Y``/``N``, ``1``/``0``); without them the output holds true/false."""

    kind: Literal["boolean"]
    true_value: str | int | None = None
    false_value: str | int | None = None
    prior: float | None = Field(default=None, ge=0, le=1, description="Probability of true.")
    depends_on: str | None = None
    conditional: dict[CategoryValue, Annotated[float, Field(ge=0, le=1)]] | None = None


class ConstantColumn(_ColumnBase):
    """One value in every row (or every row missing). Not modelled: the value seen in the training rows
    is written in every synthetic row (set ``value`` to fix it instead)."""

    kind: Literal["constant"]
    value: str | int | float | bool | None = None


class PiiColumn(_ColumnBase):
    """Personal data. Never learned: replaced by values from ``strategy``.

    ``fake`` draws realistic values from Faker in ``locale``; ``pattern`` fills ``pattern``;
    ``mask`` keeps only a redaction marker. With ``consistent: true`` the same real value maps to the
    same fake value within one release (keyed by a random per-release salt that is never written).
    """

    kind: Literal["pii"]
    entity: str
    strategy: Literal["fake", "pattern", "mask"] = "fake"
    locale: str | None = None
    pattern: str | None = None
    consistent: bool = False


class TextColumn(_ColumnBase):
    """Free text. Generated by a text generator conditioned on the row (see ``docs/text.md``); the
    ``placeholder`` generator writes clearly labelled placeholder sentences, ``template`` writes
    deterministic text without a model, ``local`` runs the embedded model, ``openai`` calls any
    OpenAI-compatible server. Lengths are counted in words."""

    kind: Literal["text"]
    generator: str = "placeholder"
    conditioned_on: list[str] = Field(default_factory=list)
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1)
    style: str | None = Field(default=None, description="Tone and register, e.g. 'casual, first person'.")
    required_elements: list[str] = Field(default_factory=list, description="Things every text mentions.")
    examples: list[str] = Field(default_factory=list, description="Hand-written few-shot examples.")
    examples_from_data: int = Field(default=3, ge=0, le=10, description=(
        "Few-shot examples per prompt drawn from the training text, matched to the row's conditioning values, "
        "PII-replaced, near the row's target length; kept in memory only (0 = none)."))
    example_words: int | None = Field(default=None, ge=5, le=300, description=(
        "Words kept per few-shot example at most (default: none beyond the row's word budget — examples "
        "are picked near the row's target length and cut to its budget)."))
    steps: list[str] = Field(default_factory=list, description=(
        "Multi-step generation: one instruction per step (e.g. outline, then content); the last step's "
        "answer is the text."))
    backend: dict[str, str | int | float | bool | None] = Field(default_factory=dict, description=(
        "Backend options: base_url, model, api_key_env, timeout, max_retries, concurrency, batch_size, "
        "temperature, fallback ..."))
    ngram: int = Field(default=8, ge=3, description="Longest run of words that may match training text.")
    ngram_shared_by: int = Field(default=0, ge=0, description=(
        "Runs found in at least this many different training texts are stock phrases, not one person's words, "
        "and may be reused (0 = every run counts). Also used by the text_memorisation metric."))
    block_copies: bool = Field(default=True, description=(
        "While the `local` backend writes a text (transformers runtime), the word that would complete an "
        "`ngram`-word run of the training text (stock phrases excepted) is "
        "forbidden, so fewer candidates fail the copy check and fewer rows need another round; the copy check "
        "after generation is unchanged. Needs the training texts in memory (a fitted, not a loaded, model)."))
    similarity_threshold: float | None = Field(default=None, gt=0, le=1, description=(
        "Reject texts whose embedding cosine similarity to a training text reaches this value."))
    max_regenerations: int = Field(default=3, ge=0, le=20, description=(
        "Extra rounds for rows that have no usable candidate yet (empty, too short, copied, duplicate); "
        "rows still without one are written by the fallback."))
    candidates: int = Field(default=3, ge=1, le=16, description=(
        "Candidates written per row in the second round (and in any round whose own count, "
        "`first_candidates` or `later_candidates`, is null); each is scored by the column's verifier (label "
        "agreement with the row, length fit, no copy, no PII, not a duplicate) and the best one is kept. "
        "3 since session 21 (5 before): with label steering and `regenerate_labels: below_real` the labels "
        "held at 3 with a fifth fewer candidates (docs/text.md)."))
    first_candidates: int | None = Field(default=1, ge=1, le=16, description=(
        "Candidates per row in the first round (null = `candidates`): most rows pass every check with one "
        "candidate, and only rows whose best candidate fails a check get `candidates` new ones in later "
        "rounds (adaptive budget)."))
    later_candidates: int | None = Field(default=1, ge=1, le=16, description=(
        "Candidates per row in the rounds after the second (null = `candidates`): the rows still failing a "
        "check after two rounds are few, and one fresh candidate each (new examples, new prompt) gains most "
        "of what more would; each round costs one more pass of decoding (docs/text.md)."))
    rounds: int = Field(default=2, ge=1, le=10, description=(
        "Candidate rounds in all: the first asks `first_candidates` per row; rows whose best candidate still "
        "fails the label or length check get `candidates` new ones in the second round and "
        "`later_candidates` in each later one, up to this many rounds."))
    regenerate_labels: Literal["below_real", "all"] = Field(default="below_real", description=(
        "Which rows whose text fails a label check get new candidates in the later rounds. `below_real`: only "
        "rows of a value whose texts in the chunk pass that check less often than real texts of the same value "
        "do (measured on real training texts the verifier did not learn from); a label check a real text of "
        "that value fails as often is not a reason to write the row again. `all`: every failing row (the rule "
        "before session 20; about twice the candidates). Length failures are regenerated either way."))
    steer: float = Field(default=STEER_DEFAULT, ge=0, le=10, description=(
        "Label steering: while a text is written, the words that mark the row's values to the column's verifier "
        "(its classifiers' strongest words per value, from at least 5 training texts, never a PII span) get up "
        "to this much added to their logits, so a 1-star review leans on the words of 1-star reviews. "
        "0 = off. Applied by the `local` backend on the transformers runtime; CTranslate2 and `openai` have "
        "no per-row logit bias and ignore it (docs/text.md)."))
    judge: int = Field(default=0, ge=0, le=10_000, description=(
        "LLM-as-judge: this many generated texts are scored 1-5 for realism by the same backend (0 = off)."))


Column = Annotated[
    Union[
        IdColumn,
        CategoricalColumn,
        OrdinalColumn,
        NumericalColumn,
        DatetimeColumn,
        BooleanColumn,
        PiiColumn,
        TextColumn,
        ConstantColumn,
    ],
    Field(discriminator="kind"),
]


class Inequality(_Strict):
    """``low`` < ``high`` (or <= when ``strict`` is false), row by row."""

    type: Literal["inequality"]
    low: str
    high: str
    strict: bool = False


class Range(_Strict):
    """``low`` <= ``middle`` <= ``high``, row by row."""

    type: Literal["range"]
    low: str
    middle: str
    high: str


class FixedCombinations(_Strict):
    """Only combinations of ``columns`` seen in the training data may appear."""

    type: Literal["fixed_combinations"]
    columns: list[str] = Field(min_length=2)


class Positive(_Strict):
    """``column`` > 0 (or >= 0 when ``strict`` is false)."""

    type: Literal["positive"]
    column: str
    strict: bool = True


Constraint = Annotated[
    Union[Inequality, Range, FixedCombinations, Positive], Field(discriminator="type")
]


class DeriveRule(_Strict):
    """``column`` is computed from other columns by ``expr`` (a small safe expression language, see
    ``docs/generate.md``; never Python ``eval``)."""

    type: Literal["derive"]
    column: str
    expr: str = Field(min_length=1, max_length=500)
    description: str | None = None


class CheckRule(_Strict):
    """``expr`` must be true on every row (rows that break it are regenerated)."""

    type: Literal["check"]
    expr: str = Field(min_length=1, max_length=500)
    description: str | None = None


class ComposeCase(_Strict):
    """Templates and slot values used when the ``by`` column has one value."""

    templates: list[str] = Field(default_factory=list)
    slots: dict[str, list[str]] = Field(default_factory=dict)


class ComposeRule(_Strict):
    """Text for ``column`` from ``templates`` whose ``{slot}`` s are filled from ``slots`` or from the
    row's columns; ``cases`` override templates / slots per value of the ``by`` column."""

    type: Literal["compose"]
    column: str
    templates: list[str] = Field(default_factory=list)
    slots: dict[str, list[str]] = Field(default_factory=dict)
    by: str | None = None
    cases: dict[CategoryValue, ComposeCase] = Field(default_factory=dict)
    description: str | None = None


Rule = Annotated[Union[DeriveRule, CheckRule, ComposeRule], Field(discriminator="type")]


class Schema(_Strict):
    """A table schema (``schema_version: 1``)."""

    schema_version: Literal[1]
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Table name; used for file names.")
    description: str | None = None
    locale: str = Field(default="en_US", description="Faker locale for PII columns.")
    columns: dict[str, Column]
    primary_key: str | None = None
    target: str | None = Field(default=None, description="Label column for utility metrics.")
    quasi_identifiers: list[str] = Field(default_factory=list)
    sensitive: list[str] = Field(default_factory=list)
    constraints: list[Constraint] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list, description=(
        "Dependency rules for schema-only generation: derive, check, compose (docs/generate.md)."))

    # ------------------------------------------------------------------ helpers
    def kinds(self) -> dict[str, str]:
        """Column name -> kind."""
        return {name: col.kind for name, col in self.columns.items()}

    def columns_of(self, *kinds: str) -> list[str]:
        """Names of the columns whose kind is one of ``kinds``, in schema order."""
        return [name for name, col in self.columns.items() if col.kind in kinds]

    @property
    def structured_columns(self) -> list[str]:
        return self.columns_of(*STRUCTURED_KINDS)

    def semantic_problems(self) -> list[Problem]:
        """Cross-field problems the field validators cannot see (priors and rules:
        :func:`synthstruct.schema.rules.generation_problems`, which schema loading adds)."""
        problems: list[Problem] = []
        names = set(self.columns)
        if not self.columns:
            problems.append(Problem("columns", "the schema declares no columns", "list the table's columns"))

        def need(path: str, col: str, kinds: tuple[str, ...] | None = None) -> None:
            if col not in names:
                problems.append(
                    Problem(path, f"names column {col!r}, which the schema does not declare",
                            "declare the column under 'columns' or fix the name")
                )
            elif kinds and self.columns[col].kind not in kinds:
                problems.append(
                    Problem(path, f"column {col!r} has kind {self.columns[col].kind!r}; "
                            f"expected one of {', '.join(kinds)}", "change the column kind or the reference")
                )

        if self.primary_key is not None:
            need("primary_key", self.primary_key, ("id", "pii"))
        if self.target is not None:
            need("target", self.target, ("categorical", "ordinal", "boolean", "numerical"))
        for i, col in enumerate(self.quasi_identifiers):
            need(f"quasi_identifiers[{i}]", col)
        for i, col in enumerate(self.sensitive):
            need(f"sensitive[{i}]", col)
        ordered = ("numerical", "datetime")
        for i, con in enumerate(self.constraints):
            base = f"constraints[{i}]"
            if isinstance(con, Inequality):
                need(f"{base}.low", con.low, ordered)
                need(f"{base}.high", con.high, ordered)
                if con.low == con.high:
                    problems.append(Problem(base, "low and high name the same column", "name two columns"))
            elif isinstance(con, Range):
                for part in ("low", "middle", "high"):
                    need(f"{base}.{part}", getattr(con, part), ordered)
            elif isinstance(con, FixedCombinations):
                for j, col in enumerate(con.columns):
                    need(f"{base}.columns[{j}]", col, ("categorical", "ordinal", "boolean"))
            elif isinstance(con, Positive):
                need(f"{base}.column", con.column, ("numerical",))
        for name, col in self.columns.items():
            path = f"columns.{name}"
            if isinstance(col, NumericalColumn) and col.min is not None and col.max is not None:
                if col.min > col.max:
                    problems.append(Problem(f"{path}.min", "min is greater than max", "swap or correct the bounds"))
            if isinstance(col, IdColumn) and col.strategy == "pattern" and not col.pattern:
                problems.append(Problem(f"{path}.pattern", "strategy 'pattern' needs a pattern",
                                        "add e.g. pattern: 'ID-######' or use strategy: sequence"))
            if isinstance(col, PiiColumn):
                if col.entity not in PII_ENTITIES:
                    problems.append(Problem(f"{path}.entity", f"unknown PII entity {col.entity!r}",
                                            f"use one of: {', '.join(PII_ENTITIES)}"))
                if col.strategy == "pattern" and not col.pattern:
                    problems.append(Problem(f"{path}.pattern", "strategy 'pattern' needs a pattern",
                                            "add a pattern such as '###-##-####'"))
            if isinstance(col, TextColumn):
                for j, cond in enumerate(col.conditioned_on):
                    need(f"{path}.conditioned_on[{j}]", cond)
                if col.min_length is not None and col.max_length is not None and col.min_length > col.max_length:
                    problems.append(Problem(f"{path}.min_length", "min_length is greater than max_length",
                                            "correct the length bounds"))
            if isinstance(col, OrdinalColumn) and len(set(map(str, col.order))) != len(col.order):
                problems.append(Problem(f"{path}.order", "order lists a value twice", "list each level once"))
        return problems
