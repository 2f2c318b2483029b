"""YAML recognizers: validators, strict loading, and detection through Presidio."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthstruct.errors import InputError
from synthstruct.pii.recognizers import (
    BUILTIN_RECOGNIZERS_DIR,
    build_recognizers,
    iban_valid,
    ip_valid,
    load_recognizer_file,
    load_recognizer_specs,
    luhn_valid,
    uk_nino_valid,
    us_ssn_valid,
)

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("number, ok", [
    ("2223000048400011", True), ("2223 0000 4840 0011", True), ("2223000048400012", False),
    ("6759649826438453", True), ("213112345678902", False), ("4111111111111111", True), ("1111111111111", False),
])
def test_luhn(number, ok):
    assert luhn_valid(number) is ok


@pytest.mark.parametrize("iban, ok", [
    ("GB82WEST12345698765432", True), ("GB82 WEST 1234 5698 7654 32", True), ("DE89370400440532013000", True),
    ("GB82WEST12345698765433", False), ("DE8937040044053201300", False), ("XX00", False),
])
def test_iban(iban, ok):
    assert iban_valid(iban) is ok


@pytest.mark.parametrize("ssn, ok", [
    ("536-90-4399", True), ("000-12-3456", False), ("666-12-3456", False), ("912-12-3456", False),
    ("123-00-4567", False), ("123-45-0000", False), ("078-05-1120", False), ("12-345-678", False),
])
def test_us_ssn_rules(ssn, ok):
    assert us_ssn_valid(ssn) is ok


@pytest.mark.parametrize("nino, ok", [
    ("AB123456C", True), ("AB 12 34 56 C", True), ("ZZ123456A", False), ("GB123456A", False),
    ("DA123456A", False), ("AB123456E", False),
])
def test_uk_nino(nino, ok):
    assert uk_nino_valid(nino) is ok


def test_ip():
    assert ip_valid("192.168.0.1") and ip_valid("2001:db8::1")
    assert not ip_valid("999.1.1.1") and not ip_valid("10:30:00")


def test_builtin_files_load_and_are_linked_from_the_repo_folder():
    specs = load_recognizer_specs()
    names = {s.name for s in specs}
    assert {"MastercardSeries2Recognizer", "MaestroRecognizer", "Jcb15Recognizer", "RegionPhoneRecognizer",
            "IbanChecksumRecognizer", "UkNinoRulesRecognizer", "UsSsnRulesRecognizer",
            "MedicalRecordNumberRecognizer", "IpAddressCheckedRecognizer"} <= names
    repo_files = sorted(p.name for p in (REPO / "privacy" / "recognizers").glob("*.yaml"))
    assert repo_files == sorted(p.name for p in BUILTIN_RECOGNIZERS_DIR.glob("*.yaml"))
    for path in (REPO / "privacy" / "recognizers").glob("*.yaml"):
        assert load_recognizer_file(path).version == 1


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_keys_bad_regex_and_missing_version_are_reported_together(tmp_path):
    path = _write(tmp_path, """
recognizers:
  - name: Bad
    entity: THING
    patterns: [{name: p, regex: '(unclosed', score: 0.5}]
  - name: Typo
    entity: THING
    patterns: [{name: p, regex: 'x', score: 0.5}]
    contxt: [a]
""")
    with pytest.raises(InputError) as info:
        load_recognizer_file(path)
    text = str(info.value)
    assert "version" in text and "contxt" in text and "not a valid regex" in text
    assert len(info.value.problems) == 3


def test_phone_regions_are_checked(tmp_path):
    path = _write(tmp_path, """
version: 1
recognizers:
  - {name: P, entity: PHONE_NUMBER, kind: phone, regions: [GB, XX]}
""")
    with pytest.raises(InputError, match="unknown phone regions"):
        load_recognizer_file(path)


def test_duplicate_names_across_files(tmp_path):
    body = "version: 1\nrecognizers:\n  - {name: Same, entity: X, patterns: [{name: p, regex: 'x', score: 0.5}]}\n"
    (tmp_path / "a.yaml").write_text(body)
    (tmp_path / "b.yaml").write_text(body)
    with pytest.raises(InputError, match="duplicate recognizer names"):
        load_recognizer_specs([tmp_path])


def _hits(recognizers, text, entity):
    return [(r.start, r.end, r.score) for rec in recognizers for r in rec.analyze(text, [entity], None)
            if r.entity_type == entity]


@pytest.fixture(scope="module")
def custom():
    return build_recognizers()


@pytest.mark.parametrize("card_type", ["mastercard", "maestro", "jcb15", "visa19"])
def test_card_brands_presidio_misses_are_found_and_luhn_checked(custom, card_type):
    from faker import Faker

    fake = Faker()
    fake.seed_instance(3)
    for _ in range(20):
        number = fake.credit_card_number(card_type=card_type)
        if card_type == "mastercard" and not number.startswith("2"):
            continue  # 51-55 is Presidio's own recognizer
        assert _hits(custom, f"paid with {number} today", "CREDIT_CARD")[0][2] == 1.0
        broken = number[:-1] + str((int(number[-1]) + 1) % 10)
        assert not _hits(custom, f"paid with {broken} today", "CREDIT_CARD")


def test_phone_regions_and_scores(custom):
    assert _hits(custom, "ring +44 20 7946 0958 now", "PHONE_NUMBER")[0][2] == pytest.approx(0.6)
    assert _hits(custom, "Tel. 030 12345678 bitte", "PHONE_NUMBER")
    assert _hits(custom, "appel au 01 42 68 53 00", "PHONE_NUMBER")
    assert not _hits(custom, "born 2021-03-04, ssn 536-90-4399, ip 10.1.2.3", "PHONE_NUMBER")


def test_mrn_ssn_nino_iban_ip(custom):
    assert _hits(custom, "Patient MRN: 00123456 admitted", "MEDICAL_RECORD_NUMBER")
    assert _hits(custom, "SSN 536-90-4399", "US_SSN") and not _hits(custom, "SSN 666-90-4399", "US_SSN")
    assert _hits(custom, "NI number AB 12 34 56 C", "UK_NINO") and not _hits(custom, "ZZ123456A", "UK_NINO")
    assert _hits(custom, "pay GB82 WEST 1234 5698 7654 32 ok", "IBAN_CODE")
    assert not _hits(custom, "pay GB82WEST12345698765433 ok", "IBAN_CODE")
    assert _hits(custom, "from 2001:db8::1 and 8.8.8.8", "IP_ADDRESS") and not _hits(custom, "v 999.1.1.1", "IP_ADDRESS")
