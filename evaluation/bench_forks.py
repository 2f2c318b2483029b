"""Forked per-column work on vs off, in one process (issue 16): schema inference and the release gate.

Runs ``synthstruct.release.pipeline.release`` on FILE up to the gate (nothing is written), then times,
alternating ``SYNTHSTRUCT_FORK=0`` (threads only) and ``1`` (the forked child of ``synthstruct/_fork.py``):

1. ``infer_table`` on the file's frame (its column pass and the whole call);
2. ``ReleaseGate(policy).evaluate`` on the gate's own inputs;

and checks that both ways give the same schema and decisions, and the same metric results (a digest of
every metric's value, reference, intervals, note and details). Prints wall seconds per run and the medians.
Whole-process figures (what a user waits for) come from ``bench_cli.py --baseline``; these isolate the two
stages the forks change.

Usage (from the repository root; the 300k-row table is written by ``evaluation/hospital.py``)::

    .venv/bin/python evaluation/hospital.py /tmp/hospital_300000.csv --rows 300000
    .venv/bin/python evaluation/bench_forks.py /tmp/hospital_300000.csv --runs 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Any

from _common import LoadAverage, ensure_repo_on_path


class _Stop(Exception):
    pass


def _capture(path: str) -> dict[str, Any]:
    import synthstruct.release.gate as gate
    from synthstruct.release import pipeline

    captured: dict[str, Any] = {}

    def capture(self: Any, *, train: Any, synthetic: Any, schema: Any, holdout: Any = None, seed: int = 0,
                options: Any = None, **_: Any) -> Any:
        captured.update(train=train, synthetic=synthetic, schema=schema, holdout=holdout, seed=seed,
                        options=options, policy=self.policy)
        raise _Stop

    real = gate.ReleaseGate.evaluate
    gate.ReleaseGate.evaluate = capture  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as out:
            pipeline.release(path, output=f"{out}/bundle", seed=0, overwrite=True)
    except _Stop:
        pass
    finally:
        gate.ReleaseGate.evaluate = real  # type: ignore[method-assign]
    return captured


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--runs", type=int, default=2, help="runs of each way, alternating")
    args = parser.parse_args(argv)
    ensure_repo_on_path()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from synthstruct._light_imports import install

    install()  # as the CLI: no torch/transformers behind the PII scanner
    from synthstruct.dataio import read_table
    from synthstruct.release.gate import ReleaseGate
    from synthstruct.schema.infer import infer_table

    load = LoadAverage()
    frame = read_table(args.file)
    infer_table(frame)  # warm: the PII analyzer is loaded once, outside the timings
    gate_inputs = _capture(args.file)
    times: dict[str, dict[str, list[float]]] = {"inference": {"0": [], "1": []}, "gate": {"0": [], "1": []}}
    digests: dict[str, set[str]] = {"inference": set(), "gate": set()}
    for run in range(args.runs):
        for fork in (("0", "1") if run % 2 == 0 else ("1", "0")):
            os.environ["SYNTHSTRUCT_FORK"] = fork
            start = time.perf_counter()
            found = infer_table(frame)
            times["inference"][fork].append(time.perf_counter() - start)
            digests["inference"].add(_digest([found.schema.model_dump(),
                                              {k: d.to_dict() for k, d in found.decisions.items()}]))
            start = time.perf_counter()
            report = ReleaseGate(gate_inputs["policy"]).evaluate(
                train=gate_inputs["train"], synthetic=gate_inputs["synthetic"], schema=gate_inputs["schema"],
                holdout=gate_inputs["holdout"], seed=gate_inputs["seed"], options=gate_inputs["options"])
            times["gate"][fork].append(time.perf_counter() - start)
            digests["gate"].add(_digest({k: (v.value, v.reference, v.ci, v.reference_ci, v.note, v.details)
                                         for k, v in report.metrics.items()}))
            print(f"run {run + 1} SYNTHSTRUCT_FORK={fork}: inference {times['inference'][fork][-1]:.2f} s, "
                  f"gate {times['gate'][fork][-1]:.2f} s", flush=True)
    for stage in ("inference", "gate"):
        off, on = statistics.median(times[stage]["0"]), statistics.median(times[stage]["1"])
        same = "same results" if len(digests[stage]) == 1 else "RESULTS DIFFER"
        print(f"{stage}: threads only {off:.2f} s, forked {on:.2f} s median: {off / on:.2f}x ({same})")
    print(load.describe())
    return 0 if all(len(d) == 1 for d in digests.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
