"""Recall and precision of name-column detection (issue 13 target: recall >= 0.95 on a name-column corpus).

Builds name columns from Faker person providers -- surnames only, first names only, full names -- for
each locale, with neutral column names (``col_1``) so that only content counts, 300 rows drawn from
120 distinct names; and non-name columns (cities, countries, company names, job titles, colours,
product codes, ICD-like codes, words) as negatives. Each column goes through
:func:`synthstruct.schema.infer.infer_table` (Presidio on); a name column is found when it is
inferred ``pii`` with entity PERSON, FIRST_NAME or LAST_NAME.

Three figures: ``listed`` -- locales whose Faker lists the detector reads
(:data:`synthstruct.pii.name_lists.LOCALES`), full inference, in-sample; ``other`` -- Faker locales
outside that list (some share lists with listed ones), full inference; ``leave_one_out`` -- for each listed
locale, the name-list rule alone with that locale's lists removed (out-of-sample for the lists;
Presidio not included).

Usage::

    .venv/bin/python evaluation/bench_names.py [--json names.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OTHER_LOCALES = ("it_CH", "es_CA", "fr_BE", "de_LI", "de_LU", "en_KE", "en_TH", "es_PE" , "ar_AA")
ROWS, DISTINCT = 300, 120
NAME_ENTITIES = {"PERSON", "FIRST_NAME", "LAST_NAME"}


def _columns(locale: str, seed: int) -> dict[str, list[str]]:
    import numpy as np
    from faker import Faker

    fake = Faker(locale)
    fake.seed_instance(seed)
    rng = np.random.default_rng(seed)
    out = {}
    for kind, make in (("surname", fake.last_name), ("first", fake.first_name), ("full", fake.name)):
        pool = list(dict.fromkeys(make() for _ in range(DISTINCT * 3)))[:DISTINCT]
        out[kind] = [pool[i] for i in rng.integers(0, len(pool), ROWS)]
    return out


def _negatives(seed: int) -> dict[str, list[str]]:
    import numpy as np
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = np.random.default_rng(seed)

    def pool(make, n=DISTINCT):
        values = list(dict.fromkeys(make() for _ in range(n * 3)))[:n]
        return [values[i] for i in rng.integers(0, len(values), ROWS)]

    return {"city": pool(fake.city), "country": pool(fake.country), "company": pool(fake.company),
            "job": pool(fake.job), "colour": pool(fake.color_name, 60), "word": pool(fake.word),
            "product_code": pool(lambda: fake.bothify("??-####")), "icd": pool(lambda: fake.numerify("###.##")),
            "street": pool(fake.street_name), "state": pool(fake.state, 50)}


def main() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import pandas as pd

    from synthstruct.pii.name_lists import LOCALES
    from synthstruct.pii.presidio_engine import get_analyzer
    from synthstruct.schema.infer import infer_table

    analyzer = get_analyzer()

    def found(values: list[str]) -> str | None:
        frame = pd.DataFrame({"col_1": values, "col_2": range(len(values))})
        spec = infer_table(frame, name="t", analyzer=analyzer, hierarchies=False).schema.columns["col_1"]
        return spec.entity if spec.kind == "pii" else None

    results: dict[str, dict[str, list]] = {"listed": {}, "other": {}}
    for group, locales in (("listed", LOCALES), ("other", OTHER_LOCALES)):
        for locale in locales:
            try:
                columns = _columns(locale, seed=1)
            except AttributeError:
                continue
            for kind, values in columns.items():
                results[group].setdefault(kind, []).append((locale, found(values)))
    from synthstruct.pii.column_pii import NAME_LIST_SHARE
    from synthstruct.pii.name_lists import name_share

    loo_hits = loo_total = 0
    loo_missed = []
    for locale in LOCALES:
        try:
            columns = _columns(locale, seed=1)
        except AttributeError:
            continue
        for kind, values in columns.items():
            distinct = list(dict.fromkeys(values))
            if len(distinct) < 20:
                continue
            shares = name_share(distinct[:200], exclude=(locale,))
            ok = max(shares.values()) >= NAME_LIST_SHARE
            loo_hits, loo_total = loo_hits + ok, loo_total + 1
            if not ok:
                loo_missed.append(f"{locale}:{kind}")
    negatives = {name: found(values) for name, values in _negatives(seed=2).items()}
    summary: dict[str, object] = {}
    for group, kinds in results.items():
        hits = total = 0
        for kind, rows in kinds.items():
            ok = sum(1 for _, e in rows if e in NAME_ENTITIES)
            summary[f"recall_{group}_{kind}"] = round(ok / len(rows), 3)
            missed = [loc for loc, e in rows if e not in NAME_ENTITIES]
            if missed:
                summary[f"missed_{group}_{kind}"] = missed
            hits, total = hits + ok, total + len(rows)
        summary[f"recall_{group}"] = round(hits / total, 3)
        summary[f"columns_{group}"] = total
    summary["recall_leave_one_out_lists_only"] = round(loo_hits / max(loo_total, 1), 3)
    summary["columns_leave_one_out"] = loo_total
    summary["missed_leave_one_out"] = loo_missed
    false_pos = {k: v for k, v in negatives.items() if v in NAME_ENTITIES}
    summary["false_positives"] = false_pos
    summary["negatives"] = len(negatives)
    summary["loadavg"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
