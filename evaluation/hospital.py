"""A hospital-encounters table with the shapes real exports have (for inference tests and benchmarks).

``hospital_frame(n, seed)`` builds ``n`` rows x 50 columns, modelled on public diabetes-encounter
extracts: a unique encounter id, a repeating patient number and record number (several encounters
per patient), surnames and first names, ICD-9 diagnosis codes (``250.83``, ``428``, ``V57``,
``E888``) and their chapter, ZIP codes with leading zeros, city -> state, charges written as
``$12,345.67``, incomes with thousands separators, percentages, 20-digit account numbers (beyond
int64), yes/no, Y/N and 1/0 flags, dates with ``9999-12-31`` sentinels, six constant columns and an
all-empty one, 24 medication columns (No/Steady/Up/Down) and a ``readmitted`` outcome.

``python evaluation/hospital.py OUT.csv [--rows N] [--seed S]`` writes it as CSV (all values as text,
as an export would).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["hospital_frame", "write_hospital_csv"]

_CITIES = {"Boston": "MA", "Worcester": "MA", "Springfield": "MA", "Hartford": "CT", "New Haven": "CT",
           "Providence": "RI", "Newark": "NJ", "Trenton": "NJ", "Albany": "NY", "Buffalo": "NY",
           "Rochester": "NY", "Portland": "ME", "Burlington": "VT", "Manchester": "NH"}
_ZIP_PREFIX = {"MA": "02", "CT": "06", "RI": "02", "NJ": "07", "NY": "1", "ME": "04", "VT": "05", "NH": "03"}
_MEDS = ["metformin", "repaglinide", "nateglinide", "chlorpropamide", "glimepiride", "acetohexamide", "glipizide",
         "glyburide", "tolbutamide", "pioglitazone", "rosiglitazone", "acarbose", "miglitol", "troglitazone",
         "tolazamide", "insulin", "glyburide_metformin", "glipizide_metformin", "metformin_pioglitazone",
         "metformin_rosiglitazone", "glimepiride_pioglitazone", "sitagliptin", "dose_change", "diabetes_med"]


def _icd9(rng: np.random.Generator, n: int) -> np.ndarray:
    """ICD-9-like codes: mostly numeric (``428``, ``250.83``), some V and E codes; ~700 distinct."""
    whole = rng.zipf(1.3, size=n) % 700 + 1
    codes = np.char.zfill(whole.astype(str), 3)
    dotted = rng.random(n) < 0.3
    codes = np.where(dotted, np.char.add(np.char.add(codes, "."), (rng.integers(1, 99, n)).astype(str)), codes)
    v = rng.random(n) < 0.02
    e = rng.random(n) < 0.01
    codes = np.where(v, np.char.add("V", rng.integers(10, 90, n).astype(str)), codes)
    return np.where(e, np.char.add("E", rng.integers(800, 999, n).astype(str)), codes)


def _chapter(code: str) -> str:
    if code.startswith("V"):
        return "supplementary V"
    if code.startswith("E"):
        return "external causes"
    whole = int(float(code))
    bounds = [(139, "infectious"), (239, "neoplasms"), (279, "endocrine"), (289, "blood"), (319, "mental"),
              (389, "nervous"), (459, "circulatory"), (519, "respiratory"), (579, "digestive"), (629, "genitourinary"),
              (679, "pregnancy"), (709, "skin"), (739, "musculoskeletal"), (759, "congenital")]
    return next((name for top, name in bounds if whole <= top), "other")


def hospital_frame(n: int = 100_000, seed: int = 0) -> pd.DataFrame:
    """The table, every value as text (``None`` for missing), as read from an export."""
    from faker import Faker

    rng = np.random.default_rng(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    surnames = np.array([fake.unique.last_name() for _ in range(600)])
    first = np.array([fake.unique.first_name() for _ in range(400)])
    n_patients = max(1, int(n * 0.7))
    patients = rng.integers(0, n_patients, size=n)
    cities = np.array(list(_CITIES))
    city = cities[rng.integers(0, len(cities), size=n)]
    state = np.array([_CITIES[c] for c in city])
    zips = np.array([(_ZIP_PREFIX[s] + f"{rng.integers(0, 10 ** (5 - len(_ZIP_PREFIX[s]))):0{5 - len(_ZIP_PREFIX[s])}d}")
                     for s in state])
    diag = _icd9(rng, n)
    admit = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365, n), unit="D")
    stay = rng.integers(1, 15, n)
    discharge = (admit + pd.to_timedelta(stay, unit="D")).strftime("%Y-%m-%d").to_numpy().astype(object)
    discharge[rng.random(n) < 0.01] = "9999-12-31"
    charges = rng.lognormal(9, 1, n)
    frame = pd.DataFrame({
        "encounter_id": (rng.permutation(n) + 100_000).astype(str),
        "patient_nbr": (patients * 7 + 1_000_000).astype(str),
        "mrn": np.char.add("MRN-", np.char.zfill(patients.astype(str), 7)),
        "surname": surnames[rng.integers(0, len(surnames), n)],
        "first_name": first[rng.integers(0, len(first), n)],
        "race": rng.choice(["Caucasian", "AfricanAmerican", "Hispanic", "Asian", "Other"], n, p=[.7, .15, .07, .04, .04]),
        "gender": rng.choice(["Female", "Male"], n),
        "age": rng.choice([f"[{a}-{a + 10})" for a in range(0, 100, 10)], n),
        "zip": zips,
        "city": city,
        "state": state,
        "admission_type_id": rng.integers(1, 9, n).astype(str),
        "discharge_disposition_id": (rng.zipf(1.5, n) % 29 + 1).astype(str),
        "admission_source_id": (rng.zipf(1.6, n) % 25 + 1).astype(str),
        "admit_date": admit.strftime("%Y-%m-%d"),
        "discharge_date": discharge,
        "time_in_hospital": stay.astype(str),
        "num_lab_procedures": rng.integers(1, 120, n).astype(str),
        "num_procedures": rng.integers(0, 7, n).astype(str),
        "num_medications": rng.integers(1, 80, n).astype(str),
        "diag_1": diag,
        "diag_1_chapter": [_chapter(c) for c in diag],
        "diag_2": _icd9(rng, n),
        "diag_3": _icd9(rng, n),
        "total_charges": [f"${v:,.2f}" for v in charges],
        "household_income": [f"{v:,}" for v in (rng.lognormal(11, 0.6, n).astype(int) * 10)],
        "copay_share": [f"{v}%" for v in rng.integers(0, 51, n)],
        "account_number": [str(10 ** 19 + int(v)) for v in rng.integers(0, 10 ** 15, n)],
        "insured": rng.choice(["yes", "no"], n, p=[.8, .2]),
        "smoker": rng.choice(["Y", "N"], n, p=[.25, .75]),
        "emergency": rng.choice(["1", "0"], n),
        "facility": ["unknown"] * n,
        "country": ["US"] * n,
        "examide": ["No"] * n,
        "citoglipton": ["No"] * n,
        "payer_code_version": ["7"] * n,
        "weight": [None] * n,
    })
    for med in _MEDS[: 50 - len(frame.columns) - 1]:
        frame[med] = rng.choice(["No", "Steady", "Up", "Down"], n, p=[.7, .2, .05, .05])
    frame["readmitted"] = rng.choice(["NO", ">30", "<30"], n, p=[.54, .35, .11])
    frame.loc[rng.random(n) < 0.03, "race"] = None
    return frame


def write_hospital_csv(path: str | Path, n: int = 100_000, seed: int = 0) -> Path:
    path = Path(path)
    hospital_frame(n, seed).to_csv(path, index=False)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(write_hospital_csv(args.output, args.rows, args.seed))
