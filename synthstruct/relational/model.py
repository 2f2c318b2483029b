"""Relational schema: several tables, primary keys, foreign keys and sequence (event) tables.

One YAML file (``relational_version: 1``) describes a whole database::

    relational_version: 1
    name: berka
    tables:
      account:
        schema: {schema_version: 1, name: account, primary_key: account_id, columns: {...}}
      district:
        reference: true          # public lookup table: released unchanged, never synthesized
        schema: {...}
      loan:
        sequence_key: date       # event table: rows of one parent are ordered by this column
        schema: {...}
    relationships:
      - {parent: account, parent_column: account_id, child: loan, child_column: account_id}

Each table embeds an ordinary single-table :class:`~synthstruct.schema.model.Schema`; keys are columns of
kind ``id``. A child table is generated under its **driving** relationship, the first relationship in
the list that names it as the child and a non-reference table as the parent; every other relationship
of the child is a *link* whose keys are assigned from the synthetic parent rows (for example
``disp.client_id`` when ``disp`` is driven by ``account``).

Cross-field rules (unknown tables or columns, a parent column that is not the parent's primary key,
cycles, self-references, a sequence key that is not a date or number) are collected by
:meth:`RelationalSchema.semantic_problems` and raised once by :func:`relational_from_dict`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from synthstruct.errors import Problem, SchemaError
from synthstruct.schema.model import NumericalColumn, Schema
from synthstruct.schema.rules import generation_problems

__all__ = ["RELATIONAL_VERSION", "JoinTask", "Relationship", "RelationalSchema", "TableGeneration", "TableSpec",
           "dump_relational", "load_relational", "relational_from_dict"]

RELATIONAL_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class TableGeneration(_Strict):
    """Schema-only generation of a child table (``synthstruct generate-db``; ignored by releases)."""

    context: dict[str, str] = Field(default_factory=dict, description=(
        "Child column -> column of the driving parent: the child row gets its parent's value, so its priors "
        "(depends_on) and rules can read it (e.g. an encounter's patient_condition)."))
    start: str | None = Field(default=None, description=(
        "Sequence tables: the driving parent's datetime column the first event follows (default: the sequence "
        "key's min)."))
    first_gap: NumericalColumn | None = Field(default=None, description=(
        "Sequence tables: time from start to the first event, in unit (a numerical column spec with a prior; "
        "depends_on may name a parent column). Default: 0."))
    gap: NumericalColumn | None = Field(default=None, description=(
        "Sequence tables: time between consecutive events of a parent, in unit (depends_on may name a parent "
        "column). Required for a sequence table."))
    unit: Literal["days", "hours", "minutes"] = "days"
    gap_column: str | None = Field(default=None, description=(
        "A numerical column of the child that receives the time since the previous event (since start for "
        "the first), so rules can read it (e.g. a rapid-succession flag)."))


class TableSpec(_Strict):
    """One table of a relational schema."""

    schema_: Schema = Field(alias="schema", description="The table's single-table schema (keys are kind id).")
    reference: bool = Field(default=False, description=(
        "A public lookup table (e.g. a list of districts): released unchanged, never synthesized or gated; "
        "foreign keys into it are learned as categories of the child."))
    sequence_key: str | None = Field(default=None, description=(
        "Event tables: the date (or number) column that orders the rows of one parent; generated as the "
        "parent's first event plus learned gaps, so the order is kept."))
    generate: TableGeneration | None = Field(default=None, description=(
        "Schema-only generation (relational packs): parent context and event timing of this child table."))

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


class Relationship(_Strict):
    """A foreign key: ``child.child_column`` references ``parent.parent_column`` (one-to-many)."""

    parent: str
    parent_column: str
    child: str
    child_column: str
    optional: bool = Field(default=False, description=(
        "Children may have no parent (null key, or orphans in the real data, which are reported and kept "
        "as children without a parent)."))
    one_to_one: bool = Field(default=False, description="At most one child per parent.")
    children: NumericalColumn | None = Field(default=None, description=(
        "Schema-only generation (relational packs): the number of children per parent, a numerical column "
        "spec with a prior (depends_on may name a column of the parent). Ignored by releases, which learn it."))


class JoinTask(_Strict):
    """A prediction task for TSTR across tables: ``table.target`` from the table's columns, its children's
    aggregates and its parent's columns and other children (see ``synthstruct/relational/tstr.py``)."""

    table: str
    target: str


class RelationalSchema(_Strict):
    """A database: tables and the relationships between them (``relational_version: 1``)."""

    relational_version: Literal[1]
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str | None = None
    engine: Literal["fast_copula", "hma"] | None = Field(default=None, description=(
        "Generation engine: fast_copula (default; children conditioned on parent context, hierarchies) or "
        "hma (SDV's HMASynthesizer, for comparison; needs the sdv package)."))
    tables: dict[str, TableSpec]
    relationships: list[Relationship] = Field(default_factory=list)
    tasks: list[JoinTask] = Field(default_factory=list, description=(
        "TSTR tasks on the joined tables (informative, in report.json -> fidelity.tstr); default: every "
        "synthesized table whose own schema declares a target."))

    # ------------------------------------------------------------------ graph helpers
    def schema_of(self, table: str) -> Schema:
        return self.tables[table].schema_

    def synthesized(self) -> list[str]:
        """Non-reference tables, parents before children (topological order, ties by name)."""
        tables = [t for t, spec in self.tables.items() if not spec.reference]
        parents = {t: {r.parent for r in self.relationships if r.child == t and r.parent in tables and r.parent != t}
                   for t in tables}
        order: list[str] = []
        done: set[str] = set()
        while len(order) < len(tables):
            ready = sorted(t for t in tables if t not in done and parents[t] <= done)
            if not ready:  # a cycle; semantic_problems reports it
                break
            order.extend(ready)
            done.update(ready)
        return order

    def children_of(self, table: str) -> list[Relationship]:
        """Relationships naming ``table`` as the parent (a self-reference included: a manager's reports)."""
        return [r for r in self.relationships if r.parent == table and not self.tables[r.child].reference]

    def self_reference(self, table: str) -> Relationship | None:
        """The relationship of ``table`` to itself (``employee.manager_id -> employee.id``), if any."""
        return next((r for r in self.relationships if r.child == table and r.parent == table), None)

    def driving(self, table: str) -> Relationship | None:
        """The relationship a child table is generated under (first one with a non-reference parent;
        never a self-reference, whose keys are assigned level by level)."""
        return next((r for r in self.relationships
                     if r.child == table and r.parent != table and not self.tables[r.parent].reference), None)

    def links(self, table: str) -> list[Relationship]:
        """Relationships of ``table`` to non-reference parents other than the driving one (and itself)."""
        drive = self.driving(table)
        return [r for r in self.relationships
                if r.child == table and r is not drive and r.parent != table and not self.tables[r.parent].reference]

    def reference_keys(self, table: str) -> list[Relationship]:
        """Relationships of ``table`` to reference tables (their keys are learned as categories)."""
        return [r for r in self.relationships if r.child == table and self.tables[r.parent].reference]

    def roots(self) -> list[str]:
        return [t for t in self.synthesized() if self.driving(t) is None]

    # ------------------------------------------------------------------ validation
    def semantic_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        if not self.tables:
            problems.append(Problem("tables", "the schema declares no tables", "list the tables"))
        for name, spec in self.tables.items():
            sch = spec.schema_
            path = f"tables.{name}"
            for p in sch.semantic_problems() + generation_problems(sch):
                problems.append(Problem(f"{path}.schema.{p.location}", p.message, p.fix))
            if sch.name != name:
                problems.append(Problem(f"{path}.schema.name", "differs from the table's key",
                                        f"set it to {name!r}"))
            if spec.sequence_key is not None:
                col = sch.columns.get(spec.sequence_key)
                if col is None:
                    problems.append(Problem(f"{path}.sequence_key", "names a column the table does not declare",
                                            "name a datetime or numerical column of the table"))
                elif col.kind not in ("datetime", "numerical"):
                    problems.append(Problem(f"{path}.sequence_key", f"column has kind {col.kind!r}",
                                            "use a datetime or numerical column"))
                elif not any(r.child == name and r.parent != name for r in self.relationships):
                    problems.append(Problem(f"{path}.sequence_key", "the table has no parent, so there is no "
                                            "sequence per entity", "add the relationship to its parent or drop "
                                            "sequence_key"))
        for i, rel in enumerate(self.relationships):
            path = f"relationships[{i}]"
            for side in ("parent", "child"):
                table = getattr(rel, side)
                column = getattr(rel, f"{side}_column")
                if table not in self.tables:
                    problems.append(Problem(f"{path}.{side}", "names a table the schema does not declare",
                                            "declare the table or fix the name"))
                elif column not in self.tables[table].schema_.columns:
                    problems.append(Problem(f"{path}.{side}_column", f"is not a column of table {table!r}",
                                            "fix the column name"))
            if rel.parent == rel.child and rel.parent in self.tables and self.tables[rel.parent].reference:
                problems.append(Problem(path, "is a self-reference of a reference table",
                                        "drop the relationship (reference tables are copied unchanged)"))
                continue
            if rel.parent in self.tables and rel.parent_column in self.tables[rel.parent].schema_.columns:
                if self.tables[rel.parent].schema_.primary_key != rel.parent_column:
                    problems.append(Problem(f"{path}.parent_column", "is not the parent's primary key",
                                            "reference the parent's primary_key (composite and alternate keys "
                                            "are not supported)"))
            if rel.child in self.tables and rel.child_column in self.tables[rel.child].schema_.columns:
                kind = self.tables[rel.child].schema_.columns[rel.child_column].kind
                if kind != "id":
                    problems.append(Problem(f"{path}.child_column", f"has kind {kind!r}",
                                            "declare foreign key columns as kind: id"))
                if rel.child_column == self.tables[rel.child].schema_.primary_key:
                    problems.append(Problem(f"{path}.child_column", "is also the child's primary key",
                                            "one-to-one tables sharing a key are not supported: give the child "
                                            "its own key column"))
        for i, task in enumerate(self.tasks):
            if task.table not in self.tables or self.tables[task.table].reference:
                problems.append(Problem(f"tasks[{i}].table", "is not a synthesized table of the schema",
                                        "name a table that is not a reference table"))
            elif task.target not in self.tables[task.table].schema_.columns:
                problems.append(Problem(f"tasks[{i}].target", f"is not a column of table {task.table!r}",
                                        "fix the column name"))
            elif self.tables[task.table].schema_.columns[task.target].kind not in (
                    "numerical", "categorical", "ordinal", "boolean"):
                problems.append(Problem(f"tasks[{i}].target", "is not a numerical, categorical, ordinal or boolean "
                                        "column", "predict a structured column"))
        seen: set[tuple[str, str]] = set()
        for i, rel in enumerate(self.relationships):
            key = (rel.child, rel.child_column)
            if key in seen:
                problems.append(Problem(f"relationships[{i}]", "a child column references two parents",
                                        "keep one relationship per foreign key column"))
            seen.add(key)
        selfs = [r.child for r in self.relationships if r.child == r.parent]
        for table in sorted({t for t in selfs if selfs.count(t) > 1}):
            problems.append(Problem("relationships", f"table {table!r} references itself more than once",
                                    "keep one self-reference per table (e.g. manager_id)"))
        if not problems:
            tables = [t for t, s in self.tables.items() if not s.reference]
            if len(self.synthesized()) < len(tables):
                stuck = sorted(set(tables) - set(self.synthesized()))
                problems.append(Problem("relationships", "the foreign keys form a cycle through tables "
                                        + ", ".join(stuck), "drop one relationship of the cycle"))
            for name, spec in self.tables.items():
                if spec.reference and any(r.child == name and not self.tables[r.parent].reference
                                          for r in self.relationships):
                    problems.append(Problem(f"tables.{name}.reference", "a reference table has a synthesized parent",
                                            "mark the parent as reference too, or this table as not reference"))
        return problems


def relational_from_dict(data: Any, *, source: str | None = None) -> RelationalSchema:
    """Validate a mapping as a relational schema, reporting every problem at once.

    Raises:
        SchemaError: listing each problem with its YAML path.
    """
    from synthstruct.schema.io import validate_model

    if not isinstance(data, dict):
        raise SchemaError("a relational schema must be a mapping", [Problem(
            "(top level)", "is not a mapping", "start from docs/relational.md")], source=source)
    return validate_model(RelationalSchema, data, what="relational schema", source=source)


def load_relational(path: Any) -> RelationalSchema:
    """Read and validate a relational schema YAML file."""
    from pathlib import Path

    import yaml

    path = Path(path)
    if not path.is_file():
        raise SchemaError("relational schema not found", [Problem(path.name, "does not exist",
                                                                  "check the path")], source=str(path))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        raise SchemaError("not valid YAML", [Problem(path.name, "cannot be parsed as YAML",
                                                     "check indentation and quoting")], source=str(path)) from None
    return relational_from_dict(data, source=str(path))


def dump_relational(schema: RelationalSchema) -> str:
    """YAML text of a relational schema (stable key order; the same schema gives the same bytes)."""
    import yaml

    from synthstruct.schema.io import plain_schema

    data: dict[str, Any] = {"relational_version": schema.relational_version, "name": schema.name}
    if schema.description:
        data["description"] = schema.description
    if schema.engine:
        data["engine"] = schema.engine
    tables: dict[str, Any] = {}
    for name, spec in schema.tables.items():
        entry: dict[str, Any] = {}
        if spec.reference:
            entry["reference"] = True
        if spec.sequence_key is not None:
            entry["sequence_key"] = spec.sequence_key
        if spec.generate is not None:
            entry["generate"] = spec.generate.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        entry["schema"] = plain_schema(spec.schema_)
        tables[name] = entry
    data["tables"] = tables
    data["relationships"] = [r.model_dump(mode="json", exclude_defaults=True) | {
        "parent": r.parent, "parent_column": r.parent_column, "child": r.child, "child_column": r.child_column}
        for r in schema.relationships]
    if schema.tasks:
        data["tasks"] = [t.model_dump(mode="json") for t in schema.tasks]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
