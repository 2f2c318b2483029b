"""The hostile-input suite: one row per case, every verb, in-process (typer's CliRunner).

Each case writes its inputs into a fresh folder, runs one command and checks:

* no traceback (the CLI raised nothing but ``SystemExit``) and the expected exit code;
* the expected words in the message (file, line or column, problem, fix);
* the planted secret appears nowhere: not in stdout/stderr, not in any file the run wrote;
* no files left behind (a failed run leaves the folder exactly as it found it; a successful run
  adds only the outputs it names).

Totals over the suite are printed by ``tests/hostile/summary.py`` (docs/file-safety.md). Fault tests
that need a real process (SIGKILL, SIGINT, concurrent runs, offline) are in ``test_faults.py``.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from synthstruct.cli import app

SECRET = "Qx7-SECRET-9931"  # planted in offending cells and header cells; must never be shown or written
ROOT = Path(__file__).resolve().parents[2]
BAD_DATA_VERBS = ("release", "fit", "infer", "scan", "audit", "balance")


# --------------------------------------------------------------------------- inputs
def frame(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({
        "pid": [f"P-{i:04d}" for i in range(n)],
        "age": rng.integers(20, 80, n),
        "city": rng.choice(["north", "south", "east"], n),
        "visit": pd.date_range("2021-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
    })


SCHEMA = {"schema_version": 1, "name": "t", "primary_key": "pid", "columns": {
    "pid": {"kind": "id", "pattern": "P-####"}, "age": {"kind": "numerical", "dtype": "int"},
    "city": {"kind": "categorical"}, "visit": {"kind": "datetime", "format": "%Y-%m-%d"}}}


def good_csv(d: Path, name: str = "good.csv") -> Path:
    path = d / name
    frame().to_csv(path, index=False)
    return path


def text_file(name: str, text: str, encoding: str = "utf-8") -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        path = d / name
        path.write_bytes(text.encode(encoding))
        return path
    return make


def bytes_file(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        path = d / name
        path.write_bytes(data)
        return path
    return make


def _csv_text(f: pd.DataFrame, header: bool = True) -> str:
    return f.to_csv(index=False, header=header, lineterminator="\n")


def _headerless(d: Path) -> Path:
    f = frame()
    f.loc[0, "city"] = SECRET
    return text_file("data.csv", _csv_text(f, header=False))(d)


def _dup_header(d: Path) -> Path:
    return text_file("data.csv", f"{SECRET},age,{SECRET}\n1,2,3\n4,5,6\n7,8,9\n")(d)


def _empty_name(d: Path) -> Path:
    text = _csv_text(frame()).replace("pid,age,city,visit", "pid,age,,visit", 1)
    return text_file("data.csv", text)(d)


def _mixed_delimiters(d: Path) -> Path:
    lines = _csv_text(frame()).splitlines()
    lines = [ln.replace(",", ";") if i % 3 == 2 else ln for i, ln in enumerate(lines)]
    lines[5] = lines[5].replace("north", SECRET).replace("south", SECRET).replace("east", SECRET)
    return text_file("data.csv", "\n".join(lines) + "\n")(d)


def _ragged_short(d: Path) -> Path:
    lines = _csv_text(frame()).splitlines()
    lines[7] = lines[7].rsplit(",", 1)[0] + SECRET[:0]
    lines[9] = f"P-9999,{SECRET}"
    return text_file("data.csv", "\n".join(lines) + "\n")(d)


def _ragged_long(d: Path) -> Path:
    lines = _csv_text(frame()).splitlines()
    lines[4] += f",{SECRET}"
    return text_file("data.csv", "\n".join(lines) + "\n")(d)


def _unbalanced_quote(d: Path) -> Path:
    lines = _csv_text(frame()).splitlines()
    lines[3] = lines[3].replace("P-", f'"{SECRET} P-', 1)
    return text_file("data.csv", "\n".join(lines) + "\n")(d)


def _huge_cell(d: Path) -> Path:
    f = frame().astype({"city": object})
    f.loc[2, "city"] = SECRET + "x" * (2 << 20)
    return text_file("data.csv", _csv_text(f))(d)


def _five_mb_cell(d: Path) -> Path:
    f = frame().astype({"city": object})
    f.loc[2, "city"] = ("y" * (5 << 20)) + SECRET
    return text_file("data.csv", _csv_text(f))(d)


def _too_wide(d: Path) -> Path:
    rng = np.random.default_rng(0)
    f = pd.DataFrame(rng.normal(size=(30, 501)).round(2), columns=[f"c{i}" for i in range(501)])
    return text_file("data.csv", _csv_text(f))(d)


def _utf16(bom: bool) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        data = _csv_text(frame()).replace("north", SECRET).encode("utf-16" if bom else "utf-16-le")
        return bytes_file("data.csv", data)(d)
    return make


def _latin1(d: Path) -> Path:
    text = _csv_text(frame()).replace("north", f"{SECRET}é", 1)
    return text_file("data.csv", text, "latin-1")(d)


def _binary_nul(d: Path) -> Path:
    rng = np.random.default_rng(7)
    return bytes_file("data.csv", b"pid,age\n" + SECRET.encode() + rng.bytes(4000) + b"\x00\x00")(d)


def _binary_high(d: Path) -> Path:
    rng = np.random.default_rng(8)
    raw = bytes(int(b) for b in rng.integers(0x80, 0xFF, 3000))
    return bytes_file("data.csv", b"a,b\n" + SECRET.encode() + b"," + raw + b"\n")(d)


def _parquet(f: pd.DataFrame, d: Path, name: str = "data.parquet") -> Path:
    path = d / name
    f.to_parquet(path, index=False)
    return path


def _parquet_truncated(d: Path) -> Path:
    f = frame().astype({"city": object})
    f.loc[0, "city"] = SECRET
    path = _parquet(f, d)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _parquet_list(d: Path) -> Path:
    f = frame()
    f["tags"] = [[SECRET, "a"]] * len(f)
    return _parquet(f, d)


def _parquet_struct(d: Path) -> Path:
    f = frame()
    f["info"] = [{"k": SECRET, "n": i} for i in range(len(f))]
    return _parquet(f, d)


def _parquet_binary(d: Path) -> Path:
    f = frame()
    f["blob"] = [SECRET.encode() + bytes([i]) for i in range(len(f))]
    return _parquet(f, d)


def _missing(d: Path) -> Path:
    return d / "nope.csv"


def _directory(d: Path) -> Path:
    (d / "adir.csv").mkdir()
    return d / "adir.csv"


BAD_DATA: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "empty file": (text_file("data.csv", ""), ("empty",)),
    "blank lines only": (text_file("data.csv", "\n\n\n"), ("empty",)),
    "header only": (text_file("data.csv", "pid,age,city,visit\n"), ("no data rows",)),
    "missing file": (_missing, ("not found",)),
    "directory": (_directory, ("directory",)),
    "xlsx": (bytes_file("data.xlsx", b"PK\x03\x04" + SECRET.encode()), ("unsupported file format",)),
    "binary garbage (NUL)": (_binary_nul, ("binary",)),
    "binary garbage (high bytes)": (_binary_high, ("UTF-8", "line 2")),
    "UTF-16 with BOM": (_utf16(True), ("UTF-16",)),
    "UTF-16 without BOM": (_utf16(False), ("binary",)),
    "Latin-1": (_latin1, ("UTF-8", "line")),
    "truncated Parquet": (_parquet_truncated, ("cannot be",)),
    "garbage Parquet": (bytes_file("data.parquet", b"PAR1" + SECRET.encode() * 50), ("cannot be",)),
    "Parquet list column": (_parquet_list, ("nested", "column 5", "flatten")),
    "Parquet struct column": (_parquet_struct, ("nested", "column 5")),
    "Parquet binary column": (_parquet_binary, ("binary", "column 5")),
    "header-less CSV": (_headerless, ("looks like data", "header")),
    "duplicate header": (_dup_header, ("same name", "columns 1, 3")),
    "empty column name": (_empty_name, ("column 3", "no name")),
    "mixed delimiters": (_mixed_delimiters, ("67 rows have a different number of fields", "lines 3, 6, 9, 12, 15 and 62 more")),
    "ragged short rows": (_ragged_short, ("2 rows have a different number of fields", "lines 8, 10")),
    "ragged long row": (_ragged_long, ("different number of fields", "line 5")),
    "unbalanced quote": (_unbalanced_quote, ("line",)),
    "2 MiB cell": (_huge_cell, ("longer than", "line 4")),
    "5 MB cell": (_five_mb_cell, ("longer than", "line 4")),
    "501 columns": (_too_wide, ("501 columns", "at most 500")),
}


def bad_data_argv(verb: str) -> list[str]:
    return {
        "release": ["release", "{data}", "-o", "{out}"],
        "fit": ["fit", "{data}", "-o", "{out}"],
        "infer": ["infer", "{data}", "-o", "{w}/schema.yaml", "--no-pii"],
        "scan": ["scan", "{data}", "-o", "{w}/findings.json"],
        "audit": ["audit", "--real", "{good}", "--synthetic", "{data}", "-o", "{out}"],
        "balance": ["balance", "{data}", "--target", "city", "-o", "{out}"],
    }[verb]


# --------------------------------------------------------------------------- YAML
def yaml_file(name: str, text: str) -> Callable[[Path], Path]:
    return text_file(name, text)


BOMB = "\n".join(["a: &a [" + ",".join(['"x"'] * 10) + "]"] + [
    f"{c}: &{c} [" + ",".join([f"*{p}"] * 10) + "]" for p, c in zip("abcdefg", "bcdefgh")]) + "\n"
PY_TAG = '!!python/object/apply:os.system ["echo ' + SECRET + '"]\n'
POLICY_NAN = "policy_version: 1\nname: p\nchecks:\n  - {metric: exact_match, max: .nan}\n"
POLICY_INF = "policy_version: 1\nname: p\nchecks:\n  - {metric: dcr, min: -.inf}\n"
POLICY_UNKNOWN = "policy_version: 1\nname: p\nchecks:\n  - {metric: no_such_metric, max: 1}\n"
POLICY_EXTRA = "policy_version: 1\nname: p\nbackdoor: true\nchecks:\n  - {metric: exact_match, max: 1}\n"


def gen_schema(expr: str) -> str:
    return yaml.safe_dump({"schema_version": 1, "name": "g", "columns": {
        "a": {"kind": "numerical", "dtype": "float", "min": 0, "max": 10,
              "prior": {"distribution": "uniform", "low": 0, "high": 10}},
        "b": {"kind": "numerical", "dtype": "float"}},
        "rules": [{"type": "derive", "column": "b", "expr": expr}]})


FORMULA_SCHEMA = yaml.safe_dump({"schema_version": 1, "name": "f", "columns": {
    "cmd": {"kind": "categorical", "categories": ["=HYPERLINK(\"http://x\")", "+SUM(A1)", "@cmd", "-x", "-5", "ok"],
            "prior": {"=HYPERLINK(\"http://x\")": 0.2, "+SUM(A1)": 0.2, "@cmd": 0.2, "-x": 0.1, "-5": 0.1,
                      "ok": 0.2}}}})


# --------------------------------------------------------------------------- cases
@dataclass
class Case:
    """One hostile input: files to write, a command, what must come out."""

    id: str
    argv: list[str]
    files: dict[str, Callable[[Path], Path]] = field(default_factory=dict)
    exit: int | tuple[int, ...] = 2
    words: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()  # files or folders the run may add (relative to the work folder)
    needs: tuple[str, ...] = ()  # fixtures: "model", "bundle"
    patch: Callable[[pytest.MonkeyPatch], None] | None = None
    check: Callable[[Path, str], None] | None = None


def _erofs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only mount at ``<work>/ro``: creating anything in it fails with EROFS (root ignores chmod)."""
    import tempfile

    real_mkstemp, real_mkdtemp = tempfile.mkstemp, tempfile.mkdtemp

    def guard(kwargs: dict[str, Any]) -> None:
        folder = kwargs.get("dir")
        if folder is not None and Path(folder).name == "ro":
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(folder))

    def mkstemp(*args: Any, **kwargs: Any) -> Any:
        guard(kwargs)
        return real_mkstemp(*args, **kwargs)

    def mkdtemp(*args: Any, **kwargs: Any) -> Any:
        guard(kwargs)
        return real_mkdtemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)


def _enospc(monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills up while the bundle is written (after the whole run)."""
    real = Path.write_text

    def write_text(self: Path, *args: Any, **kwargs: Any) -> int:
        if self.name == "schema.yaml" and ".tmp-" in str(self):
            real(self, "partial")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)


def _mkdir(name: str) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        (d / name).mkdir()
        return d / name
    return make


def _nonempty_dir(d: Path) -> Path:
    (d / "out").mkdir()
    (d / "out" / "keep.txt").write_text("mine")
    return d / "out"


def _file_named(name: str) -> Callable[[Path], Path]:
    return text_file(name, "just a file\n")


def _nan_inf_strings(d: Path) -> Path:
    f = frame().astype({"age": object})
    f.loc[[3, 9], "age"] = ["inf", "-inf"]
    f.loc[5, "age"] = "NaN"
    return text_file("data.csv", _csv_text(f))(d)


def _traversal_names(d: Path) -> Path:
    f = frame().rename(columns={"city": "../../evil", "visit": "/etc/passwd"})
    return text_file("data.csv", _csv_text(f))(d)


def _bom_csv(d: Path) -> Path:
    return text_file("data.csv", "\ufeff" + _csv_text(frame()))(d)


def _formula_data(d: Path) -> Path:
    f = frame()
    f["city"] = np.where(np.arange(len(f)) % 2 == 0, "=HYPERLINK(\"http://x\")", "@cmd")
    return text_file("data.csv", _csv_text(f))(d)


def _symlink_victim(d: Path) -> Path:
    (d / "victim").mkdir()
    os.symlink(d / "victim", d / ".model.tmp")
    return d / "victim"


def _check_private_tree(root_name: str) -> Callable[[Path, str], None]:
    def check(w: Path, _text: str) -> None:
        root = w / root_name
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
        for p in root.rglob("*"):
            want = 0o700 if p.is_dir() else 0o600
            assert stat.S_IMODE(p.stat().st_mode) == want, p
    return check


def _check_symlink_not_followed(w: Path, text: str) -> None:
    assert not any((w / "victim").iterdir())
    _check_private_tree("model")(w, text)


def _check_formulas_escaped(relative: str, escaped: bool = True) -> Callable[[Path, str], None]:
    def check(w: Path, _text: str) -> None:
        cells = pd.read_csv(w / relative, dtype=str, keep_default_na=False).to_numpy().ravel()
        risky = [c for c in cells if c[:1] in ("=", "+", "@") or (c[:1] == "-" and not c[1:2].isdigit())]
        if escaped:
            assert not risky, "a formula cell was written unescaped"
            assert any(c.startswith("'") for c in cells)
        else:
            assert risky
    return check


def _check_manifest_signed(w: Path, _text: str) -> None:
    manifest = json.loads((w / "out" / "manifest.json").read_text())
    assert manifest["hmac"] and manifest["hmac"][0]["key"] == "machine"


def _check_nothing_outside(w: Path, _text: str) -> None:
    assert not (w.parent / "evil").exists() and not (w / "evil").exists()
    assert all(p.resolve().is_relative_to(w.resolve()) for p in (w / "out").rglob("*"))


def _check_private_and_signed(w: Path, text: str) -> None:
    _check_private_tree("out")(w, text)
    _check_manifest_signed(w, text)


def _check_0600(name: str) -> Callable[[Path, str], None]:
    def check(w: Path, _text: str) -> None:
        assert stat.S_IMODE((w / name).stat().st_mode) == 0o600
    return check


def _check_bom_stripped(w: Path, _text: str) -> None:
    text = (w / "s.yaml").read_text()
    assert "  pid:" in text and "\ufeff" not in text


CASES: list[Case] = []

for _verb in BAD_DATA_VERBS:
    for _name, (_make, _words) in BAD_DATA.items():
        CASES.append(Case(f"{_verb}: {_name}", bad_data_argv(_verb), {"data": _make, "good": good_csv},
                          words=_words))

# release: options and files checked before work
_R = ["release", "{data}", "-o", "{out}"]
_GOOD = {"data": good_csv}
CASES += [
    Case("release: -n 0", _R + ["-n", "0"], _GOOD, words=("rows",)),
    Case("release: -n -5", _R + ["-n", "-5"], _GOOD, words=("rows",)),
    Case("release: -n 10**13 (memory)", _R + ["-n", str(10**13)], _GOOD, words=("memory", "--rows")),
    Case("release: -o parent is a file", ["release", "{data}", "-o", "{w}/afile/out"],
         {**_GOOD, "afile": _file_named("afile")}, words=("afile", "is a file")),
    Case("release: -o is a file", ["release", "{data}", "-o", "{w}/afile"], {**_GOOD, "afile": _file_named("afile")},
         words=("not a directory",)),
    Case("release: -o non-empty without --overwrite", _R, {**_GOOD, "out": _nonempty_dir}, words=("--overwrite",)),
    Case("release: read-only output folder", ["release", "{data}", "-o", "{w}/ro/out"],
         {**_GOOD, "ro": _mkdir("ro")}, words=("read-only",), patch=_erofs),
    Case("release: disk full while writing", _R + ["--policy", "lenient"], _GOOD, words=("no space left",),
         patch=_enospc),
    Case("release: --policy binary file", _R + ["--policy", "{pol}"],
         {**_GOOD, "pol": bytes_file("pol.yaml", b"\x00\x01\xff" + SECRET.encode())}, words=("binary",)),
    Case("release: --policy not UTF-8", _R + ["--policy", "{pol}"],
         {**_GOOD, "pol": bytes_file("pol.yaml", b"name: \xff\xfe" + SECRET.encode())}, words=("UTF-8",)),
    Case("release: --policy min .nan", _R + ["--policy", "{pol}"], {**_GOOD, "pol": yaml_file("p.yaml", POLICY_NAN)},
         words=("finite", "checks.0.max")),
    Case("release: --policy -.inf", _R + ["--policy", "{pol}"], {**_GOOD, "pol": yaml_file("p.yaml", POLICY_INF)},
         words=("finite",)),
    Case("release: --policy YAML bomb", _R + ["--policy", "{pol}"], {**_GOOD, "pol": yaml_file("p.yaml", BOMB)},
         words=("bomb",)),
    Case("release: --policy !!python tag", _R + ["--policy", "{pol}"], {**_GOOD, "pol": yaml_file("p.yaml", PY_TAG)},
         words=("tag", "line 1")),
    Case("release: --policy unknown metric", _R + ["--policy", "{pol}"],
         {**_GOOD, "pol": yaml_file("p.yaml", POLICY_UNKNOWN)}, words=("unknown metric",)),
    Case("release: --policy extra key", _R + ["--policy", "{pol}"], {**_GOOD, "pol": yaml_file("p.yaml", POLICY_EXTRA)},
         words=("backdoor",)),
    Case("release: --policy missing", _R + ["--policy", "{w}/none.yaml"], _GOOD, words=("not found",)),
    Case("release: --policy syntax error", _R + ["--policy", "{pol}"],
         {**_GOOD, "pol": yaml_file("p.yaml", "a: [1, 2\nb: {")}, words=("line",)),
    Case("release: --schema binary", _R + ["--schema", "{s}"],
         {**_GOOD, "s": bytes_file("s.yaml", b"\x00" + SECRET.encode())}, words=("binary",)),
    Case("release: --schema YAML bomb", _R + ["--schema", "{s}"], {**_GOOD, "s": yaml_file("s.yaml", BOMB)},
         words=("bomb",)),
    Case("release: --schema !!python tag", _R + ["--schema", "{s}"], {**_GOOD, "s": yaml_file("s.yaml", PY_TAG)},
         words=("tag",)),
    Case("release: --schema missing", _R + ["--schema", "{w}/none.yaml"], _GOOD, words=("not found",)),
    Case("release: --engine unknown", _R + ["--engine", "nope"], _GOOD, words=("engine",)),
    Case("release: --epochs 0", _R + ["--epochs", "0"], _GOOD, words=("epochs",)),
    Case("release: NaN/inf strings in a numeric column", _R + ["--schema", "{s}"],
         {"data": _nan_inf_strings, "s": yaml_file("s.yaml", yaml.safe_dump(SCHEMA))},
         words=("'age'", "infinite", "data rows 4, 10")),
    Case("release: path-traversal column names", _R + ["--policy", "lenient"], {"data": _traversal_names},
         exit=(0, 1), outputs=("out",), check=_check_nothing_outside),
    Case("release: UTF-8 BOM is read", _R + ["--policy", "lenient"], {"data": _bom_csv}, exit=(0, 1),
         outputs=("out",), check=_check_private_tree("out")),
    Case("release: bundle files private and manifest signed", _R + ["--policy", "lenient"], _GOOD, exit=0,
         outputs=("out",), check=lambda w, t: (_check_private_tree("out")(w, t), _check_manifest_signed(w, t))
         and None),
    Case("release: CSV formulas escaped", _R + ["--policy", "lenient"], {"data": _formula_data}, exit=0,
         outputs=("out",), check=_check_formulas_escaped("out/data/data.csv")),
    Case("release: --no-escape-formulas keeps formulas", _R + ["--policy", "lenient", "--no-escape-formulas"],
         {"data": _formula_data}, exit=0, outputs=("out",),
         check=_check_formulas_escaped("out/data/data.csv", escaped=False)),
]

# fit
_F = ["fit", "{data}", "-o", "{out}"]
CASES += [
    Case("fit: -o exists", _F, {**_GOOD, "out": _mkdir("out")}, words=("exists",)),
    Case("fit: -o parent is a file", ["fit", "{data}", "-o", "{w}/afile/m"], {**_GOOD, "afile": _file_named("afile")},
         words=("is a file",)),
    Case("fit: read-only folder", ["fit", "{data}", "-o", "{w}/ro/m"], {**_GOOD, "ro": _mkdir("ro")},
         words=("read-only",), patch=_erofs),
    Case("fit: --schema YAML bomb", _F + ["--schema", "{s}"], {**_GOOD, "s": yaml_file("s.yaml", BOMB)},
         words=("bomb",)),
    Case("fit: planted symlink at the old temp path", ["fit", "{data}", "-o", "{w}/model"],
         {**_GOOD, "victim": _symlink_victim}, exit=0, outputs=("model",), check=_check_symlink_not_followed),
    Case("fit: NaN/inf strings in a numeric column", _F + ["--schema", "{s}"],
         {"data": _nan_inf_strings, "s": yaml_file("s.yaml", yaml.safe_dump(SCHEMA))},
         words=("'age'", "infinite", "data rows 4, 10")),
]

# sample (a fitted model is copied into the work folder as "model")
_S = ["sample", "{w}/model", "-o", "{w}/s.csv"]
CASES += [
    Case("sample: -n 0", ["sample", "{w}/model", "-n", "0", "-o", "{w}/s.csv"], needs=("model",), words=("rows",)),
    Case("sample: -n 10**13 (memory)", ["sample", "{w}/model", "-n", str(10**13), "-o", "{w}/s.csv"],
         needs=("model",), words=("memory", "--rows")),
    Case("sample: -o into a missing folder", ["sample", "{w}/model", "-n", "5", "-o", "{w}/no/such/s.csv"],
         needs=("model",), words=("does not exist",)),
    Case("sample: -o parent is a file", ["sample", "{w}/model", "-n", "5", "-o", "{w}/afile/s.csv"],
         {"afile": _file_named("afile")}, needs=("model",), words=("is a file",)),
    Case("sample: -o existing without --overwrite", ["sample", "{w}/model", "-n", "5", "-o", "{w}/s.csv"],
         {"s": text_file("s.csv", "keep me\n")}, needs=("model",), words=("exists", "--overwrite")),
    Case("sample: -o existing with --overwrite", ["sample", "{w}/model", "-n", "5", "-o", "{w}/s.csv", "--overwrite"],
         {"s": text_file("s.csv", "old\n")}, needs=("model",), exit=0, outputs=("s.csv",)),
    Case("sample: -o is a folder", ["sample", "{w}/model", "-n", "5", "-o", "{w}/d"], {"d": _mkdir("d")},
         needs=("model",), words=("folder",)),
    Case("sample: -o unsupported suffix", ["sample", "{w}/model", "-n", "5", "-o", "{w}/s.txt"], needs=("model",),
         words=("unsupported output format",)),
    Case("sample: read-only folder", ["sample", "{w}/model", "-n", "5", "-o", "{w}/ro/s.csv"], {"ro": _mkdir("ro")},
         needs=("model",), words=("read-only",), patch=_erofs),
    Case("sample: model missing", ["sample", "{w}/nomodel", "-n", "5", "-o", "{w}/s.csv"], words=("nomodel",)),
    Case("sample: model is a file", ["sample", "{w}/afile", "-n", "5", "-o", "{w}/s.csv"],
         {"afile": _file_named("afile")}, words=("afile",)),
    Case("sample: model file edited", ["sample", "{w}/model", "-n", "5", "-o", "{w}/s.csv"], needs=("model:edit",),
         words=("changed",)),
    Case("sample: model file edited and re-hashed", ["sample", "{w}/model", "-n", "5", "-o", "{w}/s.csv"],
         needs=("model:rehash",), words=("signed",)),
    Case("sample: integrity.json garbage", ["sample", "{w}/model", "-n", "5", "-o", "{w}/s.csv"],
         needs=("model:garbage",), words=("integrity",)),
    Case("sample: output 0600", ["sample", "{w}/model", "-n", "5", "-o", "{w}/s.parquet"], needs=("model",), exit=0,
         outputs=("s.parquet",), check=_check_0600("s.parquet")),
]

# generate
_G = ["generate", "{s}", "-n", "20", "-o", "{w}/g.csv"]
for _expr, _words in [
    ("1//0", ("divides by zero", "rules[0].expr")),
    ("a % 0", ("divides by zero",)),
    ("round(a, 10**20)", ("unsupported syntax",)),
    ("round(a, 100000000000000000000)", ("round()",)),
    ("a + 100000000000000000000", ("larger than",)),
    ("round(a, 1e14)", ("round()",)),
    ("'x'*99999*99999*99", ("multiplies text",)),
    ("a * 'x'", ("multiplies text",)),
    ("__import__('os').system('echo')", ("unknown function",)),
    ("a.__class__", ("unsupported syntax",)),
    ("(lambda: 1)()", ("unknown function",)),
    ("[x for x in a]", ("unsupported syntax",)),
    ("a ** 2", ("unsupported syntax",)),
    ("a if a", ("not a valid expression",)),
    ("a + " * 150 + "a", ("500 characters",)),
    ("-(" * 60 + "a" + ")" * 60, ("nested",)),
    ("__builtins__", ("does not declare",)),
]:
    CASES.append(Case(f"generate: rule {_expr[:40]!r}", _G, {"s": yaml_file("s.yaml", gen_schema(_expr))},
                      words=_words))
CASES += [
    Case("generate: -n 10**13 (memory)", ["generate", "{s}", "-n", str(10**13), "-o", "{w}/g.csv"],
         {"s": yaml_file("s.yaml", gen_schema("a + 1"))}, words=("memory",)),
    Case("generate: -o parent is a file", ["generate", "{s}", "-n", "5", "-o", "{w}/afile/g.csv"],
         {"s": yaml_file("s.yaml", gen_schema("a + 1")), "afile": _file_named("afile")}, words=("is a file",)),
    Case("generate: -o exists", _G, {"s": yaml_file("s.yaml", gen_schema("a + 1")), "g": text_file("g.csv", "x\n")},
         words=("--overwrite",)),
    Case("generate: schema YAML bomb", _G, {"s": yaml_file("s.yaml", BOMB)}, words=("bomb",)),
    Case("generate: schema !!python tag", _G, {"s": yaml_file("s.yaml", PY_TAG)}, words=("tag",)),
    Case("generate: schema binary", _G, {"s": bytes_file("s.yaml", b"\x00\x01" + SECRET.encode())}, words=("binary",)),
    Case("generate: spec YAML bomb", _G + ["--spec", "{sp}"],
         {"s": yaml_file("s.yaml", gen_schema("a + 1")), "sp": yaml_file("sp.yaml", BOMB)}, words=("bomb",)),
    Case("generate: CSV formulas escaped", ["generate", "{s}", "-n", "50", "-o", "{w}/g.csv"],
         {"s": yaml_file("s.yaml", FORMULA_SCHEMA)}, exit=0, outputs=("g.csv", "g.qc.json"),
         check=_check_formulas_escaped("g.csv")),
    Case("generate: --no-escape-formulas", ["generate", "{s}", "-n", "50", "-o", "{w}/g.csv", "--no-escape-formulas"],
         {"s": yaml_file("s.yaml", FORMULA_SCHEMA)}, exit=0, outputs=("g.csv", "g.qc.json"),
         check=_check_formulas_escaped("g.csv", escaped=False)),
]

# infer, scan
CASES += [
    Case("infer: -o into a missing folder", ["infer", "{data}", "-o", "{w}/no/s.yaml", "--no-pii"], _GOOD,
         words=("does not exist",)),
    Case("infer: NaN/inf strings", ["infer", "{data}", "--no-pii", "-o", "{w}/s.yaml"], {"data": _nan_inf_strings},
         words=("infinite", "data rows 4, 10")),
    Case("infer: path-traversal column names", ["infer", "{data}", "--no-pii", "-o", "{w}/s.yaml"],
         {"data": _traversal_names}, exit=0, outputs=("s.yaml",)),
    Case("infer: UTF-8 BOM", ["infer", "{data}", "--no-pii", "-o", "{w}/s.yaml"], {"data": _bom_csv}, exit=0,
         outputs=("s.yaml",), check=_check_bom_stripped),
    Case("scan: -o is a folder", ["scan", "{data}", "-o", "{w}/d"], {**_GOOD, "d": _mkdir("d")}, words=("folder",)),
    Case("scan: -o into a missing folder", ["scan", "{data}", "-o", "{w}/no/f.json"], _GOOD, words=("does not exist",)),
    Case("scan: recognizers YAML bomb", ["scan", "{data}", "-o", "{w}/f.json", "--recognizers", "{r}"],
         {**_GOOD, "r": yaml_file("r.yaml", BOMB)}, words=("bomb",)),
    Case("scan: recognizers !!python tag", ["scan", "{data}", "-o", "{w}/f.json", "--recognizers", "{r}"],
         {**_GOOD, "r": yaml_file("r.yaml", PY_TAG)}, words=("tag",)),
]

# audit, balance
CASES += [
    Case("audit: bad real file", ["audit", "--real", "{data}", "--synthetic", "{good}", "-o", "{out}"],
         {"data": _headerless, "good": good_csv}, words=("looks like data",)),
    Case("audit: bad holdout", ["audit", "--real", "{good}", "--synthetic", "{good}", "-H", "{data}", "-o", "{out}"],
         {"data": _ragged_long, "good": good_csv}, words=("line 5",)),
    Case("audit: --policy YAML bomb", ["audit", "--real", "{good}", "--synthetic", "{good}", "-o", "{out}", "-p", "{p}"],
         {"good": good_csv, "p": yaml_file("p.yaml", BOMB)}, words=("bomb",)),
    Case("audit: -o parent is a file", ["audit", "--real", "{good}", "--synthetic", "{good}", "-o", "{w}/afile/o"],
         {"good": good_csv, "afile": _file_named("afile")}, words=("is a file",)),
    Case("balance: unknown target", ["balance", "{data}", "--target", "nope", "-o", "{out}"], _GOOD, words=("nope",)),
    Case("balance: bad --ratio", ["balance", "{data}", "--target", "city", "--ratio", "x:y", "-o", "{out}"], _GOOD,
         words=("ratio",)),
    Case("balance: --policy .nan", ["balance", "{data}", "--target", "city", "-p", "{p}", "-o", "{out}"],
         {**_GOOD, "p": yaml_file("p.yaml", POLICY_NAN)}, words=("finite",)),
    Case("balance: -o parent is a file", ["balance", "{data}", "--target", "city", "-o", "{w}/afile/o"],
         {**_GOOD, "afile": _file_named("afile")}, words=("is a file",)),
]

# order of checks: a bad policy or output is reported before the data is read (a bad data file too)
_BAD_AND_POLICY = {"data": _binary_nul, "good": good_csv, "p": yaml_file("p.yaml", POLICY_NAN)}
CASES += [
    Case("order: release reports the policy before reading data", ["release", "{data}", "-o", "{out}", "-p", "{p}"],
         _BAD_AND_POLICY, words=("finite",)),
    Case("order: balance reports the policy before reading data",
         ["balance", "{data}", "--target", "city", "-o", "{out}", "-p", "{p}"], _BAD_AND_POLICY, words=("finite",)),
    Case("order: audit reports the policy before reading data",
         ["audit", "--real", "{data}", "--synthetic", "{data}", "-o", "{out}", "-p", "{p}"], _BAD_AND_POLICY,
         words=("finite",)),
    Case("order: release reports the output before reading data", ["release", "{data}", "-o", "{w}/afile/o"],
         {**_BAD_AND_POLICY, "afile": _file_named("afile")}, words=("is a file",)),
    Case("order: fit reports the schema before reading data", ["fit", "{data}", "-o", "{out}", "--schema", "{s}"],
         {**_BAD_AND_POLICY, "s": yaml_file("s.yaml", BOMB)}, words=("bomb",)),
    Case("order: sample reports the output before loading the model",
         ["sample", "{w}/afile", "-n", "5", "-o", "{w}/no/s.csv"], {"afile": _file_named("afile")},
         words=("does not exist",)),
]

# release-dask reads CSV through the same structure scan
CASES += [
    Case("release-dask: ragged rows", ["release-dask", "{data}", "-o", "{out}", "--cluster", "local:1"],
         {"data": _ragged_long}, words=("different number of fields", "line 5")),
]

# verify (a released bundle is copied into the work folder as "bundle")
_V = ["verify", "{w}/bundle"]
CASES += [
    Case("verify: intact bundle, signature valid", _V, needs=("bundle",), exit=0, words=("signature valid", "ok")),
    Case("verify: file changed", _V, needs=("bundle:edit",), exit=1, words=("changed",)),
    Case("verify: file changed and re-hashed", _V, needs=("bundle:rehash",), exit=1, words=("signature invalid",)),
    Case("verify: signature stripped", _V, needs=("bundle:unsigned",), exit=0, words=("unsigned",)),
    Case("verify: signature stripped, --require-signature", _V + ["--require-signature"], needs=("bundle:unsigned",),
         exit=1, words=("unsigned",)),
    Case("verify: foreign key", _V, needs=("bundle:foreign",), exit=0, words=("key not available",)),
    Case("verify: --key-file missing", _V + ["--key-file", "{w}/nokey"], needs=("bundle",), words=("nokey",)),
    Case("verify: not a folder", ["verify", "{w}/afile"], {"afile": _file_named("afile")}, words=("not a directory",)),
    Case("verify: no manifest", ["verify", "{w}/d"], {"d": _mkdir("d")}, words=("no manifest.json",)),
    Case("verify: manifest garbage", _V, needs=("bundle:garbage",), words=("not valid JSON",)),
    Case("verify: manifest binary", _V, needs=("bundle:binary",), words=("not valid JSON",)),
    Case("verify: manifest path traversal", _V, needs=("bundle:traversal",), words=("relative path",)),
    Case("verify: manifest deeply nested", _V, needs=("bundle:nested",), words=("manifest",)),
]


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def _stable_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHSTRUCT_SECRET", "hostile-suite-key")


@pytest.fixture(scope="module")
def fitted_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile-model")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYNTHSTRUCT_SECRET", "hostile-suite-key")
        mp.setenv("SYNTHSTRUCT_HOME", str(root / "home"))
        result = CliRunner().invoke(app, ["fit", str(good_csv(root)), "-o", str(root / "model"),
                                          "--schema", str(text_file("s.yaml", yaml.safe_dump(SCHEMA))(root))])
    assert result.exit_code == 0, result.output
    return root / "model"


@pytest.fixture(scope="module")
def released_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile-bundle")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYNTHSTRUCT_SECRET", "hostile-suite-key")
        mp.setenv("SYNTHSTRUCT_HOME", str(root / "home"))
        result = CliRunner().invoke(app, ["release", str(good_csv(root)), "-o", str(root / "bundle"),
                                          "--policy", "lenient"])
    assert result.exit_code in (0, 1), result.output
    return root / "bundle"


def _prepare_model(src: Path, dest: Path, how: str) -> None:
    shutil.copytree(src, dest)
    arrays = next(p for p in sorted(dest.rglob("*")) if p.is_file() and p.name != "integrity.json")
    if how == "edit":
        arrays.write_bytes(arrays.read_bytes() + b"x")
    elif how == "rehash":
        import hashlib

        arrays.write_bytes(arrays.read_bytes() + b"x")
        manifest = json.loads((dest / "integrity.json").read_text())
        rel = arrays.relative_to(dest).as_posix()
        manifest["files"][rel] = hashlib.sha256(arrays.read_bytes()).hexdigest()
        (dest / "integrity.json").write_text(json.dumps(manifest))
    elif how == "garbage":
        (dest / "integrity.json").write_bytes(b"\x00{" + SECRET.encode())


def _prepare_bundle(src: Path, dest: Path, how: str) -> None:
    import hashlib

    shutil.copytree(src, dest)
    manifest_path = dest / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    target = dest / "report.html"
    if how == "edit":
        target.write_text(target.read_text() + SECRET)
    elif how == "rehash":
        target.write_text(target.read_text() + "<!-- forged -->")
        for entry in manifest["outputs"]:
            if entry["path"] == "report.html":
                entry["sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()
                entry["bytes"] = target.stat().st_size
        manifest_path.write_text(json.dumps(manifest))
    elif how == "unsigned":
        manifest.pop("hmac", None)
        manifest_path.write_text(json.dumps(manifest))
    elif how == "foreign":
        for entry in manifest.get("hmac", []):
            entry["key_id"] = "0" * 16
        manifest_path.write_text(json.dumps(manifest))
    elif how == "garbage":
        manifest_path.write_text("{" + SECRET)
    elif how == "binary":
        manifest_path.write_bytes(b"\xff\xfe\x00" + SECRET.encode())
    elif how == "traversal":
        manifest["outputs"].append({"path": "../../etc/passwd", "sha256": "0" * 64, "bytes": 1})
        manifest_path.write_text(json.dumps(manifest))
    elif how == "nested":
        manifest_path.write_text("[" * 100_000 + "]" * 100_000)


def _snapshot(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def run_case(case: Case, tmp_path: Path, fixture: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
             ) -> dict[str, Any]:
    """Run one case; returns its outcome (what the test asserts and the summary counts)."""
    w = tmp_path / "w"
    w.mkdir(parents=True)
    values: dict[str, str] = {"w": str(w), "out": str(w / "out")}
    for key, make in case.files.items():
        values[key] = str(make(w))
    for need in case.needs:
        kind, _, how = need.partition(":")
        if kind == "model":
            _prepare_model(fixture("fitted_model"), w / "model", how)
        else:
            _prepare_bundle(fixture("released_bundle"), w / "bundle", how)
    before = _snapshot(tmp_path)
    if case.patch is not None:
        case.patch(monkeypatch)
    argv = [a.format(**values) for a in case.argv]
    try:
        result = CliRunner().invoke(app, argv)
    finally:
        monkeypatch.undo()
        monkeypatch.setenv("SYNTHSTRUCT_SECRET", "hostile-suite-key")
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    expected = case.exit if isinstance(case.exit, tuple) else (case.exit,)
    added = _snapshot(tmp_path) - before
    allowed = set(case.outputs) if result.exit_code in (0, 1) else set()
    left = sorted(a for a in added if not any(a == f"w/{o}" or a.startswith(f"w/{o}/") for o in allowed))
    written = [rel for rel in added if (tmp_path / rel).is_file()
               and SECRET.encode() in (tmp_path / rel).read_bytes()]
    check_error = None
    if case.check is not None and result.exit_code in (0, 1):
        try:
            case.check(w, text)
        except AssertionError as exc:
            check_error = str(exc) or "check failed"
        except Exception as exc:  # noqa: BLE001 - e.g. an expected output is missing
            check_error = f"check failed: {type(exc).__name__}"
    return {
        "text": text, "exit": result.exit_code, "expected": expected,
        "traceback": not (result.exception is None or isinstance(result.exception, SystemExit))
        or "Traceback" in text,
        "exception": type(result.exception).__name__ if result.exception is not None else None,
        "missing_words": [wd for wd in case.words if wd.lower() not in text.lower()],
        "echoed": SECRET in text, "secret_written": written, "left": left,
        "silently_accepted": 0 not in expected and result.exit_code == 0,
        "check_error": check_error,
    }


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, tmp_path: Path, request: pytest.FixtureRequest,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    out = run_case(case, tmp_path, request.getfixturevalue, monkeypatch)
    text = out["text"]
    assert not out["traceback"], f"traceback: {out['exception']}"
    assert out["exit"] in out["expected"], text
    assert not out["missing_words"], f"{out['missing_words']} not in: {text}"
    assert not out["echoed"], "the planted secret was echoed"
    assert not out["left"], f"files left behind: {out['left']}"
    assert not out["secret_written"], f"the planted secret was written to {out['secret_written']}"
    assert out["check_error"] is None, out["check_error"]


def test_suite_is_large_enough() -> None:
    verbs = {c.argv[0] for c in CASES}
    assert len(CASES) >= 120
    assert verbs >= {"release", "fit", "sample", "infer", "scan", "audit", "verify", "balance", "generate"}


def main() -> int:
    """Run every case outside pytest and print the totals (``python tests/hostile/test_hostile_inputs.py``)."""
    import tempfile
    import time

    root = Path(tempfile.mkdtemp(prefix="hostile-"))
    os.environ["SYNTHSTRUCT_HOME"] = str(root / "home")
    fixtures: dict[str, Path] = {}

    class _Factory:
        def mktemp(self, name: str) -> Path:
            path = root / name
            path.mkdir()
            return path

    def fixture(name: str) -> Path:
        if name not in fixtures:
            maker = {"fitted_model": fitted_model, "released_bundle": released_bundle}[name]
            fixtures[name] = maker.__wrapped__(_Factory())  # type: ignore[attr-defined]
        return fixtures[name]

    totals = dict.fromkeys(("cases", "tracebacks", "echoed secrets", "secrets written", "files left behind",
                            "silently accepted", "wrong exit code", "missing words", "failed checks"), 0)
    failures = []
    started = time.perf_counter()
    for i, case in enumerate(CASES):
        mp = pytest.MonkeyPatch()
        mp.setenv("SYNTHSTRUCT_SECRET", "hostile-suite-key")
        out = run_case(case, root / f"case{i}", fixture, mp)
        mp.undo()
        flags = {"tracebacks": out["traceback"], "echoed secrets": out["echoed"],
                 "secrets written": bool(out["secret_written"]), "files left behind": bool(out["left"]),
                 "silently accepted": out["silently_accepted"], "wrong exit code": out["exit"] not in out["expected"],
                 "missing words": bool(out["missing_words"]), "failed checks": out["check_error"] is not None}
        totals["cases"] += 1
        for key, bad in flags.items():
            totals[key] += bool(bad)
        if any(flags.values()):
            failures.append((case.id, [k for k, v in flags.items() if v]))
    shutil.rmtree(root, ignore_errors=True)
    for case_id, what in failures:
        print(f"FAIL {case_id}: {', '.join(what)}")
    print(", ".join(f"{k}: {v}" for k, v in totals.items()) + f" ({time.perf_counter() - started:.0f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
