"""A small learned lexical model: word unigrams and bigrams with a linear (logistic) model.

Trained by ``scripts/train_lexical.py`` (reproducible, no network) and shipped as a JSON file in
``guardrails/data/``. It sees the detector's NORMALIZED text (so obfuscation is already folded),
and only adds evidence to the rules: see ``InjectionDetector(lexical=...)``.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_MODEL", "MAX_TOKENS", "LexicalModel", "features"]

DEFAULT_MODEL = "lexical_injection.json"
MAX_TOKENS = 4000  # tokens per text considered (the score is about intent, not length)
_TOKEN = re.compile(r"[a-z][a-z0-9']{0,24}")


def features(norm: str) -> list[str]:
    """Distinct unigram and bigram features of a normalized text."""
    toks = _TOKEN.findall(norm, 0, len(norm))[:MAX_TOKENS]
    feats = set(toks)
    feats.update(f"{a} {b}" for a, b in itertools.pairwise(toks))
    return list(feats)


@dataclass(frozen=True, slots=True)
class LexicalModel:
    """``p(injection | text) = sigmoid(bias + sum(weights[f]) / sqrt(#features))``."""

    weights: Mapping[str, float]
    bias: float
    meta: Mapping[str, Any]

    def logit(self, norm: str) -> float:
        feats = features(norm)
        if not feats:
            return self.bias
        w = self.weights
        s = 0.0
        for f in feats:
            v = w.get(f)
            if v is not None:
                s += v
        return self.bias + s / math.sqrt(len(feats))

    def predict(self, norm: str) -> float:
        z = self.logit(norm)
        if z < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LexicalModel:
        return cls({str(k): float(v) for k, v in data["weights"].items()}, float(data["bias"]),
                   dict(data.get("meta", {})))

    def to_dict(self) -> dict[str, Any]:
        return {"format": "perimeter-lexical-1", "bias": self.bias, "meta": dict(self.meta),
                "weights": {k: round(v, 5) for k, v in sorted(self.weights.items())}}

    @classmethod
    def load(cls, path: str | Path | None = None) -> LexicalModel:
        if path is None:
            text = resources.files("guardrails.data").joinpath(DEFAULT_MODEL).read_text("utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))
