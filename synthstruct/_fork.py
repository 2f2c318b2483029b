"""Run a pure function in a forked child process, beside the caller, with a fallback.

Most of a large release is pandas work that holds Python's GIL, so threads share one core. A forked child
sees the parent's frames copy-on-write (nothing is pickled on the way in) and sends back a small picklable
result. :class:`ForkedCall` is used where the work splits into independent parts whose results are small
(the gate's per-column metrics, schema inference's per-column decisions); the caller computes the other
part meanwhile. If the child cannot start, fails, dies or outlives ``timeout``, :meth:`ForkedCall.result`
says so (``(False, None)``) and the caller computes that part in process: forking changes where work runs,
never what it returns.

Not on macOS (``fork`` is unsafe with its system frameworks) or without ``os.fork``;
``SYNTHSTRUCT_FORK=0`` switches it off everywhere (``SYNTHSTRUCT_GATE_FORK=0`` for the gate only).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Callable

__all__ = ["ForkedCall", "fork_enabled"]

log = logging.getLogger(__name__)


def fork_enabled(switch: str | None = None) -> bool:
    """Whether work may be forked here (``switch``: an extra environment variable that can say ``0``)."""
    if sys.platform == "darwin" or not hasattr(os, "fork"):
        return False
    if os.environ.get("SYNTHSTRUCT_FORK", "1") == "0":
        return False
    return switch is None or os.environ.get(switch, "1") != "0"


def _child(fn: Callable[[], Any], conn: Any) -> None:
    try:
        payload: Any = ("ok", fn())
    except BaseException:  # noqa: BLE001 - the parent computes it again and reports any error itself
        payload = None
    try:
        conn.send(payload)
    except Exception:  # noqa: BLE001 - a result that does not pickle: the parent computes it instead
        conn.send(None)
    finally:
        conn.close()


class ForkedCall:
    """``fn()`` computed in a forked child process.

    Args:
        fn: The work (reads the parent's objects as they were at the fork; its return value must pickle).
        name: Process name (shown by ``ps``) and the warning's subject.
        timeout: Longest wait, in seconds, from the first call of :meth:`result`.
    """

    def __init__(self, fn: Callable[[], Any], *, name: str, timeout: float = 1800.0) -> None:
        import multiprocessing

        self.name, self.timeout = name, timeout
        self._done, self._ok = False, False
        self._value: Any = None
        mp = multiprocessing.get_context("fork")
        self._conn, child_conn = mp.Pipe(duplex=False)
        self._process = mp.Process(target=_child, args=(fn, child_conn), daemon=True, name=f"synthstruct-{name}")
        try:
            self._process.start()
        except OSError as exc:  # e.g. no memory for another process: the caller computes it in process
            log.warning("%s: cannot start a child process (%s); computing in process", name, type(exc).__name__)
            self._conn.close()
            self._done = True
        finally:
            child_conn.close()

    def result(self) -> tuple[bool, Any]:
        """``(True, value)`` from the child, or ``(False, None)`` when the caller must compute it (logged).
        Waits for the child the first time; later calls return the same answer."""
        if not self._done:
            payload = None
            try:
                if self._conn.poll(self.timeout):
                    payload = self._conn.recv()
            except (EOFError, OSError):  # the child died before sending
                payload = None
            finally:
                self.close()
            self._done = True
            if payload is None:
                log.warning("%s: the child process failed; computing in process", self.name)
            else:
                self._ok, self._value = True, payload[1]
        return self._ok, self._value

    def close(self) -> None:
        """Stop the child if it still runs and release the pipe (idempotent)."""
        if self._process.pid is not None and self._process.is_alive():
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        if not self._conn.closed:
            self._conn.close()
