"""CPU seconds per stage of one release, in process (issue 16).

Wraps the stage functions that ``synthstruct.release.pipeline.release`` calls (read, inference, coercion,
split, fit, sample, gate, output formatting, writing) with timers and runs one release. CPU seconds
(``time.process_time``: every thread of the process, so Arrow's reader threads and the utility metric's
thread count too) are steadier than wall time on a shared machine; each gate metric's CPU is measured on
the thread that computed it. Prints the machine load before and after.

Usage (from the repository root)::

    PYTHONPATH=$PWD .venv/bin/python evaluation/profile_release_stages.py hospital_1m.csv /tmp/out
    py-spy record --threads -r 10 -f raw -o prof.txt -- .venv/bin/python evaluation/profile_release_stages.py ...
"""

from __future__ import annotations

import collections
import json
import os
import resource
import sys
import time
from typing import Any, Callable


def _wrap(owner: Any, name: str, label: str, acc: dict[str, list[float]]) -> None:
    fn: Callable[..., Any] = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            acc[label][0] += time.process_time() - cpu
            acc[label][1] += time.perf_counter() - wall

    setattr(owner, name, timed)


def main(argv: list[str]) -> int:
    import synthstruct.release.gate as gate_module
    import synthstruct.release.pipeline as pipeline
    from synthstruct.release.gate import ReleaseGate
    from synthstruct.synthesizers.table import TableSynthesizer

    acc: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])
    for owner, name, label in [(pipeline, "read_table", "read"), (pipeline, "choose_schema", "infer"),
                               (pipeline, "coerce_to_schema", "coerce"), (pipeline, "split_train_holdout", "split"),
                               (TableSynthesizer, "fit", "fit"), (pipeline, "_sample_resumably", "sample"),
                               (ReleaseGate, "evaluate", "gate"), (pipeline, "to_output", "to_output"),
                               (pipeline, "write_table", "write_table"), (pipeline, "file_sha256", "sha256")]:
        _wrap(owner, name, label, acc)
    metric_cpu: dict[str, float] = {}
    original = gate_module._timed

    def timed_metric(fn: Any, ctx: Any) -> Any:
        start = time.thread_time()
        result = original(fn, ctx)
        metric_cpu[result[0].name] = round(time.thread_time() - start, 2)
        return result

    gate_module._timed = timed_metric
    load_before = os.getloadavg()
    cpu, wall = time.process_time(), time.perf_counter()
    result = pipeline.release(argv[0], output=argv[1], seed=0, overwrite=True)
    print("released" if result.passed else "blocked")
    print("stage [CPU s, wall s]:", json.dumps({k: [round(v[0], 1), round(v[1], 1)] for k, v in acc.items()}))
    print("gate metric CPU s:", json.dumps(dict(sorted(metric_cpu.items(), key=lambda kv: -kv[1]))))
    print(f"total CPU {time.process_time() - cpu:.1f} s, wall {time.perf_counter() - wall:.1f} s, peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, load (1/5/15 min) "
          f"{'/'.join(f'{x:.2f}' for x in load_before)} -> {'/'.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
