"""Relational and sequential data: several tables with keys, released together.

Public entry points: :class:`RelationalSchema` (``model``), :func:`infer_relational` (``infer``),
:func:`read_source` / :func:`write_database` (``sources``), :class:`RelationalSynthesizer` (``synth``),
:func:`release_relational` (``pipeline``), the cross-table metrics in ``fidelity``, TSTR on joins in
``tstr``, SDV's HMA as an engine option in ``hma`` and schema-only relational packs in ``generate``
(:func:`generate_relational`). See ``docs/relational.md``.
"""

from synthstruct.relational.model import RelationalSchema, Relationship, TableSpec, load_relational

__all__ = ["RelationalSchema", "Relationship", "TableSpec", "load_relational"]
