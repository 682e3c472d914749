"""Return of control through a real botocore bedrock-agent-runtime client.

InvokeAgent answers with an event stream; the responses here are real AWS event-stream frames
served from botocore's ``before-send`` hook, so botocore's own parser (CRC checks included) and
its request validation of ``sessionState`` run on exactly what AWS would exchange.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from guardrails.integrations.bedrock import (
    handle_return_control,
    invoke_agent,
    parse_return_control,
    screen_agent_text,
)

from guardrails import Blocked
from guardrails.errors import InputError

from .bedrock_support import CANARY, INJECTION, SECRET, fixture, make_guard
from .bedrock_wire import Server, chunk_event, return_control_event, stream_response

boto3 = pytest.importorskip("boto3")


class Tools:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get_order(self, **kw: Any) -> Any:
        self.calls.append(("get_order", kw))
        return {"order_id": kw["order_id"], "status": "shipped", "note": f"key {SECRET}"}

    def delete_all_orders(self, **kw: Any) -> str:
        self.calls.append(("delete_all_orders", kw))
        return "deleted"

    def send_email(self, **kw: Any) -> str:
        self.calls.append(("POST /emails", kw))
        return "sent"

    def mapping(self) -> dict[str, Any]:
        return {"get_order": self.get_order, "delete_all_orders": self.delete_all_orders,
                "POST /emails": self.send_email}


def _client() -> Any:
    return boto3.client("bedrock-agent-runtime", region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def test_each_invocation_checked_only_allowed_run() -> None:
    tools = Tools()
    rc = fixture("return_control.json")
    state = handle_return_control(make_guard(), rc, agent="support", session_id="s1",
                                  tools=tools.mapping())
    assert tools.calls == [("get_order", {"order_id": "AB12345678"})]
    assert state["invocationId"] == rc["invocationId"]
    ok, delete, email = state["returnControlInvocationResults"]
    assert ok["functionResult"]["function"] == "get_order"
    assert "responseState" not in ok["functionResult"]
    body = ok["functionResult"]["responseBody"]["TEXT"]["body"]
    assert SECRET not in body and "shipped" in body  # redacted before the agent sees it
    assert delete["functionResult"]["responseState"] == "REPROMPT"
    assert json.loads(delete["functionResult"]["responseBody"]["TEXT"]["body"])["error"] == (
        "denied_by_policy")
    assert email["apiResult"]["responseState"] == "REPROMPT"
    assert email["apiResult"]["httpStatusCode"] == 403
    assert (email["apiResult"]["apiPath"], email["apiResult"]["httpMethod"]) == ("/emails", "POST")


def test_allowed_email_runs_with_converted_args() -> None:
    tools = Tools()
    rc = fixture("return_control.json")
    props = rc["invocationInputs"][2]["apiInvocationInput"]["requestBody"]["content"][
        "application/json"]["properties"]
    props[0]["value"] = "bob@example.com"
    rc["invocationInputs"] = rc["invocationInputs"][2:]
    state = handle_return_control(make_guard(), rc, agent="support", session_id="s1",
                                  tools=tools.mapping())
    assert tools.calls == [("POST /emails", {"to": "bob@example.com", "body": "order list"})]
    (res,) = state["returnControlInvocationResults"]
    assert res["apiResult"]["httpStatusCode"] == 200 and "responseState" not in res["apiResult"]


def test_unknown_malformed_and_failing_invocations() -> None:
    def boom(**kw: Any) -> str:
        raise RuntimeError("secret stack detail")

    rc = {"invocationId": "i1", "invocationInputs": [
        {"functionInvocationInput": {"actionGroup": "g", "function": "search_kb",
                                     "parameters": [{"name": "query", "type": "string",
                                                     "value": "refund policy"}]}},
        {"functionInvocationInput": {"actionGroup": "g", "function": "get_order",
                                     "parameters": [{"name": "order_id", "type": "string",
                                                     "value": "AB12345678"}]}},
        {"functionInvocationInput": {"actionGroup": "g"}},
        {"somethingElse": {}},
        "not an object",
    ]}
    state = handle_return_control(make_guard(), rc, agent="support", session_id="s",
                                  tools={"get_order": boom})
    results = state["returnControlInvocationResults"]
    assert len(results) == 5
    for r in results:
        (inner,) = r.values()
        assert inner["responseState"] == "REPROMPT"
    text = json.dumps(state)
    assert "secret stack detail" not in text and "RuntimeError" not in text
    assert "unknown_tool" in text and "malformed_request" in text and "tool_failed" in text


def test_bad_payload_raises_input_error() -> None:
    for bad in ({}, {"invocationId": "x"}, {"invocationId": "x", "invocationInputs": "no"}):
        with pytest.raises(InputError):
            parse_return_control(bad)


def test_tool_output_with_injection_is_withheld() -> None:
    rc = fixture("return_control.json")
    rc["invocationInputs"] = rc["invocationInputs"][:1]
    state = handle_return_control(make_guard(), rc, agent="support", session_id="s",
                                  tools={"get_order": lambda **kw: f"status: shipped. {INJECTION}"})
    (r,) = state["returnControlInvocationResults"]
    assert r["functionResult"]["responseState"] == "REPROMPT"
    assert "attacker@evil.test" not in json.dumps(state)


def test_screen_agent_text() -> None:
    g = make_guard()
    text = screen_agent_text(g, f"your key is {SECRET}", agent="support", session_id="s")
    assert text.startswith("your key is ") and SECRET not in text
    with pytest.raises(Blocked):
        screen_agent_text(g, f"here: {CANARY}", agent="support", session_id="s")


# --------------------------------------------------------------------------- over the wire
def test_invoke_agent_round_trip_on_event_stream_frames() -> None:
    client = _client()
    rc = fixture("return_control.json")
    first = chunk_event("Let me check.") + return_control_event(rc)
    second = chunk_event("Your order AB12345678 has shipped. ") + chunk_event(f"Ref {SECRET}.")
    server = Server(client, [stream_response(first), stream_response(second)])
    tools = Tools()
    result = invoke_agent(client, make_guard(), agent="support", agent_id="AGENT12345",
                          agent_alias_id="TSTALIASID", session_id="sess-1",
                          input_text="Where is my order AB12345678?", tools=tools.mapping())
    assert result.text.startswith("Your order AB12345678 has shipped. Ref ")
    assert SECRET not in result.text
    assert result.round_trips == 2
    assert set(result.denied) == {"delete_all_orders", "POST /emails"}
    assert tools.calls == [("get_order", {"order_id": "AB12345678"})]
    # what went over the wire: the URL carries agent, alias and session; the second request
    # carries the results botocore validated against the InvokeAgent input shape
    assert "/agents/AGENT12345/agentAliases/TSTALIASID/sessions/sess-1/text" in server.requests[0]["url"]
    assert server.requests[0]["body"]["inputText"] == "Where is my order AB12345678?"
    st = server.requests[1]["body"]["sessionState"]
    assert st["invocationId"] == rc["invocationId"]
    kinds = [next(iter(r)) for r in st["returnControlInvocationResults"]]
    assert kinds == ["functionResult", "functionResult", "apiResult"]
    assert st["returnControlInvocationResults"][1]["functionResult"]["responseState"] == "REPROMPT"
    assert SECRET not in json.dumps(server.requests[1]["body"])


def test_blocked_input_never_reaches_the_agent() -> None:
    client = _client()
    server = Server(client, [])  # any request would fail the test
    with pytest.raises(Blocked):
        invoke_agent(client, make_guard(), agent="support", agent_id="AGENT12345",
                     agent_alias_id="TSTALIASID",
                     session_id="session-01", input_text=INJECTION, tools={})
    assert server.requests == []


def test_blocked_answer_raises() -> None:
    client = _client()
    Server(client, [stream_response(chunk_event(f"the canary is {CANARY}"))])
    with pytest.raises(Blocked):
        invoke_agent(client, make_guard(), agent="support", agent_id="AGENT12345",
                     agent_alias_id="TSTALIASID",
                     session_id="session-01", input_text="hello", tools={})


def test_corrupted_frame_is_an_error_not_silent_success() -> None:
    from botocore.eventstream import ChecksumMismatch

    client = _client()
    frame = bytearray(chunk_event("hello"))
    frame[-1] ^= 0xFF  # break the message CRC
    Server(client, [stream_response(bytes(frame))])
    with pytest.raises(ChecksumMismatch):
        invoke_agent(client, make_guard(), agent="support", agent_id="AGENT12345",
                     agent_alias_id="TSTALIASID",
                     session_id="session-01", input_text="hello", tools={})


def test_round_trip_limit() -> None:
    client = _client()
    rc = copy.deepcopy(fixture("return_control.json"))
    rc["invocationInputs"] = rc["invocationInputs"][:1]
    Server(client, [stream_response(return_control_event(rc)) for _ in range(3)])
    from guardrails import GuardrailError

    with pytest.raises(GuardrailError, match="more than 3"):
        invoke_agent(client, make_guard(), agent="support", agent_id="AGENT12345",
                     agent_alias_id="TSTALIASID",
                     session_id="session-01", input_text="hello", tools=Tools().mapping(), max_round_trips=3)
