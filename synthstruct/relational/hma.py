"""SDV's HMASynthesizer as the engine of a relational release (``engine: hma``), for comparison.

The same fit/sample interface as :class:`~synthstruct.relational.synth.RelationalSynthesizer`, so the
pipeline splits, gates, scores and writes its output exactly like ours. SDV is imported only when this
engine is fitted. What the wrapper adds around SDV:

* reference tables are not given to SDV: they are copied unchanged, and keys into them are modelled as
  categorical columns of the child (as our engine does);
* keys: SDV's primary keys are replaced by new ones that never equal a real key (SDV's own keys may, and
  did on Berka), and every foreign key is remapped with them, so referential integrity is kept;
* sequence tables: HMA has no notion of event order, so the dates it draws for a parent's events are
  sorted within the parent (the values are SDV's, only their order changes); documented in
  docs/relational.md;
* the seed: SDV seeds NumPy itself; ``seed`` sets the synthesizer's NumPy seed before fitting and
  before sampling, so the same input, schema and seed give the same tables.

Refused (``InputError``, exit 2, before SDV is imported): self-referencing tables (SDV has no such
relationship) and schemas beyond HMASynthesizer's limit of 5 synthesized tables or a relationship depth
of 2 (SDV raises ``SynthesizerInputError`` for them; Berka's account -> disp -> card has depth 3). Other
SDV failures surface as an ``EngineError`` naming SDV's error class.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.errors import EngineError, InputError, Problem
from synthstruct.relational.frames import norm_keys
from synthstruct.relational.model import RelationalSchema
from synthstruct.relational.synth import _new_keys
from synthstruct._seeds import stream_seed

__all__ = ["HMARelationalSynthesizer", "hma_metadata"]

log = logging.getLogger(__name__)


def hma_metadata(schema: RelationalSchema) -> dict[str, Any]:
    """SDV multi-table metadata of the synthesized tables (keys into reference tables as categories)."""
    from synthstruct.schema.io import to_sdv_metadata

    tables: dict[str, Any] = {}
    for name in schema.synthesized():
        sch = schema.schema_of(name)
        table = to_sdv_metadata(sch)["tables"][sch.name]
        ref_keys = {r.child_column for r in schema.reference_keys(name)}
        for col in list(table["columns"]):
            if col in ref_keys:
                table["columns"][col] = {"sdtype": "categorical"}
            elif sch.columns[col].kind == "id":
                table["columns"][col] = {"sdtype": "id"}
        tables[name] = table
    relationships = [{"parent_table_name": r.parent, "parent_primary_key": r.parent_column,
                      "child_table_name": r.child, "child_foreign_key": r.child_column}
                     for r in schema.relationships if r.parent in tables and r.child in tables]
    return {"METADATA_SPEC_VERSION": "V1", "tables": tables, "relationships": relationships}


class HMARelationalSynthesizer:
    """SDV ``HMASynthesizer`` behind the relational engine interface (``fit`` / ``sample``)."""

    engine = "hma"
    max_contexts = None

    def __init__(self, *, protect_k: int = 5) -> None:
        self.protect_k = protect_k  # recorded in the manifest; HMA has no value protection of its own

    def fit(self, tables: dict[str, pd.DataFrame], schema: RelationalSchema, *, seed: int = 0,
            real_keys: dict[str, np.ndarray] | None = None) -> "HMARelationalSynthesizer":
        selfs = [t for t in schema.synthesized() if schema.self_reference(t) is not None]
        if selfs:
            raise InputError("engine hma does not handle self-references", [Problem(
                f"table {selfs[0]!r}", "references itself; SDV's HMASynthesizer has no such relationship",
                "use the default engine (fast_copula), which generates hierarchies level by level")])
        names, depth = schema.synthesized(), _depth(schema)
        if len(names) > 5 or depth > 2:
            raise InputError("engine hma cannot model this schema", [Problem(
                "engine", f"{len(names)} synthesized tables, relationship depth {depth}: SDV's HMASynthesizer "
                "refuses more than 5 tables or a depth above 2", "use the default engine (fast_copula), or "
                "release a smaller set of tables with hma")])
        try:
            from sdv.metadata import Metadata
            from sdv.multi_table import HMASynthesizer
        except ImportError:
            raise InputError("engine hma needs SDV", [Problem("engine", "the sdv package is not installed",
                                                              "pip install sdv, or use engine fast_copula")]) from None
        self.schema_ = schema
        self.reference_ = {t: tables[t] for t, s in schema.tables.items() if s.reference}
        self.real_keys_ = {}
        for t in schema.synthesized():
            pk = schema.schema_of(t).primary_key
            if pk:
                self.real_keys_[t] = real_keys[t] if real_keys and t in real_keys else norm_keys(tables[t][pk])
        data = {}
        for t in schema.synthesized():
            sch = schema.schema_of(t)
            frame = tables[t][list(sch.columns)].copy()
            ref_keys = {r.child_column for r in schema.reference_keys(t)}
            for col, spec in sch.columns.items():
                if col in ref_keys:
                    frame[col] = pd.Series(norm_keys(frame[col]), dtype=object)
                elif spec.kind == "id":
                    keys = norm_keys(frame[col])
                    frame[col] = pd.Series(keys, dtype=object)
            data[t] = frame
        metadata = Metadata.load_from_dict(hma_metadata(schema))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                synth = HMASynthesizer(metadata, verbose=False)
                synth._numpy_seed = int(stream_seed(seed, "hma", "fit") % (2**31))
                synth.fit(data)
        except Exception as exc:  # noqa: BLE001 - SDV raises its own error classes; never echo their text (it may quote values)
            raise EngineError(f"SDV HMASynthesizer failed to fit ({type(exc).__name__}); use engine fast_copula "
                              "or simplify the schema") from None
        self.synth_ = synth
        return self

    def sample(self, *, scale: float = 1.0, seed: int = 0) -> dict[str, pd.DataFrame]:
        """Synthetic tables with new keys (never a real one), remapped foreign keys, sorted sequences."""
        from synthstruct.synthesizers.base import check_is_fitted

        check_is_fitted(self)
        schema = self.schema_
        if not scale > 0:
            raise InputError("invalid scale", [Problem("scale", "must be > 0", "pass e.g. 1.0")])
        self.synth_._numpy_seed = int(stream_seed(seed, "hma", "sample") % (2**31))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                raw = self.synth_.sample_scale(scale=float(scale))
        except Exception as exc:  # noqa: BLE001 - SDV's own error classes; their text may quote values
            raise EngineError(f"SDV HMASynthesizer failed to sample ({type(exc).__name__})") from None
        mapping: dict[str, dict[str, Any]] = {}
        out: dict[str, pd.DataFrame] = dict(self.reference_)
        for t in schema.synthesized():
            frame = raw[t].reset_index(drop=True)
            sch = schema.schema_of(t)
            if sch.primary_key:
                old = norm_keys(frame[sch.primary_key])
                integer = all(v is None or str(v).lstrip("-").isdigit() for v in self.real_keys_[t])
                new = _new_keys(self.real_keys_[t], len(frame), integer)
                mapping[t] = dict(zip(old, new))
                frame[sch.primary_key] = new
            out[t] = frame
        for t in schema.synthesized():
            frame, sch = out[t], schema.schema_of(t)
            for rel in schema.relationships:
                if rel.child != t or rel.parent not in mapping:
                    continue
                lookup = mapping[rel.parent]
                frame[rel.child_column] = pd.Series([lookup.get(k) if k is not None else None
                                                     for k in norm_keys(frame[rel.child_column])], dtype=object)
            for rel in schema.reference_keys(t):  # categories back to the reference table's key type
                ref = self.reference_[rel.parent][rel.parent_column]
                lookup = dict(zip(norm_keys(ref), ref.to_numpy()))
                frame[rel.child_column] = [lookup.get(v) if v is not None else None
                                           for v in norm_keys(frame[rel.child_column])]
            drive = schema.driving(t)
            seq = schema.tables[t].sequence_key
            if seq is not None and drive is not None:
                frame[seq] = _sorted_within(frame[seq], norm_keys(frame[drive.child_column]))
            out[t] = frame[list(sch.columns)]
        return {t: out[t] for t in schema.tables}


def _depth(schema: RelationalSchema) -> int:
    """Tables on the longest parent -> child chain among synthesized tables (SDV's schema depth)."""
    tables = set(schema.synthesized())
    children: dict[str, set[str]] = {t: set() for t in tables}
    for r in schema.relationships:
        if r.parent in tables and r.child in tables and r.parent != r.child:
            children[r.parent].add(r.child)
    memo: dict[str, int] = {}

    def depth(t: str) -> int:
        if t not in memo:
            memo[t] = 1 + max((depth(c) for c in children[t]), default=0)
        return memo[t]

    return max((depth(t) for t in tables), default=0)


def _sorted_within(values: pd.Series, groups: np.ndarray) -> pd.Series:
    """The same values, sorted ascending within each group (rows keep their positions)."""
    result = values.copy()
    frame = pd.DataFrame({"g": pd.Series(groups, dtype=object).fillna("\x00"), "i": np.arange(len(values))})
    for _key, idx in frame.groupby("g", sort=False)["i"]:
        rows = idx.to_numpy()
        sorted_values = values.iloc[rows].sort_values(kind="mergesort", na_position="last").to_numpy()
        result.iloc[rows] = sorted_values
    return result
