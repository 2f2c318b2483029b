"""Fit the utility metric's models in a child process, beside the gate's other metrics.

The gate computes its metrics on two threads of one process. scikit-learn's ``HistGradientBoosting``
releases the GIL in its histogram loops but takes it back between them (tree growing is Python), and the
other thread's metrics (pandas value counts, factorising, string methods) hold it for long stretches: on
a 300k-row hospital table the utility metric took 10.0 s alone and 47.3 s beside those metrics, for
about the same CPU (11.2 vs 13.0 s; ``evaluation/bench_utility_gil.py``). A child process has its own interpreter, so its fits run at full
speed on the second core, and the parent never imports scikit-learn for them (1.2 s of single-threaded
imports on the gate's critical path).

Only numbers cross the pipe: the encoded feature matrices, the labels and the model settings (pickled by
this package for its own child, never read from anywhere else). The child computes exactly what
:func:`synthstruct.evaluation.utility._fit_and_score` computes in process (same estimator, seed and
thread count), so the scores are identical (``tests/unit/evaluation/test_model_process.py``). When the
child cannot run (no interpreter to start, killed, a broken pipe), the caller falls back to fitting in
process and logs why (never data).
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["fit_in_child"]

#: Environment of the child: the thread limits scikit-learn, OpenMP and BLAS read when they load.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def fit_in_child(job: dict[str, Any]) -> dict[str, Any] | None:
    """Run :func:`synthstruct.evaluation.utility._fit_and_score` on ``job`` in a child process.

    Returns its result, or ``None`` when the child could not compute it (the caller then fits in process).
    """
    threads = str(max(int(job.get("n_threads", 1)), 1))
    env = {**os.environ, **dict.fromkeys(_THREAD_VARIABLES, "1"), "OMP_NUM_THREADS": threads}
    payload = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        done = subprocess.run([sys.executable, "-m", "synthstruct.evaluation._model_worker"], input=payload,
                              capture_output=True, env=env, check=False)
    except OSError as exc:  # no interpreter to start, no process slots, no memory for the fork
        log.warning("utility models: could not start a child process (%s); fitting in process",
                    type(exc).__name__)
        return None
    if done.returncode != 0 or not done.stdout:
        log.warning("utility models: the child process ended with exit code %s; fitting in process",
                    done.returncode)
        return None
    try:
        result: dict[str, Any] = pickle.loads(done.stdout)  # noqa: S301 - our own child's answer
    except Exception:  # noqa: BLE001 - a truncated answer counts as "no answer"
        log.warning("utility models: the child process's answer was unreadable; fitting in process")
        return None
    return result
