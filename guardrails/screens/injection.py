"""The prompt-injection screen: runs the rule-based detector on input, tool results and messages.

Settings come from the acting agent's policy on every call (``ctx.policy.injection``: ``enabled``,
``on``, ``action``, ``threshold`` / ``thresholds`` per kind), so agents of one manifest can differ.
Untrusted content (tool results, peer messages, or any event whose ``source`` is tool / peer /
retrieval) is scored with the stricter ``weight_untrusted`` of each rule.

Each finding carries the rule id, ``injection.<family>``, the overall score and the span in the
ORIGINAL event content (also for matches found after decoding or de-obfuscation: then the span
of the encoded run). The full :class:`~guardrails.detect.ScanResult` is left in
``ctx.scratch["injection"]`` for later screens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..detect import InjectionDetector, ScanResult, default_detector
from ..events import Event, EventKind
from ..verdict import Action, Finding
from .base import CheckContext, register_screen

if TYPE_CHECKING:
    from ..manifest import Manifest

__all__ = ["SCRATCH_KEY", "InjectionScreen", "build"]

SCRATCH_KEY = "injection"


class InjectionScreen:
    name = "injection"

    def __init__(self, kinds: frozenset[EventKind], detector: InjectionDetector | None = None) -> None:
        self.kinds = kinds
        self._detector = detector

    @property
    def detector(self) -> InjectionDetector:
        if self._detector is None:
            self._detector = default_detector()
        return self._detector

    def scan(self, event: Event, ctx: CheckContext) -> ScanResult | None:
        policy = ctx.policy
        if policy is None:
            return None  # unknown agent: the policy screen blocks it
        settings = policy.injection
        kind = str(event.kind)
        if not settings.enabled or kind not in {str(k) for k in settings.on}:
            return None
        text = event.content or ""
        if not text:
            return None
        untrusted = event.kind in (EventKind.TOOL_RESULT, EventKind.MESSAGE) or event.untrusted
        res = self.detector.scan(text, kind=kind, untrusted=untrusted,
                                 threshold=settings.threshold_for(kind),
                                 action=Action.parse(settings.action), screen=self.name)
        ctx.scratch[SCRATCH_KEY] = res
        return res

    def __call__(self, event: Event, ctx: CheckContext) -> Sequence[Finding]:
        res = self.scan(event, ctx)
        return () if res is None else res.findings


@register_screen("injection", order=30)
def build(manifest: Manifest) -> InjectionScreen | None:
    """One screen for the manifest; it runs on the union of the kinds any agent enables."""
    kinds: set[EventKind] = set()
    settings = [manifest.defaults.injection]
    for name in manifest.agent_names:
        pol = manifest.agent(name)
        if pol is not None:
            settings.append(pol.injection)
    for s in settings:
        if s.enabled:
            kinds.update(EventKind(str(k)) for k in s.on)
    if not kinds:
        return None
    return InjectionScreen(frozenset(kinds))
