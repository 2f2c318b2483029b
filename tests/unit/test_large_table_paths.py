"""The per-distinct-value and numpy paths added for 1M-row releases (issue 16) give the same answers as the
cell-by-cell code they replace, on small tables built to hit their edge cases."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthstruct.dataio import _may_start_formula, escape_formulas
from synthstruct.evaluation.coverage import _text_counts
from synthstruct.evaluation.encoding import MixedEncoder, hash_rows
from synthstruct.evaluation.fidelity import as_labels, label_counts
from synthstruct.schema import schema_from_dict
from synthstruct.schema.check import _format_wide, _mixed_python_types, category_key, category_keys
from synthstruct.schema.infer import find_hierarchies
from synthstruct.schema.values import NumberFormat, format_numbers, typed_columns
from synthstruct.synthesizers.pii import ReplayGuard, normalise

SERIES = [
    pd.Series(["b", "a", None, "b", " 2.0", "1.0", np.nan, "a"], dtype=object),
    pd.Series([1.0, np.nan, 2.5, 1.0, -0.0, 0.0]),
    pd.Series([3, 1, 2, 3, 3]),
    pd.Series([True, False, True]),
    pd.Series([1, "1", True, None, 1.0], dtype=object),  # mixed types: the cell-by-cell way
    pd.Series(pd.Categorical(["x", "y", None, "x"])),
    pd.Series([None, None], dtype=object),
    pd.Series([5, 3, None, 5, 3, 3, 10**20, np.int64(7)], dtype=object),  # integers (generated codes): by distinct value
    pd.Series([True, None, False, True, np.bool_(False)], dtype=object),
]


@pytest.mark.parametrize("series", SERIES)
def test_category_keys_match_the_cell_by_cell_map(series):
    expected = series.map(category_key, na_action="ignore")
    got = category_keys(series)
    assert [None if pd.isna(v) else v for v in got] == [None if pd.isna(v) else v for v in expected]


@pytest.mark.parametrize("series", SERIES)
def test_label_counts_equal_value_counts_of_labels(series):
    expected = as_labels(series).value_counts()
    got = label_counts(series)
    assert list(got.index) == list(expected.index)
    assert list(got) == list(expected)


@pytest.mark.parametrize("series", SERIES + [pd.Series(pd.to_datetime(["2020-01-01", None]))])
def test_coverage_counts_equal_text_value_counts(series):
    expected = series.dropna().astype(str).value_counts()
    got = _text_counts(series)
    assert dict(got) == dict(expected)


def _mix64_reference(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def test_hash_rows_in_place_gives_the_keys_of_the_plain_formula():
    rng = np.random.default_rng(0)
    columns = [rng.integers(-5, 2**40, 1000), rng.normal(size=1000), rng.integers(0, 3, 1000).astype(np.uint8),
               np.full(1000, np.nan)]
    expected = np.full(1000, 0x243F6A8885A308D3, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j, values in enumerate(columns):
            bits = values.view(np.uint64) if values.dtype.itemsize == 8 else values.astype(np.int64).view(np.uint64)
            expected = _mix64_reference(expected * np.uint64(0x9E3779B97F4A7C15) + _mix64_reference(bits + np.uint64(j + 1)))
    assert np.array_equal(hash_rows(columns, 1000), expected)


def test_hash_rows_equal_rows_equal_keys_and_column_order_matters():
    a = np.array([1, 2, 1, 2], dtype=np.int64)
    b = np.array([0.5, 0.5, 0.5, np.nan])
    keys = hash_rows([a, b], 4)
    assert keys.dtype == np.uint64
    assert keys[0] == keys[2] and len(set(keys.tolist())) == 3
    assert not np.array_equal(hash_rows([b, a], 4), keys)  # (x, y) and (y, x) are different rows
    many = hash_rows([np.arange(100_000, dtype=np.int64)], 100_000)
    assert len(np.unique(many)) == 100_000


def test_row_keys_compare_numbers_exactly_and_categories_by_level():
    schema = schema_from_dict({"schema_version": 1, "name": "t", "columns": {
        "x": {"kind": "numerical"}, "c": {"kind": "categorical"}}})
    train = pd.DataFrame({"x": [0.0, 1.0, np.nan, 2.0], "c": ["a", "b", None, "a"]})
    other = pd.DataFrame({"x": [-0.0, 1.0, np.nan, 2.0], "c": ["a", "b", None, "b"]})
    encoder = MixedEncoder().fit(schema, train, other)
    keys_t, keys_o = encoder.row_keys(train), encoder.row_keys(other)
    assert (keys_t == keys_o).tolist() == [True, True, True, False]
    codes = encoder.category_codes(other, "c")
    assert codes.tolist() == [0, 1, len(encoder.levels_["c"]), 1]


def test_replay_guard_digest_is_hmac_of_salt_and_text_and_answers_are_stable():
    key, salt = b"k" * 32, b"s" * 16
    guard = ReplayGuard(salt, set(), key=key)
    expected = hmac.new(key, salt + normalise("Ann Lee").encode(), hashlib.sha256).digest()[:16]
    assert guard._digest(" ann  LEE ") == expected
    guard.digests = guard._digests(pd.Series(["Ann Lee", "Bo"]))
    assert guard.contains("ann lee") and guard.contains("ann lee")  # the second answer is remembered
    assert not guard.contains("Cy")
    guard.add(pd.Series(["Cy"]))  # new digests: remembered answers are dropped
    assert guard.contains("Cy")



@pytest.mark.parametrize("entity", [None, "US_SSN", "PHONE_NUMBER", "PERSON"])
@pytest.mark.parametrize("value", [0, 7, 12345678901234567890, -42, 3.0, -3.0, True, "  A-1 b ", np.int64(5)])
def test_normalise_of_integers_matches_the_general_path(value, entity):
    import math
    import re

    from synthstruct.pii.entities import DIGIT_LIKE

    general = int(value) if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(
        value).is_integer() else value
    text = " ".join(str(general).split()).casefold()
    if entity in DIGIT_LIKE:
        text = re.sub(r"[^0-9a-z]", "", text)
    assert normalise(value, entity) == text

def test_formula_probe_and_escaping():
    assert not _may_start_formula(pd.Series(["a", "b\n=c", None], dtype=object))
    for risky in ("=1+1", "+x", "-y", "@z", "\tq", "\rq"):
        assert _may_start_formula(pd.Series(["a", risky], dtype=object))
    assert _may_start_formula(pd.Series([1, "a"], dtype=object))  # not all text: the cell-by-cell check
    out = escape_formulas(pd.DataFrame({"t": ["=SUM(A1)", "-5", "ok", None], "n": [1, 2, 3, 4]}))
    assert out["t"].tolist() == ["'=SUM(A1)", "-5", "ok", None]



def _escape_cell_by_cell(frame: pd.DataFrame) -> pd.DataFrame:
    """The escaping as it was before Arrow found the cells (the reference)."""
    out = frame.copy()
    for name in frame.columns:
        col = frame[name]
        if not (pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)
                or isinstance(col.dtype, pd.CategoricalDtype)):
            continue
        text = col.astype("string")
        risky = text.str.startswith(("=", "+", "-", "@", "\t", "\r")).fillna(False).astype(bool)
        risky &= ~pd.to_numeric(text.where(risky), errors="coerce").notna()
        if risky.any():
            fixed = col.astype(object).copy()
            fixed[risky] = "'" + text[risky].astype(str)
            out[name] = fixed
    return out


def test_formula_escaping_of_text_columns_matches_the_cell_by_cell_way():
    cells = ["=SUM(A1)", "-5", "+1.5e3", "-", "ok", None, np.nan, "@x", "\tq", "\rq", "- 3", "-1e400", "−7", ""]
    frame = pd.DataFrame({"t": np.array(cells * 3, dtype=object), "mixed": np.array([1, "=a"] * 21, dtype=object),
                          "n": np.arange(42), "clean": ["a"] * 42,
                          # Python ints, booleans, nothing (id and code columns): skipped without a text pass
                          "ints": np.array([-5, 3, None] * 14, dtype=object), "flags": np.array([True, None] * 21, dtype=object),
                          "none": np.array([None] * 42, dtype=object)}, index=list(range(22)) + [7] * 20)
    got, expected = escape_formulas(frame), _escape_cell_by_cell(frame)
    pd.testing.assert_frame_equal(got, expected)
    assert got["t"].iloc[0] == "'=SUM(A1)" and got["t"].iloc[1] == "-5" and got["mixed"].iloc[1] == "'=a"

def test_mixed_python_types_all_text_and_mixed():
    assert not _mixed_python_types(pd.Series(["a", None, "b"], dtype=object))
    assert _mixed_python_types(pd.Series(["a", 1], dtype=object))
    assert not _mixed_python_types(pd.Series([1, 2.5], dtype=object))


def test_typed_columns_keeps_codes_as_text_and_parses_numbers_and_booleans():
    frame = pd.DataFrame({
        "int": ["1", " 2", "3"], "float": ["1.5", None, "2e3"], "zip": ["007", "010", "123"],
        "flag": ["True", "False", "True"], "flag_gaps": ["True", None, "False"],
        "long": ["12345678901234567890", "1", "2"], "empty": [None, None, None], "text": ["x", "y", "x"]},
        dtype=object)
    out = typed_columns(frame)
    assert out["int"].dtype == np.int64 and out["int"].tolist() == [1, 2, 3]
    assert out["float"].dtype == np.float64 and np.isnan(out["float"][1]) and out["float"][2] == 2000.0
    assert out["zip"].tolist() == ["007", "010", "123"]
    assert out["flag"].dtype == bool and out["flag"].tolist() == [True, False, True]
    assert out["flag_gaps"].dtype == object and out["flag_gaps"][0] is True and pd.isna(out["flag_gaps"][1])
    assert out["long"].tolist() == ["12345678901234567890", "1", "2"]
    assert out["empty"].isna().all() and out["text"].tolist() == ["x", "y", "x"]


def test_format_numbers_once_per_distinct_value():
    values = pd.Series([1234.5, -0.001, np.nan, 1234.5, -5.0])
    out = format_numbers(values, NumberFormat(prefix="$", thousands=","), 2)
    assert out.tolist() == ["$1,234.50", "$0.00", None, "$1,234.50", "-$5.00"]


def _format_value_by_value(v: float, fmt: NumberFormat, decimals: int) -> str | None:
    """The number formatting before it was batched (one value at a time, digits grouped by hand)."""
    if not np.isfinite(v):
        return None
    text = f"{abs(v):.{decimals}f}"
    whole, _, frac = text.partition(".")
    if fmt.thousands and len(whole) > 3:
        head = len(whole) % 3 or 3
        whole = whole[:head] + "".join(fmt.thousands + whole[i:i + 3] for i in range(head, len(whole), 3))
    sign = "-" if v < 0 and float(text) != 0 else ""
    return f"{sign}{fmt.prefix}{whole}{fmt.decimal + frac if frac else ''}{fmt.suffix}"


@pytest.mark.parametrize("fmt", [NumberFormat(), NumberFormat(prefix="$", thousands=","),
                                 NumberFormat(suffix=" %", thousands=".", decimal=","),
                                 NumberFormat(prefix="CHF ", thousands="'"), NumberFormat(thousands=" ", decimal=",")])
@pytest.mark.parametrize("decimals", [0, 1, 2, 4])
def test_format_numbers_matches_the_value_by_value_way(fmt, decimals):
    rng = np.random.default_rng(decimals)
    values = np.concatenate([
        rng.normal(0, 10, 300), rng.lognormal(8, 4, 300) * rng.choice([-1, 1], 300), rng.integers(-10**6, 10**6, 100),
        [0.0, -0.0, -0.004, -0.005, -0.5, 0.5, 1.5, 2.5, 999.995, -999.5, 1e15, -1e17, 123456789.125, np.nan,
         np.inf, -np.inf, 5e-324, -5e-324, 1e300]])
    got = format_numbers(pd.Series(values), fmt, decimals).tolist()
    assert got == [_format_value_by_value(v, fmt, decimals) for v in values]


def test_wide_dates_formatted_with_four_digit_years():
    series = pd.Series(np.array(["0001-01-01", "2020-05-06", "NaT", "0001-01-01"], dtype="datetime64[s]"))
    assert _format_wide(series, "%Y-%m-%d").tolist() == ["0001-01-01", "2020-05-06", None, "0001-01-01"]


def test_hierarchy_broken_on_a_row_outside_the_probe_is_still_found():
    n = 100_000  # above twice the probe size: candidates are first tried on every fifth row
    rng = np.random.default_rng(0)
    city = rng.integers(0, 50, n)
    state = city // 10
    almost = state.copy()
    almost[77_777] = (almost[77_777] + 1) % 5  # 77_777 is not a multiple of 5: only the full check sees it
    frame = pd.DataFrame({"city": city.astype(str), "state": state.astype(str), "almost": almost})
    assert find_hierarchies(frame, list(frame.columns)) == [["city", "state"]]


def test_utility_scores_at_most_max_test_rows():
    from synthstruct.evaluation.utility import tstr_scores

    rng = np.random.default_rng(0)
    n = 600
    x = rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "y": np.where(x + rng.normal(scale=0.5, size=n) > 0, "a", "b")})
    schema = schema_from_dict({"schema_version": 1, "name": "t", "target": "y", "columns": {
        "x": {"kind": "numerical"}, "y": {"kind": "categorical"}}})
    capped = tstr_scores(frame[:300], frame[:300], frame[300:], schema, max_iter=5, max_test_rows=100)
    assert capped["n_test"] == 100 and capped["n_test_available"] == 300
    full = tstr_scores(frame[:300], frame[:300], frame[300:], schema, max_iter=5)
    assert full["n_test"] == 300 and "n_test_available" not in full


@pytest.mark.parametrize("series", SERIES[:4] + [pd.Series([" Ann ", "ann", None, "BO"], dtype=object)])
def test_pii_replay_normalises_like_the_cell_by_cell_way(series):
    from synthstruct.privacy.metrics import _normalised

    expected = series[series.notna()].astype(str).str.strip().str.casefold()
    got = _normalised(series)
    assert got.tolist() == expected.tolist() and list(got.index) == list(expected.index)


CSV_TEXTS = {
    "plain": "a,b,c\n1,x,2.5\n2,,NA\n3,\"y, z\",?\n",
    "quoted_newline_and_na": "a,b\n1,\"two\nlines\"\n2,\"NA\"\n3,\"\"\n",
    "bom_crlf": "\ufeffa;b\r\n1;x\r\n2;null\r\n",
    "leading_space": "a,b\n1, x\n2, NA\n",  # pandas skips the initial spaces: the pandas path
    "leading_tab": "a,b\n1,x\n2,\ty\n",
    "codes": "zip,id\n02134,0012345678901234567890\n90210,1\n",
}


@pytest.mark.parametrize("name", sorted(CSV_TEXTS))
def test_arrow_csv_read_gives_the_pandas_frame(tmp_path, monkeypatch, name):
    import synthstruct.dataio as dataio

    path = tmp_path / f"{name}.csv"
    path.write_bytes(CSV_TEXTS[name].encode("utf-8"))
    monkeypatch.setattr(dataio, "ARROW_CSV_MIN_BYTES", 1 << 62)
    expected = dataio.read_table(path)
    monkeypatch.setattr(dataio, "ARROW_CSV_MIN_BYTES", 0)
    got = dataio.read_table(path)
    pd.testing.assert_frame_equal(got, expected)
    used_arrow = dataio._read_csv_arrow(path, dataio.sniff_delimiter(path),
                                        dataio.scan_csv(path, dataio.sniff_delimiter(path))) is not None
    assert used_arrow == (not name.startswith("leading_"))


@pytest.mark.parametrize("pattern", ["MRN-#######", "#" * 20, "??-##x", "", "abc"])
def test_id_pattern_fill_matches_the_row_by_row_join(pattern):
    import string

    from synthstruct.synthesizers.pii import IdGenerator

    rng = np.random.default_rng(3)  # reference: the same draws, joined row by row
    chars = np.array([list(pattern)] * 50, dtype="<U1") if pattern else np.zeros((50, 0), dtype="<U1")
    for j, ch in enumerate(pattern):
        if ch == "#":
            chars[:, j] = rng.integers(0, 10, size=50).astype(str)
        elif ch == "?":
            chars[:, j] = np.array(list(string.ascii_uppercase))[rng.integers(0, 26, size=50)]
    expected = ["".join(row) for row in chars]
    assert IdGenerator._fill(pattern, 50, np.random.default_rng(3)) == expected


@pytest.mark.parametrize("sub", [
    pd.DataFrame({"a": ["x", "y", "x", "z"], "b": [1, 2, 1, 3]}),
    pd.DataFrame({"a": [1.0, -0.0, 0.0, 2.0], "b": ["p", "q", "q", "p"]}),  # floats: row by row
    pd.DataFrame({"a": [True, 1, "1", "x"], "b": ["p", "p", "p", "q"]}, dtype=object),
])
def test_fixed_combination_lookup_matches_row_by_row(sub):
    from synthstruct.synthesizers.table import _rows_in

    seen = {("x", "1"), ("0.0", "q"), ("1", "p"), ("True", "p")}
    expected = [tuple(str(v) for v in row) in seen for row in sub.itertuples(index=False)]
    assert _rows_in(sub, seen).tolist() == expected


def test_early_answers_for_constant_and_all_distinct_columns():
    from synthstruct.schema.check import _all_distinct, _single_value

    n = 25_000  # longer than the 10 000 first rows looked at first
    assert _all_distinct(pd.Series(np.arange(n)))
    late = np.arange(n)
    late[-1] = 0  # the only repeat is after the first rows
    assert not _all_distinct(pd.Series(late))
    assert not _all_distinct(pd.Series(np.zeros(n)))
    assert _single_value(pd.Series(["a"] * n))
    assert not _single_value(pd.Series(["a"] * (n - 1) + ["b"]))
    assert not _single_value(pd.Series(["a", "b"] * (n // 2)))


def _csv_edge_frame(n: int = 1_200) -> pd.DataFrame:
    texts = ["", None, "x\r", " y", 'q"uo"te', "c,omma", "new\nline", "ünï €", "\x00z", "=1+2", np.nan, "tab\t",
             pd.NA, '"', ",", "plain"]
    reps = n // len(texts)
    return pd.DataFrame({
        "text": texts * reps,
        "nullable": pd.array(([1, None, -3, 2**62] * n)[:len(texts) * reps], dtype="Int64"),
        "ints": np.arange(len(texts) * reps) - 7,
        "object ints": pd.Series(([5, None, 70] * n)[:len(texts) * reps], dtype=object),
        "all missing": pd.Series([None] * (len(texts) * reps), dtype=object),
        'name, "quoted"': pd.Series(["x"] * (len(texts) * reps), dtype="string"),
    })


def test_arrow_csv_writer_gives_the_pandas_bytes(monkeypatch):
    import synthstruct.dataio as dataio

    frame = _csv_edge_frame()
    monkeypatch.setattr(dataio, "_CSV_CHUNK_ROWS", 333)  # several chunks, one of them short
    monkeypatch.setattr(dataio, "_CSV_CHECK_ROWS", 50)
    made = dataio._csv_bytes_arrow(frame)
    assert made is not None
    chunks = list(made)
    assert len(chunks) == 1 + -(-len(frame) // 333)
    assert b"".join(chunks) == frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


@pytest.mark.parametrize("extra", [
    pd.Series([1.5, 2.0] * 600),  # floats: pandas' repr
    pd.Series([True, False] * 600),
    pd.Series([True, None] * 600, dtype=object),
    pd.Series(pd.to_datetime(["2020-01-01"] * 1_200)),
    pd.Series([1, "1"] * 600, dtype=object),  # mixed cells
    pd.Series(["a"] * 1_199 + [1.5], dtype=object),  # a float after the checked rows
])
def test_arrow_csv_writer_leaves_other_columns_to_pandas(extra):
    import synthstruct.dataio as dataio

    frame = _csv_edge_frame(1_200).iloc[:1_200].reset_index(drop=True).assign(extra=extra)
    made = dataio._csv_bytes_arrow(frame)
    if made is not None:  # the first rows were fine: a later chunk refuses
        with pytest.raises(dataio._PandasMustWrite):
            list(made)
        assert extra.iloc[-1] == 1.5
    assert dataio._csv_bytes_arrow(frame[["text"]]) is None  # one column: an empty row is written as ""


def test_write_table_above_the_threshold_writes_the_pandas_bytes(tmp_path, monkeypatch):
    import synthstruct.dataio as dataio

    frame = _csv_edge_frame()
    dataio.write_table(frame, tmp_path / "small.csv")  # below the threshold: pandas
    monkeypatch.setattr(dataio, "ARROW_CSV_WRITE_MIN_CELLS", 0)
    calls = []
    original = dataio._csv_bytes_arrow
    monkeypatch.setattr(dataio, "_csv_bytes_arrow", lambda f: calls.append(1) or original(f))
    dataio.write_table(frame, tmp_path / "large.csv")
    assert calls and (tmp_path / "large.csv").read_bytes() == (tmp_path / "small.csv").read_bytes()
    late = frame.assign(extra=["a"] * (len(frame) - 1) + [1.5])  # a float after the checked rows: pandas
    monkeypatch.setattr(dataio, "_CSV_CHECK_ROWS", 10)
    dataio.write_table(late, tmp_path / "late.csv")
    expected = escape_formulas(late).to_csv(index=False, lineterminator="\n").encode("utf-8")
    assert (tmp_path / "late.csv").read_bytes() == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["large.csv", "late.csv", "small.csv"]


def test_shared_work_is_built_once_when_two_threads_ask():
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from synthstruct.evaluation.metric import EvaluationContext

    ctx = EvaluationContext(train=pd.DataFrame(), synthetic=pd.DataFrame(), schema=None)  # type: ignore[arg-type]
    builds = []
    start = threading.Barrier(2)

    def build(_ctx):
        builds.append(1)
        time.sleep(0.2)  # the second thread asks while the first builds
        return object()

    def ask(_):
        start.wait()
        return ctx.shared("work", build)

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(ask, range(2))
    assert first is second and len(builds) == 1


def test_gate_results_do_not_depend_on_its_threads(small_frame, small_schema_dict, monkeypatch):
    import json

    import synthstruct.release.gate as gate_module
    from synthstruct.release.policy import load_policy
    from synthstruct.schema.check import coerce_to_schema

    schema = schema_from_dict(small_schema_dict)
    frame = coerce_to_schema(small_frame, schema)
    train, holdout = frame.iloc[:300].reset_index(drop=True), frame.iloc[300:].reset_index(drop=True)
    synthetic = frame.sample(300, replace=True, random_state=1).reset_index(drop=True)
    policy, _ = load_policy("default")

    def run(threads: int) -> tuple[str, list[str]]:
        monkeypatch.setattr(gate_module, "GATE_THREADS", threads)
        seen: list[str] = []
        report = gate_module.ReleaseGate(policy).evaluate(train=train, synthetic=synthetic, schema=schema,
                                                          holdout=holdout, seed=3, on_metric=seen.append)
        body = {"gate": report.to_dict(), "metrics": {k: v.to_dict() for k, v in report.metrics.items()},
                "sampling": report.privacy_sampling}
        return json.dumps(body, sort_keys=True, default=str), seen

    monkeypatch.setenv("SYNTHSTRUCT_GATE_FORK", "0")
    serial, seen_serial = run(1)
    parallel, seen_parallel = run(2)
    assert parallel == serial
    assert seen_parallel == seen_serial == list(policy.metric_names())  # progress in policy order
    # the per-column metrics in a forked child process (forced on this small table): the same report
    monkeypatch.setenv("SYNTHSTRUCT_GATE_FORK", "1")
    monkeypatch.setattr(gate_module, "FORK_MIN_ROWS", 0)
    forks: list[list[str]] = []
    real = gate_module._ForkedMetrics

    class Counted(real):  # type: ignore[misc, valid-type]
        def __init__(self, names, ctx):
            forks.append(names)
            super().__init__(names, ctx)

    monkeypatch.setattr(gate_module, "_ForkedMetrics", Counted)
    forked, seen_forked = run(2)
    assert forks and set(forks[0]) <= gate_module._FORKED_METRICS and len(forks[0]) >= 5
    assert forked == serial and seen_forked == seen_serial


def test_gate_computes_the_forked_metrics_in_process_when_the_child_fails(small_frame, small_schema_dict,
                                                                          monkeypatch, caplog):
    import json
    import os

    import synthstruct.release.gate as gate_module
    from synthstruct.release.policy import load_policy
    from synthstruct.schema.check import coerce_to_schema

    schema = schema_from_dict(small_schema_dict)
    frame = coerce_to_schema(small_frame, schema)
    train, holdout = frame.iloc[:300].reset_index(drop=True), frame.iloc[300:].reset_index(drop=True)
    synthetic = frame.sample(300, replace=True, random_state=1).reset_index(drop=True)
    policy, _ = load_policy("default")

    def run() -> str:
        report = gate_module.ReleaseGate(policy).evaluate(train=train, synthetic=synthetic, schema=schema,
                                                          holdout=holdout, seed=3)
        return json.dumps({k: v.to_dict() for k, v in report.metrics.items()}, sort_keys=True, default=str)

    monkeypatch.setenv("SYNTHSTRUCT_GATE_FORK", "0")
    expected = run()
    monkeypatch.setenv("SYNTHSTRUCT_GATE_FORK", "1")
    monkeypatch.setattr(gate_module, "FORK_MIN_ROWS", 0)
    parent, real_compute = os.getpid(), gate_module._compute_all
    monkeypatch.setattr(gate_module, "_compute_all", lambda names, ctx: os._exit(3) if os.getpid() != parent
                        else real_compute(names, ctx))  # the child dies, sending nothing
    with caplog.at_level("WARNING", logger="synthstruct._fork"):
        assert run() == expected
    assert "gate-metrics: the child process failed; computing in process" in caplog.text


@pytest.fixture
def patients_csv(tmp_path, small_frame, small_schema_dict):
    import yaml

    data = tmp_path / "in" / "patients.csv"
    data.parent.mkdir()
    small_frame.to_csv(data, index=False)
    schema = tmp_path / "in" / "patients.yaml"
    schema.write_text(yaml.safe_dump(small_schema_dict))
    return data, schema


def test_data_written_during_the_gate_is_released_only_when_it_passes(tmp_path, patients_csv, monkeypatch):
    import synthstruct.release.pipeline as pipeline

    data, schema = patients_csv
    folders: list[Path] = []
    original = pipeline._write_data

    def spy(synthetic, schema_obj, columns, folder, **kwargs):
        folders.append(folder)
        original(synthetic, schema_obj, columns, folder, **kwargs)

    monkeypatch.setattr(pipeline, "_write_data", spy)
    passed = pipeline.release(data, schema=schema, output=tmp_path / "out" / "ok", seed=3, policy="lenient")
    assert passed.passed and folders and folders[0].parent == tmp_path / "out"
    assert sorted(p.name for p in (tmp_path / "out" / "ok" / "data").iterdir()) == ["patients.csv", "patients.parquet"]

    def leak(synthetic, train):  # every synthetic row a training row: the strict gate blocks
        return train.sample(n=len(synthetic), replace=True, random_state=0).reset_index(drop=True)

    blocked = pipeline.release(data, schema=schema, output=tmp_path / "out" / "no", seed=1, policy="strict",
                               synthetic_hook=leak)
    assert not blocked.passed and len(folders) == 2
    assert not (tmp_path / "out" / "no" / "data").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["no", "ok"]  # no staging folder is left


def test_a_failed_data_write_fails_the_release_and_leaves_nothing(tmp_path, patients_csv, monkeypatch):
    import synthstruct.release.pipeline as pipeline
    from synthstruct.errors import FileAccessError

    data, schema = patients_csv

    def broken(frame, path, **kwargs):
        raise FileAccessError("disk full", [], source=str(path))

    monkeypatch.setattr(pipeline, "write_table", broken)
    with pytest.raises(FileAccessError):
        pipeline.release(data, schema=schema, output=tmp_path / "out" / "bundle", seed=3, policy="lenient")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())



def test_text_scanning_metrics_never_run_at_the_same_time(small_schema_dict, monkeypatch):
    import threading
    import time
    from types import SimpleNamespace

    import synthstruct.release.gate as gate_module
    from synthstruct.evaluation.metric import MetricResult
    from synthstruct.release.policy import load_policy

    policy, _ = load_policy("default")
    text_metrics = [n for n in policy.metric_names() if n in gate_module._ONE_AT_A_TIME]
    assert len(text_metrics) >= 2
    lock = threading.Lock()

    def most_at_once() -> int:
        active, most = [0], [0]

        def fake(name):
            def compute(ctx):
                if name in text_metrics:
                    with lock:
                        active[0] += 1
                        most[0] = max(most[0], active[0])
                    time.sleep(0.3)
                    with lock:
                        active[0] -= 1
                return MetricResult(name, "privacy", "minimize", None)
            return compute

        monkeypatch.setattr(gate_module, "METRICS", SimpleNamespace(get=fake))
        frame = pd.DataFrame({"a": [1, 2]})
        gate_module.ReleaseGate(policy).evaluate(train=frame, synthetic=frame, schema=schema_from_dict(small_schema_dict))
        return most[0]

    assert most_at_once() == 1
    monkeypatch.setattr(gate_module, "_ONE_AT_A_TIME", frozenset())  # the control: without the lock they overlap
    assert most_at_once() == 2


# ------------------------------------------------------------------ load-stage fast paths (issue 16, 1M rows)
def test_py_whitespace_is_exactly_what_str_strip_removes():
    from synthstruct.schema.values import PY_WHITESPACE

    assert PY_WHITESPACE == "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


def _cell_by_cell(monkeypatch):
    """Switch the per-distinct paths off (``text_codes`` finds nothing; nothing is "large")."""
    import synthstruct.schema.check as check
    import synthstruct.schema.values as values

    monkeypatch.setattr(values, "text_codes", lambda series: None)
    monkeypatch.setattr(check, "_HEAD", 10**12)


NUMBER_TEXTS = ["$1,234.50", " $3.10 ", "$ 12", "-$5", "$-5", "1e3", "", " ", "abc", "$1,2,3", "\x1c$7\x85",
                "\u0661\u0662", "$1 000", "nan", "inf", "$", None, np.nan, "12,50 €", "1.234,5 €", "45%"]


@pytest.mark.parametrize("fmt", [NumberFormat(prefix="$", thousands=","), NumberFormat(suffix=" €", thousands=".",
                                 decimal=","), NumberFormat(suffix="%"), NumberFormat(prefix="$ ", thousands=" ")])
def test_parse_numbers_per_distinct_text_gives_the_cell_by_cell_numbers(monkeypatch, fmt):
    from synthstruct.schema.values import parse_numbers

    series = pd.Series(NUMBER_TEXTS * 600, dtype=object, name="amount")
    fast = parse_numbers(series, fmt)
    _cell_by_cell(monkeypatch)
    pd.testing.assert_series_equal(fast, parse_numbers(series, fmt))
    assert fast.notna().sum() > 0


@pytest.mark.parametrize(("values", "spelling"), [
    (["yes", "no", " Yes", "N", "1", "0", "1.0", "x", None, np.nan, "TRUE"], ("yes", "no")),
    (["Y", "N", "y", " n ", None], None),
    ([1, 0, 1], (1, 0)),
    ([1, 0, 2], None),
])
def test_to_bool_per_distinct_value_gives_the_cell_by_cell_flags(monkeypatch, values, spelling):
    from synthstruct.schema.check import to_bool

    series = pd.Series(values * 5000, dtype=object if isinstance(values[0], str) else None)
    fast, fast_bad = to_bool(series, spelling)
    _cell_by_cell(monkeypatch)
    slow, slow_bad = to_bool(series, spelling)
    pd.testing.assert_series_equal(fast, slow)
    assert fast_bad == slow_bad


@pytest.mark.parametrize(("values", "fmt"), [
    (["2020-01-02", "0001-01-01", "9999-12-31", "bad", None, "2020-13-01"], "%Y-%m-%d"),  # wide dates in seconds
    (["2020-01-02 10:00:00+01:00", "2020-01-03 10:00:00+01:00", None], None),  # one offset: tz-aware
    ([None, np.nan], "%Y"),  # nothing to parse
    (["2020-01-02", "2021-05-06"], None),
])
def test_datetimes_per_distinct_text_give_the_cell_by_cell_values(monkeypatch, values, fmt):
    from synthstruct.schema.check import _parse_datetimes

    series = pd.Series(values * 6000, dtype=object, name="d")  # > _HEAD rows: the fast path
    fast = _parse_datetimes(series, fmt)
    _cell_by_cell(monkeypatch)
    pd.testing.assert_series_equal(fast, _parse_datetimes(series, fmt))


def test_arrow_typing_matches_pandas_typing_on_every_kind_of_column(tmp_path, monkeypatch):
    import synthstruct.dataio as dataio

    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame({
        "int": rng.integers(0, 50, n).astype(str), "float_gaps": np.where(rng.random(n) < 0.1, "", "2.5"),
        "zip": rng.choice(["02134", "10001"], n), "flag": rng.choice(["True", "False"], n),
        "flag_gaps": rng.choice(["True", "False", ""], n), "long": rng.choice(["12345678901234567890", "7"], n),
        "empty": [""] * n, "text": rng.choice(["x y", "NA", "z"], n), "money": rng.choice(["$1,200.50", "$3"], n)})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    monkeypatch.setattr(dataio, "ARROW_CSV_MIN_BYTES", 1 << 62)
    expected = dataio.read_table(path)
    monkeypatch.setattr(dataio, "ARROW_CSV_MIN_BYTES", 0)
    got = dataio.read_table(path)
    pd.testing.assert_frame_equal(got, expected)
    assert got["int"].dtype == np.int64 and got["zip"].dtype == object and got["flag"].dtype == bool


def _joint_codes_reference(frames, name):
    from synthstruct.schema.check import category_keys

    keys = [category_keys(f[name]).fillna("\u0000missing") for f in frames]
    codes, _ = pd.factorize(pd.concat(keys, ignore_index=True))
    bounds = np.cumsum([0] + [len(f) for f in frames])
    return [codes[bounds[i]:bounds[i + 1]].astype(np.int64) for i in range(len(frames))]


@pytest.mark.parametrize("columns", [
    [["b", None, "a", " 2.0", "b"], ["a", "c", None], [None, None]],  # missing first, in the middle, only
    [["x", "y"], [], ["y", "\u0000missing", None]],  # an empty frame; a value spelled like the missing key
    [[None, "1", "1.0"], ["2", "1"], ["1"]],  # texts that key alike
    [[3.0, np.nan, -0.0, 0.0], [1.0, 3.0], [np.nan]],  # floats (not object): factorised by value
    [[1, "1", True], ["x"], [None]],  # mixed types: cell by cell
])
def test_singling_out_joint_codes_equal_factorising_every_row(columns):
    from synthstruct.privacy.attacks import _column_codes

    frames = [pd.DataFrame({"c": pd.Series(values, dtype=object if any(isinstance(v, str) for v in values)
                                           or not values else None)}) for values in columns]
    got = _column_codes(frames, "c", None)
    expected = _joint_codes_reference(frames, "c")
    assert [g.tolist() for g in got] == [e.tolist() for e in expected]


@pytest.mark.parametrize(("synthetic", "train"), [
    (pd.Series([" Ann ", "ann", None, "BO", "bo ", "Cy"], dtype=object), pd.Series(["ANN", "bo", None], dtype=object)),
    (pd.Series([1, 2, 3, 2, 5]), pd.Series([2, 5, 7])),
    (pd.Series([1.0, -0.0, np.nan]), pd.Series([0.0])),  # floats: cell by cell
    (pd.Series([1, "1", True], dtype=object), pd.Series(["1"], dtype=object)),  # mixed: cell by cell
    (pd.Series([None, None], dtype=object), pd.Series(["a"], dtype=object)),
    # Python ints in object columns (generated ids) against integer and text train columns
    (pd.Series([1, 22, None, 22, 10**12, -3], dtype=object), pd.Series([22, -3, 5, 10**12])),
    (pd.Series([1, 22, 22, 2**70], dtype=object), pd.Series([22, 2**70], dtype=object)),  # beyond int64
    (pd.Series([7, 8, 8], dtype=object), pd.Series(["8", " 7", "x"], dtype=object)),
    (pd.Series([1, True, 2], dtype=object), pd.Series([1, 2])),
    (pd.Series(np.array([1, 2**63 + 5], dtype=np.uint64)), pd.Series([2**63 + 5], dtype=object)),
    (pd.Series([], dtype=object), pd.Series([1, 2])),
])
def test_pii_replay_counts_by_distinct_value_equal_the_cell_by_cell_counts(synthetic, train):
    from synthstruct.privacy.metrics import _normalised, _replayed

    normal = synthetic[synthetic.notna()].astype(str).str.strip().str.casefold()
    hit = normal.isin(set(train[train.notna()].astype(str).str.strip().str.casefold()))
    expected = {"synthetic_values": len(normal), "replayed": int(hit.sum()), "distinct_replayed": int(normal[hit].nunique())}
    assert _replayed(synthetic, train) == expected
    assert _normalised(synthetic).tolist() == normal.tolist()


@pytest.mark.parametrize(("n", "max_rows"), [(500, 100), (500, 1000), (50, 50)])
def test_utility_rows_by_position_equal_sampling_the_labelled_copy(n, max_rows):
    from synthstruct.evaluation.utility import _cap_rows, _labelled_rows

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"y": np.where(rng.random(n) < 0.2, None, rng.choice(["a", "b"], n)), "x": rng.random(n)},
                         index=rng.permutation(n) + 1000)
    expected = _cap_rows(frame[frame["y"].notna()], max_rows, 7)
    got, labelled = _labelled_rows(frame, "y", max_rows, 7)
    pd.testing.assert_frame_equal(got, expected)
    assert labelled == int(frame["y"].notna().sum())
    full = frame.assign(y="a")
    pd.testing.assert_frame_equal(_labelled_rows(full, "y", max_rows, 7)[0], _cap_rows(full, max_rows, 7))


def test_replay_guard_answers_from_values_in_process_and_saves_only_digests():
    import copy
    import json
    import pickle

    values = pd.Series([" Ann  LEE", "bo", None, 7, "bo"], dtype=object)
    guard = ReplayGuard.from_values(values, "PERSON")
    assert len(guard) == 3 and guard._plain is not None
    answers = {v: guard.contains(v) for v in ["ann lee", "BO", "7", 7, "cy", 8]}
    assert answers == {"ann lee": True, "BO": True, "7": True, 7: True, "cy": False, 8: False}
    guard.add(pd.Series(["Cy"]))
    assert guard.contains("cy") and len(guard) == 4
    # pickles and copies carry the digests only, and answer the same
    for clone in (pickle.loads(pickle.dumps(guard)), copy.deepcopy(guard)):  # noqa: S301 - our own bytes
        assert clone._plain is None and len(clone) == 4
        assert guard._plain is not None  # the original keeps answering from its values
        assert all(clone.contains(v) == guard.contains(v) for v in [*answers, "Cy", "dee"])
    guard.add(pd.Series(["Dee"]))  # after the digests exist: both forms stay complete
    assert pickle.loads(pickle.dumps(guard)).contains("dee") and guard.contains("dee")  # noqa: S301
    state = ReplayGuard.from_values(values, "PERSON").to_state()
    assert "bo" not in json.dumps(state) and len(state["digests"]) == 3
    expected = {hmac.new(guard._key, bytes.fromhex(state["salt"]) + t.encode(), hashlib.sha256).digest()[:16].hex()
                for t in ("ann lee", "bo", "7")}
    assert set(state["digests"]) == expected
    loaded = ReplayGuard.from_state(state)
    assert loaded.contains("ANN LEE") and not loaded.contains("cy")


@pytest.mark.parametrize("series", [
    pd.Series([" Ann ", "ann", "Bo", None, "bo", "Cy", "Ann"], dtype=object),
    pd.Series([5, 7, 5, 5, -3]),
    pd.Series([1, True, "1", 1.0, None], dtype=object),  # mixed: told apart by type
    pd.Series([2.0, -0.0, 0.0, np.nan]),
    pd.Series([True, False, True]),
])
@pytest.mark.parametrize("entity", [None, "US_SSN"])
def test_pii_fit_counts_per_normalised_text_like_the_cell_by_cell_way(series, entity):
    from collections import Counter

    from synthstruct.synthesizers.pii import _counts_per_text

    valid = series.dropna()
    expected = Counter(normalise(v, entity) for v in valid.tolist())
    assert _counts_per_text(valid, entity) == dict(expected)


@pytest.mark.parametrize("sub", [
    pd.DataFrame({"a": ["x", "y", "x", None, "x"], "b": ["p", "q", "p", "p", "q"]}),
    pd.DataFrame({"a": [1, 2, 1, 1], "b": [True, False, True, True]}),
    pd.DataFrame({"a": [1.0, -0.0, 0.0, 1.0], "b": ["p", "q", "q", "p"]}),  # floats: row by row
    pd.DataFrame({"a": pd.Series([], dtype=object), "b": pd.Series([], dtype=object)}),
])
def test_seen_combination_counts_match_counting_rows(sub):
    from collections import Counter

    from synthstruct.synthesizers.table import _combination_counts

    expected = Counter(tuple(str(v) for v in row) for row in sub.dropna().itertuples(index=False))
    assert _combination_counts(sub) == dict(expected)


@pytest.mark.parametrize("wide", [False, True])
def test_distinct_combinations_in_the_order_and_positions_of_unique_rows(wide):
    from synthstruct.synthesizers.table import _distinct_combinations

    rng = np.random.default_rng(3)
    n_columns = 40 if wide else 3  # 40 columns of 5 levels: 6**40 keys overflow int64 (the row-wise path)
    sub = pd.DataFrame({f"c{j}": rng.choice(["a", "b", "c", "d", "e"], size=300) for j in range(n_columns)})
    sub.iloc[::17, 0] = None  # a missing value codes as -1
    codes = np.stack([pd.factorize(sub[c])[0] for c in sub], axis=1)
    rows, inverse, counts = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    labels = [[str(v) for v in pd.factorize(sub[c])[1]] for c in sub]
    texts, got_inverse, got_counts = _distinct_combinations(sub)
    assert texts == [tuple(labels[j][c] for j, c in enumerate(row)) for row in rows.tolist()]
    assert np.array_equal(got_inverse, inverse.ravel()) and np.array_equal(got_counts, counts)


@pytest.mark.parametrize("series", [
    pd.Series([" Ann ", "ann", "Bo", None, "bo"], dtype=object), pd.Series([5, 7, 5, -3]), pd.Series([5, 0, 12]),
    pd.Series([1, True, "1", 1.0, None], dtype=object), pd.Series([2.0, -0.0, np.nan]),
    pd.Series([True, False, None], dtype="boolean")])
@pytest.mark.parametrize("entity", [None, "US_SSN"])
def test_guard_texts_equal_normalising_every_cell(series, entity):
    guard = ReplayGuard(b"s" * 16, set(), entity, key=b"k" * 32)
    assert guard._texts(series) == {normalise(v, entity) for v in series.dropna().tolist()}


@pytest.mark.parametrize("texts", [
    [str(i) for i in range(300)], [f"{i:05d}" for i in range(300)], ["12345678901234567890", "5"] * 150,
    [f"{i}.5" for i in range(300)], ["Infinity", "-inf", "1e5", " +7 ", "0.5", "0e1"] * 50,
    ["True", "False", "true"] * 100, ["x", "1", "2"] * 100, [f"a{i}" for i in range(300)], ["", "1"] * 150,
    ["\u0661\u0662", "1"] * 150,
])
@pytest.mark.parametrize("gaps", [False, True])
def test_typing_distinct_texts_with_arrow_matches_pandas(monkeypatch, texts, gaps):
    import synthstruct.schema.values as values

    distinct = np.array(list(dict.fromkeys(texts)), dtype=object)
    codes = np.arange(len(distinct)).repeat(2)
    if gaps:
        codes[::7] = -1
    monkeypatch.setattr(values, "_ARROW_TYPING_MIN", 0)
    fast = values.typed_from_codes(codes, distinct)
    monkeypatch.setattr(values, "_ARROW_TYPING_MIN", 10**12)
    slow = values.typed_from_codes(codes, distinct)
    if slow is None:
        assert fast is None
    else:
        assert fast is not None and fast.dtype == slow.dtype
        pd.testing.assert_series_equal(pd.Series(fast), pd.Series(slow))


@pytest.mark.parametrize("texts", [[f"v{i}" for i in range(20_001)], [f"v{i}" for i in range(20_000)] + [" v"],
                                   [f"v{i}" for i in range(20_000)] + ["v "], ["a", " b"], ["a", "b"]])
def test_spaced_ends_with_arrow_matches_pandas(texts):
    from synthstruct.schema.infer import _spaced_ends

    index = pd.Index(texts, dtype=object)
    assert _spaced_ends(index) == bool(index.str.endswith(" ").any() or index.str.startswith(" ").any())


def test_sanity_problems_flag_mixed_object_columns_only():
    from synthstruct.schema.check import sanity_problems

    frame = pd.DataFrame({"mixed": pd.Series([1, "a", None], dtype=object), "text": ["a", "b", None],
                          "empty": pd.Series([None, np.nan, None], dtype=object), "n": [1.0, np.nan, 2.0],
                          "ints_as_objects": pd.Series([1, 2.5, None], dtype=object)})
    problems = sanity_problems(frame)
    assert [p.location for p in problems] == ["column 'mixed'"]
    numeric_text = pd.DataFrame({"code": [str(i) for i in range(99)] + ["x"]})
    found = sanity_problems(numeric_text, numeric_text=True)
    assert len(found) == 1 and "1 non-numeric" in found[0].message


def test_structure_error_wins_over_the_parse_started_beside_it(tmp_path, monkeypatch):
    import threading

    import synthstruct.dataio as dataio
    from synthstruct.errors import DataFileError

    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n6,7,8,9\n", encoding="utf-8")
    monkeypatch.setattr(dataio, "ARROW_CSV_MIN_BYTES", 0)  # the Arrow parse starts before the structure scan
    with pytest.raises(DataFileError, match="different number of fields"):
        dataio.read_table(path)
    assert not [t for t in threading.enumerate() if t.name.startswith("csv-parse") and t.is_alive()]


@pytest.mark.parametrize("series", SERIES + [pd.Series(pd.Categorical(["x", None], categories=["x", "y", "z"])),
                                             pd.Series([None, np.nan, "a", "a"], dtype=object)])
def test_shared_counts_give_each_metric_its_own_counts(series):
    """column shapes, coverage and rare-category replay count a column once (``raw_counts``) and derive what
    each counted before: the same labels, coverage texts and rare values."""
    from synthstruct.evaluation.coverage import _text_counts
    from synthstruct.evaluation.fidelity import present_counts

    raw = series.value_counts(dropna=False, sort=False)
    pd.testing.assert_series_equal(label_counts(series, raw), label_counts(series))
    pd.testing.assert_series_equal(_text_counts(series, present_counts(raw)), _text_counts(series))
    direct = series.value_counts(dropna=True)
    assert dict(present_counts(raw)) == dict(direct)
