"""Corpus conventions are not personal data: redaction masks, placeholders, amounts, order numbers and
title-case phrases are not reported, while real names, phones and cards next to them still are."""

from __future__ import annotations

import pytest

from synthstruct.pii.conventions import is_convention_span, lower_case_words, mask_spans
from synthstruct.pii.scanner import scan_texts


def _found(texts: list[str]) -> list[list[tuple[str, str]]]:
    return [[(text[s:e], entity) for s, e, entity, _ in spans] for text, spans in zip(texts, scan_texts(texts))]


@pytest.mark.parametrize("text", [
    "On XX/XX/XXXX I called XXXX XXXX about my account XXXX and nobody answered.",
    "My order {{Order Number}} was late, please help [NAME] at {{Customer Support Phone Number}} today.",
    "The agent <PERSON> told me that *** would call back from ### soon.",
])
def test_redaction_masks_are_not_reported(text: str) -> None:
    assert mask_spans(text), "the mask pattern must see the masks in this text"
    assert _found([text]) == [[]]


def test_amounts_and_order_numbers_are_not_phones_or_cards() -> None:
    texts = ["They took $ 8 555 0199 from my account without asking me first.",
             "Ticket 5550123456 was opened and my order 4111111111111111 never arrived at all."]
    assert _found(texts) == [[], []]


def test_dates_are_not_places() -> None:
    text = "I paid the bill on 03/12/2019 and again on 04/12/2019 but it was still marked as late."
    assert not any(entity == "LOCATION" for _, entity in _found([text])[0])


def test_title_case_phrases_used_in_lower_case_elsewhere_are_not_people() -> None:
    texts = ["I want to Cancel Order and then Reset Password please.",
             "how do i cancel my order? the order was wrong",
             "i need to reset my password, the old password expired",
             "please cancel the order and reset the password"]
    assert not any(entity == "PERSON" for found in _found(texts) for _, entity in found)


def test_real_personal_data_next_to_conventions_is_still_found() -> None:
    texts = ["On XX/XX/XXXX I spoke with John Smith from {{Company}}, call him at 415-555-0132.",
             "My card 4111 1111 1111 1111 was charged $45.99 for order XXXX."]
    found = _found(texts)
    assert ("John Smith", "PERSON") in found[0]
    assert ("415-555-0132", "PHONE_NUMBER") in found[0]
    assert ("4111 1111 1111 1111", "CREDIT_CARD") in found[1]


def test_known_names_are_kept_even_when_the_word_is_common() -> None:
    texts = ["Please ask Rose Garcia about it.", "the rose garden", "a rose is a rose", "garcia? no idea"]
    vocabulary = lower_case_words(texts)
    span = (11, 22, "PERSON", 0.85)
    assert texts[0][11:22] == "Rose Garcia"
    assert not is_convention_span(texts[0], span, mask_spans(texts[0]), vocabulary)


def test_a_span_mixing_a_mask_and_a_word_is_kept() -> None:
    text = "Then XXXX Kowalczyk said no."
    span = (5, 19, "PERSON", 0.85)
    assert not is_convention_span(text, span, mask_spans(text), lower_case_words([text]))
    assert is_convention_span(text, (5, 9, "PERSON", 0.85), mask_spans(text), lower_case_words([text]))


def test_few_shot_scrub_keeps_masks_as_literal_tokens() -> None:
    from synthstruct.text.examples import anonymize_texts

    texts = ["On XX/XX/XXXX I called XXXX about {{Order Number}}; my name is John Smith, thank you."]
    out, replaced = anonymize_texts(texts, seed=1)
    assert replaced >= 1 and "John Smith" not in out[0]
    for mask in ("XX/XX/XXXX", "XXXX", "{{Order Number}}"):
        assert mask in out[0]


@pytest.mark.parametrize(("text", "value", "kept"), [
    ("The waist runs short.in fact i sized down twice.", "short.in", False),  # a missing space
    ("I love my J.Crew sweater and wear it all the time.", "J.Crew", False),  # an abbreviation
    ("Bought it on amazon.com last week for my sister.", "amazon.com", True),
    ("Cheaper on etsy.it than in the shop downtown.", "etsy.it", True),  # not a common word: a host
    ("Sizes at https://short.in/x are odd.", "https://short.in/x", True),  # a scheme: always a URL
])
def test_sentence_joins_and_abbreviations_are_not_urls(text: str, value: str, kept: bool) -> None:
    start = text.index(value)
    span = (start, start + len(value), "URL", 0.5)
    vocabulary = lower_case_words([text, "in the end it fits", "short and sweet, short sleeves"])
    assert is_convention_span(text, span, mask_spans(text), vocabulary) is not kept


def test_a_one_word_place_used_in_lower_case_elsewhere_is_not_a_location() -> None:
    texts = ["So Cozy and warm, I wear it to Paris and on Main Street.", "a cozy knit", "cozy but thin",
             "the main thing is the street price"]
    vocabulary = lower_case_words(texts)
    text = texts[0]

    def dropped(value: str) -> bool:
        start = text.index(value)
        return is_convention_span(text, (start, start + len(value), "LOCATION", 0.85), mask_spans(text), vocabulary)

    assert dropped("Cozy")
    assert not dropped("Paris")  # never written in lower case here
    assert not dropped("Main Street")  # a multi-word place is kept, however common its words


def test_bundled_review_scan_keeps_real_urls_and_drops_sentence_joins() -> None:
    texts = ["Love the colors.it is soft. Got it from nordstrom.com on sale.", "the colors are great",
             "it runs small", "colors and cuts are nice"]
    found = _found(texts)[0]
    assert ("nordstrom.com", "URL") in found
    assert not any(value == "colors.it" for value, _ in found)


def test_a_host_cut_out_of_a_longer_word_is_not_a_url() -> None:
    """``size up.very`` (a missing space) matched ``up.ve`` (Venezuela's domain) followed by ``ry``."""
    cut = _found(["maybe she needed to size up.very versital, cute with jeans", "the colors are great"])[0]
    assert not any(value.startswith("up.ve") for value, _ in cut)
    real = _found(["see shop.example.ve/dresses or write to ann@shop.ve.", "the colors are great"])[0]
    assert ("shop.example.ve/dresses", "URL") in real
    assert ("ann@shop.ve", "EMAIL_ADDRESS") in real


def test_numbers_followed_by_a_unit_are_not_phone_numbers() -> None:
    found = _found(["i'm 5'7 145-150 lbs and ordered the small", "call 415 555-0132 lbs of questions? no: 415 555-0132"])
    assert not any(entity == "PHONE_NUMBER" for _, entity in found[0])
    assert [v for v, e in found[1] if e == "PHONE_NUMBER"] == ["415 555-0132"]  # the second, without a unit


def test_measurements_with_a_decimal_are_not_phone_numbers() -> None:
    texts = ["I am 32-24.5-32 and 5'6, call me at 415-555-0132 or 415.555.0199 about the fit."]
    found = _found(texts)[0]
    assert not any(value.startswith("32-24") for value, _ in found)
    assert ("415-555-0132", "PHONE_NUMBER") in found and ("415.555.0199", "PHONE_NUMBER") in found
