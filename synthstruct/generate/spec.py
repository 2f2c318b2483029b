"""Requirement specs: how many rows, which class shares, which text lengths and required elements.

A spec comes from a small YAML file (``--spec``) and/or ``--set col=value:share,...`` on the command
line (``--set`` wins per column)::

    rows: 1000
    shares:
      sentiment: {positive: 0.5, negative: 0.5}
    text:
      review_text: {min_chars: 50, max_chars: 100, required_elements: [plot, acting]}

Every problem (unknown column, share on a derived column, shares not summing to 1, a value that is
not a category, min above max) is a :class:`~synthstruct.errors.SchemaError` with its YAML path,
raised before any generation starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthstruct.errors import Problem, SchemaError
from synthstruct.schema.rules import allowed_values, key
from synthstruct.schema.model import CategoryValue, DeriveRule, Schema

__all__ = ["RequirementSpec", "TextSpec", "load_spec", "merge_spec", "parse_set_option", "validate_spec"]

_TOLERANCE = 1e-6


class TextSpec(BaseModel):
    """Requirements on one text column."""

    model_config = ConfigDict(extra="forbid")
    min_words: int | None = Field(default=None, ge=0)
    max_words: int | None = Field(default=None, ge=1)
    min_chars: int | None = Field(default=None, ge=0)
    max_chars: int | None = Field(default=None, ge=1)
    required_elements: list[str] | None = None
    #: Quality-control limits (``qc.diversity`` / ``qc.accuracy``); defaults in ``synthstruct.generate.qc``.
    max_duplicate_share: float | None = Field(default=None, ge=0, le=1)
    min_distinct_2: float | None = Field(default=None, ge=0, le=1)
    min_label_agreement: float | None = Field(default=None, ge=0, le=1)


class RequirementSpec(BaseModel):
    """A generation request: row count, class shares per column, text requirements per column."""

    model_config = ConfigDict(extra="forbid")
    rows: int | None = Field(default=None, ge=1)
    shares: dict[str, dict[CategoryValue, Annotated[float, Field(ge=0, le=1)]]] = Field(default_factory=dict)
    text: dict[str, TextSpec] = Field(default_factory=dict)


def load_spec(path: str | Path) -> RequirementSpec:
    """Read a spec YAML (structure only; :func:`validate_spec` checks it against a schema).

    Raises:
        SchemaError: missing file, bad YAML, unknown keys or wrong types (with YAML paths).
    """
    from synthstruct.schema.io import pydantic_problems

    path = Path(path)
    if not path.is_file():
        raise SchemaError("spec file not found", [Problem(str(path), "no such file", "check the path")],
                          source=str(path))
    from synthstruct._yaml import load_yaml_file

    data = load_yaml_file(path, error=SchemaError, what="requirement spec") or {}
    try:
        return RequirementSpec.model_validate(data)
    except ValidationError as exc:
        raise SchemaError("invalid requirement spec", pydantic_problems(exc), source=str(path)) from None


def parse_set_option(text: str) -> dict[str, dict[str, float]]:
    """Parse ``--set sentiment=positive:0.5,sentiment=negative:0.5`` into ``{column: {value: share}}``.

    Raises:
        SchemaError: an item is not ``column=value:share`` or the share is not a number.
    """
    shares: dict[str, dict[str, float]] = {}
    problems = []
    for i, item in enumerate(part.strip() for part in text.split(",") if part.strip()):
        column, eq, rest = item.partition("=")
        value, colon, share = rest.rpartition(":")
        try:
            number = float(share)
        except ValueError:
            number = None
        if not eq or not colon or not column.strip() or not value.strip() or number is None:
            problems.append(Problem(f"--set item {i + 1}", "is not of the form column=value:share",
                                    "write e.g. sentiment=positive:0.5,sentiment=negative:0.5"))
            continue
        shares.setdefault(column.strip(), {})[value.strip()] = number
    if problems:
        raise SchemaError("invalid --set option", problems)
    return shares


def validate_spec(spec: RequirementSpec, schema: Schema, *, source: str | None = None) -> None:
    """Check a spec against the schema: every problem at once.

    Raises:
        SchemaError: listing each problem with its path (``shares.sentiment.positive`` ...).
    """
    problems: list[Problem] = []
    derived = {r.column for r in schema.rules if isinstance(r, DeriveRule)}
    for column, shares in spec.shares.items():
        path = f"shares.{column}"
        if column not in schema.columns:
            problems.append(Problem(path, f"column {column!r} is not in the schema", "fix the column name"))
            continue
        if schema.columns[column].kind not in ("categorical", "ordinal", "boolean"):
            problems.append(Problem(path, f"shares need a categorical, ordinal or boolean column, not "
                                    f"{schema.columns[column].kind!r}", "request shares of a class column"))
            continue
        if column in derived:
            problems.append(Problem(path, "the column is derived by a rule", "request shares of its inputs instead"))
        total = sum(shares.values())
        if abs(total - 1.0) > _TOLERANCE:
            problems.append(Problem(path, f"shares sum to {total:.6g}, not 1", "make the shares add up to 1"))
        values = allowed_values(schema, column)
        known = {key(v) for v in values} if values is not None else None
        for value in shares:
            if known is not None and key(value) not in known:
                problems.append(Problem(f"{path}.{value}", "is not a declared value of the column",
                                        "use one of the column's categories"))
    for column, text in spec.text.items():
        path = f"text.{column}"
        if column not in schema.columns or schema.columns[column].kind != "text":
            problems.append(Problem(path, f"{column!r} is not a text column of the schema", "fix the column name"))
        for low, high in (("min_words", "max_words"), ("min_chars", "max_chars")):
            lo, hi = getattr(text, low), getattr(text, high)
            if lo is not None and hi is not None and lo > hi:
                problems.append(Problem(f"{path}.{low}", f"{low} is greater than {high}", "correct the bounds"))
    if problems:
        raise SchemaError("invalid requirement spec", problems, source=source)


def merge_spec(spec: RequirementSpec | None, *, rows: int | None = None,
               set_shares: dict[str, dict[str, float]] | None = None) -> RequirementSpec:
    """The spec with command-line values on top (``rows``, ``--set`` shares per column)."""
    data: dict[str, Any] = (spec or RequirementSpec()).model_dump()
    if rows is not None:
        data["rows"] = rows
    for column, shares in (set_shares or {}).items():
        data["shares"][column] = shares
    try:
        return RequirementSpec.model_validate(data)
    except ValidationError as exc:
        from synthstruct.schema.io import pydantic_problems

        raise SchemaError("invalid requirement", pydantic_problems(exc)) from None
