"""The utility metric's models fitted in a child process give the in-process scores exactly."""

from __future__ import annotations

import logging
import subprocess

import numpy as np
import pandas as pd
import pytest

from synthstruct.evaluation import model_process
from synthstruct.evaluation.metric import EvaluationContext
from synthstruct.evaluation.utility import CHILD_PROCESS_ROWS, tstr_scores, utility
from synthstruct.schema import schema_from_dict


def _frames(task: str, n: int = 900) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, object]:
    rng = np.random.default_rng(5)
    x = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    if task == "regression":
        y = 3 * x + (colour == "red") + rng.normal(scale=0.3, size=n)
        target = {"kind": "numerical"}
    else:
        y = np.where(x + (colour == "red") + rng.normal(scale=0.5, size=n) > 0.5, "yes", "no")
        target = {"kind": "categorical"}
    frame = pd.DataFrame({"x": x, "colour": colour, "y": y})
    schema = schema_from_dict({"schema_version": 1, "name": "t", "target": "y", "columns": {
        "x": {"kind": "numerical"}, "colour": {"kind": "categorical"}, "y": target}})
    synthetic = frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    synthetic["x"] = synthetic["x"] + rng.normal(scale=0.2, size=n)
    return frame.iloc[:600], synthetic.iloc[:600], frame.iloc[600:], schema


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_child_process_scores_equal_in_process_scores(task: str, caplog: pytest.LogCaptureFixture) -> None:
    train, synthetic, test, schema = _frames(task)
    with caplog.at_level(logging.WARNING, logger="synthstruct.evaluation.model_process"):
        child = tstr_scores(train, synthetic, test, schema, seed=3, process="child")
    assert not caplog.records  # the child really ran: no fallback to fitting in process
    here = tstr_scores(train, synthetic, test, schema, seed=3, process="in_process")
    assert child == here
    assert child["task"] == task


def test_a_failed_child_falls_back_to_fitting_in_process(monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    train, synthetic, test, schema = _frames("classification")
    calls = []

    def crashed(*args: object, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        calls.append(args)
        return subprocess.CompletedProcess(args, -9, b"", b"Killed")

    monkeypatch.setattr(model_process.subprocess, "run", crashed)
    with caplog.at_level(logging.WARNING, logger="synthstruct.evaluation.model_process"):
        scores = tstr_scores(train, synthetic, test, schema, seed=3, process="child")
    assert calls, "the child was asked first"
    assert "exit code -9" in caplog.text
    assert scores == tstr_scores(train, synthetic, test, schema, seed=3, process="in_process")


def test_auto_uses_the_child_only_from_the_row_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    train, synthetic, test, schema = _frames("classification")
    asked = []
    monkeypatch.setattr(model_process, "fit_in_child", lambda job: asked.append(job) or None)
    ctx = EvaluationContext(train=train, synthetic=synthetic, schema=schema, holdout=test)
    utility(ctx)  # 1,200 training rows: in process
    assert asked == []
    monkeypatch.setattr("synthstruct.evaluation.utility.CHILD_PROCESS_ROWS", 1_000)
    result = utility(ctx)
    assert len(asked) == 1 and result.value is not None  # asked the child, fell back, still scored
    assert CHILD_PROCESS_ROWS >= 1_000


def test_unknown_process_mode_is_refused() -> None:
    train, synthetic, test, schema = _frames("classification")
    with pytest.raises(ValueError, match="process"):
        tstr_scores(train, synthetic, test, schema, process="thread")
