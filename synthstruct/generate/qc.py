"""The quality-control report of a generated set (JSON-able; counts and shares only, no cell values).

Sections:

* ``completeness`` — every schema column present; share of non-missing cells; id / PII values that
  match their declared pattern;
* ``consistency`` — rows breaking schema rules, constraints, ``check`` rules, ``derive`` rules
  (recomputed) and text requirements (must all be 0), plus how many rows were regenerated;
* ``diversity`` — duplicate-row rate (ids and PII left out) and, per text column, duplicate rate and
  distinct-1 / distinct-2 (distinct n-grams / all n-grams); fails when a text column's duplicate share
  is above ``max_duplicate_share`` (default 1 %) or its distinct-2 below ``min_distinct_2`` (if set);
* ``accuracy`` — the share of rows that keep every rule, and per composed text column the label
  agreement: cross-validated balanced accuracy of a TF-IDF classifier that reads the row's ``by`` label
  from the text (fails below ``min_label_agreement``, default 0.9; not computed is reported, not failed);
* ``timeliness`` — share of datetimes within the column's declared range;
* ``shares`` — observed class shares vs the requested shares (spec) or the declared unconditional
  prior, with a sampling-error check (|observed - expected| <= 3 standard errors, or exact quotas).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.schema.rules import key
from synthstruct.generate.compose import TextRequirement
from synthstruct.schema.expr import parse_expression
from synthstruct.generate.formats import pattern_regex
from synthstruct.generate.spec import RequirementSpec
from synthstruct.schema.model import (
    BooleanColumn,
    CategoricalColumn,
    CheckRule,
    ComposeRule,
    DeriveRule,
    IdColumn,
    OrdinalColumn,
    PiiColumn,
    Schema,
)

__all__ = ["MAX_DUPLICATE_SHARE", "MIN_LABEL_AGREEMENT", "distinct_n", "label_agreement", "quality_report",
           "typed_frame"]

_Z = 3.0
#: Default QC limits for text columns (a requirement spec's ``text.<column>`` may set others).
MAX_DUPLICATE_SHARE = 0.01
MIN_LABEL_AGREEMENT = 0.9


def distinct_n(texts: pd.Series, n: int) -> float | None:
    """Distinct ``n``-grams divided by all ``n``-grams over the texts (``None`` when there are none)."""
    from synthstruct.text.checks import words

    total, seen = 0, set()
    for text in texts.dropna().astype(str):
        toks = words(text)
        grams = [tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return round(len(seen) / total, 4) if total else None


def _completeness(frame: pd.DataFrame, schema: Schema) -> dict[str, Any]:
    present = [c for c in schema.columns if c in frame.columns]
    non_missing = {c: round(float(frame[c].notna().mean()), 4) for c in present}
    formats = {}
    for name, col in schema.columns.items():
        pattern = col.pattern if isinstance(col, (IdColumn, PiiColumn)) and col.pattern else None
        if pattern and name in frame.columns and (isinstance(col, IdColumn) or col.strategy == "pattern"):
            regex = pattern_regex(pattern)
            values = frame[name].dropna().astype(str)
            formats[name] = round(float(values.map(lambda v, r=regex: bool(r.match(v))).mean()), 4) if len(values) else None
    passed = len(present) == len(schema.columns) and all(v == 1.0 for v in non_missing.values()) and \
        all(v == 1.0 for v in formats.values() if v is not None)
    return {"columns_present": len(present), "columns_declared": len(schema.columns),
            "non_missing_share": non_missing, "format_valid_share": formats, "passed": passed}


def typed_frame(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Datetimes parsed with their format and booleans as bool, so that rules can be evaluated on
    written rows (unparseable cells become missing and are reported by the validity rules)."""
    from synthstruct.schema.check import to_bool

    out = frame.copy()
    for name, col in schema.columns.items():
        if name not in out.columns:
            continue
        if col.kind == "datetime" and not pd.api.types.is_datetime64_any_dtype(out[name]):
            out[name] = pd.to_datetime(out[name], format=col.format, errors="coerce")
        elif col.kind == "boolean":
            out[name] = to_bool(out[name])[0]
    return out


def _consistency(frame: pd.DataFrame, schema: Schema, text_requirements: dict[str, TextRequirement],
                 regeneration: dict[str, Any]) -> dict[str, Any]:
    from synthstruct.evaluation.validity import row_validity_mask

    typed = typed_frame(frame, schema)
    valid, counts = row_validity_mask(typed, schema)
    bad = ~valid
    for i, rule in enumerate(schema.rules):
        if isinstance(rule, CheckRule):
            broken = ~parse_expression(rule.expr).evaluate_bool(typed)
        elif isinstance(rule, DeriveRule):
            broken = ~_equal(typed[rule.column], parse_expression(rule.expr).evaluate(typed))
        else:
            continue
        counts[f"rules[{i}].{rule.type}"] = int(broken.sum())
        bad |= broken
    for name, req in text_requirements.items():
        for rule, broken in req.failures(frame[name]).items():
            counts[f"text.{name}.{rule}"] = int(broken.sum())
            bad |= broken
    share = float(1.0 - bad.mean()) if len(frame) else None
    return {"rows_valid_share": share, "violations": dict(sorted(counts.items())),
            "regeneration": regeneration, "passed": share == 1.0}


def _equal(actual: pd.Series, expected: Any) -> np.ndarray:
    if np.ndim(expected) == 0:
        expected = np.full(len(actual), expected)
    if pd.api.types.is_datetime64_any_dtype(actual):
        return (actual.reset_index(drop=True) == pd.to_datetime(pd.Series(expected))).to_numpy()
    if pd.api.types.is_bool_dtype(actual) or actual.dtype == "boolean":
        return actual.astype(bool).to_numpy() == np.asarray(expected, dtype=bool)
    try:
        a = actual.to_numpy(dtype="float64", na_value=np.nan)
        b = np.asarray(expected, dtype="float64")
        return np.isclose(a, b, rtol=0, atol=1e-6) | (np.abs(a - np.round(b)) < 1e-9)
    except (TypeError, ValueError):
        return actual.astype(str).to_numpy() == np.asarray(expected).astype(str)


def _limit(spec: RequirementSpec | None, column: str, field: str, default: float | None) -> float | None:
    text = spec.text.get(column) if spec else None
    value = getattr(text, field, None) if text is not None else None
    return default if value is None else value


def _diversity(frame: pd.DataFrame, schema: Schema, spec: RequirementSpec | None) -> dict[str, Any]:
    content = [c for c in schema.columns if schema.columns[c].kind not in ("id", "pii")]
    out: dict[str, Any] = {"duplicate_row_rate": round(float(frame[content].duplicated().mean()), 4)
                           if content and len(frame) else None, "text": {}}
    passed = True
    for name in schema.columns_of("text"):
        texts = frame[name].dropna().astype(str)
        duplicates = round(float(texts.duplicated().mean()), 4) if len(texts) else None
        distinct_2 = distinct_n(texts, 2)
        max_dup = _limit(spec, name, "max_duplicate_share", MAX_DUPLICATE_SHARE)
        min_d2 = _limit(spec, name, "min_distinct_2", None)
        ok = (duplicates is None or duplicates <= max_dup) and (min_d2 is None or (distinct_2 or 0.0) >= min_d2)
        passed &= ok
        out["text"][name] = {"duplicate_rate": duplicates, "max_duplicate_share": max_dup,
                             "distinct_1": distinct_n(texts, 1), "distinct_2": distinct_2, "min_distinct_2": min_d2,
                             "mean_words": round(float(texts.str.split().str.len().mean()), 1) if len(texts) else None,
                             "passed": bool(ok)}
    out["passed"] = bool(passed)
    return out


def label_agreement(texts: pd.Series, labels: pd.Series, *, seed: int = 0) -> dict[str, Any]:
    """How well a text says its row's label: 5-fold cross-validated balanced accuracy of TF-IDF +
    logistic regression predicting ``labels`` from ``texts`` (chance = 1 / number of labels).

    Classes are weighted inversely to their frequency (``class_weight="balanced"``), as the score is
    balanced accuracy: unweighted, a small minority class (15 of 60 rows) is never predicted even when
    every one of its texts carries words no other class uses.

    Not computed (``value`` None, with the reason) when fewer than two labels or fewer than 5 rows of a
    label are present.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.pipeline import make_pipeline

    keep = texts.notna() & labels.notna()
    x, y = texts[keep].astype(str).to_numpy(), labels[keep].map(key).astype(str).to_numpy()
    counts = pd.Series(y).value_counts()
    if len(counts) < 2 or counts.min() < 5:
        return {"value": None, "reason": "needs two labels with at least 5 texts each", "labels": int(len(counts))}
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
                          LogisticRegression(max_iter=1000, class_weight="balanced"))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    predicted = cross_val_predict(model, x, y, cv=folds)
    return {"value": round(float(balanced_accuracy_score(y, predicted)), 4), "chance": round(1 / len(counts), 4),
            "labels": int(len(counts))}


def _accuracy(frame: pd.DataFrame, schema: Schema, spec: RequirementSpec | None,
              consistency: dict[str, Any]) -> dict[str, Any]:
    """Rules kept (from consistency) and, per composed text column, whether the text says its label."""
    out: dict[str, Any] = {"rows_valid_share": consistency["rows_valid_share"], "label_agreement": {}}
    passed = consistency["passed"]
    for rule in schema.rules:
        if not isinstance(rule, ComposeRule) or not rule.by or rule.column not in frame.columns:
            continue
        result = label_agreement(frame[rule.column], frame[rule.by])
        minimum = _limit(spec, rule.column, "min_label_agreement", MIN_LABEL_AGREEMENT)
        result.update({"by": rule.by, "min": minimum,
                       "passed": None if result["value"] is None else bool(result["value"] >= minimum)})
        passed &= result["passed"] is not False  # not computed is reported, not a failure
        out["label_agreement"][rule.column] = result
    out["passed"] = bool(passed)
    return out


def _timeliness(frame: pd.DataFrame, schema: Schema) -> dict[str, Any]:
    from synthstruct.schema.rules import parse_timestamp

    out = {}
    for name in schema.columns_of("datetime"):
        col = schema.columns[name]
        values = pd.to_datetime(frame[name], format=col.format, errors="coerce")
        low, high = parse_timestamp(col.min, col.format), parse_timestamp(col.max, col.format)
        inside = values.notna()
        if low is not None:
            inside &= values >= low
        if high is not None:
            inside &= values <= high
        out[name] = {"range": [col.min, col.max], "within_range_share": round(float(inside.mean()), 4)}
    return out


def _share_rows(series: pd.Series, expected: dict[Any, float], exact: bool) -> dict[str, Any]:
    n = int(series.notna().sum())
    keys = series.dropna().map(key)
    rows = {}
    ok = True
    for value, p in expected.items():
        observed = float((keys == key(value)).mean()) if n else 0.0
        se = math.sqrt(p * (1 - p) / n) if n else 0.0
        limit = (0.5 / n if exact else _Z * se) + 1e-9
        within = abs(observed - p) <= max(limit, 1.0 / n if n else 0.0)
        ok &= within
        rows[str(value)] = {"expected": round(p, 4), "observed": round(observed, 4),
                            "standard_error": round(se, 4), "within_sampling_error": bool(within)}
    return {"n": n, "exact_quota": exact, "classes": rows, "passed": bool(ok)}


def _shares(frame: pd.DataFrame, schema: Schema, spec: RequirementSpec | None) -> dict[str, Any]:
    requested = dict(spec.shares) if spec else {}
    derived = {r.column for r in schema.rules if isinstance(r, DeriveRule)}
    out = {"requested": {c: _share_rows(frame[c], s, exact=True) for c, s in requested.items()}, "prior": {}}
    for name, col in schema.columns.items():
        if name in requested or name in derived or not isinstance(col, (CategoricalColumn, OrdinalColumn, BooleanColumn)):
            continue
        if col.prior is None or col.depends_on is not None:
            continue
        prior = {True: col.prior, False: 1 - col.prior} if isinstance(col, BooleanColumn) else col.prior
        out["prior"][name] = _share_rows(frame[name], prior, exact=False)
    return out


def quality_report(frame: pd.DataFrame, schema: Schema, *, spec: RequirementSpec | None = None,
                   text_requirements: dict[str, TextRequirement] | None = None,
                   regeneration: dict[str, Any] | None = None) -> dict[str, Any]:
    """The quality-control report of generated rows (output representation) as a JSON-able dict.

    ``passed`` is true when completeness, consistency, diversity and accuracy pass and every requested
    share is met;
    shares against unconditional priors are reported but informative only (rows regenerated for
    breaking a rule can shift them).
    """
    reqs = text_requirements or {}
    report = {
        "schema": schema.name,
        "rows": len(frame),
        "completeness": _completeness(frame, schema),
        "consistency": _consistency(frame, schema, reqs, regeneration or {}),
        "diversity": _diversity(frame, schema, spec),
        "timeliness": _timeliness(frame, schema),
        "shares": _shares(frame, schema, spec),
    }
    report["accuracy"] = _accuracy(frame, schema, spec, report["consistency"])
    report["passed"] = bool(report["completeness"]["passed"] and report["consistency"]["passed"]
                            and report["diversity"]["passed"] and report["accuracy"]["passed"]
                            and all(s["passed"] for s in report["shares"]["requested"].values()))
    return report
