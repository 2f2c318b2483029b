"""A release with a free-text column: progress per chunk, resuming after a crash, fallback in the manifest.

Every test runs the real pipeline (fit, sample, gate, bundle) on a small table whose text column is
written chunk by chunk (8 rows per chunk), interrupts it part-way and runs it again.
"""

from __future__ import annotations

import json
import stat

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from synthstruct._registry import TEXT_GENERATORS
from synthstruct.cli import app
from synthstruct.release.pipeline import release
from synthstruct.text.column import TextColumnGenerator
from synthstruct.text.template import TemplateTextGenerator

ROWS = 64
FAILING_PRODUCT = "item 3"
#: The gate is not under test here: two cheap checks and no report-only metrics keep each release < 1 s.
POLICY = {"policy_version": 1, "name": "resume-test", "split": {"holdout_fraction": 0.2, "min_holdout_rows": 10},
          "value_protection": {"k": 3}, "report_metrics": [],
          "checks": [{"metric": "validity", "min": 1.0}, {"metric": "exact_match", "statistic": "minus_reference_lower",
                                                          "max": 0.02}]}


class FlakyBackend(TemplateTextGenerator):
    """Template text, except: no answer for one product (so the fallback writes those), and an
    optional crash (``RuntimeError`` or ``KeyboardInterrupt``) once ``crash_after`` calls were made."""

    name = "flaky_test"
    crash_after: int | None = None
    crash_with: type[BaseException] = RuntimeError
    calls = 0

    def generate(self, requests, *, seed):  # type: ignore[no-untyped-def]
        cls = type(self)
        if cls.crash_after is not None and cls.calls >= cls.crash_after:
            raise cls.crash_with("simulated backend failure")
        cls.calls += 1
        answers = super().generate(requests, seed=seed)
        return ["" if r.context.get("product") == FAILING_PRODUCT else a for r, a in zip(requests, answers)]


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TextColumnGenerator, "chunk_rows", 8)
    monkeypatch.setitem(TEXT_GENERATORS._paths, "flaky_test", f"{__name__}:FlakyBackend")
    monkeypatch.setattr(FlakyBackend, "calls", 0)
    monkeypatch.setattr(FlakyBackend, "crash_after", None)
    monkeypatch.setattr(FlakyBackend, "crash_with", RuntimeError)


def _write_inputs(tmp_path, generator: str):
    rng = np.random.default_rng(0)
    n = 160
    product = [f"item {i % 5}" for i in range(n)]
    frame = pd.DataFrame({
        "age": rng.integers(18, 80, size=n),
        "group": rng.choice(["a", "b", "c"], size=n),
        "product": product,
        "review": [f"customer {i} wrote that the {p} was fine and arrived on a {d}" for i, (p, d) in
                   enumerate(zip(product, rng.choice(["monday", "friday", "sunday"], size=n)))],
    })
    frame.loc[rng.choice(n, 12, replace=False), "review"] = np.nan
    data = tmp_path / "shop.csv"
    frame.to_csv(data, index=False)
    review = {"kind": "text", "generator": generator, "conditioned_on": ["product"], "min_length": 3,
              "max_length": 30, "examples_from_data": 0}
    if generator != "template":
        review["backend"] = {"fallback": "template"}
    schema = {"schema_version": 1, "name": "shop", "columns": {
        "age": {"kind": "numerical", "dtype": "int"}, "group": {"kind": "categorical"},
        "product": {"kind": "categorical"}, "review": review}}
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(schema))
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(POLICY))
    return data, path


def _run(tmp_path, data, schema, out: str, **kwargs):
    return release(data, schema=schema, output=tmp_path / out, rows=ROWS, seed=5, policy=tmp_path / "policy.yaml",
                   **kwargs)


def _reproducible(manifest):
    return {o["path"]: o["sha256"] for o in manifest["outputs"] if o["reproducible"]}


@pytest.fixture
def home(tmp_path, monkeypatch):
    path = tmp_path / "home"
    monkeypatch.setenv("SYNTHSTRUCT_HOME", str(path))
    return path


def test_interrupted_release_resumes_to_the_same_bytes(tmp_path, home):
    data, schema = _write_inputs(tmp_path, "template")
    expected = _run(tmp_path, data, schema, "uninterrupted")
    assert expected.passed, expected.gate.failed_checks()
    assert not (home / "resume").exists() or not any((home / "resume").iterdir())

    seen: list[tuple[str, int, int]] = []

    def stop_after_three_chunks(column: str, done: int, total: int) -> None:
        seen.append((column, done, total))
        if done >= 24:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:
        _run(tmp_path, data, schema, "out", on_text_progress=stop_after_three_chunks)
    assert seen == [("review", 8, seen[0][2]), ("review", 16, seen[0][2]), ("review", 24, seen[0][2])]
    assert any("run the same release again" in note for note in info.value.__notes__)
    assert not (tmp_path / "out").exists()
    (run_dir,) = (home / "resume").iterdir()
    (checkpoint,) = run_dir.glob("text-*.jsonl")
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700 and stat.S_IMODE(checkpoint.stat().st_mode) == 0o600
    assert len(checkpoint.read_text().splitlines()) == 3

    progress: list[int] = []
    resumed = _run(tmp_path, data, schema, "out", on_text_progress=lambda c, done, total: progress.append(done))
    assert resumed.report["sampling"]["text.review.resumed_texts"] == 24
    assert expected.report["sampling"]["text.review.resumed_texts"] == 0
    assert progress[-1] == seen[0][2]  # the bar ends at the total
    assert _reproducible(resumed.manifest) == _reproducible(expected.manifest)
    got = pd.read_csv(tmp_path / "out" / "data" / "shop.csv")
    want = pd.read_csv(tmp_path / "uninterrupted" / "data" / "shop.csv")
    pd.testing.assert_frame_equal(got, want)  # no row lost or written twice
    assert got["review"].notna().sum() == seen[0][2]
    assert not run_dir.exists()  # removed once the bundle is written
    assert resumed.manifest["text"] == {"review": {"generator": "template", "fallback": None, "fallback_used": False,
                                                   "fallback_texts": 0, "texts": seen[0][2]}}


def test_backend_crash_resumes_and_the_manifest_records_the_fallback(tmp_path, home):
    data, schema = _write_inputs(tmp_path, "flaky_test")
    FlakyBackend.crash_after = 5
    with pytest.raises(RuntimeError, match="simulated"):
        _run(tmp_path, data, schema, "out")
    (run_dir,) = (home / "resume").iterdir()
    finished = sum(len(json.loads(line)["texts"]) for f in run_dir.glob("text-*.jsonl")
                   for line in f.read_text().splitlines())
    assert finished > 0

    FlakyBackend.crash_after, FlakyBackend.calls = None, 0
    resumed = _run(tmp_path, data, schema, "out")
    resumed_calls = FlakyBackend.calls
    FlakyBackend.calls = 0
    expected = _run(tmp_path, data, schema, "uninterrupted")
    assert resumed.passed and expected.passed
    assert resumed.report["sampling"]["text.review.resumed_texts"] == finished
    assert 0 < resumed_calls < FlakyBackend.calls  # only the unfinished chunks asked the backend
    assert _reproducible(resumed.manifest) == _reproducible(expected.manifest)

    out = pd.read_csv(tmp_path / "out" / "data" / "shop.csv")
    fallback_rows = int((out["product"].eq(FAILING_PRODUCT) & out["review"].notna()).sum())
    assert fallback_rows > 0
    entry = resumed.manifest["text"]["review"]
    assert entry == {"generator": "flaky_test", "fallback": "template", "fallback_used": True,
                     "fallback_texts": fallback_rows, "texts": int(out["review"].notna().sum())}
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["text"] == resumed.manifest["text"]
    assert expected.manifest["text"]["review"] == entry  # resumed or not, the same record
    assert not run_dir.exists()


def test_cli_interrupt_then_start_over_or_resume(tmp_path, home):
    data, schema = _write_inputs(tmp_path, "flaky_test")
    runner = CliRunner()

    def cli(out: str, *extra: str):
        return runner.invoke(app, ["release", str(data), "--schema", str(schema), "-o", str(tmp_path / out),
                                   "--rows", str(ROWS), "--seed", "5", "--policy", str(tmp_path / "policy.yaml"), *extra])

    def interrupted(out: str) -> None:
        FlakyBackend.crash_after, FlakyBackend.crash_with, FlakyBackend.calls = 4, KeyboardInterrupt, 0
        result = cli(out)
        assert result.exit_code == 130, result.output
        assert "interrupted" in result.stderr and "run the same release again" in result.stderr
        assert not (tmp_path / out).exists() and any((home / "resume").iterdir())
        FlakyBackend.crash_after = None

    def resumed_texts(out: str) -> int:
        return json.loads((tmp_path / out / "report.json").read_text())["sampling"]["text.review.resumed_texts"]

    interrupted("fresh")
    result = cli("fresh", "--no-resume")
    assert result.exit_code == 0, result.output
    assert resumed_texts("fresh") == 0 and not any((home / "resume").iterdir())

    interrupted("resumed")
    result = cli("resumed")
    assert result.exit_code == 0, result.output
    assert resumed_texts("resumed") > 0 and not any((home / "resume").iterdir())
    assert (tmp_path / "fresh" / "data" / "shop.csv").read_bytes() == (tmp_path / "resumed" / "data" / "shop.csv"
                                                                       ).read_bytes()
