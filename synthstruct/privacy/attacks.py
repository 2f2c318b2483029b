"""Attack-based privacy metrics: singling out, linkability and attribute inference.

Each attack is run twice with the same synthetic data: once against **train** rows (people whose data
the synthesizer saw) and once against **holdout** rows (real people it never saw, the *control*). An
attack that works as well on the holdout learns nothing about training individuals: it only
exploits what the data says about the population. The reported ``value`` is therefore the
**risk** — the part of the attack's success that only training rows enjoy::

    risk = max(0, (attack_rate - control_rate) / (1 - control_rate))      (0 = no leak, 1 = total)

This is the normalisation of Giomi et al. (PETS 2023, the paper behind ``anonymeter``; this module is
an independent implementation and does not use that package; ``evaluation/bench_attacks.py``
compares the two). ``ci`` is Newcombe's hybrid score interval of ``attack_rate - control_rate`` (the
noise of both samples counts) put through the same formula; the rates, their Wilson intervals and the
counts are in ``details``.

**Auxiliary-column sets.** What an attacker knows about a person is not one fixed list, so every
attack is run over several *column sets* and reports the **worst case** with the columns that
produced it (``details.worst_set`` / ``details.worst_columns``, every set in ``details.column_sets``):

* ``quasi_identifiers``: the schema's declared quasi-identifiers (when there are any);
* ``all_columns`` (singling out, linkability) / ``all_but_one`` (inference: every other column
  predicts the secret): the strongest attacker, who knows a whole record;
* ``random_1`` .. ``random_R``: seeded random subsets of 3, 4, ... columns, as anonymeter draws its
  auxiliary columns (``options["attack_column_sets"]``, default 2).

Because the worst of ``m`` sets is reported, the interval of each set is a Bonferroni-adjusted
``1 - 0.05 / m`` interval, so that a clean release is not blocked by the luck of the draw. Sets with
fewer than 30 targets on either side are reported but chosen as the worst only when no set has more.

Train rows are a seeded subsample of the holdout's size (and the holdout one of train's size when it
is the larger), capped at ``options["attack_rows"]`` (default 1000) rows each, so that both rates are
measured on equally many people. Nearest neighbours use the mixed-type distance of
:mod:`synthstruct.evaluation.encoding` restricted to the set's columns (one encoding, shared by the three
attacks through ``ctx.cache``); exact ties are broken at random, seeded, independently per search.
Synthetic rows identical on a set are searched once per group (a tie then goes to a group in
proportion to its size and to a uniform row inside it), which makes coarse column sets cheap.
Without a holdout there is no control: ``value`` is ``None`` and ``details.attack_rate`` alone is
reported.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.evaluation.metric import EvaluationContext, MetricResult
from synthstruct.privacy.distances import BLOCK_ELEMENTS, PreparedReference, block_distance_sums, neighbour_distances
from synthstruct.evaluation.encoding import EncodedFrame, MixedEncoder, as_numbers, hash_rows
from synthstruct.privacy.metrics import wilson_interval, z_for
from synthstruct.schema.check import category_key_codes, category_keys

__all__ = ["attack_risk", "attribute_inference", "linkability", "singling_out", "top_k_neighbours"]

_NO_COLUMNS = "the schema has no structured column present in every table, so there is nothing to attack with"
_NO_SYNTHETIC = "the synthetic table has no rows, so there is no nearest synthetic row to attack with"
_NO_HOLDOUT = ("no holdout was given: without real rows the synthesizer never saw there is no control, "
               "so the risk cannot be separated from what the data says about everyone")
_NO_TARGETS = ("no column set gave targets on both the train and the holdout sample (for singling out: no "
               "combination held by exactly one row), so there is no rate to compare")
_ORDERED_KINDS = ("numerical", "datetime")
#: Random tie-break added to summed per-column distances (one column mismatch = 1).
_TIE_JITTER = 1.0e-3
_DEFAULT_ATTACK_ROWS = 1000
_DEFAULT_RANDOM_SETS = 2
_FEW_TARGETS = 30
_ALPHA = 0.05


# ---------------------------------------------------------------------------- shared helpers
def attack_risk(attack_successes: int, n_attack: int, control_successes: int, n_control: int,
                *, z: float = 1.959964) -> dict[str, Any]:
    """Risk of an attack relative to its control, with the rates and Wilson intervals (95 % by default).

    Returns:
        ``risk`` and ``risk_ci`` (``None`` when either side has no targets), plus ``attack_rate``,
        ``attack_ci``, ``control_rate``, ``control_ci`` and the counts.
    """
    out: dict[str, Any] = {
        "attack_successes": int(attack_successes), "attack_targets": int(n_attack),
        "control_successes": int(control_successes), "control_targets": int(n_control),
        "attack_rate": attack_successes / n_attack if n_attack else None,
        "attack_ci": list(wilson_interval(attack_successes, n_attack, z=z)) if n_attack else None,
        "control_rate": control_successes / n_control if n_control else None,
        "control_ci": list(wilson_interval(control_successes, n_control, z=z)) if n_control else None,
        "risk": None, "risk_ci": None,
    }
    if not n_attack or not n_control:
        return out
    attack, control = out["attack_rate"], out["control_rate"]
    (a_low, a_high), (c_low, c_high) = out["attack_ci"], out["control_ci"]
    # Newcombe's hybrid score interval of attack - control: both samples' noise counts.
    diff_low = attack - control - np.hypot(attack - a_low, c_high - control)
    diff_high = attack - control + np.hypot(a_high - attack, control - c_low)

    def norm(diff: float) -> float:
        if control >= 1.0:
            return 0.0
        return float(min(1.0, max(0.0, diff / (1.0 - control))))

    out["risk"] = norm(attack - control)
    out["risk_ci"] = [norm(diff_low), norm(diff_high)]
    return out


def _result(name: str, value: float | None, **kwargs: Any) -> MetricResult:
    return MetricResult(name=name, category="privacy", goal="minimize", value=value, **kwargs)


def _quasi_identifiers(ctx: EvaluationContext, columns: list[str]) -> list[str]:
    return [c for c in ctx.schema.quasi_identifiers if c in columns]


def _has_holdout(ctx: EvaluationContext) -> bool:
    return ctx.holdout is not None and len(ctx.holdout) > 0


def _sample_index(n_rows: int, size: int, rng: np.random.Generator) -> np.ndarray:
    if size >= n_rows:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, size=size, replace=False))


def _rng(ctx: EvaluationContext, stream: str) -> np.random.Generator:
    salt = int.from_bytes(hashlib.sha256(stream.encode()).digest()[:4], "big")
    return np.random.default_rng([int(ctx.seed) & 0xFFFFFFFF, salt])


# ---------------------------------------------------------------------------- shared state
@dataclass
class _AttackData:
    """Encodings shared by the three attacks (one per evaluation context, in ``ctx.cache``)."""

    encoder: MixedEncoder
    columns: list[str]
    train: pd.DataFrame
    holdout: pd.DataFrame | None
    encoded: dict[str, EncodedFrame | None]
    slots: dict[str, tuple[Any, ...]]
    #: Positions (in ``ctx.synthetic``) of the synthetic rows searched; ``None`` = all rows.
    synthetic_index: np.ndarray | None = None
    subsets: dict[tuple[str, tuple[str, ...]], EncodedFrame | None] = field(default_factory=dict)

    def subset(self, role: str, columns: list[str]) -> EncodedFrame | None:
        """The ``role`` frame's encoding restricted to ``columns`` (cached)."""
        key = (role, tuple(columns))
        if key not in self.subsets:
            full = self.encoded[role]
            if full is None:
                self.subsets[key] = None
            else:
                scaled = [self.slots[c][1] for c in columns if self.slots[c][0] == "scaled"]
                coded = [self.slots[c][1] for c in columns if self.slots[c][0] == "coded"]
                onehot = [np.arange(*self.slots[c][1]) for c in columns if self.slots[c][0] == "onehot"]
                levels = [self.slots[c][2] for c in columns if self.slots[c][0] == "onehot"]
                hot = np.concatenate(onehot) if onehot else np.array([], dtype=np.int64)
                self.subsets[key] = EncodedFrame(np.ascontiguousarray(full.scaled[:, scaled]),
                                                 np.ascontiguousarray(full.onehot[:, hot]),
                                                 np.ascontiguousarray(full.codes[:, coded]), len(onehot),
                                                 np.ascontiguousarray(full.levels[:, levels]))
        return self.subsets[key]


def _slots(encoder: MixedEncoder) -> dict[str, tuple[Any, ...]]:
    """Where each column sits in an :class:`EncodedFrame`: ``("scaled", j)``, ``("coded", j)`` or
    ``("onehot", (first, end) of its one-hot block, j of its ``levels`` column)``."""
    out: dict[str, tuple[Any, ...]] = {c: ("scaled", j) for j, c in enumerate(encoder.scaled_columns_)}
    out.update({c: ("coded", j) for j, c in enumerate(encoder.coded_columns_)})
    offset = 0
    for j, name in enumerate(encoder.onehot_columns_):
        width = encoder._width(name)
        out[name] = ("onehot", (offset, offset + width), j)
        offset += width
    return out


def _data(ctx: EvaluationContext) -> _AttackData:
    """Targets (equal-size seeded samples of train and holdout) and the shared encodings (built once per
    evaluation context, shared by the three attacks)."""
    return ctx.shared("attacks", _build_data)


def _build_data(ctx: EvaluationContext) -> _AttackData:
    encoder = neighbour_distances(ctx).encoder  # fitted on every frame; scales from train
    rng = _rng(ctx, "attack-targets")
    cap = int(ctx.options.get("attack_rows", _DEFAULT_ATTACK_ROWS))
    size = min(len(ctx.train), cap)
    if _has_holdout(ctx):
        size = min(size, len(ctx.holdout))
    train = ctx.train.iloc[_sample_index(len(ctx.train), size, rng)].reset_index(drop=True)
    holdout = None
    if _has_holdout(ctx):
        holdout = ctx.holdout.iloc[_sample_index(len(ctx.holdout), size, rng)].reset_index(drop=True)  # type: ignore[union-attr]
    distances = neighbour_distances(ctx)
    synthetic_index = None
    if distances.synthetic_index is None:
        synthetic = distances.synthetic  # every synthetic row (exact mode)
    else:  # sampled mode: the attacker searches a stratified sample of the synthetic rows
        from synthstruct.privacy.sampling import strata_of, stratified_index

        synthetic_index = stratified_index(len(ctx.synthetic), int(distances.plan.attack_synthetic_rows),
                                           _rng(ctx, "attack-synthetic"), strata_of(ctx.synthetic, ctx.schema))
        synthetic = encoder.transform(ctx.synthetic.iloc[synthetic_index])
    encoded = {"synthetic": synthetic, "train": encoder.transform(train),
               "holdout": None if holdout is None else encoder.transform(holdout)}
    return _AttackData(encoder, list(encoder.columns_), train, holdout, encoded, _slots(encoder), synthetic_index)


def _column_sets(ctx: EvaluationContext, columns: list[str], whole: str, stream: str,
                 minimum: int = 1) -> list[tuple[str, list[str]]]:
    """Named auxiliary-column sets: declared quasi-identifiers, all ``columns``, seeded random subsets."""
    sets: list[tuple[str, list[str]]] = []
    qi = _quasi_identifiers(ctx, columns)
    if len(qi) >= minimum:
        sets.append(("quasi_identifiers", qi))
    if len(columns) >= minimum:
        sets.append((whole, list(columns)))
    rng = _rng(ctx, stream + "-columns")
    n_random = int(ctx.options.get("attack_column_sets", _DEFAULT_RANDOM_SETS))
    for i in range(n_random):
        size = min(3 + i, len(columns) - 1)
        if size < max(minimum, 1):
            break
        chosen = set(rng.choice(len(columns), size=size, replace=False).tolist())
        subset = [c for j, c in enumerate(columns) if j in chosen]
        if all(subset != s for _, s in sets):
            sets.append((f"random_{i + 1}", subset))
    return sets


def top_k_neighbours(query: EncodedFrame, reference: EncodedFrame, k: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Positions of the ``k`` nearest reference rows of every query row, nearest first.

    Exact ties are broken at random (a uniform jitter far below one column's mismatch), so that
    thousands of rows tied on coarse categorical columns do not all point at the same reference row.
    Blocks of query rows run on up to two threads; the jitter is drawn up front from ``rng``, so the
    result does not depend on the threads.

    Returns:
        ``(n_query, min(k, n_reference))`` int64 array.
    """
    n_query, n_ref = query.n_rows, reference.n_rows
    k = min(k, n_ref)
    out = np.empty((n_query, k), dtype=np.int64)
    if n_query == 0 or k == 0:
        return out
    ref = PreparedReference(reference)
    block = max(1, min(1024, BLOCK_ELEMENTS // max(n_ref, 1)))
    starts = list(range(0, n_query, block))
    # One jitter block per search (drawn up front, shared by the blocks): query rows i and i + block
    # break ties alike, every other pair independently. Drawing it once costs one pass, not one per block.
    jitter = rng.random((min(block, n_query), n_ref), dtype=np.float32)
    jitter *= np.float32(_TIE_JITTER)

    def run(i: int) -> None:
        lo = starts[i]
        hi = min(lo + block, n_query)
        total = block_distance_sums(query, lo, hi, ref)
        total += jitter[: hi - lo]
        if k == 1:
            out[lo:hi, 0] = total.argmin(axis=1)
            return
        idx = np.argpartition(total, k - 1, axis=1)[:, :k] if k < n_ref else np.tile(np.arange(n_ref), (hi - lo, 1))
        order = np.argsort(np.take_along_axis(total, idx, axis=1), axis=1, kind="stable")
        out[lo:hi] = np.take_along_axis(idx, order, axis=1)

    jobs = min(2, os.cpu_count() or 1, len(starts))
    if jobs > 1:  # the kernel uses no BLAS, so nothing else needs limiting while the two threads run
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(run, range(len(starts))))
    else:
        for i in range(len(starts)):
            run(i)
    return out


@dataclass(frozen=True)
class _Groups:
    """Synthetic rows grouped by their encoding on a column set (identical rows are one group)."""

    first: EncodedFrame  # one row per group
    counts: np.ndarray  # rows per group
    starts: np.ndarray  # offset of each group in ``members``
    members: np.ndarray  # row positions sorted by group


def _groups(data: _AttackData, columns: list[str]) -> _Groups | None:
    """Groups of identical synthetic rows on ``columns``, or ``None`` when grouping saves little."""
    key = ("groups", tuple(columns))
    if key not in data.subsets:
        ref = data.subset("synthetic", columns)
        assert ref is not None
        block = np.concatenate([ref.scaled, ref.onehot, ref.codes], axis=1)
        rows = np.ascontiguousarray(block).view(np.dtype((np.void, block.dtype.itemsize * block.shape[1])))[:, 0]
        _, first, inverse, counts = np.unique(rows, return_index=True, return_inverse=True, return_counts=True)
        if len(first) > 0.5 * ref.n_rows:
            data.subsets[key] = None
        else:
            members = np.argsort(inverse, kind="stable")
            starts = np.r_[0, np.cumsum(counts)[:-1]]
            data.subsets[key] = _Groups(ref.take(first), counts, starts, members)  # type: ignore[assignment]
    return data.subsets[key]  # type: ignore[return-value]


def _nearest_grouped(query: EncodedFrame, groups: _Groups, rng: np.random.Generator) -> np.ndarray:
    """Nearest synthetic row of every query row, searching one row per group of identical rows.

    Exact ties between groups are broken in proportion to group size (an exponential race: the
    smallest ``E / size`` wins, ``E ~ Exp(1)``), then a row is drawn uniformly inside the group, so
    each tied synthetic row is equally likely, as in the ungrouped search.
    """
    n_query, n_groups = query.n_rows, groups.first.n_rows
    ref = PreparedReference(groups.first)
    block = max(1, min(1024, BLOCK_ELEMENTS // max(n_groups, 1)))
    jitter = rng.standard_exponential((min(block, n_query), n_groups), dtype=np.float32)
    jitter *= np.float32(_TIE_JITTER / 10) / groups.counts.astype(np.float32)[None, :]
    chosen = np.empty(n_query, dtype=np.int64)
    starts = list(range(0, n_query, block))

    def run(lo: int) -> None:
        hi = min(lo + block, n_query)
        total = block_distance_sums(query, lo, hi, ref)
        total += jitter[: hi - lo]
        chosen[lo:hi] = total.argmin(axis=1)

    jobs = min(2, os.cpu_count() or 1, len(starts))
    if jobs > 1:  # blocks are independent and the jitter is drawn up front: same result on any thread count
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(run, starts))
    else:
        for lo in starts:
            run(lo)
    inside = np.floor(rng.random(n_query) * groups.counts[chosen]).astype(np.int64)
    return groups.members[groups.starts[chosen] + inside]


def _nearest(data: _AttackData, role: str, columns: list[str], rng: np.random.Generator) -> np.ndarray | None:
    query, ref = data.subset(role, columns), data.subset("synthetic", columns)
    if query is None or ref is None:
        return None
    groups = _groups(data, columns)
    if groups is not None:
        return _nearest_grouped(query, groups, rng)
    return top_k_neighbours(query, ref, 1, rng)[:, 0]


def _worst(name: str, rows: list[dict[str, Any]], details: dict[str, Any], z: float) -> MetricResult:
    """The worst column set's risk (highest risk, then highest lower bound) as the metric's value."""
    details = {**details, "column_sets": rows, "interval": f"Bonferroni-adjusted over {len(rows)} column sets "
                                                            f"(z = {z:.3f})"}
    scored = [r for r in rows if r["risk"] is not None]
    if not scored:
        return _result(name, None, details=details, note=_NO_TARGETS)
    # Sets with few targets on either side have intervals too wide to rank by their point estimate:
    # they take part only when no set has enough targets.
    enough = [r for r in scored if min(r["attack_targets"], r["control_targets"]) >= _FEW_TARGETS]
    worst = max(enough or scored, key=lambda r: (r["risk"], r["risk_ci"][0]))
    details.update(worst_set=worst["set"], worst_columns=worst["columns"],
                   **{k: worst[k] for k in ("attack_rate", "attack_ci", "control_rate", "control_ci",
                                            "attack_successes", "attack_targets", "control_successes",
                                            "control_targets")})
    note = None
    if worst["attack_targets"] < _FEW_TARGETS:
        note = f"only {worst['attack_targets']} attack targets in the worst column set: the interval is wide"
    return _result(name, worst["risk"], ci=tuple(worst["risk_ci"]), details=details, note=note)


def _start(ctx: EvaluationContext, name: str, *, needs_synthetic: bool = False,
           ) -> tuple[_AttackData | None, MetricResult | None]:
    if needs_synthetic and len(ctx.synthetic) == 0:  # nearest synthetic rows do not exist: not computed, not a pass
        return None, _result(name, None, note=_NO_SYNTHETIC)
    if neighbour_distances(ctx).encoder.n_columns == 0:
        return None, _result(name, None, note=_NO_COLUMNS)
    return _data(ctx), None


def _base_details(ctx: EvaluationContext, data: _AttackData) -> dict[str, Any]:
    out: dict[str, Any] = {"train_rows_sampled": len(data.train), "synthetic_rows": len(ctx.synthetic),
                           "declared_quasi_identifiers": _quasi_identifiers(ctx, data.columns)}
    if data.synthetic_index is not None:
        out.update(sampling="sampled", synthetic_rows_searched=int(len(data.synthetic_index)),
                   sampling_reason=neighbour_distances(ctx).plan.reason)
    if data.holdout is not None:
        out["holdout_rows"] = len(data.holdout)
    return out


def _no_holdout(name: str, rows: list[dict[str, Any]], details: dict[str, Any]) -> MetricResult:
    best = max((r for r in rows if r["attack_rate"] is not None), key=lambda r: r["attack_rate"], default=None)
    if best is not None:
        details = {**details, "attack_rate": best["attack_rate"], "worst_set": best["set"],
                   "worst_columns": best["columns"]}
    return _result(name, None, details={**details, "column_sets": rows}, note=_NO_HOLDOUT)


# ---------------------------------------------------------------------------- singling out
def _bin_edges(train: pd.Series, kind: str) -> np.ndarray | None:
    if kind not in _ORDERED_KINDS:
        return None
    values = as_numbers(train)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return np.array([])
    return np.unique(np.quantile(values, np.linspace(0.1, 0.9, 9)))


def _column_codes(frames: list[pd.DataFrame], name: str, edges: np.ndarray | None) -> list[np.ndarray]:
    """Integer codes of one column in every frame: train deciles for numbers, joint levels for categories."""
    if edges is not None:
        out = []
        for frame in frames:
            values = as_numbers(frame[name])
            codes = np.searchsorted(edges, values, side="right").astype(np.int64)
            codes[np.isnan(values)] = -1
            out.append(codes)
        return out
    parts = [category_key_codes(f[name]) for f in frames]
    if any(part is None for part in parts):  # mixed types: keyed cell by cell
        keys = [category_keys(f[name]).fillna(_MISSING_KEY) for f in frames]  # category keys are texts already
        codes, _ = pd.factorize(pd.concat(keys, ignore_index=True))
        bounds = np.cumsum([0] + [len(f) for f in frames])
        return [codes[bounds[i]:bounds[i + 1]].astype(np.int64) for i in range(len(frames))]
    return _joint_codes([part for part in parts if part is not None])


_MISSING_KEY = "\u0000missing"


def _joint_codes(parts: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """The codes ``pd.factorize`` gives the rows' keys of all frames one after the other (missing keyed as
    :data:`_MISSING_KEY`), from each frame's ``(codes, keys)``: keys are factorised in the order the rows first
    show them -- a frame's distinct keys in order, with the missing key where its first missing row is."""
    sequences, local_codes = [], []
    for codes, keys in parts:
        missing = codes < 0
        if missing.any():
            first = int(np.argmax(missing))
            before = int(codes[:first].max()) + 1 if first else 0  # distinct values seen before that row
            keys = np.concatenate([keys[:before], np.array([_MISSING_KEY], dtype=object), keys[before:]])
            codes = np.where(missing, before, codes + (codes >= before))
        sequences.append(keys)
        local_codes.append(codes)
    joint, _ = pd.factorize(np.concatenate(sequences)) if sequences else (np.zeros(0, dtype=np.intp), None)
    offsets = np.cumsum([0] + [len(k) for k in sequences])
    return [joint[offsets[i] + codes].astype(np.int64) for i, codes in enumerate(local_codes)]


def combination_keys(frame: pd.DataFrame, columns: list[str], edges: dict[str, np.ndarray | None]) -> np.ndarray:
    """One 64-bit key per row for its combination of (binned) column values.

    Numbers and dates fall into the deciles of train (``edges``); categories compare by
    :func:`~synthstruct.schema.check.category_key` (``1``, ``1.0`` and ``"1"`` are one value);
    missing is its own value.
    """
    parts: dict[str, Any] = {}
    for name in columns:
        if edges.get(name) is not None:
            parts[name] = _column_codes([frame], name, edges[name])[0]
        else:
            parts[name] = category_keys(frame[name]).fillna("\u0000missing").to_numpy(dtype=object)
    table = pd.DataFrame(parts, index=pd.RangeIndex(len(frame)))
    return pd.util.hash_pandas_object(table, index=False).to_numpy()


def _keys(codes: dict[str, np.ndarray], columns: list[str]) -> np.ndarray:
    return hash_rows([codes[c] for c in columns], len(codes[columns[0]]) if columns else 0)


def _unique_found(target_keys: np.ndarray, synthetic_keys: np.ndarray) -> tuple[int, int]:
    """(combinations held by exactly one target, how many of them appear in the synthetic rows)."""
    counts = pd.Series(target_keys, copy=False).value_counts(sort=False)  # hash tables: np.unique / np.isin sort
    unique = counts.index[counts.to_numpy() == 1]
    return int(len(unique)), int(unique.isin(synthetic_keys).sum()) if len(unique) else 0


def singling_out(ctx: EvaluationContext) -> MetricResult:
    """Risk that the synthetic data reveals which combinations of values belong to one person.

    Per column set, numbers and dates are binned into the deciles of train. Targets are the
    combinations held by exactly one row of the (equal-size) train sample; the attack succeeds on a
    combination when it appears in the synthetic data. The control does the same with combinations
    unique in the holdout. ``value`` is the worst set's risk (see the module docstring).

    A copied training row always reproduces its combination (so does one with small noise on its
    numbers, which stays in its deciles), so copies raise the attack rate; a model that only learned
    the population reproduces a rare combination of train as often as one of the holdout.
    """
    data, early = _start(ctx, "singling_out")
    if early is not None:
        return early
    assert data is not None
    kinds = ctx.schema.kinds()
    roles = ["synthetic", "train"] + (["holdout"] if data.holdout is not None else [])
    frames = {"synthetic": ctx.synthetic, "train": data.train, "holdout": data.holdout}
    codes: dict[str, dict[str, np.ndarray]] = {r: {} for r in roles}
    for name in data.columns:
        per = _column_codes([frames[r] for r in roles], name, _bin_edges(ctx.train[name], kinds[name]))
        for role, c in zip(roles, per):
            codes[role][name] = c
    sets = _column_sets(ctx, data.columns, "all_columns", "singling_out")
    z = z_for(_ALPHA / len(sets))
    rows = []
    for set_name, columns in sets:
        synthetic_keys = _keys(codes["synthetic"], columns)
        n_a, found_a = _unique_found(_keys(codes["train"], columns), synthetic_keys)
        n_c = found_c = 0
        if data.holdout is not None:
            n_c, found_c = _unique_found(_keys(codes["holdout"], columns), synthetic_keys)
        stats = attack_risk(found_a, n_a, found_c, n_c, z=z)
        rows.append({"set": set_name, "columns": columns, **stats})
    details = {**_base_details(ctx, data), "numeric_bins": "deciles of train"}
    if data.holdout is None:
        return _no_holdout("singling_out", rows, details)
    return _worst("singling_out", rows, details, z)


# ---------------------------------------------------------------------------- linkability
def linkability(ctx: EvaluationContext) -> MetricResult:
    """Risk that records known in two separate pieces can be linked through the synthetic data.

    Per column set, the columns are split into two halves A and B (schema order for the declared
    quasi-identifiers, a seeded random split otherwise). For each target row the attacker finds its
    nearest synthetic row on A and, separately, on B; the attack succeeds when both are the same
    synthetic row (the two pieces are linked to one record). Targets are train rows, the control
    holdout rows. ``value`` is the worst set's risk.
    """
    data, early = _start(ctx, "linkability", needs_synthetic=True)
    if early is not None:
        return early
    assert data is not None
    if len(data.columns) < 2:
        return _result("linkability", None, note="linkability needs at least two columns (one per half)")
    sets = _column_sets(ctx, data.columns, "all_columns", "linkability", minimum=2)
    z = z_for(_ALPHA / len(sets))
    rng = _rng(ctx, "linkability")
    rows = []
    for set_name, columns in sets:
        if set_name == "quasi_identifiers":
            half = len(columns) // 2
            part_a, part_b = columns[:half], columns[half:]
        else:
            order = rng.permutation(len(columns))
            half = len(columns) // 2
            part_a = [columns[j] for j in sorted(order[:half])]
            part_b = [columns[j] for j in sorted(order[half:])]
        hits = []
        for role in ("train", "holdout"):
            near_a = _nearest(data, role, part_a, rng)
            near_b = _nearest(data, role, part_b, rng)
            hits.append(0 if near_a is None else int((near_a == near_b).sum()))
        n_c = 0 if data.holdout is None else len(data.holdout)
        stats = attack_risk(hits[0], len(data.train), hits[1], n_c, z=z)
        rows.append({"set": set_name, "columns": columns, "part_a": part_a, "part_b": part_b, **stats})
    details = _base_details(ctx, data)
    if data.holdout is None:
        return _no_holdout("linkability", rows, details)
    result = _worst("linkability", rows, details, z)
    worst = next((r for r in rows if r["set"] == result.details.get("worst_set")), None)
    if worst is not None:
        result.details.update(part_a=worst["part_a"], part_b=worst["part_b"])
    return result


# ---------------------------------------------------------------------------- attribute inference
def _robust_width(series: pd.Series) -> float:
    values = as_numbers(series)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return 0.0
    low, high = np.quantile(values, [0.01, 0.99])
    if high <= low:
        low, high = values.min(), values.max()
    return float(high - low)


def _correct(true: pd.Series, guess: pd.Series, kind: str, tolerance: float) -> np.ndarray:
    """Whether each guess equals the true value (categories) or is within ``tolerance`` (numbers)."""
    true_missing, guess_missing = true.isna().to_numpy(), guess.isna().to_numpy()
    if kind in _ORDERED_KINDS:
        close = np.abs(as_numbers(true) - as_numbers(guess)) <= tolerance
    else:
        keys_t = category_keys(true).to_numpy(dtype=object)
        keys_g = category_keys(guess).to_numpy(dtype=object)
        close = keys_t == keys_g
    return np.where(true_missing | guess_missing, true_missing & guess_missing, close)


def _secrets(ctx: EvaluationContext, columns: list[str]) -> tuple[list[str], str]:
    declared = [c for c in ctx.schema.sensitive if c in columns]
    if declared:
        return declared, "schema.sensitive"
    if ctx.schema.target in columns:
        return [ctx.schema.target], "schema.target"
    rng = _rng(ctx, "inference-secrets")
    chosen = sorted(rng.choice(len(columns), size=min(2, len(columns)), replace=False).tolist())
    return [columns[j] for j in chosen], "seeded random columns (no sensitive column or target declared)"


def attribute_inference(ctx: EvaluationContext) -> MetricResult:
    """Risk that the synthetic data lets an attacker infer a person's sensitive values.

    Secrets are the schema's ``sensitive`` columns (else its ``target``, else two seeded random
    columns). For each secret and column set of the other columns (declared quasi-identifiers, all
    but the secret, random subsets), the attacker takes the nearest synthetic row on the set and
    guesses its secret value. A guess is right when it equals the true value (categorical, ordinal,
    boolean) or lies within ``options["inference_tolerance"]`` (default 0.05) of the train column's
    robust range (numerical, datetime). Targets are train rows, the control holdout rows, so "the data
    shows that older people earn more" is not counted as a leak. ``value`` is the worst (secret, set)
    risk; ``details.columns`` gives the worst set of each secret.
    """
    data, early = _start(ctx, "attribute_inference", needs_synthetic=True)
    if early is not None:
        return early
    assert data is not None
    secrets, source = _secrets(ctx, data.columns)
    kinds = ctx.schema.kinds()
    share = float(ctx.options.get("inference_tolerance", 0.05))
    rng = _rng(ctx, "attribute_inference")
    plans = []
    for secret in secrets:
        others = [c for c in data.columns if c != secret]
        if others:
            plans += [(secret, s) for s in _column_sets(ctx, others, "all_but_one", f"inference-{secret}")]
    details: dict[str, Any] = {**_base_details(ctx, data), "secrets": secrets, "secrets_from": source,
                               "tolerance_share_of_range": share}
    if not plans:
        return _result("attribute_inference", None, details=details,
                       note="no column is left to predict the secret from (the table has one column)")
    z = z_for(_ALPHA / len(plans))
    rows = []
    for secret, (set_name, columns) in plans:
        tolerance = share * _robust_width(ctx.train[secret]) if kinds[secret] in _ORDERED_KINDS else 0.0
        hits = []
        for role, target in (("train", data.train), ("holdout", data.holdout)):
            nearest = _nearest(data, role, columns, rng)
            if nearest is None or target is None:
                hits.append(0)
                continue
            if data.synthetic_index is not None:
                nearest = data.synthetic_index[nearest]
            guess = ctx.synthetic[secret].iloc[nearest].reset_index(drop=True)
            hits.append(int(_correct(target[secret].reset_index(drop=True), guess, kinds[secret], tolerance).sum()))
        n_c = 0 if data.holdout is None else len(data.holdout)
        stats = attack_risk(hits[0], len(data.train), hits[1], n_c, z=z)
        rows.append({"set": f"{secret}: {set_name}", "secret": secret, "columns": columns,
                     "kind": kinds[secret], "tolerance": tolerance, **stats})
    if data.holdout is None:
        return _no_holdout("attribute_inference", rows, details)
    per_secret: dict[str, Any] = {}
    for row in rows:
        best = per_secret.get(row["secret"])
        if row["risk"] is not None and (best is None or row["risk"] > best["risk"]):
            per_secret[row["secret"]] = row
    details["columns"] = per_secret
    result = _worst("attribute_inference", rows, details, z)
    worst = next((r for r in rows if r["set"] == result.details.get("worst_set")), None)
    if worst is not None:
        result.details["worst_column"] = worst["secret"]
    return result
