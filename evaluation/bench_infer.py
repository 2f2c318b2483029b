"""Inference speed benchmark (issue 13 target: a 100k x 50 table in <= 5 s on 2 cores).

Generates the hospital-style table of ``evaluation/hospital.py`` (codes, constants, repeating ids,
names, numbers with separators, dates with sentinels), writes it as CSV, then times

* ``read``: :func:`synthstruct.dataio.read_table` (CSV parsing and typing),
* ``infer``: :func:`synthstruct.schema.infer.infer_table` with content-based PII detection on, the
  Presidio analyzer loaded beforehand (its one-off load time is printed separately),

best and median of ``--repeats`` runs, wall and CPU seconds, with the load average before and after.

Usage::

    .venv/bin/python evaluation/bench_infer.py                   # 100,000 rows x 50 columns
    .venv/bin/python evaluation/bench_infer.py --rows 20000 --repeats 3 --json infer.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from hospital import write_hospital_csv

    from synthstruct.dataio import read_table
    from synthstruct.pii.presidio_engine import get_analyzer
    from synthstruct.schema.infer import infer_table

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_hospital_csv(Path(tmp) / "hospital.csv", args.rows, seed=0)
        analyzer, analyzer_wall, _ = _timed(get_analyzer)
        runs = []
        for _ in range(args.repeats):
            frame, read_wall, read_cpu = _timed(lambda: read_table(path))
            result, infer_wall, infer_cpu = _timed(lambda: infer_table(frame, name="hospital", analyzer=analyzer))
            runs.append({"read_wall": read_wall, "read_cpu": read_cpu, "infer_wall": infer_wall, "infer_cpu": infer_cpu})
    load_after = os.getloadavg()
    summary = {
        "rows": args.rows, "columns": int(frame.shape[1]), "repeats": args.repeats,
        "analyzer_load_s": round(analyzer_wall, 2),
        **{f"{k}_best_s": round(min(r[k] for r in runs), 2) for k in runs[0]},
        **{f"{k}_median_s": round(statistics.median(r[k] for r in runs), 2) for k in runs[0]},
        "loadavg_before": [round(v, 2) for v in load_before], "loadavg_after": [round(v, 2) for v in load_after],
        "kinds": {k: sum(1 for d in result.decisions.values() if d.kind == k)
                  for k in sorted({d.kind for d in result.decisions.values()})},
        "hierarchies": result.hierarchies, "target": result.target,
    }
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
