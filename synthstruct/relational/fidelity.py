"""Fidelity across tables: keys, child counts, per-table shapes, parent-child trends, sequences.

Every function takes real and synthetic tables (dict table -> frame, any representation whose key
columns match) and the relational schema, and returns plain numbers, so the same code scores our output
and SDV's in ``evaluation/bench_relational.py``.

* ``referential_integrity``: share of non-missing foreign keys that name an existing parent row
  (1.0 = no orphan), per relationship and overall, plus the orphan count.
* ``child_count_ks``: Kolmogorov-Smirnov statistic between the real and synthetic distributions of
  the number of children per parent (parents without children count as 0), per relationship.
* ``table_shapes``: per table, the mean over structured non-key columns of 1 - KS (numbers, dates) or
  1 - total variation distance (categories), as SDMetrics' ColumnShapes.
* ``parent_child_trends``: per relationship, 1 - |rho_real - rho_syn| / 2 averaged over pairs of
  (parent numerical/date column or the parent's number of children, child numerical/date mean per parent),
  Spearman's rho on the parent rows that have children.
* ``sequence_order``: share of parents whose children, in row order, have non-decreasing sequence keys;
  and the KS statistic of inter-event gaps.
* ``keys_disjoint``: whether no synthetic primary key equals a real one.
* ``hierarchies``: per self-referencing table, the real and synthetic deepest level, the KS statistic
  between their level distributions, and the synthetic rows caught in a cycle (0 by construction).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from synthstruct.relational.frames import norm_keys
from synthstruct.relational.model import RelationalSchema

__all__ = ["child_count_ks", "hierarchies", "keys_disjoint", "parent_child_trends", "referential_integrity", "relational_fidelity",
           "sequence_order", "table_shapes"]


def _rel_name(rel: Any) -> str:
    return f"{rel.child}.{rel.child_column}->{rel.parent}"


def referential_integrity(tables: dict[str, pd.DataFrame], schema: RelationalSchema) -> dict[str, Any]:
    per, orphans, total = {}, 0, 0
    for rel in schema.relationships:
        parent = set(k for k in norm_keys(tables[rel.parent][rel.parent_column]) if k is not None)
        child = [k for k in norm_keys(tables[rel.child][rel.child_column]) if k is not None]
        bad = sum(k not in parent for k in child)
        per[_rel_name(rel)] = 1.0 - bad / len(child) if child else 1.0
        orphans += bad
        total += len(child)
    return {"value": 1.0 - orphans / total if total else 1.0, "orphans": orphans, "per_relationship": per}


def _counts(tables: dict[str, pd.DataFrame], rel: Any) -> np.ndarray:
    keys = norm_keys(tables[rel.parent][rel.parent_column])
    counts = pd.Series(norm_keys(tables[rel.child][rel.child_column])).value_counts()
    return pd.Series(keys).map(counts).fillna(0).to_numpy(dtype=np.float64)


def child_count_ks(real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
                   schema: RelationalSchema) -> dict[str, float]:
    out = {}
    for rel in schema.relationships:
        if schema.tables[rel.parent].reference:
            continue
        a, b = _counts(real, rel), _counts(synthetic, rel)
        out[_rel_name(rel)] = float(stats.ks_2samp(a, b).statistic) if len(a) and len(b) else 1.0
    return out


def _numeric(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.astype("int64").to_numpy(dtype=np.float64)
        values[series.isna().to_numpy()] = np.nan
        return values
    if series.dtype == object:
        parsed = pd.to_datetime(series, errors="coerce", format="mixed")
        if parsed.notna().sum() >= 0.9 * series.notna().sum() and series.notna().any() and \
                pd.to_numeric(series, errors="coerce").notna().sum() < 0.5 * series.notna().sum():
            return _numeric(parsed)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)


def _shape(real: pd.Series, syn: pd.Series, kind: str) -> float | None:
    if kind in ("numerical", "datetime"):
        a, b = _numeric(real), _numeric(syn)
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if not len(a) or not len(b):
            return None
        return 1.0 - float(stats.ks_2samp(a, b).statistic)
    if kind in ("categorical", "ordinal", "boolean"):
        p = real.astype(str).value_counts(normalize=True)
        q = syn.astype(str).value_counts(normalize=True)
        return 1.0 - 0.5 * float(p.subtract(q, fill_value=0).abs().sum())
    return None


def _key_columns(schema: RelationalSchema, table: str) -> set[str]:
    keys = {r.child_column for r in schema.relationships if r.child == table}
    if schema.schema_of(table).primary_key:
        keys.add(schema.schema_of(table).primary_key)
    return keys


def table_shapes(real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
                 schema: RelationalSchema) -> dict[str, float]:
    out = {}
    for t, spec in schema.tables.items():
        if spec.reference:
            continue
        keys = _key_columns(schema, t)
        scores = [_shape(real[t][c], synthetic[t][c], col.kind) for c, col in spec.schema_.columns.items()
                  if c not in keys and c in synthetic[t].columns]
        scores = [s for s in scores if s is not None]
        if scores:
            out[t] = float(np.mean(scores))
    return out


def parent_child_trends(real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
                        schema: RelationalSchema) -> dict[str, float]:
    out = {}
    for rel in schema.relationships:
        if schema.tables[rel.parent].reference:
            continue
        psch, csch = schema.schema_of(rel.parent), schema.schema_of(rel.child)
        pkeys, ckeys = _key_columns(schema, rel.parent), _key_columns(schema, rel.child)
        pcols = [c for c, col in psch.columns.items() if col.kind in ("numerical", "datetime") and c not in pkeys]
        ccols = [c for c, col in csch.columns.items() if col.kind in ("numerical", "datetime") and c not in ckeys]

        def pairs(tables: dict[str, pd.DataFrame]) -> dict[tuple[str, str], float]:
            parent, child = tables[rel.parent], tables[rel.child]
            keys = pd.Series(norm_keys(parent[rel.parent_column]))
            ck = norm_keys(child[rel.child_column])
            agg = pd.DataFrame({c: _numeric(child[c]) for c in ccols})
            agg["__k"] = ck
            means = agg.dropna(subset=["__k"]).groupby("__k").mean()
            counts = pd.Series(ck).value_counts()
            has = keys.isin(counts.index).to_numpy()
            left = {c: _numeric(parent[c])[has] for c in pcols}
            left["__count"] = keys[has].map(counts).to_numpy(dtype=np.float64)
            right = {f"mean({c})": keys[has].map(means[c]).to_numpy(dtype=np.float64) for c in ccols}
            result = {}
            for a, x in left.items():
                for b, y in right.items():
                    ok = np.isfinite(x) & np.isfinite(y)
                    if ok.sum() > 5 and np.std(x[ok]) > 0 and np.std(y[ok]) > 0:
                        result[(a, b)] = float(stats.spearmanr(x[ok], y[ok]).statistic)
            return result

        r, s = pairs(real), pairs(synthetic)
        common = [k for k in r if k in s]
        if common:
            out[_rel_name(rel)] = float(np.mean([1 - abs(r[k] - s[k]) / 2 for k in common]))
        elif r:
            out[_rel_name(rel)] = 0.0
    return out


def sequence_order(real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
                   schema: RelationalSchema) -> dict[str, dict[str, float]]:
    out = {}
    for t, spec in schema.tables.items():
        drive = schema.driving(t)
        if spec.sequence_key is None or drive is None:
            continue

        def measure(frame: pd.DataFrame) -> tuple[float, np.ndarray]:
            values = _numeric(frame[spec.sequence_key])
            keys = norm_keys(frame[drive.child_column])
            ordered, groups = {}, {}
            for i, k in enumerate(keys):
                if k is None or not np.isfinite(values[i]):
                    continue
                groups.setdefault(k, []).append(values[i])
            gaps = []
            for k, vals in groups.items():
                diffs = np.diff(vals)
                ordered[k] = bool((diffs >= 0).all())
                gaps.extend(np.diff(np.sort(vals)).tolist())
            share = float(np.mean(list(ordered.values()))) if ordered else 1.0
            return share, np.asarray(gaps)

        real_share, real_gaps = measure(real[t])
        syn_share, syn_gaps = measure(synthetic[t])
        ks = float(stats.ks_2samp(real_gaps, syn_gaps).statistic) if len(real_gaps) and len(syn_gaps) else None
        out[t] = {"in_order": syn_share, "real_in_order": real_share, "gap_ks": ks}
    return out


def keys_disjoint(real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
                  schema: RelationalSchema) -> dict[str, int]:
    """Synthetic primary keys equal to a real key, per synthesized table (0 everywhere is the goal)."""
    out = {}
    for t, spec in schema.tables.items():
        pk = spec.schema_.primary_key
        if spec.reference or not pk:
            continue
        real_keys = set(k for k in norm_keys(real[t][pk]) if k is not None)
        out[t] = int(sum(k in real_keys for k in norm_keys(synthetic[t][pk]) if k is not None))
    return out


def hierarchies(real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
                schema: RelationalSchema) -> dict[str, dict[str, Any]]:
    """Level distribution of every self-referencing table, real vs synthetic."""
    from synthstruct.errors import DataValidationError
    from synthstruct.relational.frames import depth_column, hierarchy_depth

    out: dict[str, dict[str, Any]] = {}
    for t in schema.synthesized():
        rel = schema.self_reference(t)
        if rel is None:
            continue
        depths = []
        for tables in (real, synthetic):
            keys, refs = norm_keys(tables[t][rel.parent_column]), norm_keys(tables[t][rel.child_column])
            if depth_column(rel.child_column) in tables[t].columns:  # levels of the whole table (before a split)
                depths.append(tables[t][depth_column(rel.child_column)].to_numpy(dtype=np.int64))
                continue
            try:
                depths.append(hierarchy_depth(keys, refs, table=t, column=rel.child_column))
            except DataValidationError:
                depths.append(np.zeros(0))
        a, b = depths
        out[t] = {"max_depth_real": int(a.max()) if len(a) else None, "max_depth_synthetic": int(b.max()) if len(b) else None,
                  "depth_ks": float(stats.ks_2samp(a, b).statistic) if len(a) and len(b) else None,
                  "synthetic_has_cycle": bool(len(b) == 0 and len(synthetic[t]) > 0)}
    return out


def relational_fidelity(real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
                        schema: RelationalSchema) -> dict[str, Any]:
    """Every cross-table metric, plus worst-case summaries for the targets."""
    ri = referential_integrity(synthetic, schema)
    ks = child_count_ks(real, synthetic, schema)
    shapes = table_shapes(real, synthetic, schema)
    trends = parent_child_trends(real, synthetic, schema)
    seq = sequence_order(real, synthetic, schema)
    copies = keys_disjoint(real, synthetic, schema)
    levels = hierarchies(real, synthetic, schema)
    return {
        "referential_integrity": ri,
        "child_count_ks": ks,
        "table_shapes": shapes,
        "parent_child_trends": trends,
        "sequences": seq,
        "real_keys_reused": copies,
        "hierarchies": levels,
        "summary": {
            "referential_integrity": ri["value"],
            "orphans": ri["orphans"],
            "child_count_ks_max": max(ks.values()) if ks else None,
            "table_shapes_min": min(shapes.values()) if shapes else None,
            "parent_child_trends_mean": float(np.mean(list(trends.values()))) if trends else None,
            "sequence_in_order_min": min(v["in_order"] for v in seq.values()) if seq else None,
            "real_keys_reused": int(sum(copies.values())),
        },
    }
