"""PII and id generators: never replay a real value, deterministic, reproduce missingness and repeats."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pandas as pd
import pytest
from faker import Faker

from synthstruct.errors import InputError, NotFittedError
from synthstruct.schema.model import PII_ENTITIES, IdColumn, PiiColumn
from synthstruct.synthesizers.pii import MASK, IdGenerator, PiiGenerator, make_generator, normalise


def pii(entity: str, **kw) -> PiiColumn:
    return PiiColumn(kind="pii", entity=entity, **kw)


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return len(digits) >= 12 and total % 10 == 0


def adversarial_real(seed: int, n: int, draw) -> list[str]:
    """The exact values the generator would draw first for rng seed ``seed``."""
    fake = Faker("en_US")
    fake.seed_instance(int(np.random.default_rng(seed).integers(0, 2**63 - 1)))
    return [str(draw(fake)) for _ in range(n)]


@pytest.mark.parametrize("entity, draw", [
    ("PERSON", lambda f: f.name()),
    ("EMAIL_ADDRESS", lambda f: f.email(safe=True)),
    ("US_SSN", lambda f: f.ssn()),
    ("CREDIT_CARD", lambda f: f.credit_card_number()),
])
def test_never_emits_a_real_value_even_from_the_same_faker_seed(entity, draw):
    real = adversarial_real(5, 300, draw)
    gen = PiiGenerator(pii(entity)).fit(pd.Series(real))
    out = gen.generate(300, np.random.default_rng(5))
    real_keys = {normalise(v, entity) for v in real}
    assert not {normalise(v, entity) for v in out} & real_keys
    # The guard is what prevents replay: without it the first draw is a real value.
    unguarded = PiiGenerator(pii(entity)).fit(pd.Series(["unrelated value"]))
    assert unguarded.generate(1, np.random.default_rng(5))[0] == real[0]


@pytest.mark.parametrize("entity", PII_ENTITIES)
def test_every_entity_generates_strings(entity):
    gen = PiiGenerator(pii(entity)).fit(pd.Series(["x", "y", None]))
    out = gen.generate(30, np.random.default_rng(1))
    values = out.dropna()
    assert len(values) == 20 and all(isinstance(v, str) and v for v in values)


def test_credit_cards_are_luhn_valid():
    out = PiiGenerator(pii("CREDIT_CARD")).fit(pd.Series(["4111111111111111"])).generate(200, np.random.default_rng(2))
    assert all(luhn_ok(v) for v in out)


def test_deterministic_per_seed():
    gen = PiiGenerator(pii("PERSON")).fit(pd.Series(["Ann Lee", "Bo Chan"] * 10))
    a = gen.generate(50, np.random.default_rng(9))
    b = gen.generate(50, np.random.default_rng(9))
    c = gen.generate(50, np.random.default_rng(10))
    assert a.equals(b) and not a.equals(c)
    reloaded = PiiGenerator.from_state(json.loads(json.dumps(gen.to_state())))
    assert reloaded.generate(50, np.random.default_rng(9)).equals(a)


def test_missing_share_is_reproduced():
    real = pd.Series(["a@x.org"] * 70 + [None] * 30)
    out = PiiGenerator(pii("EMAIL_ADDRESS")).fit(real).generate(1000, np.random.default_rng(0))
    assert int(out.isna().sum()) == 300


def test_multiplicity_is_reproduced():
    real = pd.Series([f"customer {i}" for i in range(50) for _ in range(4)])
    gen = PiiGenerator(pii("PERSON")).fit(real)
    assert gen.multiplicity_ == {4: 50}
    counts = gen.generate(200, np.random.default_rng(3)).value_counts()
    assert set(counts) == {4} and len(counts) == 50

    mixed = pd.Series([f"u{i}" for i in range(100)] + [f"r{i}" for i in range(20) for _ in range(5)])
    out = PiiGenerator(pii("USERNAME")).fit(mixed).generate(2000, np.random.default_rng(4))
    rows_in_repeats = out.map(out.value_counts()).gt(1).mean()
    assert 0.35 < rows_in_repeats < 0.65  # real: 100 of 200 rows belong to repeated values


def test_unique_values_stay_unique():
    real = pd.Series([f"p{i}" for i in range(100)])
    out = PiiGenerator(pii("PERSON")).fit(real).generate(500, np.random.default_rng(0))
    assert out.is_unique


def test_mask_and_pattern_strategies():
    masked = PiiGenerator(pii("PERSON", strategy="mask")).fit(pd.Series(["a", None]))
    assert set(masked.generate(10, np.random.default_rng(0)).dropna()) == {MASK}
    patterned = PiiGenerator(pii("MEDICAL_RECORD_NUMBER", strategy="pattern", pattern="MR-###-??"))
    out = patterned.fit(pd.Series(["MR-123-AB"])).generate(100, np.random.default_rng(0))
    assert out.str.fullmatch(r"MR-\d{3}-[A-Z]{2}").all() and "MR-123-AB" not in set(out)


@pytest.mark.parametrize("entity, pattern", [
    ("MEDICAL_RECORD_NUMBER", "MRN-#######"),  # number-like: the dash goes in normalise
    ("MEDICAL_RECORD_NUMBER", "mr/##.??"),
    ("PERSON", "ID-##-??"),  # not number-like: punctuation stays, case folds
    ("PERSON", "Café-###"),  # non-ASCII literal: the general path
    ("PERSON", "A B ###"),  # a space: the general path
])
def test_pattern_values_are_normalised_in_batches_as_one_by_one(entity, pattern):
    from synthstruct.synthesizers.pii import _pattern_normaliser

    chars = IdGenerator._fill_chars(pattern, 500, np.random.default_rng(1))
    values = chars.view(f"<U{len(pattern)}").ravel().tolist()
    batch = _pattern_normaliser(pattern, entity)
    if not pattern.isascii() or " " in pattern:
        assert batch is None
    else:
        assert batch(chars) == [normalise(v, entity) for v in values]


def test_pattern_pii_drawn_in_batches_never_real_and_distinct_while_there_is_room():
    real = pd.Series([f"MRN-{i:03d}" for i in range(0, 1000, 2)])  # half of the 1,000 values are real
    gen = PiiGenerator(pii("MEDICAL_RECORD_NUMBER", pattern="MRN-###")).fit(real)
    out = gen.generate(500, np.random.default_rng(0))
    assert out.str.fullmatch(r"MRN-\d{3}").all() and not set(out) & set(real)
    assert out.nunique() >= 490  # distinct while free values are found (the last few are rare draws)
    again = PiiGenerator(pii("MEDICAL_RECORD_NUMBER", pattern="MRN-###")).fit(real)
    assert again.generate(500, np.random.default_rng(0)).equals(out)  # same seed, same values
    more = gen.generate(800, np.random.default_rng(0))  # more rows than free values: repeats, never real
    assert not set(more) & set(real) and more.nunique() == 500
    full = PiiGenerator(pii("MEDICAL_RECORD_NUMBER", pattern="MRN-#")).fit(pd.Series([f"MRN-{i}" for i in range(10)]))
    with pytest.raises(InputError, match="differ from the real"):
        full.generate(5, np.random.default_rng(0))


def test_patterns_with_other_faker_placeholders_are_drawn_by_faker():
    gen = PiiGenerator(pii("MEDICAL_RECORD_NUMBER", strategy="pattern", pattern="R%##")).fit(pd.Series(["R100"]))
    assert gen._numpy_pattern() is None
    out = gen.generate(50, np.random.default_rng(0))
    assert out.str.fullmatch(r"R[1-9]\d\d").all() and "R100" not in set(out)


def test_consistent_mapping():
    real = pd.Series(["Ann Lee", "Bo Chan", "Ann Lee", None, "ann  lee"])
    gen = PiiGenerator(pii("PERSON", consistent=True)).fit(real)
    key = b"k" * 32
    mapped = gen.map_values(real, key=key)
    assert mapped[0] == mapped[2] == mapped[4] and mapped[0] != mapped[1] and mapped[3] is None
    assert not set(mapped.dropna()) & set(real.dropna())
    again = PiiGenerator(pii("PERSON")).fit(real).map_values(real, key=key)
    assert again.equals(mapped)
    other = PiiGenerator(pii("PERSON")).fit(real).map_values(real, key=b"o" * 32)
    assert not other.equals(mapped)
    assert "k" * 32 not in json.dumps(gen.to_state())
    with pytest.raises(InputError):
        gen.map_values(real, key=b"short")


def test_state_holds_no_raw_values():
    real = pd.Series(["Zebediah Quux", "zq@example.org"])
    state = json.dumps(PiiGenerator(pii("PERSON")).fit(real).to_state())
    assert "Zebediah" not in state and "zq@" not in state
    id_state = json.dumps(IdGenerator(IdColumn(kind="id", pattern="P-#####")).fit(pd.Series(["P-12345"])).to_state())
    assert "12345" not in id_state


def test_unfitted_generators_raise():
    with pytest.raises(NotFittedError):
        PiiGenerator(pii("PERSON")).generate(3, np.random.default_rng(0))
    with pytest.raises(NotFittedError):
        IdGenerator(IdColumn(kind="id", strategy="uuid")).to_state()


def test_unknown_locale_is_an_input_error():
    gen = PiiGenerator(pii("PERSON"), locale="xx_XX").fit(pd.Series(["a"]))
    with pytest.raises(InputError):
        gen.generate(1, np.random.default_rng(0))


def test_locale_is_used():
    gen = PiiGenerator(pii("PERSON", locale="ja_JP")).fit(pd.Series(["a"]))
    out = gen.generate(20, np.random.default_rng(0))
    assert any(ord(ch) > 0x3000 for v in out for ch in v)


# --------------------------------------------------------------------------- ids
def test_pattern_ids_unique_and_never_real():
    real = pd.Series([f"P-{i:03d}" for i in range(900)])  # 900 of the 1000 possible values are real
    gen = make_generator(IdColumn(kind="id", pattern="P-###")).fit(real)
    out = gen.generate(100, np.random.default_rng(0))
    assert out.is_unique and not set(out) & set(real) and out.str.fullmatch(r"P-\d{3}").all()
    with pytest.raises(InputError):
        gen.generate(101, np.random.default_rng(0))


def test_sequence_ids_skip_real_ids():
    gen = IdGenerator(IdColumn(kind="id", strategy="sequence", start=1)).fit(pd.Series([1.0, 2.0, 4.0]))
    assert gen.generate(4, np.random.default_rng(0)).tolist() == [3, 5, 6, 7]


def test_uuid_ids_deterministic_and_valid():
    gen = IdGenerator(IdColumn(kind="id", strategy="uuid")).fit(pd.Series(["a"]))
    a = gen.generate(100, np.random.default_rng(7))
    assert a.equals(gen.generate(100, np.random.default_rng(7))) and a.is_unique
    assert all(uuid.UUID(v).version == 4 for v in a)
    reloaded = IdGenerator.from_state(json.loads(json.dumps(gen.to_state())))
    assert reloaded.generate(100, np.random.default_rng(7)).equals(a)


def test_replay_guard_digests_are_keyed_by_the_local_secret(monkeypatch):
    import hashlib

    import pandas as pd

    from synthstruct.errors import ModelIntegrityError
    from synthstruct.synthesizers.pii import ReplayGuard

    monkeypatch.setenv("SYNTHSTRUCT_SECRET", "team-key-1")
    ssns = pd.Series([f"123-45-{i:04d}" for i in range(50)])
    guard = ReplayGuard.from_values(ssns, "US_SSN")
    state = guard.to_state()
    salt = bytes.fromhex(state["salt"])
    # whoever holds the state but not the secret cannot brute-force it with plain salted hashes
    plain = {hashlib.sha256(salt + s.encode()).digest()[:16].hex() for s in ssns}
    assert not plain & set(state["digests"])
    assert ReplayGuard.from_state(state).contains("123-45-0007")
    monkeypatch.setenv("SYNTHSTRUCT_SECRET", "another-key")
    with pytest.raises(ModelIntegrityError, match="another"):
        ReplayGuard.from_state(state)


def test_pattern_and_sequence_ids_checked_in_batches_equal_the_value_by_value_way():
    real = pd.Series([f"AC-{i:04d}" for i in range(0, 10_000, 3)])
    gen = make_generator(IdColumn(kind="id", pattern="AC-####")).fit(real)
    rng = np.random.default_rng(5)
    expected = gen._fresh(2000, lambda k: IdGenerator._fill("AC-####", k, rng))
    assert gen.generate(2000, np.random.default_rng(5)).tolist() == expected
    ints = make_generator(IdColumn(kind="id", strategy="sequence", start=1)).fit(pd.Series(range(5, 400, 2)))
    value, one_by_one = 1, []
    while len(one_by_one) < 300:
        if not ints.guard_.contains(value):
            one_by_one.append(value)
        value += 1
    assert ints.generate(300, np.random.default_rng(0)).tolist() == one_by_one
