"""Run one smartnoise-synth synthesizer (MST or AIM) on a CSV; used by ``bench_dp.py --smartnoise``.

Runs in its own environment (``/work/benchenv-smartnoise``: smartnoise-synth 1.0.8 pins torch, jax and
an opendp of its own, which conflict with ours), so it imports nothing from synthstruct. Numerical
columns get smartnoise's ``BinTransformer`` with the schema's public bounds (20 equal-width bins, no
budget spent); categorical columns get its ``LabelTransformer``, which reads the category list from the
data (smartnoise's default; it spends no budget on it, unlike synthstruct's dp engine given an
undeclared domain). Prints ``{"fit_s": ...}`` as its last line.

Usage: ``python _smartnoise_runner.py TRAIN.csv OUT.csv SCHEMA.yaml mst|aim EPSILON DELTA SEED``
"""

from __future__ import annotations

import json
import random
import sys
import time

import numpy as np
import pandas as pd
import yaml


def main() -> int:
    src, out, schema_path, method, epsilon, delta, seed = sys.argv[1:8]
    random.seed(int(seed))
    np.random.seed(int(seed))
    from snsynth import Synthesizer
    from snsynth.transform import BinTransformer, LabelTransformer, TableTransformer

    frame = pd.read_csv(src)
    columns = yaml.safe_load(open(schema_path, encoding="utf-8"))["columns"]
    transformers = []
    numeric = []
    for name in frame.columns:
        spec = columns[name]
        if spec["kind"] == "numerical":
            numeric.append(name)
            transformers.append(BinTransformer(bins=20, lower=float(spec["min"]), upper=float(spec["max"]),
                                               nullable=True))
        else:
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
            transformers.append(LabelTransformer(nullable=True))
    synth = Synthesizer.create(method, epsilon=float(epsilon), delta=float(delta))
    start = time.perf_counter()
    synth.fit(frame, transformer=TableTransformer(transformers), preprocessor_eps=0.0)
    fit_s = time.perf_counter() - start
    synthetic = pd.DataFrame(synth.sample(len(frame)), columns=frame.columns)
    for name in numeric:
        synthetic[name] = pd.to_numeric(synthetic[name], errors="coerce").round()
    synthetic.to_csv(out, index=False)
    print(json.dumps({"fit_s": fit_s}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
