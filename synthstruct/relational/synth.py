"""RelationalSynthesizer: parents first, then children conditioned on their synthetic parent.

How it generates (see ``docs/relational.md``):

1. Each synthesized table gets a :class:`~synthstruct.synthesizers.table.TableSynthesizer` on its
   *model frame* (:mod:`synthstruct.relational.frames`): its columns plus, per child relationship, the
   number of children (and the first event date of a sequence child). The number of children is thus
   drawn jointly with - conditioned on - the parent's own columns.
2. A child table is conditioned on its driving parent through a **parent context**: the parents' model
   frames are encoded (quantile ranks, top categories, child counts) and clustered with k-means into at
   most ``max_contexts`` groups, each holding at least ``min_context_rows`` children. The child's
   ``fast_copula`` is stratified by its parent's group (one copula per group) and sampled with
   ``sample_classes``: the children of a synthetic parent come from the copula of the parent's group.
   An at-most-one child (a loan per account) also learns its parent's numbers and dates (``__pm__``
   columns) and each drawn row is assigned to the synthetic parent nearest the parent values drawn
   with it (``match_single``).
3. Sampling walks the tables parents first. Roots draw ``scale x`` their training rows; a child draws,
   for every synthetic parent, the parent's synthetic child count from the parent's context copula.
   Link keys (a second parent, e.g. ``disp.client_id``) are assigned from slots: each synthetic parent
   offers its synthetic count of such children. Sequence tables: the first event is the parent's
   synthetic first date, later ones add learned gaps, so events of a parent are in order.
4. New primary keys never equal a real key (integers start above the real maximum's order of magnitude;
   text keys get a prefix that no real key has). Every foreign key points at a synthetic parent row
   (100 % referential integrity) unless the real data had missing keys or orphans (kept at their share).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.errors import InputError, Problem
from synthstruct.relational.frames import (
    ModelFrame,
    count_column,
    depth_column,
    first_column,
    gap_column,
    model_frame,
    norm_keys,
)
from synthstruct.relational.model import RelationalSchema
from synthstruct.schema.model import Schema
from synthstruct.synthesizers.base import check_is_fitted
from synthstruct._seeds import stream_seed
from synthstruct.synthesizers.table import TableSynthesizer

__all__ = ["CONTEXT", "RelationalSynthesizer"]

log = logging.getLogger(__name__)

#: Column of a child's model frame holding its parent's context group.
CONTEXT = "__ctx"
_GRID = np.linspace(0.0, 1.0, 51)
#: Prefix of the parent columns an at-most-one child learns (``match_single``); never in the output.
MATCH_PREFIX = "__pm__"
_MATCH_GRID = np.linspace(0.0, 1.0, 101)
#: Largest group matched by one optimal assignment; larger groups are matched block by block.
_MATCH_BLOCK = 1500


def _ranks(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Quantile ranks on the training grid (missing values in the middle)."""
    return np.where(np.isfinite(values), np.interp(values, grid, _MATCH_GRID), 0.5)


def _assign(want: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """For each wanted row, the index of a distinct drawn row, minimising the total squared distance
    (exact for up to ``_MATCH_BLOCK`` rows; beyond, both sides are sorted on their mean rank and matched
    in blocks of that size)."""
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    n = len(want)
    out = np.empty(n, dtype=np.int64)
    if n <= _MATCH_BLOCK:
        rows, cols = linear_sum_assignment(cdist(want, drawn, "sqeuclidean"))
        out[rows] = cols
        return out
    wi, di = np.argsort(want.mean(axis=1), kind="stable"), np.argsort(drawn.mean(axis=1), kind="stable")
    for lo in range(0, n, _MATCH_BLOCK):
        w, d = wi[lo: lo + _MATCH_BLOCK], di[lo: lo + _MATCH_BLOCK]
        rows, cols = linear_sum_assignment(cdist(want[w], drawn[d], "sqeuclidean"))
        out[w[rows]] = d[cols]
    return out


class _ContextEncoder:
    """Numbers for clustering parents: quantile ranks of numbers and dates, one-hot top categories."""

    def fit(self, frame: pd.DataFrame, schema: Schema, k: int, *, emphasis: str | None = None,
            weight: float = 1.0) -> "_ContextEncoder":
        self.emphasis_, self.weight_ = emphasis, weight
        self.numeric_: dict[str, np.ndarray] = {}
        self.categories_: dict[str, list[str]] = {}
        for name, col in schema.columns.items():
            if name not in frame.columns or name == CONTEXT:
                continue
            if col.kind in ("numerical", "datetime"):
                values = _as_float(frame[name])
                if np.isfinite(values).any():
                    self.numeric_[name] = np.nanquantile(values, _GRID)
            elif col.kind in ("categorical", "ordinal", "boolean"):
                counts = frame[name].astype(str).value_counts()
                self.categories_[name] = [c for c in counts.index[:8] if counts[c] >= max(k, 1)]
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for name, grid in self.numeric_.items():
            values = _as_float(frame[name])
            ranks = np.where(np.isfinite(values), np.interp(values, grid, _GRID), 0.5)
            parts.append((ranks * (self.weight_ if name == self.emphasis_ else 1.0))[:, None])
        for name, cats in self.categories_.items():
            text = frame[name].astype(str).to_numpy()
            parts.extend((0.5 * (text == c))[:, None] for c in cats)
        return np.hstack(parts) if parts else np.zeros((len(frame), 1))


def _as_float(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series):
        out = series.astype("int64").to_numpy(dtype=np.float64) / 86_400e9
        out[series.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)


def _key_start(values: np.ndarray) -> int:
    """First synthetic integer key: a power of ten above every real key (so none can equal a real one)."""
    numbers = [abs(int(v)) for v in values if v is not None and str(v).lstrip("-").isdigit()]
    top = max(numbers, default=0)
    return 10 ** (len(str(top))) + 1 if top else 1


def _new_keys(real: np.ndarray, n: int, integer: bool) -> np.ndarray:
    if integer:
        start = _key_start(real)
        return np.arange(start, start + n, dtype=np.int64)
    existing = {str(v) for v in real if v is not None}
    prefix = "S"
    while any(str(v).startswith(prefix) for v in existing):
        prefix += "S"
    width = len(str(max(n, 1)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


class RelationalSynthesizer:
    """Learns a database described by a :class:`RelationalSchema` and samples a synthetic one.

    Args:
        engine: Engine of every table (``fast_copula``; needed for conditioning on parent context).
        protect_k: Value protection threshold of every table.
        max_contexts: Most parent context groups per child table (1 = children not conditioned).
        min_context_rows: Fewest child rows a context group must hold.
        rows_per_grid_point: Training rows per point of each numerical quantile grid (at least 32 and
            at most 1024 points), so that small tables are not reproduced value by value.
        count_weight: Weight of the parent's number of such children among the context features (children
            of parents with many siblings differ: in Berka, accounts with many orders have small orders).
        match_single: Model an at-most-one child (every parent has 0 or 1 such rows, e.g. a loan per
            account) jointly with its parent: the child's copula also learns the parent's numbers, dates
            and child counts, and each drawn row goes to the synthetic parent whose values are nearest
            to the parent values drawn with it (optimal assignment within the parent's context group).
    """

    def __init__(self, *, engine: str = "fast_copula", protect_k: int = 5, max_contexts: int = 8,
                 min_context_rows: int = 200, rows_per_grid_point: int = 16, count_weight: float = 3.0,
                 match_single: bool = True) -> None:
        self.engine = engine
        self.protect_k = protect_k
        self.max_contexts = max_contexts
        self.min_context_rows = min_context_rows
        self.rows_per_grid_point = rows_per_grid_point
        self.count_weight = count_weight
        self.match_single = match_single

    # ------------------------------------------------------------------ fit
    def fit(self, tables: dict[str, pd.DataFrame], schema: RelationalSchema, *, seed: int = 0,
            real_keys: dict[str, np.ndarray] | None = None) -> "RelationalSynthesizer":
        """Learn every synthesized table.

        Args:
            tables: Coerced training tables (reference tables whole).
            schema: The relational schema.
            seed: Seed of every fit.
            real_keys: Table -> every real primary key (train and holdout), so that synthetic keys avoid
                all of them; default: the training keys.
        """
        if self.engine != "fast_copula":
            raise InputError("unsupported engine for relational data", [Problem(
                "engine", "parent-conditioned generation needs fast_copula", "use engine fast_copula")])
        from sklearn.cluster import KMeans

        self.schema_ = schema
        self.frames_: dict[str, ModelFrame] = {}
        self.tables_: dict[str, TableSynthesizer | None] = {}
        self.contexts_: dict[str, tuple[_ContextEncoder, Any] | None] = {}
        self.n_rows_: dict[str, int] = {}
        self.orphan_share_: dict[str, float] = {}
        self.link_null_: dict[str, dict[str, float]] = {}
        self.key_integer_: dict[str, bool] = {}
        self.real_keys_: dict[str, np.ndarray] = {}
        self.constants_: dict[str, dict[str, Any]] = {}
        self.matches_: dict[str, list[tuple[str, str, np.ndarray]]] = {}
        self.reference_ = {t: tables[t] for t, s in schema.tables.items() if s.reference}
        for t in schema.synthesized():
            self.frames_[t] = model_frame(tables, schema, t)
        for t in schema.synthesized():
            mf = self.frames_[t]
            frame, mschema = mf.frame.copy(), mf.schema
            self.n_rows_[t] = len(frame)
            pk = schema.schema_of(t).primary_key
            if pk:
                real = real_keys.get(t) if real_keys and t in real_keys else norm_keys(tables[t][pk])
                self.real_keys_[t] = real
                self.key_integer_[t] = all(v is None or str(v).lstrip("-").isdigit() for v in real)
            self.link_null_[t] = {r.child_column: float(tables[t][r.child_column].isna().mean())
                                  for r in schema.links(t)}
            drive = schema.driving(t)
            self.contexts_[t] = None
            if drive is not None:
                parent = self.frames_[drive.parent]
                parent_row = pd.Series(np.arange(len(parent.keys)), index=parent.keys)
                parent_row = parent_row[~parent_row.index.duplicated()]
                rows = pd.Series(mf.parent_keys).map(parent_row)
                orphan = rows.isna().to_numpy()
                self.orphan_share_[t] = float(orphan.mean()) if len(orphan) else 0.0
                encoder = _ContextEncoder().fit(parent.frame, parent.schema, self.protect_k,
                                                emphasis=count_column(t, drive.child_column),
                                                weight=self.count_weight)
                x = encoder.transform(parent.frame)
                counts = parent.frame[count_column(t, drive.child_column)].to_numpy(dtype=np.float64)
                labels, model = None, None
                with_children = counts > 0  # parents without such children never need a context
                distinct = len(np.unique(x[with_children], axis=0)) if with_children.any() else 0
                for k in range(min(self.max_contexts, distinct), 1, -1):
                    km = KMeans(n_clusters=k, n_init=3, random_state=stream_seed(seed, "context", t) % (2**31))
                    km.fit(x[with_children])
                    cand = km.predict(x)
                    per_group = np.bincount(cand, weights=counts, minlength=k)
                    if per_group.min() >= self.min_context_rows:
                        labels, model = cand, km
                        break
                if self.match_single and len(counts) and np.nanmax(counts) <= 1:
                    frame, mschema = self._add_parent_columns(t, frame, mschema, parent, rows, orphan)
                if model is not None:
                    ctx = np.full(len(frame), -1)
                    ctx[~orphan] = labels[rows[~orphan].to_numpy(dtype=np.int64)]
                    if orphan.sum() < self.min_context_rows:  # few orphans share the largest group
                        ctx[orphan] = int(np.bincount(labels, weights=counts).argmax())
                    frame[CONTEXT] = [f"c{v}" if v >= 0 else "orphan" for v in ctx]
                    data = mschema.model_dump(mode="json", exclude_none=True)
                    data["columns"][CONTEXT] = {"kind": "categorical"}
                    data["target"] = CONTEXT
                    mschema = Schema.model_validate(data)
                    self.contexts_[t] = (encoder, model)
            constant = [c for c in frame.columns if c != CONTEXT and len(frame) and frame[c].nunique(dropna=False) == 1]
            self.constants_[t] = {c: frame[c].iloc[0] for c in constant}
            if constant:  # a constant column (every client has one disposition) is added back after sampling
                frame = frame.drop(columns=constant)
                data = mschema.model_dump(mode="json", exclude_none=True)
                for c in constant:
                    del data["columns"][c]
                for key in ("quasi_identifiers", "sensitive"):
                    data[key] = [c for c in data.get(key, []) if c not in constant]
                if data.get("target") in constant:
                    data.pop("target")
                data["constraints"] = [con for con in data.get("constraints", [])
                                       if not set(str(v) for v in con.values()) & set(constant)]
                mschema = Schema.model_validate(data)
            if not mschema.columns:
                self.tables_[t] = None
                continue
            # A quantile grid with a point per training value would put synthetic values next to
            # training values (the per-table DCR and exact-copy checks see it on small tables): one
            # point per ``rows_per_grid_point`` rows of the smallest context group smooths the marginals.
            smallest = int(frame[CONTEXT].value_counts().min()) if CONTEXT in frame.columns else len(frame)
            grid = int(min(1024, max(16, smallest // max(self.rows_per_grid_point, 1))))
            synth = TableSynthesizer(engine=self.engine, protect_k=self.protect_k,
                                     engine_params={"min_stratum_rows": min(50, self.min_context_rows),
                                                    "grid_size": grid})
            synth.fit(frame, schema=mschema, seed=stream_seed(seed, "table", t), source=t)
            self.tables_[t] = synth
            log.info("fitted table %s (%d rows, %s contexts)", t, len(frame),
                     self.contexts_[t][1].n_clusters if self.contexts_[t] else 1)
        return self

    def _add_parent_columns(self, table: str, frame: pd.DataFrame, mschema: Schema, parent: ModelFrame,
                            rows: pd.Series, orphan: np.ndarray) -> tuple[pd.DataFrame, Schema]:
        """An at-most-one child learns its parent's numbers, dates and child counts as ``__pm__`` columns."""
        own_count = count_column(table, self.schema_.driving(table).child_column)
        index = rows.to_numpy(dtype=np.float64)
        matches, columns = [], {}
        for name, col in parent.schema.columns.items():
            if name in (CONTEXT, own_count) or name not in parent.frame.columns or \
                    col.kind not in ("numerical", "datetime"):
                continue
            values = _as_float(parent.frame[name])
            mine = np.full(len(frame), np.nan)
            mine[~orphan] = values[index[~orphan].astype(np.int64)]
            present = mine[np.isfinite(mine)]
            if len(np.unique(present)) < 2:
                continue
            column = f"{MATCH_PREFIX}{name}"
            columns[column] = mine
            matches.append((name, column, np.quantile(present, _MATCH_GRID)))
        if not matches:
            return frame, mschema
        frame = frame.assign(**columns)
        data = mschema.model_dump(mode="json", exclude_none=True)
        for column in columns:
            data["columns"][column] = {"kind": "numerical"}
        self.matches_[table] = matches
        return frame, Schema.model_validate(data)

    def _match(self, table: str, frame: pd.DataFrame, parent: pd.DataFrame,
               owners: dict[Any, np.ndarray]) -> pd.DataFrame:
        """Reorder each context group's drawn rows so that row i goes to the synthetic parent ``owners[i]``
        whose values are nearest the parent values drawn with the row; then drop the ``__pm__`` columns."""
        matches = self.matches_.get(table)
        if not matches:
            return frame
        order = np.arange(len(frame))
        start = 0
        for members in owners.values():
            stop = start + len(members)
            linked = np.flatnonzero(members >= 0)
            if len(linked) > 1:
                want = np.column_stack([_ranks(_as_float(parent[name]).take(members[linked]), grid)
                                        for name, _, grid in matches])
                drawn = np.column_stack([_ranks(_as_float(frame[column]).take(start + linked), grid)
                                         for _, column, grid in matches])
                order[start + linked] = start + linked[_assign(want, drawn)]
            start = stop
        frame = frame.iloc[order].reset_index(drop=True)
        return frame.drop(columns=[column for _, column, _ in matches if column in frame.columns])

    # ------------------------------------------------------------------ sample
    def sample(self, *, scale: float = 1.0, seed: int = 0) -> dict[str, pd.DataFrame]:
        """Synthetic tables (coerced representation, the schema's column order); reference tables as fitted.

        Args:
            scale: Root tables get ``round(scale x training rows)`` rows; children follow their parents.
            seed: Seed; the same fitted synthesizer, scale and seed give the same tables.
        """
        check_is_fitted(self)
        schema = self.schema_
        if not scale > 0:
            raise InputError("invalid scale", [Problem("scale", "must be > 0", "pass e.g. 1.0")])
        rng = np.random.default_rng(stream_seed(seed, "relational"))
        models: dict[str, pd.DataFrame] = {}
        keys: dict[str, np.ndarray] = {}
        out: dict[str, pd.DataFrame] = dict(self.reference_)
        for t in schema.synthesized():
            sch = schema.schema_of(t)
            drive = schema.driving(t)
            table_seed = stream_seed(seed, "table", t)
            parent_index: np.ndarray | None = None
            if drive is None:
                n = int(round(self.n_rows_[t] * scale))
                frame = self._draw(t, {None: n}, table_seed)
            else:
                parent = models[drive.parent]
                counts = np.clip(np.nan_to_num(parent[count_column(t, drive.child_column)].to_numpy(dtype=np.float64)),
                                 0, None).round().astype(np.int64)
                n_orphans = int(round(self.orphan_share_[t] * self.n_rows_[t] * scale))
                context = self.contexts_[t]
                if context is not None:
                    encoder, km = context
                    groups = km.predict(encoder.transform(parent))
                else:
                    groups = np.zeros(len(parent), dtype=np.int64)
                labels = sorted(set(groups.tolist()))
                want: dict[Any, list[np.ndarray]] = {}
                for g in labels:
                    members = np.flatnonzero(groups == g)
                    want[f"c{g}" if context is not None else None] = [np.repeat(members, counts[members])]
                if n_orphans:
                    orphans = np.full(n_orphans, -1, dtype=np.int64)
                    if context is not None and self._has_class(t, "orphan"):
                        want["orphan"] = [orphans]
                    else:  # few orphans: drawn with the first group
                        want.setdefault(next(iter(want), None), []).append(orphans)
                owners = {label: np.concatenate(parts) for label, parts in want.items()}
                frame = self._draw(t, {label: len(o) for label, o in owners.items()}, table_seed)
                frame = self._match(t, frame, parent, owners)
                parent_index = (np.concatenate(list(owners.values())) if owners
                                else np.zeros(0, dtype=np.int64))
                if len(parent_index) != len(frame):  # rows come out grouped in the order of ``owners``
                    raise AssertionError("internal: child rows and owners differ")
            n = len(frame)
            # keys
            columns: dict[str, Any] = {}
            if sch.primary_key:
                keys[t] = _new_keys(self.real_keys_[t], n, self.key_integer_[t])
            if drive is not None:
                parent_keys = keys[drive.parent]
                fk = np.empty(n, dtype=object)
                linked = parent_index >= 0
                fk[linked] = parent_keys[parent_index[linked]]
                fk[~linked] = None
                columns[drive.child_column] = fk
            for rel in schema.links(t):
                columns[rel.child_column] = self._assign_link(t, rel, models[rel.parent], keys[rel.parent], n, rng)
            own = schema.self_reference(t)
            if own is not None:
                group = parent_index
                refs = [r.child_column for r in schema.reference_keys(t) if r.child_column in frame.columns]
                if group is None and refs:  # no driving parent: keep a manager in the same region / department
                    group = pd.factorize(frame[refs[0]].astype(str))[0]
                columns[own.child_column] = self._assign_self(t, own, frame, keys[t], group, rng)
            seq = schema.tables[t].sequence_key if drive is not None else None
            if seq is not None:
                columns[seq] = self._sequence(t, seq, frame, models[drive.parent], parent_index, rng)
            models[t] = frame
            data: dict[str, Any] = {}
            for name, col in sch.columns.items():
                if name == sch.primary_key:
                    data[name] = keys[t]
                elif name in columns:
                    data[name] = columns[name]
                elif name in frame.columns:
                    data[name] = frame[name].to_numpy()
                else:  # a key into a table outside the schema's synthesized set
                    data[name] = np.full(n, None, dtype=object)
            result = pd.DataFrame(data, index=range(n))
            for rel in schema.reference_keys(t):  # categories back to the reference table's key type
                ref = self.reference_[rel.parent][rel.parent_column]
                lookup = dict(zip(norm_keys(ref), ref.to_numpy()))
                result[rel.child_column] = [lookup.get(v) if v is not None else None
                                            for v in norm_keys(result[rel.child_column])]
            out[t] = result
        return {t: out[t] for t in schema.tables}

    def _has_class(self, table: str, label: str) -> bool:
        synth = self.tables_[table]
        engine = getattr(synth, "engine_", None)
        if engine is None or engine.target_ is None:
            return False
        return label in [str(c) for c in engine.categories_[engine.target_]]

    def _draw(self, table: str, want: dict[Any, int], seed: int) -> pd.DataFrame:
        """Rows of ``table``'s model: ``{None: n}`` unconditionally, else per context group, in order."""
        frame = self._draw_model(table, want, seed)
        for col, value in self.constants_.get(table, {}).items():
            frame[col] = value
        return frame

    def _draw_model(self, table: str, want: dict[Any, int], seed: int) -> pd.DataFrame:
        synth = self.tables_[table]
        n = sum(want.values())
        if synth is None:
            return pd.DataFrame(index=range(n))
        if None in want or self.contexts_[table] is None:
            return synth.sample(n, seed=seed)
        engine = synth.engine_
        known = {str(c) for c in engine.categories_[engine.target_]}
        own = {s["label"] for s in engine.strata_ if s["label"] is not None and s["label"] >= 0}
        own_labels = {str(engine.categories_[engine.target_][i]) for i in own}
        parts = []
        for i, (label, count) in enumerate(want.items()):
            if count == 0:
                continue
            if label in own_labels:
                parts.append(synth.sample_classes({label: count}, seed=stream_seed(seed, "context", i)))
            else:  # a group too small for its own copula (value protection pooled it): pooled draw
                if label not in known:
                    log.debug("context %s of %s unseen in training; pooled draw", label, table)
                parts.append(synth.sample(count, seed=stream_seed(seed, "context", i)))
        if not parts:
            return synth.sample(0, seed=seed)
        return pd.concat(parts, ignore_index=True)

    def _assign_link(self, table: str, rel: Any, parent: pd.DataFrame, parent_keys: np.ndarray, n: int,
                     rng: np.random.Generator) -> np.ndarray:
        """Keys of a second parent: each synthetic parent offers its synthetic count of such children."""
        out = np.empty(n, dtype=object)
        out[:] = None
        if len(parent_keys) == 0 or n == 0:
            return out
        col = count_column(table, rel.child_column)
        counts = np.clip(np.nan_to_num(parent[col].to_numpy(dtype=np.float64)), 0, None).round().astype(np.int64) \
            if col in parent.columns else np.ones(len(parent_keys), dtype=np.int64)
        slots = np.repeat(np.arange(len(parent_keys)), counts)
        rng.shuffle(slots)
        n_null = int(round(self.link_null_[table].get(rel.child_column, 0.0) * n))
        rows = rng.permutation(n)
        filled = rows[n_null:]
        if len(slots) < len(filled):
            slots = np.concatenate([slots, rng.integers(0, len(parent_keys), len(filled) - len(slots))])
        out[filled] = parent_keys[slots[: len(filled)]]
        return out

    def _assign_self(self, table: str, rel: Any, frame: pd.DataFrame, keys: np.ndarray,
                     group: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
        """Self-reference keys, level by level: rows of the lowest drawn level are roots (no parent row);
        each row of the next level gets its parent from the previous level's synthetic rows, which offer
        their synthetic number of direct children as slots (under the same driving parent first, e.g. a
        manager of the same department, or with the same key into a reference table). Never a cycle: a parent is always one level up."""
        n = len(frame)
        out = np.empty(n, dtype=object)
        out[:] = None
        if n == 0:
            return out
        depth_name, count_name = depth_column(rel.child_column), count_column(table, rel.child_column)
        raw = np.clip(np.nan_to_num(frame[depth_name].to_numpy(dtype=np.float64)), 0, None).round().astype(np.int64) \
            if depth_name in frame.columns else np.zeros(n, dtype=np.int64)
        levels = np.unique(raw)
        depth = np.searchsorted(levels, raw)  # contiguous levels 0..k (a drawn level with no rows is skipped)
        reports = np.clip(np.nan_to_num(frame[count_name].to_numpy(dtype=np.float64)), 0, None).round() \
            .astype(np.int64) if count_name in frame.columns else np.ones(n, dtype=np.int64)
        for level in range(1, len(levels)):
            rows = np.flatnonzero(depth == level)
            above = np.flatnonzero(depth == level - 1)
            slots = np.repeat(above, reports[above])
            rng.shuffle(slots)
            chosen = np.full(len(rows), -1, dtype=np.int64)
            used = np.zeros(len(slots), dtype=bool)
            if group is not None and len(slots):
                free: dict[int, list[int]] = {}
                for j, s in enumerate(slots):
                    free.setdefault(int(group[s]), []).append(j)
                for i, r in enumerate(rows):
                    pool = free.get(int(group[r]))
                    if pool:
                        j = pool.pop()
                        chosen[i], used[j] = slots[j], True
            rest = slots[~used]
            missing = np.flatnonzero(chosen < 0)
            take = min(len(missing), len(rest))
            chosen[missing[:take]] = rest[:take]
            if take < len(missing):  # fewer slots than rows: random parents one level up
                chosen[missing[take:]] = rng.choice(above, len(missing) - take)
            out[rows] = keys[chosen]
        return out

    def _sequence(self, table: str, key: str, frame: pd.DataFrame, parent: pd.DataFrame, parent_index: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
        """Event times: the parent's first event, then cumulative learned gaps (in order by construction)."""
        kind = self.schema_.schema_of(table).columns[key].kind
        gaps = frame[gap_column(key)].to_numpy(dtype=np.float64) if gap_column(key) in frame.columns \
            else np.zeros(len(frame))
        present = gaps[np.isfinite(gaps)]
        missing = ~np.isfinite(gaps)
        gaps = gaps.copy()
        gaps[missing] = rng.choice(present, int(missing.sum())) if len(present) else 0.0
        gaps = np.clip(gaps, 0, None)
        firsts_col = parent[first_column(table)] if first_column(table) in parent.columns else None
        firsts = _as_float(firsts_col) if firsts_col is not None else np.full(len(parent), np.nan)
        known = firsts[np.isfinite(firsts)]
        times = np.full(len(frame), np.nan)
        start = 0
        while start < len(frame):  # rows of one owner are contiguous
            owner = parent_index[start]
            stop = start + 1
            while stop < len(frame) and parent_index[stop] == owner:
                stop += 1
            first = firsts[owner] if owner >= 0 else np.nan
            if not np.isfinite(first):
                first = rng.choice(known) if len(known) else 0.0
            times[start:stop] = first + np.concatenate([[0.0], np.cumsum(gaps[start + 1: stop])])
            start = stop
        if kind == "datetime":
            stamps = pd.to_datetime(np.round(times * 86_400), unit="s", errors="coerce")
            fmt = self.schema_.schema_of(table).columns[key].format
            if not any(code in fmt for code in ("%H", "%M", "%S", "%I")):
                stamps = stamps.floor("D")
            return np.asarray(stamps)
        return times
