"""TableSynthesizer: routes each column of a schema to the right generator.

* ``id`` and ``pii`` columns never reach a model: Faker / pattern generators write them
  (:mod:`synthstruct.synthesizers.pii`), and they never emit a real value.
* structured columns go through the :class:`~synthstruct.synthesizers.codec.Codec` (types and value
  protection) to an engine from the registry (``fast_copula`` by default).
* ``text`` columns get a text generator (the labelled placeholder until an LLM backend is set).

Rows that break the schema's constraints are regenerated (bounded rounds); the few that still break
them are repaired by rule, and both counts are kept in ``sampling_stats_``.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthstruct._registry import DEFAULT_ENGINE, ENGINES
from synthstruct._seeds import stream_rng, stream_seed
from synthstruct.errors import InputError, ModelIntegrityError, Problem
from synthstruct.schema.check import coerce_to_schema
from synthstruct.schema.io import dump_schema, schema_from_dict
from synthstruct.schema.model import FixedCombinations, Inequality, Positive, Range, Schema
from synthstruct.synthesizers.base import check_is_fitted
from synthstruct.synthesizers.codec import Codec

__all__ = ["DEFAULT_ENGINE", "TableSynthesizer"]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


_rng = stream_rng


#: Lookup key of a missing parent value.
_MISSING_KEY = "\x00<missing>"


def _hierarchy_lookup(sub: pd.DataFrame) -> dict[str, list[Any]] | None:
    """Parent value (as text; a missing parent has its own key) -> the other columns' values, when the
    first column determines the others on these rows (missing values count as values); ``None`` when
    it does not."""
    rows = sub
    if rows.empty or rows.iloc[:, 0].isna().all():
        return None
    keys = rows.iloc[:, 0].map(str, na_action="ignore").fillna(_MISSING_KEY)
    children = rows.iloc[:, 1:].astype(object).where(rows.iloc[:, 1:].notna(), None)
    grouped = pd.DataFrame({"key": keys.to_numpy()}).join(children.reset_index(drop=True).map(
        lambda v: v.item() if isinstance(v, np.generic) else v))
    distinct = grouped.astype(str).drop_duplicates()
    if distinct["key"].duplicated().any():
        return None
    first = grouped.drop_duplicates("key")
    return {str(k): list(v) for k, v in zip(first["key"], first.iloc[:, 1:].itertuples(index=False, name=None))}


def _prints_one_way(sub: pd.DataFrame) -> bool:
    """Every column prints one way per value (:func:`~synthstruct.schema.values.prints_one_way`)."""
    from synthstruct.schema.values import prints_one_way

    return all(prints_one_way(series) for _, series in sub.items())


def _distinct_combinations(sub: pd.DataFrame) -> tuple[list[tuple[str, ...]], np.ndarray, np.ndarray]:
    """The distinct rows of ``sub`` (columns that print one way per value, at least one row and column) as
    ``tuple(str(v) for v in row)``, each row's position among them, and how many rows hold each; every
    distinct value is printed once."""
    codes, labels = [], []
    for _, series in sub.items():
        c, distinct = pd.factorize(series)
        codes.append(c)
        labels.append([str(v) for v in distinct])
    sizes = [len(lab) + 1 for lab in labels]  # a code of -1 (missing) shifts to 0
    if math.prod(sizes) < 2**62:
        # one integer per row, the first column most significant: np.unique's order of the code rows
        key = np.zeros(len(sub), dtype=np.int64)
        for c, size in zip(codes, sizes):
            key = key * size + (c.astype(np.int64) + 1)
        keys, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        combos = np.empty((len(keys), len(codes)), dtype=np.int64)
        for j in range(len(codes) - 1, -1, -1):
            keys, combos[:, j] = np.divmod(keys, sizes[j])
        combos -= 1
    else:
        combos, inverse, counts = np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True, return_counts=True)
    return [tuple(labels[j][c] for j, c in enumerate(row)) for row in combos.tolist()], inverse.ravel(), counts


def _combination_counts(sub: pd.DataFrame) -> dict[tuple[str, ...], int]:
    """``Counter(tuple(str(v) for v in row) for row in sub.dropna().itertuples(index=False))``, counted on
    codes (each distinct value printed once) when every column prints one way per value."""
    from collections import Counter

    rows = sub.dropna()
    if not _prints_one_way(rows) or len(rows) == 0 or rows.shape[1] == 0:
        return dict(Counter(tuple(str(v) for v in row) for row in rows.itertuples(index=False)))
    texts, _, counts = _distinct_combinations(rows)
    return {text: int(n) for text, n in zip(texts, counts)}


def _rows_in(sub: pd.DataFrame, seen: set[tuple[str, ...]]) -> np.ndarray:
    """Per row (no missing values): is ``tuple(str(v) for v in row)`` in ``seen``? Each distinct combination
    is looked up once when every column holds one type that prints one way per value (else row by row)."""
    if not _prints_one_way(sub) or len(sub) == 0:
        return np.array([tuple(str(v) for v in row) in seen for row in sub.itertuples(index=False)], dtype=bool)
    texts, inverse, _ = _distinct_combinations(sub)
    return np.array([text in seen for text in texts], dtype=bool)[inverse]


class TableSynthesizer:
    """Learns a table described by a schema and samples synthetic rows.

    Args:
        engine: Registered engine name for the structured columns (``fast_copula``, ``gaussian_copula``,
            ``ctgan``, ``tvae``).
        engine_params: Keyword arguments for the engine.
        protect_k: Value protection threshold (categories seen < k times are never emitted; numbers stay
            within the k-th most extreme training values). 0 disables it.
        max_rounds: Regeneration rounds for rows that break constraints.
        max_fit_rows: The engine learns the structured columns from a seeded random sample of this many
            training rows when there are more (value protection, constraints and the id / pii generators
            still see every row); ``None`` (the default): every row. Recorded in ``fit_rows_``.
    """

    def __init__(self, *, engine: str = DEFAULT_ENGINE, engine_params: dict[str, Any] | None = None,
                 protect_k: int = 5, max_rounds: int = 10, raw_values: bool = True,
                 max_fit_rows: int | None = None) -> None:
        self.engine = engine
        self.engine_params = engine_params
        self.protect_k = protect_k
        self.max_rounds = max_rounds
        self.raw_values = raw_values
        self.max_fit_rows = max_fit_rows

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = {"engine": self.engine, "engine_params": self.engine_params,
                  "protect_k": self.protect_k, "max_rounds": self.max_rounds}
        if not self.raw_values:  # only when set, so saved models and manifests keep their bytes
            params["raw_values"] = False
        if self.max_fit_rows is not None:
            params["max_fit_rows"] = self.max_fit_rows
        return params

    @property
    def privacy_(self) -> dict[str, Any] | None:
        """The engine's differential privacy record (ε, δ, accountant, budget split), or ``None``."""
        return getattr(self.engine_, "privacy_", None) if hasattr(self, "engine_") else None

    def check_raw_values(self) -> None:
        """``raw_values=False`` needs an engine that can keep group means and value protection on (called
        by :meth:`fit`; callers may call it before reading any data).

        Raises:
            InputError: another engine, or ``protect_k`` below 2, with ``raw_values=False``.
        """
        if self.raw_values:
            return
        problems = []
        if self.engine != "fast_copula":
            problems.append(Problem("engine", f"{self.engine!r} keeps training values in its saved model",
                                    "use the default engine fast_copula with --no-raw-values"))
        if self.protect_k < 2:
            problems.append(Problem("protect_k", "must be at least 2 with --no-raw-values (values are kept "
                                    "only as means of protect_k rows)", "use --protect-k 5 (the default)"))
        if problems:
            raise InputError("option cannot keep its promise", problems)

    # ------------------------------------------------------------------ fit
    def fit(self, data: pd.DataFrame, *, schema: Schema, seed: int = 0, source: str | None = None,
            avoid: pd.DataFrame | None = None, coerced: bool = False) -> "TableSynthesizer":
        """Validate ``data`` against ``schema`` and learn it.

        Args:
            data: Training rows.
            schema: The table schema.
            seed: Seed for fitting.
            source: File name for error messages.
            avoid: Other real rows (e.g. the holdout) whose ``id``/``pii`` values must never be emitted
                either; nothing else is learned from them.
            coerced: ``data`` is already the output of :func:`coerce_to_schema` for ``schema`` (checked and
                converted; it is not done twice).

        Raises:
            DataValidationError: the data does not match the schema.
            InputError: unknown engine or invalid parameters.
        """
        if self.engine not in ENGINES:
            ENGINES.get(self.engine)  # raises a helpful InputError
        if not isinstance(self.protect_k, int) or self.protect_k < 0:
            raise InputError("invalid protect_k", [Problem("protect_k", "must be an integer >= 0", "use e.g. 5")])
        frame = data if coerced else coerce_to_schema(data, schema, source=source)
        engine_cls = ENGINES.get(self.engine)
        private = bool(getattr(engine_cls, "differentially_private", False))
        if private:  # nothing outside the engine may learn from the rows (docs/dp.md)
            from synthstruct.dp.guard import check_dp_setup

            check_dp_setup(schema, protect_k=self.protect_k, engine_params=self.engine_params)
            avoid = None
        self.check_raw_values()
        codec = Codec(k=self.protect_k, mean_bounds=not self.raw_values)
        structured = schema.structured_columns
        engine = None
        if structured:
            encoded = codec.fit_transform(frame, schema)
            kinds = codec.engine_kinds(schema)
            target = schema.target if schema.target in structured else None
            params = dict(self.engine_params or {})
            if not self.raw_values:
                params["min_group"] = self.protect_k
            if private:
                from synthstruct.dp.domain import public_domain

                params["domain"] = public_domain(schema)
            engine = engine_cls(**params)
            self.fit_rows_ = None
            if self.max_fit_rows is not None and len(encoded) > self.max_fit_rows and not private:
                rng = np.random.default_rng(stream_seed(seed, "engine-fit-rows"))
                picks = np.sort(rng.choice(len(encoded), size=self.max_fit_rows, replace=False))
                self.fit_rows_ = {"rows": len(encoded), "rows_used": int(self.max_fit_rows),
                                  "how": "seeded random sample of the training rows (engine fit only)"}
                encoded = encoded.iloc[picks].reset_index(drop=True)
            log.info("fitting engine %s on %d rows x %d columns", self.engine, len(encoded), len(structured))
            engine.fit(encoded, kinds=kinds, target=target, seed=stream_seed(seed, "engine-fit"))
        self.schema_ = schema
        self.codec_ = codec
        self.engine_ = engine
        # a DP fit learns nothing about id/pii/text columns from the rows: their generators see no values
        self.generators_ = self._fit_generators(frame.iloc[:0] if private else frame, schema)
        if avoid is not None:
            for name, gen in self.generators_.items():
                if name in avoid.columns and hasattr(gen, "guard_"):
                    gen.guard_.add(avoid[name])
        self.combinations_ = {
            i: self._seen_combinations(frame[c.columns]) for i, c in enumerate(schema.constraints)
            if isinstance(c, FixedCombinations)
        }
        self.lookups_ = {i: lookup for i, c in enumerate(schema.constraints)
                         if isinstance(c, FixedCombinations) and (lookup := _hierarchy_lookup(frame[c.columns]))}
        self.n_train_ = int(len(frame))
        if private and self.privacy_ is not None:  # the saved model must not hold the exact private count
            self.n_train_ = max(1, int(round(self.privacy_["n_estimate"])))
        return self

    def _seen_combinations(self, sub: pd.DataFrame) -> list[tuple[str, ...]]:
        """Combinations seen in the training rows; with value protection, only those seen at least
        ``protect_k`` times (when any is), so that one person's combination is not a valid one."""
        counts = _combination_counts(sub)
        frequent = [c for c, n in counts.items() if n >= self.protect_k]
        return sorted(frequent if (self.protect_k > 0 and frequent) else counts)

    @staticmethod
    def _fit_generators(frame: pd.DataFrame, schema: Schema) -> dict[str, Any]:
        from synthstruct.synthesizers.pii import IdGenerator, PiiGenerator
        from synthstruct.text.placeholder import PlaceholderTextGenerator

        gens: dict[str, Any] = {}
        for name, col in schema.columns.items():
            if col.kind == "id":
                gens[name] = IdGenerator(col).fit(frame[name])
            elif col.kind == "pii":
                gens[name] = PiiGenerator(col, locale=col.locale or schema.locale).fit(frame[name])
            elif col.kind == "constant":
                from synthstruct.synthesizers.constant import ConstantGenerator

                gens[name] = ConstantGenerator(col).fit(frame[name])
            elif col.kind == "text" and col.generator == "placeholder":
                gens[name] = PlaceholderTextGenerator(column=name).fit(frame[name])
            elif col.kind == "text":
                from synthstruct.text.column import TextColumnGenerator

                gens[name] = TextColumnGenerator(col, column=name).fit(frame[name], frame)
        return gens

    def set_text_hooks(self, *, progress: Callable[[str, int, int], None] | None = None,
                       checkpoint_dir: str | Path | None = None) -> list[str]:
        """Hand progress and checkpoint hooks to the row-conditioned text columns (not ``placeholder``).

        Args:
            progress: Called as ``progress(column, texts_done, texts_total)`` after each chunk of texts.
            checkpoint_dir: Directory for the text checkpoints that make sampling resumable
                (see :mod:`synthstruct.text.checkpoint`); ``None`` switches checkpoints off.

        Returns:
            The names of the columns that received the hooks, in schema order.
        """
        check_is_fitted(self)
        names = []
        for name, gen in self.generators_.items():
            if not getattr(gen, "conditions_on_rows", False):
                continue
            gen.progress = (lambda done, total, _name=name: progress(_name, done, total)) if progress else None
            gen.checkpoint_dir = checkpoint_dir
            names.append(name)
        return names

    # ------------------------------------------------------------------ sample
    def sample(self, n: int, *, seed: int = 0) -> pd.DataFrame:
        """Draw ``n`` synthetic rows in the schema's coerced representation."""
        check_is_fitted(self)
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
            raise InputError("invalid number of rows", [Problem("rows", "must be a non-negative integer", "pass e.g. 1000")])
        n = int(n)
        structured = self._sample_structured(n, seed) if self.engine_ is not None else pd.DataFrame(index=range(n))
        return self._with_generated_columns(structured, n, seed)

    def sample_classes(self, counts: Mapping[Any, int], *, seed: int = 0) -> pd.DataFrame:
        """Draw rows of chosen classes of ``schema.target`` only (conditional generation).

        Each class is drawn from the engine's model of that class (no rejection sampling); rows come
        out grouped by class in the order of ``counts``. Needs an engine with ``sample_classes``
        (``fast_copula``).

        Args:
            counts: Class (a value of the coerced target column) -> rows to draw.
            seed: Seed; the same fitted synthesizer, counts and seed give identical output.

        Raises:
            InputError: no target in the schema, an engine without conditional sampling, an unknown
                class or a class without its own model (see ``FastCopulaEngine.sample_classes``).
        """
        check_is_fitted(self)
        target = self.schema_.target
        if self.engine_ is None or target not in self.schema_.structured_columns:
            raise InputError("cannot sample by class", [Problem(
                "target", "the schema has no structured target column", "set 'target' in the schema and refit")])
        if not hasattr(self.engine_, "sample_classes"):
            raise InputError("cannot sample by class", [Problem(
                f"engine {self.engine!r}", "does not support conditional sampling", "use engine fast_copula")])
        if hasattr(self.engine_, "_class_strata"):  # every problem at once, before any sampling
            self.engine_._class_strata(counts)
        parts: list[pd.DataFrame] = []
        stats = {"regenerated_rows": 0, "repaired_rows": 0}
        for i, (label, count) in enumerate(counts.items()):
            def draw(want: int, stream_seed_: int, label: Any = label) -> pd.DataFrame:
                return self.engine_.sample_classes({label: want}, seed=stream_seed_)

            parts.append(self._sample_structured(int(count), stream_seed(seed, "class", i), draw=draw))
            for key in stats:
                stats[key] += self.sampling_stats_[key]
        self.sampling_stats_ = stats
        n = sum(len(p) for p in parts)
        structured = pd.concat(parts, ignore_index=True) if parts else self._sample_structured(0, seed)
        return self._with_generated_columns(structured, n, seed)

    def _with_generated_columns(self, structured: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
        """Add the ``id``/``pii``/``text`` columns to structured rows, in the schema's column order."""
        schema = self.schema_
        if not self.generators_ and list(structured.columns) == list(schema.columns) and (
                isinstance(structured.index, pd.RangeIndex) and structured.index.start == 0):
            return structured  # nothing to add: skip rebuilding the frame
        columns: dict[str, pd.Series] = {}
        conditioned = [name for name, g in self.generators_.items() if getattr(g, "conditions_on_rows", False)]
        for name, col in schema.columns.items():
            if name in conditioned:
                continue
            if name in self.generators_:
                series = self.generators_[name].generate(n, _rng(seed, "column", name))
                columns[name] = pd.Series(np.asarray(series, dtype=object), index=range(n), dtype=object)
            else:
                columns[name] = structured[name].reset_index(drop=True)
        # Row-conditioned text last: each text generator sees the synthetic row (and earlier texts).
        text_stats: dict[str, Any] = {}
        for name in conditioned:
            gen = self.generators_[name]
            series = gen.generate(pd.DataFrame(columns), _rng(seed, "column", name))
            columns[name] = pd.Series(np.asarray(series, dtype=object), index=range(n), dtype=object)
            text_stats.update({f"text.{name}.{k}": v for k, v in getattr(gen, "stats_", {}).items()})
        if text_stats:
            self.sampling_stats_ = {**getattr(self, "sampling_stats_", {}), **text_stats}
        return pd.DataFrame(columns, copy=False)[list(schema.columns)]  # the selection copies; no 2-D blocks

    def _sample_structured(self, n: int, seed: int, draw: Callable[[int, int], pd.DataFrame] | None = None
                           ) -> pd.DataFrame:
        """``n`` decoded rows that satisfy the constraints; ``draw(rows, seed)`` samples the engine."""
        schema = self.schema_
        if draw is None:
            def draw(want: int, stream_seed_: int) -> pd.DataFrame:
                return self.engine_.sample(want, seed=stream_seed_)
        decode_rng = _rng(seed, "decode")
        kept: list[pd.DataFrame] = []
        have, regenerated = 0, 0
        want = n
        for round_ in range(self.max_rounds + 1):
            if have >= n:
                break
            batch = draw(want, stream_seed(seed, "engine-sample", round_))
            decoded = self._apply_lookups(self.codec_.inverse_transform(batch, schema, decode_rng))
            ok = self._constraint_mask(decoded)
            good = decoded if ok.all() else decoded[ok]
            if round_ > 0:
                regenerated += int(len(good))
            kept.append(good)
            have += int(len(good))
            valid_rate = max(float(ok.mean()) if len(ok) else 1.0, 0.05)
            want = int(np.ceil((n - have) / valid_rate * 1.1)) + 1
            if not schema.constraints:
                break
        frame = kept[0] if len(kept) == 1 else (pd.concat(kept, ignore_index=True) if kept else pd.DataFrame())
        repaired = 0
        if len(frame) < n:  # constraints too tight for the model: repair the remainder by rule
            extra = self.codec_.inverse_transform(
                draw(n - len(frame), stream_seed(seed, "engine-sample", "repair")), schema, decode_rng)
            extra = self._repair(extra.reset_index(drop=True), decode_rng)
            repaired = len(extra)
            frame = pd.concat([frame, extra], ignore_index=True)
        self.sampling_stats_ = {"regenerated_rows": regenerated, "repaired_rows": repaired}
        if len(frame) == n and isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0:
            return frame  # the common case: no copy of a million-row frame
        return frame.iloc[:n].reset_index(drop=True)

    def _apply_lookups(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Hierarchies (a fixed combination whose first column determines the others on the training
        rows: sub-product -> product, city -> state) are filled from the parent value, so every
        sampled pair is a seen one without rejection."""
        for i, lookup in getattr(self, "lookups_", {}).items():
            columns = self.schema_.constraints[i].columns
            keys = frame[columns[0]].map(str, na_action="ignore").fillna(_MISSING_KEY)
            known = keys.isin(lookup.keys()).to_numpy()
            if not known.any():
                continue
            for j, col in enumerate(columns[1:]):
                values = keys[known].map(lambda k, j=j: lookup[k][j])
                frame.loc[known, col] = values.to_numpy(dtype=object) if frame[col].dtype == object else values
        return frame

    def _constraint_mask(self, frame: pd.DataFrame) -> np.ndarray:
        ok = np.ones(len(frame), dtype=bool)
        for i, con in enumerate(self.schema_.constraints):
            if isinstance(con, Inequality):
                low, high = frame[con.low], frame[con.high]
                bad = (low >= high) if con.strict else (low > high)
                ok &= ~bad.fillna(False).to_numpy(dtype=bool)
            elif isinstance(con, Range):
                lo, mid, hi = frame[con.low], frame[con.middle], frame[con.high]
                bad = (lo > mid) | (mid > hi)
                ok &= ~bad.fillna(False).to_numpy(dtype=bool)
            elif isinstance(con, Positive):
                v = frame[con.column]
                bad = (v <= 0) if con.strict else (v < 0)
                ok &= ~bad.fillna(False).to_numpy(dtype=bool)
            elif isinstance(con, FixedCombinations):
                seen = set(self.combinations_[i])
                sub = frame[con.columns]
                complete = sub.notna().all(axis=1).to_numpy()
                inside = np.ones(len(sub), dtype=bool)  # rows with a missing value are not checked
                inside[complete] = _rows_in(sub[complete], seen)
                ok &= inside
        return ok

    def _repair(self, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        for i, con in enumerate(self.schema_.constraints):
            if isinstance(con, Inequality):
                low, high = frame[con.low].copy(), frame[con.high].copy()
                swap = (low > high).fillna(False)
                frame.loc[swap, con.low], frame.loc[swap, con.high] = high[swap], low[swap]
            elif isinstance(con, Range):
                cols = [con.low, con.middle, con.high]
                if all(pd.api.types.is_numeric_dtype(frame[c]) for c in cols):
                    frame[cols] = np.sort(frame[cols].to_numpy(dtype=float), axis=1)
            elif isinstance(con, Positive):
                v = frame[con.column]
                frame[con.column] = v.where(v > 0, v.abs().where(v != 0, 1.0))
            elif isinstance(con, FixedCombinations) and self.combinations_[i]:
                combos = self.combinations_[i]
                bad = ~self._constraint_mask(frame)
                picks = rng.integers(0, len(combos), size=int(bad.sum()))
                for j, col in enumerate(con.columns):
                    values = {str(v): v for v in frame[col].dropna().unique()}
                    frame.loc[bad, col] = [values.get(combos[p][j], combos[p][j]) for p in picks]
        return frame

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> None:
        """Save the fitted synthesizer to a new directory (no pickle for the default engine)."""
        from synthstruct.synthesizers.persistence import write_integrity_manifest

        check_is_fitted(self)
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=False)
        (directory / "schema.yaml").write_text(dump_schema(self.schema_), encoding="utf-8")
        state = {
            "format_version": FORMAT_VERSION,
            "params": self.get_params(),
            "codec": self.codec_.to_state(),
            "generators": {name: {"type": type(g).__name__, "state": g.to_state()}
                           for name, g in self.generators_.items()},
            "combinations": {str(i): [list(c) for c in combos] for i, combos in self.combinations_.items()},
            "lookups": {str(i): lookup for i, lookup in getattr(self, "lookups_", {}).items()},
            "n_train": self.n_train_,
        }
        (directory / "synthesizer.json").write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
        if self.engine_ is not None:
            (directory / "engine").mkdir()
            self.engine_.save(directory / "engine")
        write_integrity_manifest(directory)

    @classmethod
    def load(cls, directory: str | Path) -> "TableSynthesizer":
        """Load a saved synthesizer after checking that none of its files changed.

        Raises:
            ModelIntegrityError: files were added, removed or modified, or the directory is not a model.
        """
        import yaml

        from synthstruct.synthesizers.persistence import verify_integrity
        from synthstruct.synthesizers.pii import IdGenerator, PiiGenerator
        from synthstruct.text.placeholder import PlaceholderTextGenerator

        directory = Path(directory)
        if not (directory / "synthesizer.json").is_file():
            raise ModelIntegrityError("not a synthstruct model directory", [
                Problem(str(directory), "has no synthesizer.json", "pass a directory written by 'synthstruct fit'")])
        verify_integrity(directory)
        state = json.loads((directory / "synthesizer.json").read_text(encoding="utf-8"))
        if state.get("format_version") != FORMAT_VERSION:
            raise ModelIntegrityError("unsupported model format", [
                Problem("synthesizer.json", "format_version is not supported by this version", "refit the model")])
        schema = schema_from_dict(yaml.safe_load((directory / "schema.yaml").read_text(encoding="utf-8")),
                                  source=str(directory / "schema.yaml"))
        self = cls(**state["params"])
        self.schema_ = schema
        self.codec_ = Codec.from_state(state["codec"])
        from synthstruct.text.column import TextColumnGenerator

        from synthstruct.synthesizers.constant import ConstantGenerator

        types = {"IdGenerator": IdGenerator, "PiiGenerator": PiiGenerator, "ConstantGenerator": ConstantGenerator,
                 "PlaceholderTextGenerator": PlaceholderTextGenerator, "TextColumnGenerator": TextColumnGenerator}
        self.generators_ = {name: types[g["type"]].from_state(g["state"]) for name, g in state["generators"].items()}
        self.combinations_ = {int(i): [tuple(c) for c in combos] for i, combos in state["combinations"].items()}
        self.lookups_ = {int(i): {k: list(v) for k, v in lookup.items()}
                         for i, lookup in state.get("lookups", {}).items()}
        self.n_train_ = int(state["n_train"])
        self.engine_ = ENGINES.get(self.engine).load(directory / "engine") if (directory / "engine").is_dir() else None
        return self
