"""Relational benchmark (issue 18): Berka, synthstruct's release-db vs SDV's HMASynthesizer, in one run.

Section 1 releases all 7 tables with synthstruct (SDV's HMASynthesizer refuses schemas of more than 5
tables or depth above 2; Berka's district -> account -> disp -> card has depth 3). Section 2 compares
both on the largest Berka schema HMA accepts: account, client, disp (two parents), loan, order, with
``district_id`` a plain column. Both learn the
same training tables (the entity split of ``release_relational``: 80 % of the entities; all 77
districts) and are scored against them with the same code (``synthstruct.relational.fidelity``):

* referential integrity (share of foreign keys naming an existing parent) and orphan count;
* synthetic primary keys equal to a real key;
* child-count KS per relationship (max over relationships);
* per-table column shapes (1 - KS / 1 - TVD; min over tables);
* parent-child pair trends (mean over relationships);
* sequence order (cdnow section only: Berka's copy has no history table);
* TSTR on tasks that need the join (``synthstruct.relational.tstr``): ``loan.status`` (from the loan, its
  account and the account's orders and dispositions) and ``disp.type`` (owner or disponent: no column of
  its own, only the joined account), a model trained on each tool's synthetic tables and on the real
  training tables, both tested on the real holdout entities (20 %).

Berka's ``trans`` table (1,056,320 transactions in the original release) is not in the shared copy of the
dataset (its DDL is): the 7 tables are district, account, client, disp, loan, card and order.

Timing: ours is the whole release (read CSVs, infer the schema, split, fit, sample, **gate every table**,
write the bundle); SDV's is ``fit`` + ``sample`` only (no gate). The load average is printed beside them.

A second section runs ``release_relational`` on cdnow (users -> 69,659 dated purchases) for the sequence
metrics (dates in order, inter-event gap KS).

Usage::

    .venv/bin/python evaluation/bench_relational.py                   # Berka vs HMA + cdnow
    .venv/bin/python evaluation/bench_relational.py --skip-sdv        # ours only (7 and 5 tables, cdnow)
    .venv/bin/python evaluation/bench_relational.py --json relational.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("SYNTHSTRUCT_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

log = logging.getLogger("bench_relational")

#: The largest Berka schema SDV's HMASynthesizer accepts (at most 5 tables, depth 2): district_id stays a
#: plain column of account and client, disp keeps its two parents.
BERKA5 = ("account", "client", "disp", "loan", "order")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


#: Join tasks scored for both tools on Berka (TSTR; informative).
BERKA_TASKS = ({"table": "loan", "target": "status"}, {"table": "disp", "target": "type"})


def _tstr(train: Any, holdout: Any, synthetic: Any, schema: Any, seed: int) -> dict[str, Any]:
    from synthstruct.relational.model import JoinTask
    from synthstruct.relational.tstr import join_tstr

    tasks = [JoinTask(**t) for t in BERKA_TASKS if t["table"] in schema.tables]
    if not tasks:
        return {}
    scored = join_tstr(train, holdout, synthetic, schema.model_copy(update={"tasks": tasks}), seed=seed)
    return {name: {k: r.get(k) for k in ("metric", "trtr", "tstr", "own_columns_only_trtr", "n_test", "value")}
            for name, r in scored.items()}


def ours(source: Path, seed: int) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    """Full release; returns (figures, schema, (train, holdout) tables)."""
    from synthstruct.relational.fidelity import relational_fidelity
    from synthstruct.relational.pipeline import coerce_tables, release_relational
    from synthstruct.relational.split import split_entities
    from synthstruct.relational.sources import read_source
    from synthstruct.release.policy import load_policy
    from synthstruct._seeds import stream_seed

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = release_relational(source, output=Path(tmp) / "bundle", seed=seed, detect_pii=False)
        seconds = time.perf_counter() - start
        schema = _schema(Path(tmp) / "bundle")
    # the same training tables the release used (same split seed), for scoring both tools alike
    policy, _ = load_policy("default")
    tables = coerce_tables(read_source(source).tables, schema)
    train, holdout, _ = split_entities(tables, schema, holdout_fraction=policy.split.holdout_fraction,
                                        min_holdout_rows=policy.split.min_holdout_rows, seed=stream_seed(seed, "split"))
    fidelity = relational_fidelity(train, result.synthetic, schema)
    figures = {"seconds": round(seconds, 2), "passed": result.passed, "timings": result.report["timings"],
               "gate_failed": result.manifest["gate"]["failed"], "fidelity": fidelity["summary"],
               "detail": {k: fidelity[k] for k in ("child_count_ks", "table_shapes", "parent_child_trends",
                                                   "sequences")},
               "tstr_join": _tstr(train, holdout, result.synthetic, schema, seed)}
    return figures, schema, (train, holdout)


def _schema(bundle: Path):
    import yaml

    from synthstruct.relational.model import relational_from_dict

    return relational_from_dict(yaml.safe_load((bundle / "relational_schema.yaml").read_text()))


def sdv_hma(schema: Any, split: tuple[dict[str, Any], dict[str, Any]], seed: int) -> dict[str, Any]:
    """SDV HMASynthesizer on the same training tables: fit + sample_scale(1.0) timed, then scored."""
    import numpy as np
    from sdv.metadata import Metadata
    from sdv.multi_table import HMASynthesizer

    from synthstruct.relational.fidelity import relational_fidelity
    from synthstruct.relational.sdv_metadata import to_sdv_multi_table

    train, holdout = split
    metadata = Metadata.load_from_dict(to_sdv_multi_table(schema))
    data = {}
    for name, frame in train.items():
        frame = frame.copy()
        for col, spec in schema.schema_of(name).columns.items():
            if spec.kind == "id" and frame[col].notna().all():
                frame[col] = frame[col].astype("int64")
        data[name] = frame
    np.random.seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        synth = HMASynthesizer(metadata, verbose=False)
        synth.fit(data)
        fitted = time.perf_counter()
        synthetic = synth.sample_scale(scale=1.0)
        done = time.perf_counter()
    fidelity = relational_fidelity(train, synthetic, schema)
    return {"seconds": round(done - start, 2), "fit_seconds": round(fitted - start, 2),
            "sample_seconds": round(done - fitted, 2), "fidelity": fidelity["summary"],
            "detail": {k: fidelity[k] for k in ("child_count_ks", "table_shapes", "parent_child_trends")},
            "tstr_join": _tstr(train, holdout, synthetic, schema, seed)}


def _ratios(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    fa, fb = a["fidelity"], b["fidelity"]
    return {
        "speedup (SDV fit+sample / ours fit+sample+gate+io)": round(b["seconds"] / a["seconds"], 1),
        "referential_integrity": (fa["referential_integrity"], fb["referential_integrity"]),
        "real_keys_reused": (fa["real_keys_reused"], fb["real_keys_reused"]),
        "child_count_ks_max (lower is better)": (round(fa["child_count_ks_max"], 4), round(fb["child_count_ks_max"], 4)),
        "table_shapes_min": (round(fa["table_shapes_min"], 4), round(fb["table_shapes_min"], 4)),
        "parent_child_trends_mean": (round(fa["parent_child_trends_mean"], 4), round(fb["parent_child_trends_mean"], 4)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-sdv", action="store_true")
    parser.add_argument("--skip-cdnow", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")
    out: dict[str, Any] = {"load_before": _load()}
    berka = DATA_DIR / "berka"
    figures, _schema7, _split7 = ours(berka, args.seed)
    out["berka7_synthstruct"] = figures
    print(f"[berka, 7 tables] synthstruct release-db: {figures['seconds']} s (passed={figures['passed']}), "
          f"{json.dumps(figures['fidelity'])}  load {_load()}", flush=True)
    print(f"[berka, 7 tables] TSTR on joins: {json.dumps(figures['tstr_join'])}", flush=True)
    print("[berka, 7 tables] SDV HMA: refused by SDV itself (HMASynthesizer handles at most 5 tables and "
          "depth 2; district -> account -> disp -> card is depth 3)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        five = Path(tmp) / "berka5"
        five.mkdir()
        for name in BERKA5:
            (five / f"{name}.csv").write_bytes((berka / f"{name}.csv").read_bytes())
        figures5, schema5, train5 = ours(five, args.seed)
    out["berka5_synthstruct"] = figures5
    print(f"[berka, 5 tables] synthstruct release-db: {figures5['seconds']} s (passed={figures5['passed']}), "
          f"{json.dumps(figures5['fidelity'])}  load {_load()}", flush=True)
    print(f"[berka, 5 tables] parent-child trends per relationship: "
          f"{json.dumps(figures5['detail']['parent_child_trends'])}", flush=True)
    if args.skip_sdv:
        for name, a in figures5["tstr_join"].items():
            print(f"[berka, 5 tables] TSTR {name} ({a['metric']}; auc): real {a['trtr']} | ours {a['tstr']} | "
                  f"real, own columns only {a['own_columns_only_trtr']}", flush=True)
    else:
        hma = sdv_hma(schema5, train5, args.seed)
        out["berka5_sdv_hma"] = hma
        print(f"[berka, 5 tables] SDV HMA fit+sample: {hma['seconds']} s, {json.dumps(hma['fidelity'])}  "
              f"load {_load()}", flush=True)
        for name in figures5["tstr_join"]:
            a, b = figures5["tstr_join"][name], hma["tstr_join"].get(name, {})
            print(f"[berka, 5 tables] TSTR {name} ({a['metric']}; auc): real {a['trtr']} | ours {a['tstr']} | "
                  f"SDV HMA {b.get('tstr')} | real, own columns only {a['own_columns_only_trtr']}", flush=True)
        out["berka5_ratios"] = _ratios(figures5, hma)
        print("[berka, 5 tables] ours vs SDV HMA (ours, SDV):")
        for key, value in out["berka5_ratios"].items():
            print(f"  {key}: {value}")
    if not args.skip_cdnow:
        cd, _schema_cd, _ = ours(DATA_DIR / "cdnow", args.seed)
        out["cdnow_synthstruct"] = cd
        print(f"[cdnow] synthstruct release-db: {cd['seconds']} s (passed={cd['passed']}), "
              f"{json.dumps(cd['fidelity'])}, sequences {json.dumps(cd['detail']['sequences'])}  load {_load()}",
              flush=True)
    out["load_after"] = _load()
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
