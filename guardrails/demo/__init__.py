"""``perimeter demo``: a scripted two-agent scenario that runs offline in seconds.

Needs the ``langchain`` and ``otel`` extras (``pip install 'agent-perimeter[langchain,otel]'``);
see :mod:`guardrails.demo.scenario`.
"""

from __future__ import annotations

__all__: list[str] = []
