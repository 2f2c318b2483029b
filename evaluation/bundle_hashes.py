"""Bundle hashes: prove a refactor leaves every output byte unchanged.

Runs the user-facing commands on the bundled demo tables (whole-process CLI, the way a user runs
them), then records the sha256 of every file they wrote. Fields that legitimately change from run to
run (wall-clock timings and the signatures and report hashes that cover them) are removed before
hashing; which ones vary was found by recording twice on the same code (``VOLATILE_KEYS``). Each
recording uses a fresh ``SYNTHSTRUCT_HOME`` (the gate's run ledger counts earlier runs).

Usage (from the repository root)::

    python evaluation/bundle_hashes.py record -o /tmp/before          # runs + writes hashes.json
    python evaluation/bundle_hashes.py record -o /tmp/after
    python evaluation/bundle_hashes.py compare /tmp/before/hashes.json /tmp/after/hashes.json
    python evaluation/bundle_hashes.py rehash /tmp/before                # after editing VOLATILE_KEYS

``record`` runs: ``synthstruct demo --seed 0`` (three bundles), ``release`` of the bundled
heart_disease table with an inferred schema and ``--seed 0``, ``balance`` of german_credit,
``audit`` of the demo's german_credit output, ``scan`` of clothing_reviews. The machine load is
written next to the run time (the machine is shared; times are not the point here).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DATASETS = REPO_ROOT / "synthstruct" / "datasets"

# Keys whose values are wall-clock measurements, or signatures over them: dropped (recursively) before
# hashing JSON. Found by recording twice on the same code (``compare`` of the two).
VOLATILE_KEYS = frozenset({"timings", "seconds", "hmac"})
# Rendered timing rows of the HTML reports: "<td>time: fit (s)</td><td>0.273</td>".
_HTML_VOLATILE = re.compile(r"(time: [^<]*\(s\)</td><td>)[^<]*")


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "synthstruct", *args]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    return proc


def _runs(out: Path) -> list[tuple[str, ...]]:
    demo = out / "demo"
    return [
        ("demo", "-o", str(demo), "--seed", "0"),
        ("release", str(DATASETS / "heart_disease.csv"), "-o", str(out / "release_heart"), "--seed", "0"),
        ("balance", str(DATASETS / "german_credit.csv"), "-t", "credit_risk", "-o", str(out / "balance_german"),
         "--seed", "0"),
        ("audit", "-r", str(DATASETS / "german_credit.csv"), "-y",
         str(demo / "german_credit" / "data" / "german_credit.csv"), "-o", str(out / "audit_german"),
         "--seed", "0"),
        ("scan", str(DATASETS / "clothing_reviews.csv"), "--schema", str(DATASETS / "clothing_reviews.yaml"),
         "-o", str(out / "scan_clothing.json")),
    ]


def _strip(obj: Any) -> Any:
    if isinstance(obj, dict):
        if obj.get("reproducible") is False:  # a manifest's record of report.html/json (they hold timings)
            return {k: v for k, v in obj.items() if k not in ("sha256", "bytes")}
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE_KEYS}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def normalised_bytes(path: Path, root: Path) -> bytes:
    """The file's bytes with run-to-run noise removed (JSON: volatile keys; HTML: durations)."""
    raw = path.read_bytes()
    if path.suffix == ".json":
        text = raw.decode("utf-8").replace(str(root), "<OUT>")
        return json.dumps(_strip(json.loads(text)), sort_keys=True).encode()
    if path.suffix in {".html", ".md", ".txt", ".yaml"}:
        text = raw.decode("utf-8").replace(str(root), "<OUT>")
        if path.suffix == ".html":
            text = _HTML_VOLATILE.sub(r"\1<T>", text)
        return text.encode()
    return raw


def record(out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    # A fresh state folder: the gate's run ledger ("this input has been through the gate N times")
    # and the machine key live there, and both would differ between recordings otherwise.
    home = Path(tempfile.mkdtemp(prefix="bundle_hashes_home_"))
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1",
               TOKENIZERS_PARALLELISM="false", SYNTHSTRUCT_HOME=str(home / "home"),
               SYNTHSTRUCT_SECRET="bundle-hashes")
    commands = []
    for args in _runs(out):
        t0 = time.perf_counter()
        proc = _cli(*args, env=env)
        commands.append({"args": [a.replace(str(out), "<OUT>") for a in args], "exit_code": proc.returncode,
                         "seconds": round(time.perf_counter() - t0, 1)})
        if proc.returncode not in (0, 1):      # 1 = the gate blocked: a result, not a failure
            sys.stderr.write(proc.stdout + proc.stderr)
            raise SystemExit(f"command failed: {args}")
    result = {"commands": commands, "files": file_hashes(out), "loadavg": os.getloadavg()}
    (out / "hashes.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def file_hashes(out: Path) -> dict[str, str]:
    """sha256 of the normalised bytes of every file under ``out`` (but ``hashes.json``)."""
    return {str(path.relative_to(out)): hashlib.sha256(normalised_bytes(path, out)).hexdigest()
            for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name != "hashes.json")}


def rehash(out: Path) -> None:
    """Recompute the file hashes of an earlier recording (after a change of the normalisation)."""
    result = json.loads((out / "hashes.json").read_text())
    result["files"] = file_hashes(out)
    (out / "hashes.json").write_text(json.dumps(result, indent=2) + "\n")


def compare(a: Path, b: Path) -> int:
    fa, fb = json.loads(a.read_text())["files"], json.loads(b.read_text())["files"]
    ca = [c["exit_code"] for c in json.loads(a.read_text())["commands"]]
    cb = [c["exit_code"] for c in json.loads(b.read_text())["commands"]]
    bad = sorted(k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k))
    for key in bad:
        print(f"DIFFERS  {key}: {fa.get(key, 'missing')[:12]} vs {fb.get(key, 'missing')[:12]}")
    if ca != cb:
        print(f"DIFFERS  exit codes: {ca} vs {cb}")
    same = [k for k in fa.keys() & fb.keys() if fa[k] == fb[k]]
    print(f"{len(same)} identical, {len(bad)} differ")
    return 1 if bad or ca != cb else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("-o", "--output", type=Path, required=True)
    again = sub.add_parser("rehash")
    again.add_argument("output", type=Path)
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("a", type=Path)
    cmp_.add_argument("b", type=Path)
    args = parser.parse_args()
    if args.cmd == "record":
        result = record(args.output)
        print(json.dumps({"files": len(result["files"]), "commands": result["commands"],
                          "loadavg": result["loadavg"]}, indent=1))
        return 0
    if args.cmd == "rehash":
        rehash(args.output)
        return 0
    return compare(args.a, args.b)


if __name__ == "__main__":
    raise SystemExit(main())
