"""Release every table in ../shared/datasets without a schema (issue 13 target).

For each single-table CSV (the Berka and CDNOW tables one by one) this runs
``python -m synthstruct release FILE -o OUT`` exactly as a new user would, with no schema, and records
the exit code (0 released, 1 blocked by the gate with a reason, 2 refused: a failure of this target),
the gate's failed checks and the inference decisions from report.json. ``--rows N`` samples N rows of
larger tables first (seeded) to keep the run short; ``--rows 0`` uses the full tables.

Usage::

    .venv/bin/python evaluation/release_datasets.py                 # 3,000-row samples
    .venv/bin/python evaluation/release_datasets.py --rows 0 --json release_datasets.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"


def tables(root: Path = DATASETS) -> list[Path]:
    """Every CSV table: top level and one level down (berka/*.csv, cdnow/*.csv)."""
    return sorted(root.glob("*.csv")) + sorted(root.glob("*/*.csv"))


def sample_csv(path: Path, rows: int, directory: Path) -> Path:
    """The first table as is, or a seeded sample of ``rows`` rows written as CSV (text kept as text)."""
    import pandas as pd

    if rows <= 0:
        return path
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if len(frame) <= rows:
        return path
    out = directory / f"{path.parent.name}_{path.name}" if path.parent != DATASETS else directory / path.name
    frame.sample(rows, random_state=0).to_csv(out, index=False)
    return out


def release_one(path: Path, output: Path, *, python: str = sys.executable, timeout: int = 900) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "COLUMNS": "200"}
    t = time.perf_counter()
    proc = subprocess.run([python, "-m", "synthstruct", "release", str(path), "-o", str(output)],
                          capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    record = {"exit": proc.returncode, "seconds": round(time.perf_counter() - t, 1)}
    report = output / "report.json"
    if report.is_file():
        data = json.loads(report.read_text())
        record["failed"] = data["gate"]["failed"]
        record["kinds"] = {c: d["label"] for c, d in data.get("inference", {}).get("columns", {}).items()}
        record["target"] = data.get("inference", {}).get("target")
    else:
        record["error"] = (proc.stderr or proc.stdout)[-600:]
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000, help="Sample larger tables to N rows (0 = full).")
    parser.add_argument("--json", type=Path, help="Write the results here.")
    parser.add_argument("--only", nargs="*", help="Table names to run (e.g. airline_tweets.csv berka/disp.csv).")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        for path in tables():
            name = str(path.relative_to(DATASETS))
            if args.only and name not in args.only:
                continue
            data = sample_csv(path, args.rows, tmpdir)
            results[name] = release_one(data, tmpdir / f"out-{name.replace('/', '_')}")
            r = results[name]
            print(f"{name:40s} exit {r['exit']}  {r['seconds']:6.1f}s  failed={r.get('failed', '-')}"
                  f"  target={r.get('target')}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    refused = [n for n, r in results.items() if r["exit"] not in (0, 1)]
    print(f"{len(results)} tables: {sum(r['exit'] == 0 for r in results.values())} released, "
          f"{sum(r['exit'] == 1 for r in results.values())} blocked by the gate, {len(refused)} refused {refused}")
    return 1 if refused else 0


if __name__ == "__main__":
    raise SystemExit(main())
