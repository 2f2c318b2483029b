"""The PII scrub never writes a replacement that occurs in the training text (ReservedValues)."""

from __future__ import annotations

import re

from synthstruct.pii.scanner import scan_texts
from synthstruct.text.checks import ReservedValues, replace_pii

TEXTS = [f"Hello, my name is {first} Green and I lost my card." for first in ("John", "Mary", "Robert", "Linda")] * 3
_NAME = re.compile(r"my name is (.+) and I lost my card\.")


def _names(texts: list[str]) -> list[str]:
    """The replacement written in each text (the template around the name is fixed)."""
    return [_NAME.search(t).group(1) for t in texts]


def _lower_case_transcripts(names: list[str]) -> list[str]:
    """Training text in the Harper Valley form: lower case, no punctuation, real caller names."""
    return [f"agent hello how can i help caller hi my name is {' '.join(n.lower().split())} i lost my card"
            for n in names]


def _contains_reserved(texts: list[str], train_names: list[str]) -> int:
    keys = {" ".join(re.findall(r"[\w']+", n.lower())) for n in train_names}
    return sum(any(k in " ".join(re.findall(r"[\w']+", name.lower())) for k in keys) for name in _names(texts))


def test_faker_replacements_can_equal_real_names_and_avoid_redraws_them():
    plain, replaced = replace_pii(TEXTS, seed=7)
    assert replaced == len(TEXTS)
    # training calls whose callers carry exactly the names Faker draws for this seed
    train = _lower_case_transcripts(_names(plain))
    assert all(spans == [] for spans in scan_texts(train))  # the scanner sees no name in lower-case text
    assert _contains_reserved(plain, _names(plain)) == len(TEXTS)  # without avoid: every name replays

    stats: dict[str, int] = {}
    avoided, replaced_again = replace_pii(TEXTS, seed=7, avoid=ReservedValues.from_texts(train), stats=stats)
    assert replaced_again == len(TEXTS)
    assert _contains_reserved(avoided, _names(plain)) == 0
    assert stats["pii_redrawn"] >= len(TEXTS) and stats["pii_tagged"] == 0


def test_avoid_without_collisions_changes_nothing_and_is_deterministic():
    unrelated = ReservedValues.from_texts(["the quick brown fox jumps over the lazy dog"], scan=False)
    assert replace_pii(TEXTS, seed=3, avoid=unrelated) == replace_pii(TEXTS, seed=3)
    reserved = ReservedValues.from_texts(_lower_case_transcripts(_names(replace_pii(TEXTS, seed=3)[0])), scan=False)
    assert replace_pii(TEXTS, seed=3, avoid=reserved) == replace_pii(TEXTS, seed=3, avoid=reserved)


def test_collides_compares_word_runs_for_names_and_whole_spans_otherwise():
    index = ReservedValues(max_words=3).add_runs(["caller hi my name is mary smith i lost my card"])
    index.add_spans([("EMAIL_ADDRESS", "Ann@Example.com ")])
    assert index.collides("PERSON", "Mary Smith")
    assert index.collides("PERSON", "Dr. Mary Smith MD")  # a run inside a longer value
    assert not index.collides("PERSON", "Mary Jones")
    assert index.collides("EMAIL_ADDRESS", "ann@example.com")  # normalised whole span
    assert not index.collides("EMAIL_ADDRESS", "joann@example.com")  # never a substring
    assert not index.collides("EMAIL_ADDRESS", "lost@my.card")  # e-mails are not checked against word runs
    assert len(index) > 0


def test_a_name_containing_a_single_word_name_span_of_the_training_text_collides():
    index = ReservedValues().add_spans([("PERSON", "elizabeth")])
    assert index.collides("PERSON", "Elizabeth Moore")  # the metric would see "elizabeth" replayed
    assert not index.collides("PERSON", "Mary Jones")
    assert not index.collides("EMAIL_ADDRESS", "elizabeth@example.org")


def test_a_rescan_replaces_training_names_the_first_scan_missed(monkeypatch):
    import synthstruct.pii.scanner as scanner

    text = "agent hello my name is Zed Quill and abigail can help"
    calls = []

    def context_dependent_scan(texts, **_kwargs):  # NER sees "abigail" only once the other name is gone
        calls.append(list(texts))
        spans = []
        for t in texts:
            first, second = t.find("Zed Quill"), t.find("abigail")
            if first >= 0:
                spans.append([(first, first + 9, "PERSON", 0.85)])
            elif second >= 0:
                spans.append([(second, second + 7, "PERSON", 0.85)])
            else:
                spans.append([])
        return spans

    monkeypatch.setattr(scanner, "scan_texts", context_dependent_scan)
    index = ReservedValues().add_spans([("PERSON", "Abigail")])
    stats: dict[str, int] = {}
    out, _ = replace_pii([text, "nothing to see here"], seed=1, avoid=index, stats=stats)
    assert "abigail" not in out[0].lower() and "Zed Quill" not in out[0] and out[0].startswith("agent hello my name is ")
    assert out[1] == "nothing to see here"
    assert stats["pii_rescanned"] == 1 and len(calls) == 3  # scan, rescan (replaced), rescan (clean)
    assert calls[1] == [calls[1][0]] and calls[1][0] != text  # only the text that changed is rescanned
    calls.clear()
    plain, _ = replace_pii([text], seed=1)
    assert "abigail" in plain[0] and len(calls) == 1  # without avoid: no rescan
