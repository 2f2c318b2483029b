"""Conformance of the text-generator registry and the built-in recognizers, one check per test id.

(Engines: test_engine_conformance.py; metrics: test_metric_conformance.py.)
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from synthstruct._registry import TEXT_GENERATORS
from synthstruct.pii.entities import ALL_ENTITIES
from synthstruct.pii.recognizers import RecognizerSpec, build_recognizers, load_recognizer_specs
from synthstruct.text.base import TextRequest, get_text_backend

#: Backends that answer offline and without a model, so their output can be checked.
_OFFLINE = {"template"}


def _requests() -> list[TextRequest]:
    system = {"role": "system", "content": "Write one short customer review."}
    return [TextRequest(messages=(system, {"role": "user", "content": f"Product {i}"}), max_words=30,
                        target_words=12, context={"product": f"p{i}", "rating": str(i % 5 + 1)}, seed=i)
            for i in range(6)]


# ---------------------------------------------------------------------------------- text generators
def check_builds_with_defaults(name: str) -> None:
    backend = get_text_backend(name)  # no model load, no network: that happens on first generate()
    assert backend is not None


def check_protocol(name: str) -> None:
    backend = get_text_backend(name)
    assert backend.name == name, f"backend.name is {backend.name!r}, registered as {name!r}"
    assert isinstance(backend.stats_, dict)
    assert callable(backend.generate)


def check_one_answer_per_request(name: str) -> None:
    if name not in _OFFLINE:
        pytest.skip(f"{name} needs a model or a server to answer")
    answers = get_text_backend(name).generate(_requests(), seed=0)
    assert len(answers) == len(_requests()) and all(isinstance(a, str) for a in answers)
    assert all(a.strip() for a in answers)


def check_deterministic(name: str) -> None:
    if name not in _OFFLINE:
        pytest.skip(f"{name} needs a model or a server to answer")
    first = get_text_backend(name).generate(_requests(), seed=3)
    again = get_text_backend(name).generate(_requests(), seed=3)
    assert first == again, "same requests and seed gave different answers"
    alone = get_text_backend(name).generate(_requests()[2:3], seed=3)
    assert alone == first[2:3], "an answer depends on its batch-mates"


TEXT_CHECKS: tuple[Callable[[str], None], ...] = (
    check_builds_with_defaults, check_protocol, check_one_answer_per_request, check_deterministic)


@pytest.mark.parametrize(("name", "check"), [
    pytest.param(n, c, id=f"{n}-{c.__name__}") for n in TEXT_GENERATORS.names() for c in TEXT_CHECKS])
def test_text_generator_conforms(name: str, check: Callable[[str], None]) -> None:
    check(name)


# --------------------------------------------------------------------------------------- recognizers
SPECS = load_recognizer_specs()


def check_entity_is_in_the_table(spec: RecognizerSpec) -> None:
    assert spec.entity in ALL_ENTITIES, f"{spec.entity} is not in synthstruct/pii/entities.py"


def check_builds(spec: RecognizerSpec) -> None:
    (recognizer,) = build_recognizers([spec])
    assert recognizer.supported_entities == [spec.entity]


def check_described(spec: RecognizerSpec) -> None:
    assert spec.description and spec.description.strip(), "say what it finds (docs/scanning.md lists it)"


def check_unique_name(spec: RecognizerSpec) -> None:
    assert [s.name for s in SPECS].count(spec.name) == 1


RECOGNIZER_CHECKS: tuple[Callable[[RecognizerSpec], None], ...] = (
    check_entity_is_in_the_table, check_builds, check_described, check_unique_name)


def test_there_are_builtin_recognizers() -> None:
    assert len(SPECS) >= 5


@pytest.mark.parametrize(("spec", "check"), [
    pytest.param(s, c, id=f"{s.name}-{c.__name__}") for s in SPECS for c in RECOGNIZER_CHECKS])
def test_recognizer_conforms(spec: RecognizerSpec, check: Callable[[RecognizerSpec], None]) -> None:
    check(spec)
