"""Optional hook for a user-supplied local classifier (for example Llama Prompt Guard 2).

Nothing here is loaded unless configured: ``InjectionDetector(classifier=...)`` takes any object
with ``predict(text) -> float`` (probability that the text is an injection / jailbreak), or use
:func:`load_hf_classifier` with a local path to a Hugging Face text-classification model (needs
``transformers`` and a backend such as ``torch``; no download happens unless you pass a hub id
and your environment allows it). Long texts are classified in chunks; the maximum counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from ..errors import MissingDependency

__all__ = ["INJECTION_LABELS", "TextClassifier", "load_hf_classifier"]

INJECTION_LABELS = ("malicious", "injection", "jailbreak", "label_1", "unsafe", "attack")


@runtime_checkable
class TextClassifier(Protocol):
    def predict(self, text: str) -> float: ...


class _HFClassifier:
    def __init__(self, pipe: Any, chunk_chars: int, labels: Sequence[str]) -> None:
        self._pipe = pipe
        self._chunk = chunk_chars
        self._labels = tuple(x.lower() for x in labels)

    def predict(self, text: str) -> float:
        chunks = [text[i: i + self._chunk] for i in range(0, max(len(text), 1), self._chunk)][:32]
        best = 0.0
        for out in self._pipe(chunks, top_k=None, truncation=True):
            for item in out:
                if str(item["label"]).lower() in self._labels:
                    best = max(best, float(item["score"]))
        return best


def load_hf_classifier(path: str, *, chunk_chars: int = 2000,
                       labels: Sequence[str] = INJECTION_LABELS) -> TextClassifier:
    """A local Hugging Face text-classification model as a :class:`TextClassifier`."""
    try:
        from transformers import pipeline  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise MissingDependency("transformers", "classifier") from None
    return _HFClassifier(pipeline("text-classification", model=path), chunk_chars, labels)
