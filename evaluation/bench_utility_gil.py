"""The utility metric alone vs beside the gate's pandas-heavy metrics in one process (GIL starvation).

Runs ``synthstruct.release.pipeline.release`` on FILE up to the gate, then, on the gate's own inputs:

1. the utility metric alone (in process, one OpenMP thread);
2. the utility metric on a thread while another thread loops over column_shapes, coverage,
   missing_patterns, validity and rare_category_replay (what the gate's second thread runs);
3. the same with ``utility_process: child`` (the models fitted in a child process).

and prints wall and CPU seconds of each. Nothing is written (the release stops at the gate).

Usage (from the repository root; the 300k-row table is written by ``evaluation/hospital.py``)::

    .venv/bin/python evaluation/hospital.py /tmp/hospital_300000.csv --rows 300000
    .venv/bin/python evaluation/bench_utility_gil.py /tmp/hospital_300000.csv
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from typing import Any


class _Stop(Exception):
    pass


def _measure(train: Any, synthetic: Any, schema: Any, holdout: Any, seed: int) -> None:
    from threadpoolctl import threadpool_limits

    import sklearn.ensemble  # noqa: F401 - the OpenMP runtime must be loaded for the limit to reach it
    from synthstruct.evaluation.metric import METRICS, EvaluationContext

    def ctx(**options: Any) -> EvaluationContext:
        return EvaluationContext(train=train, synthetic=synthetic, schema=schema, holdout=holdout, seed=seed,
                                 options=options)

    utility = METRICS.get("utility")
    with threadpool_limits(1):
        wall, cpu = time.perf_counter(), time.process_time()
        utility(ctx(utility_process="in_process"))
        print(f"utility alone, in process: wall {time.perf_counter() - wall:.1f} s, "
              f"CPU {time.process_time() - cpu:.1f} s", flush=True)
        for process in ("in_process", "child"):
            stop = threading.Event()

            def busy() -> None:
                names = ["column_shapes", "coverage", "missing_patterns", "validity", "rare_category_replay"]
                while not stop.is_set():
                    for name in names:
                        if stop.is_set():
                            break
                        METRICS.get(name)(ctx())

            other = threading.Thread(target=busy)
            other.start()
            time.sleep(0.5)
            spent: list[float] = []

            def run(process: str = process) -> None:
                start = time.thread_time()
                utility(ctx(utility_process=process))
                spent.append(time.thread_time() - start)

            wall = time.perf_counter()
            worker = threading.Thread(target=run)
            worker.start()
            worker.join()
            print(f"utility beside the pandas metrics, {process}: wall {time.perf_counter() - wall:.1f} s, "
                  f"its thread's CPU {spent[0]:.1f} s", flush=True)
            stop.set()
            other.join()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    import synthstruct.release.gate as gate
    from synthstruct.release import pipeline

    def capture(self: Any, *, train: Any, synthetic: Any, schema: Any, holdout: Any = None, seed: int = 0,
                **_: Any) -> Any:
        _measure(train, synthetic, schema, holdout, seed)
        raise _Stop

    gate.ReleaseGate.evaluate = capture  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as out:
        try:
            pipeline.release(argv[0], output=f"{out}/bundle", seed=0, overwrite=True)
        except _Stop:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
