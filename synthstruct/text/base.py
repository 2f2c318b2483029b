"""The text-generator protocol shared by every backend (``template``, ``local``, ``openai``).

A backend turns a batch of :class:`TextRequest` (chat messages + a word budget + the row's
conditioning values) into one string per request. Backends never raise for one bad answer: a request
that could not be answered yields ``""`` and is counted in ``stats_``; the caller regenerates it,
falls back to another backend, or reports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from synthstruct.errors import InputError, Problem

__all__ = ["TextGenerator", "TextRequest", "get_text_backend", "option"]


@dataclass(frozen=True)
class TextRequest:
    """One text to write.

    Attributes:
        messages: Chat messages (``{"role": ..., "content": ...}``), system first.
        max_words: Upper bound on the answer length in words (the token budget derives from it).
        target_words: Length the prompt asks for.
        context: The row's conditioning values as strings (used by the template backend).
        seed: Per-request seed, so that an answer does not depend on its batch-mates.
        document: The same request as a completion prompt (a page of example records ending in an
            open text line, :func:`synthstruct.text.prompts.build_document`); backends that complete
            plain text (``local``) may use it instead of ``messages``. Empty when not available.
        min_words: Fewest words the answer should have (0: no minimum). A backend that controls
            decoding does not let the answer end before it (``local`` forbids its end-of-line and
            end-of-text tokens until about this many words are written); a backend that cannot
            (``openai``) may ignore it: the text column's length check still applies.
        steer: Words with a bonus added to their tokens' logits while the answer is written (label
            steering, the schema's ``steer``): the words that mark the row's values to the column's verifier.
            A backend that controls decoding on the ``transformers`` runtime (``local``) applies them; the others
            ignore them (the verifier still checks the labels).
    """

    messages: tuple[dict[str, str], ...]
    max_words: int
    target_words: int
    context: dict[str, str] = field(default_factory=dict)
    seed: int = 0
    document: str = ""
    min_words: int = 0
    steer: tuple[tuple[str, float], ...] = ()


@runtime_checkable
class TextGenerator(Protocol):
    """What a text backend provides."""

    name: str
    stats_: dict[str, int]

    def generate(self, requests: Sequence[TextRequest], *, seed: int) -> list[str]:
        """One answer per request, in order (``""`` where the backend failed)."""
        ...


def option(options: dict[str, Any], key: str, kind: type, default: Any, *, column: str = "") -> Any:
    """Read and type-check one backend option.

    Raises:
        InputError: the option has the wrong type.
    """
    value = options.get(key, default)
    if value is None:
        return default
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InputError("invalid text backend option", [Problem(
            f"columns.{column}.backend.{key}" if column else f"backend.{key}",
            f"must be of type {kind.__name__}", f"set {key} to a {kind.__name__} (default {default!r})")])
    return value


def get_text_backend(name: str, options: dict[str, Any] | None = None, *, column: str = "") -> TextGenerator:
    """Instantiate the registered backend ``name`` with schema ``backend`` options.

    Raises:
        InputError: unknown backend or invalid option.
    """
    from synthstruct._registry import TEXT_GENERATORS

    cls = TEXT_GENERATORS.get(name)
    return cls(options=dict(options or {}), column=column)
