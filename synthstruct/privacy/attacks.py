"""Attack-based privacy metrics: singling out, linkability and attribute inference.

Each attack is run twice with the same synthetic data: once against **train** rows (people whose data
the synthesizer saw) and once against **holdout** rows (real people it never saw, the *control*). An
attack that works as well on the holdout learns nothing about training individuals: it only
exploits what the data says about the population. The reported ``value`` is therefore the
**risk** — the part of the attack's success that only training rows enjoy::

    risk = max(0, (attack_rate - control_rate) / (1 - control_rate))      (0 = no leak, 1 = total)

This is the normalisation of Giomi et al. (PETS 2023, the paper behind ``anonymeter``; this module is
an independent implementation and does not use that package). ``ci`` is Newcombe's 95 % hybrid score
interval of ``attack_rate - control_rate`` (the noise of both samples counts) put through the same
formula; the rates, their Wilson intervals and the counts are in ``details``. With a few hundred
targets the interval is wide: a policy should compare ``ci_lower`` ("confidently above the limit")
or ``value`` with a margin, not ``ci_upper``, unless the data are large. ``reference`` is ``None``: the control is already inside
the risk, and the risk of the holdout against itself is 0 by construction. Without a holdout there is
no control, so ``value`` is ``None`` and ``details.attack_rate`` alone is reported.

Train rows are a seeded subsample of the holdout's size (and the holdout one of train's size when it
is the larger), capped at ``options["attack_rows"]`` (default 2000) rows each, so that both rates are
measured on equally many people. Nearest neighbours use the mixed-type distance of
:mod:`synthstruct.privacy.encoding` restricted to the attack's columns; exact ties (common with
categorical quasi-identifiers) are broken at random, seeded, independently per search.

Columns come from the schema: ``quasi_identifiers`` (what an attacker knows about a person) and
``sensitive`` (what they want to learn). Without quasi-identifiers the attacks are not run and
``note`` says so.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.evaluation.metric import EvaluationContext, MetricResult
from synthstruct.privacy.distances import BLOCK_ELEMENTS, block_distance_sums, PreparedReference
from synthstruct.privacy.encoding import EncodedFrame, MixedEncoder, as_numbers
from synthstruct.privacy.metrics import wilson_interval
from synthstruct.schema.check import category_key
from synthstruct.schema.model import Schema

__all__ = ["attack_risk", "attribute_inference", "linkability", "singling_out", "top_k_neighbours"]

_NO_QI = ("the schema declares no quasi-identifiers (schema.quasi_identifiers) among the structured "
          "columns present in every table, so the attack has nothing to work with")
_NO_HOLDOUT = ("no holdout was given: without real rows the synthesizer never saw there is no control, "
               "so the risk cannot be separated from what the data says about everyone")
_ORDERED_KINDS = ("numerical", "datetime")
#: Random tie-break added to summed per-column distances (one column mismatch = 1).
_TIE_JITTER = 1.0e-3
_DEFAULT_ATTACK_ROWS = 2000
_FEW_TARGETS = 30


# ---------------------------------------------------------------------------- shared helpers
def attack_risk(attack_successes: int, n_attack: int, control_successes: int, n_control: int) -> dict[str, Any]:
    """Risk of an attack relative to its control, with the rates and 95 % Wilson intervals.

    Returns:
        ``risk`` and ``risk_ci`` (``None`` when either side has no targets), plus ``attack_rate``,
        ``attack_ci``, ``control_rate``, ``control_ci`` and the counts.
    """
    out: dict[str, Any] = {
        "attack_successes": int(attack_successes), "attack_targets": int(n_attack),
        "control_successes": int(control_successes), "control_targets": int(n_control),
        "attack_rate": attack_successes / n_attack if n_attack else None,
        "attack_ci": list(wilson_interval(attack_successes, n_attack)) if n_attack else None,
        "control_rate": control_successes / n_control if n_control else None,
        "control_ci": list(wilson_interval(control_successes, n_control)) if n_control else None,
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


def _quasi_identifiers(ctx: EvaluationContext) -> list[str]:
    structured = set(ctx.schema.structured_columns)
    frames = [f for f in (ctx.train, ctx.synthetic, ctx.holdout) if f is not None]
    return [c for c in ctx.schema.quasi_identifiers
            if c in structured and all(c in f.columns for f in frames)]


def _has_holdout(ctx: EvaluationContext) -> bool:
    return ctx.holdout is not None and len(ctx.holdout) > 0


def _sample_index(n_rows: int, size: int, rng: np.random.Generator) -> np.ndarray:
    if size >= n_rows:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, size=size, replace=False))


def _targets(ctx: EvaluationContext, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Equal-size seeded samples of train and holdout rows (capped at ``attack_rows``)."""
    cap = int(ctx.options.get("attack_rows", _DEFAULT_ATTACK_ROWS))
    size = min(len(ctx.train), cap)
    if _has_holdout(ctx):
        size = min(size, len(ctx.holdout))  # type: ignore[arg-type]
    train = ctx.train.iloc[_sample_index(len(ctx.train), size, rng)].reset_index(drop=True)
    if not _has_holdout(ctx):
        return train, None
    holdout = ctx.holdout.iloc[_sample_index(len(ctx.holdout), size, rng)]  # type: ignore[union-attr]
    return train, holdout.reset_index(drop=True)


def _sub_schema(schema: Schema, columns: list[str]) -> Schema:
    """The schema restricted to ``columns`` (no keys, constraints or privacy roles)."""
    return schema.model_copy(update={
        "columns": {c: schema.columns[c] for c in columns}, "constraints": [], "primary_key": None,
        "target": None, "quasi_identifiers": [], "sensitive": []})


def _rng(ctx: EvaluationContext, stream: str) -> np.random.Generator:
    salt = int.from_bytes(hashlib.sha256(stream.encode()).digest()[:4], "big")
    return np.random.default_rng([int(ctx.seed) & 0xFFFFFFFF, salt])


def top_k_neighbours(query: EncodedFrame, reference: EncodedFrame, k: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Positions of the ``k`` nearest reference rows of every query row, nearest first.

    Exact ties are broken at random (a uniform jitter far below one column's mismatch), so that
    thousands of rows tied on coarse categorical columns do not all point at the same reference row.

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
    for lo in range(0, n_query, block):
        hi = min(lo + block, n_query)
        total = block_distance_sums(query, lo, hi, ref)
        total += rng.random(total.shape, dtype=np.float32) * np.float32(_TIE_JITTER)
        idx = np.argpartition(total, k - 1, axis=1)[:, :k] if k < n_ref else np.tile(np.arange(n_ref), (hi - lo, 1))
        order = np.argsort(np.take_along_axis(total, idx, axis=1), axis=1, kind="stable")
        out[lo:hi] = np.take_along_axis(idx, order, axis=1)
    return out


def _encoded(ctx: EvaluationContext, columns: list[str], *frames: pd.DataFrame | None) -> list[EncodedFrame | None]:
    """Encode ``frames`` on ``columns`` (scales from train; levels from every context frame)."""
    encoder = MixedEncoder().fit(_sub_schema(ctx.schema, columns), ctx.train, ctx.holdout, ctx.synthetic)
    return [None if f is None else encoder.transform(f) for f in frames]


_NO_TARGETS = ("the train or the holdout sample has no targets for this attack (for singling out: no "
               "quasi-identifier combination held by exactly one row), so there is no rate to compare")


def _finish(name: str, stats: dict[str, Any], details: dict[str, Any], note: str | None = None) -> MetricResult:
    details = {**details, **stats}
    if stats["risk"] is None:
        return _result(name, None, details=details, note=note or (_NO_TARGETS if "holdout_rows_sampled" in details
                                                                   or stats["control_targets"] else _NO_HOLDOUT))
    if stats["attack_targets"] < _FEW_TARGETS:
        note = (note + "; " if note else "") + f"only {stats['attack_targets']} attack targets: the interval is wide"
    return _result(name, stats["risk"], ci=tuple(stats["risk_ci"]), details=details, note=note)


# ---------------------------------------------------------------------------- singling out
def _bin_edges(train: pd.Series, kind: str) -> np.ndarray | None:
    if kind not in _ORDERED_KINDS:
        return None
    values = as_numbers(train)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return np.array([])
    return np.unique(np.quantile(values, np.linspace(0.1, 0.9, 9)))


def combination_keys(frame: pd.DataFrame, columns: list[str], edges: dict[str, np.ndarray | None]) -> np.ndarray:
    """One 64-bit key per row for its combination of (binned) quasi-identifier values.

    Numbers and dates fall into the deciles of train (``edges``); categories compare by
    :func:`~synthstruct.schema.check.category_key` (``1``, ``1.0`` and ``"1"`` are one value);
    missing is its own value.
    """
    parts: dict[str, Any] = {}
    for name in columns:
        if edges.get(name) is not None:
            values = as_numbers(frame[name])
            codes = np.searchsorted(edges[name], values, side="right").astype(np.int64)
            codes[np.isnan(values)] = -1
            parts[name] = codes
        else:
            parts[name] = frame[name].map(category_key, na_action="ignore").fillna("\u0000missing").to_numpy(dtype=object)
    table = pd.DataFrame(parts, index=pd.RangeIndex(len(frame)))
    return pd.util.hash_pandas_object(table, index=False).to_numpy()


def _unique_found(target_keys: np.ndarray, synthetic_keys: np.ndarray,
                  synthetic_counts: pd.Series) -> tuple[int, int, int]:
    """(unique combos among targets, how many appear in synthetic, how many appear there exactly once)."""
    counts = pd.Series(target_keys).value_counts()
    unique = counts.index[counts == 1].to_numpy()
    found = np.isin(unique, synthetic_keys)
    once = synthetic_counts.reindex(unique).fillna(0).to_numpy() == 1
    return int(len(unique)), int(found.sum()), int(once.sum())


def singling_out(ctx: EvaluationContext) -> MetricResult:
    """Risk that the synthetic data reveals which quasi-identifier combinations belong to one person.

    Numerical and datetime quasi-identifiers are binned into the deciles of train. Targets are the
    combinations held by exactly one row of the (equal-size) train sample; the attack succeeds on a
    combination when it appears in the synthetic data. The control does the same with combinations
    unique in the holdout. ``value`` is the risk (see the module docstring); ``details`` add the rates,
    and ``found_exactly_once`` counts (combinations appearing exactly once in the synthetic data).

    A copied training row always reproduces its combination, so copies raise the attack rate; a model
    that only learned the population reproduces a rare combination of train as often as one of the
    holdout.
    """
    qi = _quasi_identifiers(ctx)
    if not qi:
        return _result("singling_out", None, note=_NO_QI)
    kinds = ctx.schema.kinds()
    edges = {c: _bin_edges(ctx.train[c], kinds[c]) for c in qi}
    train, holdout = _targets(ctx, _rng(ctx, "singling_out"))
    synthetic_keys = combination_keys(ctx.synthetic, qi, edges)
    synthetic_counts = pd.Series(synthetic_keys).value_counts()
    n_a, found_a, once_a = _unique_found(combination_keys(train, qi, edges), synthetic_keys, synthetic_counts)
    details: dict[str, Any] = {"quasi_identifiers": qi, "numeric_bins": "deciles of train",
                               "targets_sampled": len(train), "synthetic_rows": len(ctx.synthetic),
                               "train_unique_combinations": n_a, "train_found_exactly_once": once_a}
    n_c = found_c = 0
    if holdout is not None:
        details["holdout_rows_sampled"] = len(holdout)
        n_c, found_c, once_c = _unique_found(combination_keys(holdout, qi, edges), synthetic_keys, synthetic_counts)
        details.update(holdout_unique_combinations=n_c, holdout_found_exactly_once=once_c)
        if n_a == 0:  # nobody is unique on the quasi-identifiers: nothing to single out
            stats = attack_risk(0, 0, found_c, n_c)
            stats.update(risk=0.0, risk_ci=[0.0, 0.0])
            return _result("singling_out", 0.0, ci=(0.0, 0.0), details={**details, **stats},
                           note="no quasi-identifier combination is held by exactly one training row: "
                                "there is nobody to single out")
    return _finish("singling_out", attack_risk(found_a, n_a, found_c, n_c), details)


# ---------------------------------------------------------------------------- linkability
def linkability(ctx: EvaluationContext) -> MetricResult:
    """Risk that records known in two separate pieces can be linked through the synthetic data.

    The quasi-identifiers are split into two halves A and B (schema order). For each target row the
    attacker finds its ``k`` nearest synthetic rows on A and, separately, on B; the attack succeeds
    when the two neighbourhoods share a synthetic row (the two pieces are linked to one record).
    Targets are train rows, the control holdout rows. ``value`` is the risk at
    ``k = options["linkability_k"]`` (default 1); ``details.by_k`` give the risk for k = 1..5.
    """
    qi = _quasi_identifiers(ctx)
    if len(qi) < 2:
        note = _NO_QI if not qi else "linkability needs at least two quasi-identifiers (one per half)"
        return _result("linkability", None, note=note)
    k_main = int(ctx.options.get("linkability_k", 1))
    k_max = max(5, k_main)
    half = len(qi) // 2
    part_a, part_b = qi[:half], qi[half:]
    rng = _rng(ctx, "linkability")
    train, holdout = _targets(ctx, rng)
    enc_a = _encoded(ctx, part_a, ctx.synthetic, train, holdout)
    enc_b = _encoded(ctx, part_b, ctx.synthetic, train, holdout)

    def links(i: int) -> np.ndarray | None:
        if enc_a[i] is None:
            return None
        near_a = top_k_neighbours(enc_a[i], enc_a[0], k_max, rng)  # type: ignore[arg-type]
        near_b = top_k_neighbours(enc_b[i], enc_b[0], k_max, rng)  # type: ignore[arg-type]
        return np.stack([(near_a[:, :k, None] == near_b[:, None, :k]).any(axis=(1, 2)) for k in range(1, k_max + 1)])

    attack, control = links(1), links(2)
    n_a, n_c = len(train), 0 if holdout is None else len(holdout)

    def stats(k: int) -> dict[str, Any]:
        hits_c = 0 if control is None else int(control[k - 1].sum())
        return attack_risk(int(attack[k - 1].sum()), n_a, hits_c, n_c)  # type: ignore[index]

    by_k = {str(k): {key: stats(k)[key] for key in ("risk", "attack_rate", "control_rate")}
            for k in range(1, k_max + 1)}
    details = {"part_a": part_a, "part_b": part_b, "k": k_main, "by_k": by_k, "synthetic_rows": len(ctx.synthetic)}
    return _finish("linkability", stats(k_main), details)


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
        keys_t = true.map(category_key, na_action="ignore").to_numpy(dtype=object)
        keys_g = guess.map(category_key, na_action="ignore").to_numpy(dtype=object)
        close = keys_t == keys_g
    return np.where(true_missing | guess_missing, true_missing & guess_missing, close)


def attribute_inference(ctx: EvaluationContext) -> MetricResult:
    """Risk that the synthetic data lets an attacker infer a person's sensitive values.

    For each sensitive column, the attacker takes the nearest synthetic row on the quasi-identifiers
    (minus that column) and guesses its sensitive value. A guess is right when it equals the true
    value (categorical, ordinal, boolean) or lies within ``options["inference_tolerance"]`` (default
    0.05) of the train column's robust range (numerical, datetime). Targets are train rows, the
    control holdout rows, so "the data shows that older people earn more" is not counted as a leak.
    ``value`` is the highest risk over the sensitive columns; ``details.columns`` gives each one.
    """
    qi = _quasi_identifiers(ctx)
    if not qi:
        return _result("attribute_inference", None, note=_NO_QI)
    frames = [f for f in (ctx.train, ctx.synthetic, ctx.holdout) if f is not None]
    structured = set(ctx.schema.structured_columns)
    sensitive = [c for c in ctx.schema.sensitive if c in structured and all(c in f.columns for f in frames)]
    if not sensitive:
        return _result("attribute_inference", None,
                       note="the schema declares no sensitive column (schema.sensitive) among the structured "
                            "columns present in every table")
    kinds = ctx.schema.kinds()
    share = float(ctx.options.get("inference_tolerance", 0.05))
    rng = _rng(ctx, "attribute_inference")
    train, holdout = _targets(ctx, rng)
    per_column: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    worst: tuple[float, str] | None = None
    for name in sensitive:
        predictors = [c for c in qi if c != name]
        if not predictors:
            skipped[name] = "it is the only quasi-identifier; nothing is left to predict it from"
            continue
        encoded = _encoded(ctx, predictors, ctx.synthetic, train, holdout)
        tolerance = share * _robust_width(ctx.train[name]) if kinds[name] in _ORDERED_KINDS else 0.0
        hits = []
        for target, enc in ((train, encoded[1]), (holdout, encoded[2])):
            if target is None:
                hits.append(0)
                continue
            nearest = top_k_neighbours(enc, encoded[0], 1, rng)[:, 0]  # type: ignore[arg-type]
            guess = ctx.synthetic[name].iloc[nearest].reset_index(drop=True)
            hits.append(int(_correct(target[name].reset_index(drop=True), guess, kinds[name], tolerance).sum()))
        stats = attack_risk(hits[0], len(train), hits[1], 0 if holdout is None else len(holdout))
        per_column[name] = {"predictors": predictors, "kind": kinds[name], "tolerance": tolerance, **stats}
        key = -1.0 if stats["risk"] is None else stats["risk"]
        if worst is None or key > worst[0]:
            worst = (key, name)
    details: dict[str, Any] = {"quasi_identifiers": qi, "columns": per_column, "skipped": skipped,
                               "tolerance_share_of_range": share, "synthetic_rows": len(ctx.synthetic)}
    if worst is None:
        return _result("attribute_inference", None, details=details,
                       note="no sensitive column could be attacked: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    details["worst_column"] = worst[1]
    return _finish("attribute_inference", per_column[worst[1]], details)
