"""Column-level PII classification (content first, names second) and the offline Presidio engine."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from synthstruct.pii.column_pii import classify_column, name_hint
from synthstruct.pii.presidio_engine import get_analyzer
from synthstruct.schema.model import PII_ENTITIES

N = 120


@pytest.fixture(scope="module")
def analyzer():
    return get_analyzer()


@pytest.fixture(scope="module")
def faked() -> pd.DataFrame:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(11)
    return pd.DataFrame({
        "full_name": [fake.name() for _ in range(N)],
        "contact": [fake.email() for _ in range(N)],
        "tel": [fake.phone_number() for _ in range(N)],
        "ssn": [fake.ssn() for _ in range(N)],
        "cc": [fake.credit_card_number() for _ in range(N)],
        "iban": [fake.iban() for _ in range(N)],
        "host": [fake.ipv4() for _ in range(N)],
        "who": [fake.name() for _ in range(N)],
        "dob": [fake.date_of_birth().isoformat() for _ in range(N)],
        "visit_date": [fake.date_between("-3y").isoformat() for _ in range(N)],
        "surname": [fake.last_name() for _ in range(N)],
        "zip": [fake.postcode() for _ in range(N)],
    })


@pytest.mark.parametrize("column, entity", [
    ("full_name", "PERSON"), ("contact", "EMAIL_ADDRESS"), ("tel", "PHONE_NUMBER"), ("ssn", "US_SSN"),
    ("cc", "CREDIT_CARD"), ("iban", "IBAN_CODE"), ("host", "IP_ADDRESS"), ("who", "PERSON"),
    ("dob", "DATE_OF_BIRTH"), ("surname", "LAST_NAME"), ("zip", "ZIP_CODE"),
])
def test_faker_columns_are_classified(faked, analyzer, column, entity):
    guess = classify_column(faked[column], column, analyzer=analyzer)
    assert guess.entity == entity
    assert guess.entity in PII_ENTITIES


def test_content_beats_the_name(faked, analyzer):
    guess = classify_column(faked["contact"], "contact", analyzer=analyzer)
    assert (guess.entity, guess.evidence) == ("EMAIL_ADDRESS", "content")
    assert guess.share > 0.9
    unnamed = classify_column(faked["who"], "col_7", analyzer=analyzer)
    assert (unnamed.entity, unnamed.evidence) == ("PERSON", "content")


def test_name_alone_does_not_flag_product_codes(analyzer):
    codes = pd.Series(["A", "B"] * 100)
    assert classify_column(codes, "name", analyzer=analyzer).entity is None
    classes = pd.Series(["Dresses", "Knits", "Blouses", "Pants", "Jeans"] * 200)
    assert classify_column(classes, "Class Name", analyzer=analyzer).entity is None


def test_dates_without_birth_hint_are_not_pii(faked, analyzer):
    assert classify_column(faked["visit_date"], "visit_date", analyzer=analyzer).entity is None


def test_numbers_are_not_phones_or_ssns(analyzer):
    rng = np.random.default_rng(0)
    ages = pd.Series(rng.integers(18, 90, size=500))
    amounts = pd.Series(rng.integers(1_000_000_000, 9_999_999_999, size=300))
    prices = pd.Series(rng.normal(1e9, 1e8, size=300).round(2))
    assert classify_column(ages, "age", analyzer=analyzer).entity is None
    assert classify_column(amounts, "amount", analyzer=analyzer).entity is None
    assert classify_column(prices, "price", analyzer=analyzer).entity is None


def test_digits_of_an_identifier_are_not_a_phone_number(analyzer):
    """``MRN-0595436``: Presidio's phone matcher sees a 7-digit number; glued to a code prefix it is not one."""
    rng = np.random.default_rng(3)
    codes = pd.Series(np.char.add("MRN-", np.char.zfill(rng.integers(1, 999_999, 400).astype(str), 7)))
    assert classify_column(codes, "patient_code", analyzer=analyzer).entity != "PHONE_NUMBER"
    named = classify_column(codes, "mrn", analyzer=analyzer)
    assert (named.entity, named.evidence) == ("MEDICAL_RECORD_NUMBER", "name")
    labelled = pd.Series([f"tel: (415) 555-{i:04d}" for i in range(400)])  # a label before a phone still counts
    assert classify_column(labelled, "contact", analyzer=analyzer).entity == "PHONE_NUMBER"


def test_inferred_record_numbers_keep_their_shape():
    from synthstruct.schema.infer import infer_table

    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"mrn": np.char.add("MRN-", np.char.zfill(rng.integers(1, 999_999, 600).astype(str), 7)),
                          "x": rng.random(600)})
    column = infer_table(frame).schema.columns["mrn"]
    assert (column.kind, column.entity, column.pattern) == ("pii", "MEDICAL_RECORD_NUMBER", "MRN-#######")


def test_low_cardinality_places_are_categories(analyzer):
    countries = pd.Series(["Spain", "France", "Germany", "Italy"] * 250)
    assert classify_column(countries, "country", analyzer=analyzer).entity is None


def test_airline_handles_are_personal(shared_datasets, analyzer):
    frame = pd.read_csv(shared_datasets / "airline_tweets.csv", usecols=["name", "user_timezone"], nrows=4000)
    assert classify_column(frame["name"], "name", analyzer=analyzer).entity in ("USERNAME", "PERSON")
    assert classify_column(frame["user_timezone"], "user_timezone", analyzer=analyzer).entity is None


def test_deterministic_and_value_free(faked, analyzer):
    first = classify_column(faked["full_name"], "full_name", analyzer=analyzer, sample_size=50, seed=3)
    second = classify_column(faked["full_name"], "full_name", analyzer=analyzer, sample_size=50, seed=3)
    assert first == second and first.n_sampled == 50
    text = first.describe()
    assert not any(value in text for value in faked["full_name"])


def test_empty_and_odd_columns(analyzer):
    assert classify_column(pd.Series([None, None]), "email", analyzer=analyzer).entity is None
    assert classify_column(pd.Series([[1], [2]]), "x", analyzer=analyzer).entity is None
    assert classify_column(pd.Series([True, False]), "phone", analyzer=analyzer).entity is None


def test_name_hints():
    assert name_hint("firstName") == "FIRST_NAME"
    assert name_hint("customer_name") == "PERSON"
    assert name_hint("customer_id") is None
    assert name_hint("Department Name") is None
    assert name_hint("e-mail") == "EMAIL_ADDRESS"
    assert name_hint("date_of_birth") == "DATE_OF_BIRTH"


def test_missing_model_falls_back_with_one_warning(caplog):
    caplog.set_level(logging.WARNING, logger="synthstruct.pii.presidio_engine")
    first = get_analyzer("no_such_spacy_model_for_tests")
    second = get_analyzer("no_such_spacy_model_for_tests")
    assert first is second
    warnings = [r for r in caplog.records if "not installed" in r.getMessage()]
    assert len(warnings) == 1
    found = first.analyze("write to someone@example.com, Jane Doe", language="en")
    entities = {r.entity_type for r in found}
    assert "EMAIL_ADDRESS" in entities and "PERSON" not in entities  # patterns only, no NER


def test_analyzer_never_touches_the_network():
    script = textwrap.dedent("""
        import socket
        attempts = []
        def refuse(self, *args, **kwargs):
            attempts.append(1)
            raise OSError("network disabled in test")
        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        from synthstruct.pii.presidio_engine import get_analyzer
        results = get_analyzer().analyze("mail jane.doe@example.co.uk, call 212-555-0187", language="en")
        assert "EMAIL_ADDRESS" in {r.entity_type for r in results}
        print("attempts", len(attempts))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "attempts 0"
    assert "error" not in done.stderr.lower()
