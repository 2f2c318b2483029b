"""A tiny, safe expression language for ``derive`` and ``check`` rules.

Expressions are parsed with :func:`ast.parse` (parsing never runs code) and then walked by a
whitelist interpreter that evaluates them column-wise on a DataFrame. Nothing is ever passed to
``eval``/``exec``; any syntax outside the whitelist is rejected with a message.

Grammar (Python syntax, restricted):

* literals: numbers, strings, ``true``/``false`` (``True``/``False`` also accepted)
* names: column names (identifiers) of the schema
* arithmetic ``+ - * / // %``, unary ``-``, comparisons ``< <= > >= == !=`` (chains allowed)
* ``and``, ``or``, ``not`` (element-wise), ``a if condition else b``, ``x in ('a', 'b')``
* functions: ``hour(t)``, ``weekday(t)`` (Monday = 0), ``month(t)``, ``days(x)``, ``hours(x)``,
  ``minutes(x)`` (durations to add to datetimes), ``abs(x)``, ``round(x, k)``, ``min(a, b)``,
  ``max(a, b)``, ``log(x)``, ``sqrt(x)``

Bounds (hostile schemas must not exhaust memory or crash the run): number literals up to 10**15 in
magnitude, ``round`` digits within -15..15, no repetition of text with ``*``, text results of at most
10,000 characters; division by zero gives a missing value. Anything that still fails while evaluating
raises :class:`ExpressionError` naming the expression (never a cell value).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from synthstruct.errors import InputError

__all__ = ["FUNCTIONS", "Expression", "ExpressionError", "parse_expression"]

_MAX_LENGTH = 500
_MAX_DEPTH = 40
_MAX_LITERAL = 10**15
_MAX_DIGITS = 15
_MAX_TEXT = 10_000


class ExpressionError(InputError):
    """The expression uses syntax outside the grammar or cannot be evaluated (never names data)."""


def _dt(x: Any) -> pd.Series:
    return pd.Series(x) if not isinstance(x, pd.Series) else x


def _duration(unit: str) -> Callable[[Any], Any]:
    def make(x: Any) -> Any:
        return pd.to_timedelta(pd.Series(np.asarray(x, dtype="float64")), unit=unit)
    return make


def _round(x: Any, k: Any = 0) -> Any:
    if np.ndim(k) != 0 or isinstance(k, str) or not np.isfinite(float(k)) or abs(float(k)) > _MAX_DIGITS:
        raise ExpressionError(f"round() takes a whole number of digits between -{_MAX_DIGITS} and {_MAX_DIGITS}")
    return np.round(np.asarray(x, dtype="float64"), int(k))


def _is_text(x: Any) -> bool:
    if isinstance(x, str):
        return True
    if isinstance(x, (np.ndarray, pd.Series)) and x.dtype == object and len(x):
        return any(isinstance(v, str) for v in np.asarray(x, dtype=object)[:1000])
    return False


def _binop(op: type, left: Any, right: Any) -> Any:
    """``left OP right`` with the bounds of the module docstring."""
    if op is ast.Mult and (_is_text(left) or _is_text(right)):
        raise ExpressionError("multiplies text ('*' works on numbers only)")
    if np.ndim(left) == 0 and np.ndim(right) == 0 and not isinstance(left, str) and not isinstance(right, str):
        try:
            out = _BINOPS[op](left, right)
        except ZeroDivisionError:
            return float("nan")
        if isinstance(out, int) and abs(out) > _MAX_LITERAL**2:
            raise ExpressionError(f"computes a number larger than 10**{2 * 15}")
        return out
    with np.errstate(all="ignore"):
        out = _BINOPS[op](left, right)
    if op is ast.Add and isinstance(out, str) and len(out) > _MAX_TEXT:
        raise ExpressionError(f"builds text longer than {_MAX_TEXT} characters")
    return out


#: Function name -> (number of arguments allowed, implementation).
FUNCTIONS: dict[str, tuple[tuple[int, ...], Callable[..., Any]]] = {
    "hour": ((1,), lambda t: _dt(t).dt.hour.to_numpy()),
    "weekday": ((1,), lambda t: _dt(t).dt.weekday.to_numpy()),
    "month": ((1,), lambda t: _dt(t).dt.month.to_numpy()),
    "days": ((1,), _duration("D")),
    "hours": ((1,), _duration("h")),
    "minutes": ((1,), _duration("min")),
    "abs": ((1,), lambda x: np.abs(np.asarray(x, dtype="float64"))),
    "round": ((1, 2), _round),
    "min": ((2,), lambda a, b: np.minimum(np.asarray(a), np.asarray(b))),
    "max": ((2,), lambda a, b: np.maximum(np.asarray(a), np.asarray(b))),
    "log": ((1,), lambda x: np.log(np.asarray(x, dtype="float64"))),
    "sqrt": ((1,), lambda x: np.sqrt(np.asarray(x, dtype="float64"))),
}
_CONSTANTS = {"true": True, "false": False, "True": True, "False": False}

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b, ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
}


def _bool(x: Any) -> np.ndarray:
    return np.asarray(pd.Series(x).fillna(False) if isinstance(x, pd.Series) else x, dtype=bool)


class Expression:
    """A parsed expression: :attr:`names` lists the columns it reads; :meth:`evaluate` computes it.

    Args:
        text: The expression source.

    Raises:
        ExpressionError: the text is not in the grammar.
    """

    def __init__(self, text: str) -> None:
        if len(text) > _MAX_LENGTH:
            raise ExpressionError(f"longer than {_MAX_LENGTH} characters")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError:
            raise ExpressionError("is not a valid expression") from None
        self.text = text
        self.tree = tree.body
        self.names: set[str] = set()
        self._validate(self.tree, 0)

    # ------------------------------------------------------------------ validation
    def _validate(self, node: ast.AST, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise ExpressionError("is nested too deeply")
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float, str, bool)):
                raise ExpressionError("uses an unsupported literal")
            if isinstance(node.value, (int, float)) and not isinstance(node.value, bool) and (
                    abs(node.value) > _MAX_LITERAL):
                raise ExpressionError("uses a number larger than 10**15")
            return
        if isinstance(node, ast.Name):
            if node.id not in _CONSTANTS:
                self.names.add(node.id)
            return
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
                raise ExpressionError(f"calls an unknown function (allowed: {', '.join(sorted(FUNCTIONS))})")
            arities, _ = FUNCTIONS[node.func.id]
            if len(node.args) not in arities:
                raise ExpressionError(f"calls {node.func.id}() with {len(node.args)} arguments")
            if node.func.id == "round" and len(node.args) == 2 and isinstance(node.args[1], ast.Constant):
                digits = node.args[1].value
                if not isinstance(digits, int) or isinstance(digits, bool) or abs(digits) > _MAX_DIGITS:
                    raise ExpressionError(f"round() takes a whole number of digits between -{_MAX_DIGITS} "
                                          f"and {_MAX_DIGITS}")
            children: list[ast.AST] = list(node.args)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            if isinstance(node.op, ast.Mult) and any(
                    isinstance(c, ast.Constant) and isinstance(c.value, str) for c in (node.left, node.right)):
                raise ExpressionError("multiplies text ('*' works on numbers only)")
            if (isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)) and isinstance(node.right, ast.Constant)
                    and not isinstance(node.right.value, str) and node.right.value == 0):
                raise ExpressionError("divides by zero")
            children = [node.left, node.right]
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
            children = [node.operand]
        elif isinstance(node, ast.BoolOp):
            children = list(node.values)
        elif isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators):
                if isinstance(op, (ast.In, ast.NotIn)):
                    if not isinstance(right, (ast.Tuple, ast.List)) or not all(
                            isinstance(e, ast.Constant) for e in right.elts):
                        raise ExpressionError("'in' needs a literal list such as ('a', 'b')")
                elif type(op) not in _COMPARE:
                    raise ExpressionError("uses an unsupported comparison")
            children = [node.left] + [c for c in node.comparators if not isinstance(c, (ast.Tuple, ast.List))]
        elif isinstance(node, ast.IfExp):
            children = [node.test, node.body, node.orelse]
        else:
            raise ExpressionError(f"uses unsupported syntax ({type(node).__name__})")
        for child in children:
            self._validate(child, depth + 1)

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, frame: pd.DataFrame) -> Any:
        """Evaluate on every row of ``frame``; returns an array (or a scalar for constant expressions).

        Raises:
            ExpressionError: the expression cannot be evaluated (the message names the expression and
                the kind of failure, never a value).
        """
        try:
            return self._eval(self.tree, frame)
        except ExpressionError as exc:
            raise ExpressionError(f"{self.text!r} {exc.summary}") from None
        except (ArithmeticError, MemoryError, TypeError, ValueError) as exc:
            raise ExpressionError(f"{self.text!r} cannot be evaluated ({type(exc).__name__})") from None

    def evaluate_bool(self, frame: pd.DataFrame) -> np.ndarray:
        """Evaluate as a per-row truth value (missing counts as false)."""
        out = self.evaluate(frame)
        if np.ndim(out) == 0:
            return np.full(len(frame), bool(out))
        return _bool(out)

    def _eval(self, node: ast.AST, frame: pd.DataFrame) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in _CONSTANTS:
                return _CONSTANTS[node.id]
            series = frame[node.id]
            if pd.api.types.is_datetime64_any_dtype(series):
                return series.reset_index(drop=True)
            return series.to_numpy()
        if isinstance(node, ast.Call):
            _, fn = FUNCTIONS[node.func.id]
            return fn(*(self._eval(a, frame) for a in node.args))
        if isinstance(node, ast.BinOp):
            left, right = self._eval(node.left, frame), self._eval(node.right, frame)
            out = _binop(type(node.op), left, right)
            return out.reset_index(drop=True) if isinstance(out, pd.Series) else out
        if isinstance(node, ast.UnaryOp):
            value = self._eval(node.operand, frame)
            if isinstance(node.op, ast.Not):
                return ~_bool(value) if np.ndim(value) else not value
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BoolOp):
            values = [_bool(self._eval(v, frame)) for v in node.values]
            out = values[0]
            for v in values[1:]:
                out = (out & v) if isinstance(node.op, ast.And) else (out | v)
            return out
        if isinstance(node, ast.Compare):
            return self._compare(node, frame)
        if isinstance(node, ast.IfExp):
            test = _bool(self._eval(node.test, frame))
            body, orelse = self._eval(node.body, frame), self._eval(node.orelse, frame)
            return np.where(test, np.asarray(body), np.asarray(orelse))
        raise ExpressionError("uses unsupported syntax")  # pragma: no cover - rejected by _validate

    def _compare(self, node: ast.Compare, frame: pd.DataFrame) -> Any:
        left = self._eval(node.left, frame)
        result: Any = True
        for op, comp in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                allowed = [e.value for e in comp.elts]
                hit = pd.Series(np.asarray(left, dtype=object)).isin(allowed).to_numpy()
                part = hit if isinstance(op, ast.In) else ~hit
                right = left
            else:
                right = self._eval(comp, frame)
                part = _COMPARE[type(op)](left, right)
                part = part.to_numpy() if isinstance(part, pd.Series) else part
            result = result & _bool(part) if np.ndim(part) else result & bool(part)
            left = right
        return result


def parse_expression(text: str) -> Expression:
    """Parse ``text`` (see the module docstring for the grammar).

    Raises:
        ExpressionError: the text is not in the grammar.
    """
    return Expression(text)
