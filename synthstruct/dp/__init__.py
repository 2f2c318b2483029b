"""Differential privacy: OpenDP-backed mechanisms and accounting, and the public domain of a schema.

The ``dp`` engine (:mod:`synthstruct.synthesizers.dp_engine`) uses these; see ``docs/dp.md`` for what
the guarantee covers.
"""
