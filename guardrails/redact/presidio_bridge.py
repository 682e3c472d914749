"""Presidio, offline: recognizers with Presidio's entity names, a no-op NLP engine and a
``tldextract`` that never touches the network.

Importing this module is cheap; Presidio (about 3 s to import) is loaded on first use.

``tldextract`` downloads the public suffix list on its first call unless told otherwise.
Presidio's ``EmailRecognizer.validate_result`` calls the module-level ``tldextract.extract``,
which would do exactly that, so every e-mail recognizer built here is replaced by
:class:`OfflineEmailRecognizer`, which uses an extractor built with ``suffix_list_urls=()``
(the snapshot bundled with tldextract) and no cache directory.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import ConfigError, MissingDependency

__all__ = [
    "NER_ENTITIES",
    "PRESIDIO_DEFAULT_ENTITIES",
    "analyzer_engine",
    "build_recognizers",
    "offline_email_recognizer_class",
    "offline_tldextract",
    "predefined_recognizers",
    "presidio_available",
    "require_presidio",
]

#: Entities of Presidio's predefined English pattern recognizers (plus the phone recognizer).
PRESIDIO_DEFAULT_ENTITIES = (
    "CREDIT_CARD", "CRYPTO", "DATE_TIME", "EMAIL_ADDRESS", "IBAN_CODE", "IP_ADDRESS",
    "MAC_ADDRESS", "MEDICAL_LICENSE", "PHONE_NUMBER", "UK_NHS", "URL", "US_BANK_NUMBER",
    "US_DRIVER_LICENSE", "US_ITIN", "US_PASSPORT", "US_SSN", "UUID",
)

#: Entities that need an NER model (spaCy); only used when ``redact.ner`` is on.
NER_ENTITIES = ("PERSON", "LOCATION", "NRP", "ORGANIZATION", "DATE_TIME")

_lock = threading.Lock()


def presidio_available() -> bool:
    """True when presidio-analyzer and tldextract can be imported (without importing them)."""
    return (importlib.util.find_spec("presidio_analyzer") is not None
            and importlib.util.find_spec("tldextract") is not None)


def require_presidio() -> None:
    if not presidio_available():
        raise MissingDependency(
            "presidio-analyzer", "presidio", "or turn redaction off in the manifest: redact: {enabled: false}"
        )


@functools.lru_cache(maxsize=1)
def offline_tldextract() -> Any:
    """A ``tldextract.TLDExtract`` that only uses the bundled public suffix snapshot:
    no HTTP request, no cache directory."""
    require_presidio()
    import tldextract

    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)


@functools.lru_cache(maxsize=1)
def offline_email_recognizer_class() -> type:
    """Presidio's EmailRecognizer with ``validate_result`` on the offline extractor."""
    require_presidio()
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    extract = offline_tldextract()
    extract("warm.example.com")  # builds the suffix trie now, not inside the first check

    class OfflineEmailRecognizer(EmailRecognizer):
        """EmailRecognizer whose domain check never reaches the network."""

        def validate_result(self, pattern_text: str) -> bool:
            return bool(extract(pattern_text).fqdn != "")

    return OfflineEmailRecognizer


def _no_op_engine() -> Any:
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    eng = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "no_op"}])
    eng.load()
    return eng


@functools.lru_cache(maxsize=1)
def _predefined() -> tuple[Any, ...]:
    require_presidio()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from presidio_analyzer import RecognizerRegistry

        reg = RecognizerRegistry()
        reg.load_predefined_recognizers(languages=["en"], nlp_engine=_no_op_engine())
    email_cls = offline_email_recognizer_class()
    out = []
    for r in reg.recognizers:
        if "EMAIL_ADDRESS" in r.supported_entities:
            r = email_cls()
        out.append(r)
    return tuple(out)


def predefined_recognizers(entities: Iterable[str] | None = None) -> list[Any]:
    """Presidio's predefined English recognizers that work without a model (fresh list;
    the recognizer objects are shared and stateless), filtered to ``entities``."""
    wanted = None if entities is None else set(entities)
    return [r for r in _predefined()
            if wanted is None or wanted.intersection(r.supported_entities)]


def build_recognizers(entities: Sequence[str], *, ner: bool = False,
                      supplementary: bool = True) -> list[Any]:
    """The recognizers for ``entities``: Presidio's predefined ones, the secret recognizers
    (entity ``SECRET``), with ``supplementary`` the shape-based phone / card recognizers of
    :mod:`.extra`, and with ``ner`` a spaCy NER recognizer. Unknown entity names are a
    ConfigError (a typo would otherwise silently redact nothing)."""
    from .secrets import secret_recognizers

    require_presidio()
    known = set(PRESIDIO_DEFAULT_ENTITIES) | {"SECRET"} | (set(NER_ENTITIES) if ner else set())
    unknown = [e for e in entities if e not in known]
    if unknown:
        hint = "" if ner else " (PERSON, LOCATION, ... need redact.ner: true and a spaCy model)"
        raise ConfigError(
            f"unknown redact entities {unknown}; known: {sorted(known)}{hint}"
        )
    recs: list[Any] = predefined_recognizers(e for e in entities if e != "SECRET")
    if "SECRET" in entities:
        recs.extend(secret_recognizers())
    if supplementary:
        from .extra import supplementary_recognizers

        for entity, extra in supplementary_recognizers().items():
            if entity in entities:
                recs.extend(extra)
    if ner:
        ner_entities = [e for e in entities if e in NER_ENTITIES]
        if ner_entities:
            recs.append(_spacy_recognizer(ner_entities))
    return recs


@functools.lru_cache(maxsize=4)
def _spacy_nlp_engine(model: str = "en_core_web_sm") -> Any:
    if importlib.util.find_spec("spacy") is None or importlib.util.find_spec(model) is None:
        raise MissingDependency(f"spaCy model {model}", "presidio")
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}],
    })
    return provider.create_engine()


def _spacy_recognizer(entities: Sequence[str]) -> Any:
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    return SpacyRecognizer(supported_entities=list(entities))


def analyzer_engine(recognizers: Sequence[Any], *, ner: bool = False) -> Any:
    """A Presidio ``AnalyzerEngine`` over exactly ``recognizers`` with the ``no_op`` NLP
    engine (or spaCy when ``ner``). Used as the slow path and as the reference in tests."""
    require_presidio()
    with _lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

        reg = RecognizerRegistry(recognizers=list(recognizers), supported_languages=["en"])
        nlp = _spacy_nlp_engine() if ner else _no_op_engine()
        return AnalyzerEngine(registry=reg, nlp_engine=nlp, supported_languages=["en"])
