"""Prompt-injection detection without a model: normalization, rule engine, scoring.

The screen in :mod:`guardrails.screens.injection` wraps :class:`InjectionDetector` for the Guard;
the detector is also usable on its own (CLI, other screens, your code).
"""

from __future__ import annotations

from .detector import UNTRUSTED_KINDS, InjectionDetector, RuleHit, ScanResult, combine, default_detector
from .rules import Rule, RuleSet, default_rules, load_rules

__all__ = [
    "UNTRUSTED_KINDS",
    "InjectionDetector",
    "Rule",
    "RuleHit",
    "RuleSet",
    "ScanResult",
    "combine",
    "default_detector",
    "default_rules",
    "load_rules",
]
