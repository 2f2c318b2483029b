"""Train/holdout split by entity: rows linked by foreign keys always land on the same side.

An *entity* is a connected group of rows of the synthesized tables, linked through their foreign keys
(an account with its dispositions, clients, loans and orders). Reference tables do not link entities
(every account points at a district), nor do self-references (an employee's manager: the whole org
chart would be one entity); each row of such a table is its own entity with its children. Whole entities are assigned to the holdout with the policy's
holdout fraction, so no training entity has a row in the holdout and the privacy metrics compare
unseen people, not unseen rows of seen people.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthstruct.errors import DataValidationError, Problem
from synthstruct.relational.frames import norm_keys
from synthstruct.relational.model import RelationalSchema

__all__ = ["entity_labels", "split_entities"]

_MAX_ENTITY_SHARE = 0.5


def entity_labels(tables: dict[str, pd.DataFrame], schema: RelationalSchema) -> dict[str, np.ndarray]:
    """Entity number of every row of every synthesized table (connected components of the key graph)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    order = schema.synthesized()
    offsets, total = {}, 0
    for t in order:
        offsets[t] = total
        total += len(tables[t])
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for rel in schema.relationships:
        if rel.parent not in offsets or rel.child not in offsets or rel.parent == rel.child:
            continue  # a self-reference does not join entities (one org chart would be one entity)
        parent_keys = norm_keys(tables[rel.parent][rel.parent_column])
        lookup = pd.Series(np.arange(len(parent_keys)), index=parent_keys)
        lookup = lookup[~lookup.index.duplicated()]
        child_keys = pd.Series(norm_keys(tables[rel.child][rel.child_column]))
        parent_row = child_keys.map(lookup)
        linked = parent_row.notna().to_numpy()
        rows.append(offsets[rel.child] + np.flatnonzero(linked))
        cols.append(offsets[rel.parent] + parent_row[linked].to_numpy(dtype=np.int64))
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    graph = coo_matrix((np.ones(len(r)), (r, c)), shape=(total, total))
    _n, labels = connected_components(graph, directed=False)
    return {t: labels[offsets[t]: offsets[t] + len(tables[t])] for t in order}


def split_entities(tables: dict[str, pd.DataFrame], schema: RelationalSchema, *, holdout_fraction: float,
                   min_holdout_rows: int, seed: int) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame],
                                                          dict[str, int]]:
    """Split every synthesized table by entity; reference tables go whole to both sides.

    Returns:
        ``(train, holdout, info)`` where ``info`` counts entities, holdout entities and the largest
        entity's rows.

    Raises:
        DataValidationError: one entity holds more than half of all rows (the keys link everything:
            mark lookup tables as ``reference``), or a root table's holdout has fewer than
            ``min_holdout_rows`` rows.
    """
    labels = entity_labels(tables, schema)
    all_labels = np.concatenate(list(labels.values())) if labels else np.zeros(0, dtype=np.int64)
    sizes = np.bincount(all_labels) if len(all_labels) else np.zeros(0, dtype=np.int64)
    if len(sizes) and sizes.max() > _MAX_ENTITY_SHARE * len(all_labels) and len(all_labels) > 100:
        raise DataValidationError("the foreign keys link most rows into one entity", [Problem(
            "relationships", f"one entity holds {int(sizes.max())} of {len(all_labels)} rows, so there is no "
            "meaningful holdout of unseen entities", "mark lookup tables (e.g. regions, products) as "
            "reference: true in the relational schema")])
    rng = np.random.default_rng(seed)
    holdout_entity = rng.random(len(sizes)) < holdout_fraction
    train: dict[str, pd.DataFrame] = {}
    holdout: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    for t, spec in schema.tables.items():
        if spec.reference:
            train[t] = holdout[t] = tables[t]
            continue
        mask = holdout_entity[labels[t]]
        train[t] = tables[t][~mask].reset_index(drop=True)
        holdout[t] = tables[t][mask].reset_index(drop=True)
        if t in schema.roots() and (len(holdout[t]) < min_holdout_rows or len(train[t]) < min_holdout_rows):
            problems.append(Problem(f"table {t!r}", f"{len(tables[t])} rows give a holdout of {len(holdout[t])} "
                                    f"rows; at least {min_holdout_rows} are needed on each side",
                                    "provide more rows or lower split.min_holdout_rows in the policy"))
    if problems:
        raise DataValidationError("too few entities to hold out a privacy reference", problems)
    info = {"entities": int(len(sizes)), "holdout_entities": int(holdout_entity.sum()),
            "largest_entity_rows": int(sizes.max()) if len(sizes) else 0}
    return train, holdout, info
