"""A corpus of real-world column shapes (issue 13): one generated table per shape, with the kind that
inference must choose and the outcome a release must reach.

Each :class:`Shape` builds a small table (as the text an export would hold: every cell a string) and
states the expected kind of its column of interest (``column``), an optional check on the inferred
column spec, and the release outcome (``released`` or ``blocked``, never a refusal) with the reason.
The tables are written as CSV by the tests, so reading, inference, fit, sampling and output all run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

ROWS = 800


def _base(n: int = ROWS, seed: int = 0) -> dict[str, Any]:
    """Two ordinary columns every shape table carries, so a model has something to learn."""
    rng = np.random.default_rng(seed)
    return {"age": rng.integers(18, 90, n).astype(str), "ward": rng.choice(["A", "B", "C", "D"], n),
            "score": rng.normal(50, 10, n).round(2).astype(str)}


def _icd(n: int, rng: np.random.Generator) -> np.ndarray:
    codes = np.char.zfill((rng.zipf(1.4, n) % 400 + 1).astype(str), 3)
    dotted = rng.random(n) < 0.3
    codes = np.where(dotted, np.char.add(np.char.add(codes, "."), rng.integers(1, 99, n).astype(str)), codes)
    return np.where(rng.random(n) < 0.04, np.char.add("V", rng.integers(10, 80, n).astype(str)),
                    np.where(rng.random(n) < 0.02, np.char.add("E", rng.integers(800, 999, n).astype(str)), codes))


@dataclass
class Shape:
    name: str
    column: str
    kind: str
    build: Callable[[], pd.DataFrame]
    outcome: str = "released"  # or "blocked"
    check: Callable[[dict[str, Any]], bool] | None = None
    roundtrip: Callable[[pd.Series, pd.Series], bool] | None = None  # (real, synthetic) column check
    reason: str = ""
    options: dict[str, Any] = field(default_factory=dict)


def _frame(**columns: Any) -> Callable[[], pd.DataFrame]:
    def build() -> pd.DataFrame:
        data = {name: make() for name, make in columns.items()}  # the shape first: the last column is no target
        data.update(_base(len(next(iter(data.values())))))
        return pd.DataFrame(data)

    return build


_R = np.random.default_rng(13)


def _seq(make: Callable[[np.random.Generator], Any]) -> Callable[[], Any]:
    return lambda: make(np.random.default_rng(13))


def _surnames(rng: np.random.Generator, n: int = ROWS) -> list[str]:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(3)
    pool = [fake.unique.last_name() for _ in range(120)]
    return [pool[i] for i in rng.integers(0, len(pool), n)]


def _digits_only(real: pd.Series, syn: pd.Series) -> bool:
    return bool(syn.dropna().astype(str).str.fullmatch(r"\d+").all())


SHAPES: list[Shape] = [
    Shape("icd9_codes", "diag", "categorical", _frame(diag=_seq(lambda r: _icd(ROWS, r))),
          check=lambda spec: spec["kind"] == "categorical",
          roundtrip=lambda real, syn: syn.notna().mean() > 0.9 and set(syn.dropna()) <= set(real.dropna()),
          reason="numbers with V/E letter codes are codes, not a refusal; only seen codes are emitted"),
    Shape("zip_leading_zeros", "zip", "categorical",
          _frame(zip=_seq(lambda r: np.char.zfill(r.choice([2134, 2135, 6010, 501, 10001, 7302], ROWS).astype(str), 5))),
          roundtrip=lambda real, syn: bool(syn.dropna().str.len().eq(5).all()) and syn.dropna().str.startswith("0").any(),
          reason="ZIP codes keep their leading zeros (read as text, emitted as seen codes)"),
    Shape("currency_strings", "charge", "numerical",
          _frame(charge=_seq(lambda r: [f"${v:,.2f}" for v in r.lognormal(8, 1, ROWS)])),
          check=lambda spec: spec.get("format", {}).get("prefix") == "$" and spec.get("decimals") == 2,
          roundtrip=lambda real, syn: bool(syn.dropna().str.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d").all()),
          reason="currency parsed as numbers and written back as $1,234.56"),
    Shape("thousands_separators", "income", "numerical",
          _frame(income=_seq(lambda r: [f"{v:,}" for v in r.integers(10_000, 5_000_000, ROWS)])),
          check=lambda spec: spec.get("format", {}).get("thousands") == "," and spec["dtype"] == "int",
          roundtrip=lambda real, syn: syn.notna().all() and bool(syn.str.fullmatch(r"\d{1,3}(,\d{3})*").all()),
          reason="1,234,000 is a number (was: categories released empty)"),
    Shape("percent_and_decimal_comma", "rate", "numerical",
          _frame(rate=_seq(lambda r: [f"{v:.1f}%".replace(".", ",") for v in r.uniform(0, 100, ROWS)])),
          check=lambda spec: spec.get("format", {}).get("suffix") == "%" and spec["format"].get("decimal") == ",",
          roundtrip=lambda real, syn: bool(syn.dropna().str.fullmatch(r"\d+,\d%").all()),
          reason="percent sign and decimal comma kept"),
    Shape("huge_integers", "account", "id",
          _frame(account=_seq(lambda r: [str(10 ** 21 + int(v)) for v in r.integers(0, 10 ** 15, ROWS)])),
          roundtrip=lambda real, syn: syn.notna().all() and _digits_only(real, syn)
          and not syn.isin(set(real)).any() and bool(syn.str.len().eq(22).all()),
          reason="integers beyond int64 kept exactly as text ids (was: released empty)"),
    Shape("huge_integer_codes", "code", "categorical",
          _frame(code=_seq(lambda r: [str(10 ** 20 + int(v)) for v in r.integers(0, 12, ROWS)])),
          roundtrip=lambda real, syn: syn.notna().all() and set(syn) <= set(real),
          reason="repeating integers beyond int64 are codes, emitted exactly"),
    Shape("yes_no_booleans", "insured", "boolean", _frame(insured=_seq(lambda r: r.choice(["yes", "no"], ROWS))),
          check=lambda spec: spec.get("true_value") == "yes" and spec.get("false_value") == "no",
          roundtrip=lambda real, syn: set(syn.dropna()) == {"yes", "no"}, reason="yes/no read as boolean, spelling kept"),
    Shape("y_n_booleans", "smoker", "boolean", _frame(smoker=_seq(lambda r: r.choice(["Y", "N"], ROWS))),
          roundtrip=lambda real, syn: set(syn.dropna()) <= {"Y", "N"}, reason="Y/N read as boolean"),
    Shape("one_zero_booleans", "flag", "boolean", _frame(flag=_seq(lambda r: r.choice(["1", "0"], ROWS))),
          roundtrip=lambda real, syn: set(syn.dropna().astype(str)) <= {"1", "0"}, reason="1/0 read as boolean"),
    Shape("mostly_null", "note_code", "categorical",
          _frame(note_code=_seq(lambda r: np.where(r.random(ROWS) < 0.9, None, r.choice(["X1", "X2"], ROWS)))),
          roundtrip=lambda real, syn: syn.isna().mean() > 0.6, reason="90 % missing: missingness is learned"),
    Shape("constant", "facility", "constant", _frame(facility=lambda: ["unknown"] * ROWS),
          roundtrip=lambda real, syn: bool((syn == "unknown").all()), reason="constant carried through"),
    Shape("all_null", "weight", "constant", _frame(weight=lambda: [None] * ROWS),
          roundtrip=lambda real, syn: bool(syn.isna().all()), reason="empty column carried through empty"),
    Shape("repeating_ids", "subject_id", "id", _frame(subject_id=_seq(lambda r: r.integers(1000, 1150, ROWS).astype(str))),
          roundtrip=lambda real, syn: not syn.astype(str).isin(set(real.astype(str))).any(),
          reason="an entity key (several rows per value) is an id; no synthetic id equals a real one"),
    Shape("surname_only", "col_7", "pii", _frame(col_7=_seq(lambda r: _surnames(r))),
          check=lambda spec: spec.get("entity") == "LAST_NAME",
          roundtrip=lambda real, syn: not syn.isin(set(real)).any(),
          reason="surnames found by content although the name says nothing; no real surname emitted"),
    Shape("long_labels_few_values", "Product", "categorical",
          _frame(Product=_seq(lambda r: r.choice([
              "Credit reporting, credit repair services, or other personal consumer reports",
              "Debt collection of medical bills and other outstanding consumer obligations",
              "Mortgage servicing, payments, escrow accounts and loan modification requests",
              "Checking or savings account problems including fees, overdrafts and closures"], ROWS))),
          reason="13-value Product: long labels with few values are categories, not free text"),
    Shape("five_hundred_categories", "item", "categorical",
          _frame(item=_seq(lambda r: [f"item-{v:03d}" for v in r.integers(0, 500, 4 * ROWS)]) ),
          roundtrip=lambda real, syn: set(syn.dropna()) <= set(real.dropna()),
          reason="500 categories: rare ones merged by value protection"),
    Shape("dates_iso", "visit", "datetime",
          _frame(visit=_seq(lambda r: (pd.Timestamp("2020-01-01") + pd.to_timedelta(r.integers(0, 900, ROWS), unit="D"))
                            .strftime("%Y-%m-%d"))),
          check=lambda spec: spec["format"] == "%Y-%m-%d",
          roundtrip=lambda real, syn: bool(syn.dropna().str.fullmatch(r"\d{4}-\d\d-\d\d").all())),
    Shape("dates_day_first", "visit", "datetime",
          _frame(visit=_seq(lambda r: (pd.Timestamp("2020-01-01") + pd.to_timedelta(r.integers(0, 900, ROWS), unit="D"))
                            .strftime("%d.%m.%Y"))),
          check=lambda spec: spec["format"] == "%d.%m.%Y"),
    Shape("dates_sentinels", "valid_to", "datetime",
          _frame(valid_to=_seq(lambda r: np.where(r.random(ROWS) < 0.2, "9999-12-31", np.where(
              r.random(ROWS) < 0.1, "0001-01-01",
              (pd.Timestamp("2020-01-01") + pd.to_timedelta(r.integers(0, 900, ROWS), unit="D")).strftime("%Y-%m-%d"))))),
          check=lambda spec: spec["format"] == "%Y-%m-%d",
          roundtrip=lambda real, syn: {"9999-12-31", "0001-01-01"} <= set(syn.dropna())
          and bool(syn.dropna().str.fullmatch(r"\d{4}-\d\d-\d\d").all()),
          reason="0001-01-01 and 9999-12-31 sentinels parse and are written back (were: 'do not match the format')"),
]


def tiny(rows: int) -> pd.DataFrame:
    """A 1-row or 2-row table."""
    return pd.DataFrame({"name_code": ["A1", "B2"][:rows], "value": ["3", "5"][:rows], "flag": ["yes", "no"][:rows]})
