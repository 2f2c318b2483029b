"""The per-run checkpoint directory of a release, and the CLI's text progress bar."""

from __future__ import annotations

import io
import stat

import pytest
from rich.console import Console

from synthstruct._cli._common import progress_bars
from synthstruct.errors import InputError
from synthstruct.text.checkpoint import Checkpoint, ResumeDirectory


def test_lives_in_the_state_dir_and_is_named_by_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHSTRUCT_HOME", str(tmp_path / "home"))
    a, b = ResumeDirectory(["input-hash", 1]), ResumeDirectory(["input-hash", 2])
    assert a.path.parent == tmp_path / "home" / "resume"
    assert a.path == ResumeDirectory(["input-hash", 1]).path and a.path != b.path


def test_counts_finished_texts_and_is_owner_only(tmp_path):
    run = ResumeDirectory(["k"], root=tmp_path / "resume")
    assert run.finished_texts() == 0
    directory = run.prepare()
    Checkpoint(directory, "review", ["spec"]).append(0, {0: "one text", 1: "another"}, {"rounds": 1})
    Checkpoint(directory, "title", ["spec"]).append(0, {0: "a title"}, {"rounds": 1})
    with (directory / next(directory.glob("text-*.jsonl")).name).open("a") as f:
        f.write('{"chunk": 1, "texts": [[2, "torn')  # a crash mid-line is not counted
    assert run.finished_texts() == 3
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in directory.glob("text-*.jsonl")} == {0o600}
    assert run.prepare(fresh=True) == directory and run.finished_texts() == 0  # --no-resume
    run.discard()
    assert not directory.exists()


def test_the_same_run_cannot_write_twice_at_once(tmp_path):
    run = ResumeDirectory(["k"], root=tmp_path)
    with run.claim() as directory:
        with pytest.raises(InputError, match="already running"), ResumeDirectory(["k"], root=tmp_path).claim():
            pass
        assert directory.is_dir()
    with run.claim():  # released after the block
        pass


def test_progress_bars_draw_one_bar_per_text_column():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    with progress_bars("release shop.csv", console=console) as (on_step, on_text):
        on_step("sample 64 rows", 2, 5)
        on_text("review", 8, 40)
        on_text("review", 40, 40)
        console.print("checkpoint")  # let the live display render once
    text = out.getvalue()
    assert "release shop.csv" in text and "text: review" in text and "40/40" in text


def test_progress_bars_write_nothing_when_not_a_terminal():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False)
    with progress_bars("release shop.csv", console=console) as (on_step, on_text):
        on_step("fit", 1, 5)
        on_text("review", 8, 40)
    assert out.getvalue().strip() == ""  # no bar, no step names in logs or pipes
