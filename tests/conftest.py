from __future__ import annotations

from pathlib import Path

import pytest

from guardrails import Guard, Manifest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "perimeter.yaml"

BASE = {
    "version": 1,
    "agents": {
        "support": {
            "tools": {
                "search_kb": {"args": {"query": {"type": "string", "max_length": 500}}},
                "get_order": {"args": {"order_id": {"pattern": "[A-Z]{2}[0-9]{8}", "required": True}}},
                "send_email": {
                    "args": {
                        "to": {"domains": ["example.com"], "required": True},
                        "body": {"type": "string", "max_length": 5000},
                    },
                },
                "anything": {"args": "any"},
            },
            "peers": {"send": ["billing"], "receive": ["billing"]},
        },
        "billing": {
            "tools": {
                "refund": {
                    "args": {
                        "amount": {"type": "number", "min": 0, "max": 100},
                        "currency": {"one_of": ["USD", "EUR"]},
                    }
                }
            },
            "peers": {"send": ["support"], "receive": ["support"]},
        },
    },
}


@pytest.fixture
def manifest() -> Manifest:
    return Manifest.from_dict(BASE)


@pytest.fixture
def policy_guard(manifest: Manifest) -> Guard:
    """A guard with only the policy screen (other screens are tested on their own)."""
    from guardrails.screens.policy import PolicyScreen

    return Guard(manifest, screens=[PolicyScreen(manifest)])
