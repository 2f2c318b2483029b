"""What to generate: the target's classes, and how many synthetic rows each class gets.

A *plan* maps each class to the number of synthetic rows to add. Real rows are never removed, so a
request can only raise a class's count:

* ``ratio`` ``"a:b"`` — every class gets at least ``a/b`` times the largest class's training rows
  (``"1:1"`` equalises a binary target; ``"1:2"`` lifts the minority to half the majority);
* ``counts`` ``{"CLASS": N}`` — the class has ``N`` rows in the output (real + synthetic).

Error messages name the position of a bad entry (``--counts[1]``), never a value of the data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.errors import DataValidationError, InputError, Problem
from synthstruct.schema.model import CategoricalColumn, Schema

__all__ = [
    "MAX_CLASSES",
    "ClassCounts",
    "class_counts",
    "parse_counts",
    "parse_ratio",
    "plan_rows",
    "target_schema",
]

#: A numerical target with at most this many distinct integer values is treated as classes.
MAX_CLASSES = 20
_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class ClassCounts:
    """Training rows per class, largest first (ties by string order, so the order is stable)."""

    labels: list[Any]
    counts: list[int]

    @property
    def minority(self) -> Any:
        """The class with the fewest training rows."""
        return self.labels[-1]

    def as_dict(self) -> dict[Any, int]:
        return dict(zip(self.labels, self.counts))


def _bad(message: str, problems: list[Problem], *, source: str | None = None) -> InputError:
    return InputError(message, problems, source=source)


def target_schema(frame: pd.DataFrame, schema: Schema, target: str, *, source: str | None = None) -> Schema:
    """``schema`` with ``target`` set, after checking the column can be balanced.

    A numerical target with at most :data:`MAX_CLASSES` distinct integer values (a 0/1 label read
    as numbers) is re-declared categorical; other numerical targets are refused.

    Raises:
        InputError: the column is missing, not a structured column, or numeric-continuous.
    """
    where = f"target {target!r}"
    if target not in frame.columns or target not in schema.columns:
        raise _bad("cannot balance", [Problem(where, "is not a column of the data",
                                              "pass the name of the label column with --target")], source=source)
    column = schema.columns[target]
    if column.kind not in ("categorical", "ordinal", "boolean", "numerical"):
        raise _bad("cannot balance", [Problem(where, f"is a {column.kind} column, not a label",
                                              "choose a categorical, boolean or integer label column")],
                   source=source)
    if column.kind == "boolean" and column.true_value is not None:  # yes/no, 1/0: classes keep the spelling
        columns = dict(schema.columns)
        columns[target] = CategoricalColumn(kind="categorical", description=column.description)
        schema = schema.model_copy(update={"columns": columns})
    if column.kind == "numerical":
        values = pd.to_numeric(frame[target], errors="coerce").dropna().to_numpy(dtype="float64")
        integral = bool(np.all(values == np.round(values)))
        if not integral or len(np.unique(values)) > MAX_CLASSES:
            raise _bad("cannot balance", [Problem(
                where, "is numeric-continuous (non-integer values or more than "
                f"{MAX_CLASSES} distinct values); balancing needs classes",
                "bin the column into classes first, or declare it categorical in the schema")], source=source)
        columns = dict(schema.columns)
        columns[target] = CategoricalColumn(kind="categorical", description=column.description)
        schema = schema.model_copy(update={"columns": columns})
    return schema.model_copy(update={"target": target})


def class_counts(labels: pd.Series, *, target: str, source: str | None = None) -> ClassCounts:
    """Training rows per class (missing labels are not a class).

    Raises:
        DataValidationError: fewer than two classes.
    """
    counts = labels.dropna().value_counts()
    if len(counts) < 2:
        raise DataValidationError("cannot balance", [Problem(
            f"target {target!r}", f"has {len(counts)} class(es); balancing needs at least 2",
            "check the --target column, or provide rows of the other classes")], source=source)
    order = sorted(counts.index, key=lambda v: (-int(counts[v]), str(v)))
    return ClassCounts(labels=list(order), counts=[int(counts[v]) for v in order])


def parse_ratio(text: str) -> float:
    """``"a:b"`` -> ``a / b`` (the minority-to-majority ratio to reach), in ``(0, 1]``.

    Raises:
        InputError: not of the form ``a:b`` with positive numbers and ``a <= b``.
    """
    match = _RATIO.match(str(text))
    if match is None or float(match.group(2)) == 0 or float(match.group(1)) == 0:
        raise _bad("invalid --ratio", [Problem("--ratio", "must look like MINORITY:MAJORITY with positive "
                                               "numbers", "use e.g. 1:1 (equal classes) or 1:2")])
    ratio = float(match.group(1)) / float(match.group(2))
    if ratio > 1:
        raise _bad("invalid --ratio", [Problem("--ratio", "asks for more minority than majority rows",
                                               "put the smaller number first, e.g. 1:2")])
    return ratio


def parse_counts(text: str) -> dict[str, int]:
    """``"CLASS=N,CLASS=N"`` -> ``{"CLASS": N}`` (class names as text; matched to classes later).

    Raises:
        InputError: an entry without ``=``, an empty class, a count that is not a non-negative integer,
            or a class named twice.
    """
    problems: list[Problem] = []
    out: dict[str, int] = {}
    entries = [e for e in str(text).split(",") if e.strip()]
    if not entries:
        problems.append(Problem("--counts", "is empty", "use e.g. --counts 1=4000"))
    for i, entry in enumerate(entries):
        name, sep, number = entry.strip().rpartition("=")
        if not sep or not name.strip():
            problems.append(Problem(f"--counts[{i}]", "must look like CLASS=N", "use e.g. --counts 1=4000"))
        elif not number.strip().isdigit():
            problems.append(Problem(f"--counts[{i}]", "the count is not a non-negative integer",
                                    "use a whole number of rows, e.g. 1=4000"))
        elif name.strip() in out:
            problems.append(Problem(f"--counts[{i}]", "names a class already given", "give each class once"))
        else:
            out[name.strip()] = int(number)
    if problems:
        raise _bad("invalid --counts", problems)
    return out


def _match_class(name: Any, labels: list[Any]) -> Any:
    for label in labels:
        if label == name or str(label) == str(name):
            return label
    if isinstance(name, str):  # "1" given for a label read as 1.0, or "true" for True
        for label in labels:
            text = name.strip().lower()
            if isinstance(label, (bool, np.bool_)):
                if text in ("true", "false") and bool(label) == (text == "true"):
                    return label
            elif (isinstance(label, (float, np.floating)) and re.fullmatch(r"-?\d+(\.\d+)?", text)
                  and float(label) == float(text)):
                return label
    return _MISSING


_MISSING = object()


def plan_rows(classes: ClassCounts, *, ratio: float | None = None,
              counts: Mapping[Any, int] | None = None) -> dict[Any, int]:
    """Synthetic rows to add per class (classes that need none are left out).

    Args:
        classes: Training rows per class.
        ratio: Minority-to-majority ratio to reach (from :func:`parse_ratio`); default 1.0.
        counts: Class -> rows wanted in the output; keys may be class values or their text.

    Raises:
        InputError: both or an unknown class in ``counts``, or a count below the real rows of its class.
    """
    if ratio is not None and counts is not None:
        raise _bad("invalid request", [Problem("--ratio/--counts", "both were given", "use one of them")])
    have = classes.as_dict()
    if counts is None:
        wanted = math.ceil((1.0 if ratio is None else ratio) * classes.counts[0] - 1e-9)
        return {label: wanted - n for label, n in have.items() if wanted > n}
    problems: list[Problem] = []
    plan: dict[Any, int] = {}
    for i, (name, total) in enumerate(counts.items()):
        label = _match_class(name, classes.labels)
        if label is _MISSING:
            problems.append(Problem(f"--counts[{i}]", f"is not a class of the target (it has {len(have)} classes "
                                    "in the training rows)", "use a value of the target column"))
        elif not isinstance(total, (int, np.integer)) or isinstance(total, bool) or total < 0:
            problems.append(Problem(f"--counts[{i}]", "the count is not a non-negative integer", "use e.g. 4000"))
        elif total < have[label]:
            problems.append(Problem(f"--counts[{i}]", f"asks for {total} rows but the class already has "
                                    f"{have[label]} real training rows; balancing never removes real rows",
                                    f"ask for at least {have[label]} rows"))
        elif total > have[label]:
            plan[label] = int(total - have[label])
    if problems:
        raise _bad("invalid --counts", problems)
    return plan
