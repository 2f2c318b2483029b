"""ForkedCall: work in a forked child, and the fallback when the child fails (the caller computes it)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from synthstruct._fork import ForkedCall, fork_enabled

pytestmark = pytest.mark.skipif(not fork_enabled(), reason="no safe fork on this platform")


def test_the_child_sees_the_parents_objects_and_sends_back_its_result():
    data = np.arange(1_000_000)
    call = ForkedCall(lambda: (os.getpid(), int(data.sum())), name="sum")
    ok, (pid, total) = call.result()
    assert ok and pid != os.getpid() and total == int(data.sum())
    assert call.result() == (True, (pid, total))  # asked again: the same answer, no second child


@pytest.mark.parametrize("work", [
    lambda: 1 / 0,  # raises
    lambda: os._exit(5),  # dies without sending
    lambda: (lambda: None),  # a result that does not pickle
])
def test_a_failing_child_leaves_the_work_to_the_caller(work, caplog):
    with caplog.at_level("WARNING", logger="synthstruct._fork"):
        assert ForkedCall(work, name="doomed").result() == (False, None)
    assert "doomed: the child process failed; computing in process" in caplog.text


def test_a_child_that_outlives_the_timeout_is_stopped(caplog):
    import time

    call = ForkedCall(lambda: time.sleep(60), name="slow", timeout=0.5)
    started = time.perf_counter()
    with caplog.at_level("WARNING", logger="synthstruct._fork"):
        assert call.result() == (False, None)
    assert time.perf_counter() - started < 30 and not call._process.is_alive()


def test_switched_off_by_the_environment(monkeypatch):
    monkeypatch.setenv("SYNTHSTRUCT_FORK", "0")
    assert not fork_enabled()
    monkeypatch.setenv("SYNTHSTRUCT_FORK", "1")
    monkeypatch.setenv("SYNTHSTRUCT_GATE_FORK", "0")
    assert fork_enabled() and not fork_enabled("SYNTHSTRUCT_GATE_FORK")
