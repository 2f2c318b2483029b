"""Run anonymeter's three evaluators on CSV files described by a JSON spec (run by bench_attacks.py).

Runs in the separate environment ``/work/benchenv-anonymeter`` (anonymeter 1.1.0 pins numpy < 1.27,
which the project's environment does not allow). Reads ``spec.json``::

    {"cases": {"NAME": {"train": PATH, "synthetic": PATH, "holdout": PATH}}, "n_attacks": 500,
     "linkability": [[cols_a, cols_b], ...], "inference": [[secret, aux_cols], ...]}

and prints one JSON object: per case, each evaluator's risk and 95 % interval.
"""

from __future__ import annotations

import json
import sys
import warnings

import pandas as pd


def main() -> None:
    warnings.filterwarnings("ignore")
    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

    spec = json.loads(open(sys.argv[1]).read())
    n = int(spec["n_attacks"])
    out: dict = {}
    for case, paths in spec["cases"].items():
        ori, syn, ctl = (pd.read_csv(paths[k]) for k in ("train", "synthetic", "holdout"))
        row: dict = {}
        for mode in ("univariate", "multivariate"):
            try:
                ev = SinglingOutEvaluator(ori=ori, syn=syn, control=ctl, n_attacks=n).evaluate(mode=mode)
                risk = ev.risk()
                row[f"singling_out_{mode}"] = {"risk": risk.value, "ci": list(risk.ci)}
            except Exception as exc:  # noqa: BLE001 - anonymeter raises when it finds no query
                row[f"singling_out_{mode}"] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
        for i, (a, b) in enumerate(spec["linkability"]):
            ev = LinkabilityEvaluator(ori=ori, syn=syn, control=ctl, n_attacks=min(n, len(ctl)),
                                      aux_cols=(a, b), n_neighbors=1).evaluate(n_jobs=1)
            risk = ev.risk()
            row[f"linkability_{i}"] = {"risk": risk.value, "ci": list(risk.ci), "aux_cols": [a, b]}
        for i, (secret, aux) in enumerate(spec["inference"]):
            ev = InferenceEvaluator(ori=ori, syn=syn, control=ctl, aux_cols=aux, secret=secret,
                                    n_attacks=min(n, len(ctl))).evaluate(n_jobs=1)
            risk = ev.risk()
            row[f"inference_{i}"] = {"risk": risk.value, "ci": list(risk.ci), "secret": secret, "aux_cols": aux}
        out[case] = row
    print(json.dumps(out))


if __name__ == "__main__":
    main()
