"""Bedrock Agents action-group Lambda decorator on the documented event / response formats."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from guardrails.integrations.bedrock import api_tool_name, guard_action_group, parse_action_group_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .bedrock_support import INJECTION, SECRET, fixture, make_guard

FUNCTION_KEYS = {"messageVersion", "response", "sessionAttributes", "promptSessionAttributes"}


class Handler:
    def __init__(self, result: Any = "ok", exc: Exception | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.result = result
        self.exc = exc

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.calls.append(event)
        if self.exc is not None:
            raise self.exc
        return self.result


def _wrap(handler: Handler, **kw: Any) -> Any:
    return guard_action_group(make_guard(), **kw)(handler)


def _body(resp: dict[str, Any]) -> str:
    r = resp["response"]
    if "functionResponse" in r:
        return str(r["functionResponse"]["responseBody"]["TEXT"]["body"])
    (holder,) = r["responseBody"].values()
    return str(holder["body"])


def _assert_function_shape(resp: dict[str, Any], event: dict[str, Any]) -> None:
    assert resp["messageVersion"] == "1.0"
    assert set(resp) <= FUNCTION_KEYS
    r = resp["response"]
    assert r["actionGroup"] == event["actionGroup"]
    assert r["function"] == event["function"]
    assert set(r["functionResponse"]) <= {"responseBody", "responseState"}
    assert isinstance(r["functionResponse"]["responseBody"]["TEXT"]["body"], str)
    json.dumps(resp)  # serializable, as Lambda requires


# --------------------------------------------------------------------------- function details
def test_allowed_function_call_runs_handler_and_returns_documented_shape() -> None:
    event = fixture("function_event.json")
    h = Handler(result='{"status": "shipped"}')
    resp = _wrap(h)(event, None)
    assert len(h.calls) == 1 and h.calls[0] == event
    _assert_function_shape(resp, event)
    assert "responseState" not in resp["response"]["functionResponse"]
    assert _body(resp) == '{"status": "shipped"}'
    assert resp["sessionAttributes"] == {"tenant": "acme"}


def test_full_response_from_handler_is_kept_and_screened() -> None:
    event = fixture("function_event.json")
    full = fixture("function_response.json")
    full["response"]["functionResponse"]["responseBody"]["TEXT"]["body"] = (
        f'{{"status": "shipped", "api_key": "{SECRET}"}}')
    del full["response"]["functionResponse"]["responseState"]
    h = Handler(result=full)
    resp = _wrap(h)(event, None)
    assert SECRET not in json.dumps(resp)
    assert "shipped" in _body(resp)  # redacted, not withheld
    assert full["response"]["functionResponse"]["responseBody"]["TEXT"]["body"].count(SECRET) == 1


def test_tool_not_in_manifest_never_reaches_handler() -> None:
    event = fixture("function_event.json")
    event["function"] = "delete_all_orders"
    h = Handler()
    resp = _wrap(h)(event, None)
    assert h.calls == []
    _assert_function_shape(resp, event)
    assert resp["response"]["functionResponse"]["responseState"] == "REPROMPT"
    body = json.loads(_body(resp))
    assert body["error"] == "denied_by_policy"
    assert any(c.startswith("policy.") for c in body["categories"])
    assert resp["sessionAttributes"] == {"tenant": "acme"}  # a denial keeps session state


@pytest.mark.parametrize("value", ["ab12345678", "AB1234567", "AB12345678; DROP TABLE", "*", ""])
def test_bad_argument_is_denied(value: str) -> None:
    event = fixture("function_event.json")
    event["parameters"][0]["value"] = value
    h = Handler()
    resp = _wrap(h)(event, None)
    assert h.calls == []
    assert resp["response"]["functionResponse"]["responseState"] == "REPROMPT"


def test_lookalike_function_name_is_denied() -> None:
    event = fixture("function_event.json")
    event["function"] = "get_оrder"  # Cyrillic o
    h = Handler()
    resp = _wrap(h)(event, None)
    assert h.calls == [] and resp["response"]["functionResponse"]["responseState"] == "REPROMPT"


def test_unknown_agent_is_denied() -> None:
    event = fixture("function_event.json")
    event["agent"]["name"] = "intruder"
    h = Handler()
    resp = _wrap(h)(event, None)
    assert h.calls == [] and resp["response"]["functionResponse"]["responseState"] == "REPROMPT"


def test_agent_override() -> None:
    event = fixture("function_event.json")
    event["agent"]["name"] = "SupportAgentProd"
    h = Handler()
    wrapped = guard_action_group(make_guard(), agent=lambda req: "support")(h)
    wrapped(event, None)
    assert len(h.calls) == 1


def test_injection_in_input_text_blocks_before_handler() -> None:
    event = fixture("function_event.json")
    event["inputText"] = INJECTION
    h = Handler()
    resp = _wrap(h)(event, None)
    assert h.calls == []
    assert resp["response"]["functionResponse"]["responseState"] == "REPROMPT"
    assert "user's request" in json.loads(_body(resp))["message"]


def test_injection_in_tool_output_is_withheld() -> None:
    event = fixture("function_event.json")
    h = Handler(result=f"Order shipped. {INJECTION}")
    resp = _wrap(h)(event, None)
    assert len(h.calls) == 1
    assert "attacker@evil.test" not in json.dumps(resp)
    assert resp["response"]["functionResponse"]["responseState"] == "REPROMPT"


def test_handler_exception_is_a_generic_failure() -> None:
    event = fixture("function_event.json")
    h = Handler(exc=RuntimeError("db password hunter2 at 10.0.0.5"))
    resp = _wrap(h)(event, None)
    assert resp["response"]["functionResponse"]["responseState"] == "FAILURE"
    assert "hunter2" not in json.dumps(resp) and "RuntimeError" not in json.dumps(resp)
    with pytest.raises(RuntimeError):
        guard_action_group(make_guard(), catch_errors=False)(h)(event, None)


def test_parameter_types_are_converted() -> None:
    event = fixture("api_event.json")
    req = parse_action_group_event(event)
    assert req.tool == "POST /refunds/{orderId}"
    assert req.args == {"orderId": "AB12345678", "amount": 20, "currency": "USD"}
    assert req.content_type == "application/json"
    assert req.agent == "billing" and req.session_id == "987654321098765"
    assert req.agent_alias == "PRODALIAS1"


# --------------------------------------------------------------------------- OpenAPI
def test_api_call_allowed() -> None:
    event = fixture("api_event.json")
    h = Handler(result={"refund_id": "R-1"})
    resp = _wrap(h)(event, None)
    assert len(h.calls) == 1
    r = resp["response"]
    assert resp["messageVersion"] == "1.0"
    assert (r["actionGroup"], r["apiPath"], r["httpMethod"], r["httpStatusCode"]) == (
        "payments", "/refunds/{orderId}", "POST", 200)
    assert json.loads(_body(resp)) == {"refund_id": "R-1"}


def test_api_call_over_limit_is_403_and_never_runs() -> None:
    event = fixture("api_event.json")
    event["requestBody"]["content"]["application/json"]["properties"][0]["value"] = "5000"
    h = Handler()
    resp = _wrap(h)(event, None)
    assert h.calls == []
    r = resp["response"]
    assert r["httpStatusCode"] == 403 and r["apiPath"] == "/refunds/{orderId}"
    assert json.loads(_body(resp))["error"] == "denied_by_policy"


def test_api_name_is_method_and_path() -> None:
    assert api_tool_name("post", "/refunds/{orderId}") == "POST /refunds/{orderId}"
    event = fixture("api_event.json")
    event["httpMethod"] = "DELETE"  # same path, another method: a different tool
    h = Handler()
    resp = _wrap(h)(event, None)
    assert h.calls == [] and resp["response"]["httpStatusCode"] == 403


def test_param_name_collision_between_path_and_body_is_malformed() -> None:
    event = fixture("api_event.json")
    event["requestBody"]["content"]["application/json"]["properties"].append(
        {"name": "orderId", "type": "string", "value": "ZZ99999999"})
    h = Handler()
    resp = _wrap(h)(event, None)
    assert h.calls == []
    assert resp["response"]["httpStatusCode"] == 400
    assert "more than once" in json.loads(_body(resp))["message"]


def test_duplicate_function_parameter_is_malformed() -> None:
    event = fixture("function_event.json")
    event["parameters"].append({"name": "order_id", "type": "string", "value": "../../etc"})
    h = Handler()
    resp = _wrap(h)(event, None)
    assert h.calls == []
    assert resp["response"]["functionResponse"]["responseState"] == "REPROMPT"


# --------------------------------------------------------------------------- malformed events
MALFORMED: list[Any] = [
    None, [], "text", 42, {},
    {"messageVersion": "2.0"},
    {"messageVersion": "1.0", "agent": "support", "sessionId": "s", "actionGroup": "g", "function": "f"},
    {"messageVersion": "1.0", "agent": {"name": "support"}, "actionGroup": "g", "function": "f"},
    {"messageVersion": "1.0", "agent": {"name": "support"}, "sessionId": "s", "actionGroup": "g"},
    {"messageVersion": "1.0", "agent": {"name": "support"}, "sessionId": "s", "actionGroup": "g",
     "function": "get_order", "parameters": "order_id=AB12345678"},
    {"messageVersion": "1.0", "agent": {"name": "support"}, "sessionId": "s", "actionGroup": "g",
     "function": "get_order", "apiPath": "/x", "httpMethod": "GET"},
    {"messageVersion": "1.0", "agent": {"name": "support"}, "sessionId": "s", "actionGroup": "g",
     "apiPath": "/x", "httpMethod": "GET", "requestBody": {"content": "nope"}},
    {"messageVersion": "1.0", "agent": {"name": "support"}, "sessionId": "s", "actionGroup": "g",
     "function": "get_order", "inputText": ["not", "text"]},
]


@pytest.mark.parametrize("event", MALFORMED)
def test_malformed_events_get_a_safe_response(event: Any) -> None:
    h = Handler()
    resp = _wrap(h)(copy.deepcopy(event), None)
    assert h.calls == []
    assert resp["messageVersion"] == "1.0"
    json.dumps(resp)
    body = json.loads(_body(resp))
    assert body["error"] == "malformed_request"


def test_huge_event_does_not_hang() -> None:
    event = fixture("function_event.json")
    event["inputText"] = "please help " * 50_000
    event["parameters"] = [{"name": f"p{i}", "type": "string", "value": "x" * 100}
                           for i in range(2000)]
    h = Handler()
    resp = _wrap(h)(event, None)
    assert h.calls == []  # undeclared args are denied
    assert resp["response"]["functionResponse"]["responseState"] == "REPROMPT"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children,
                                                                       max_size=4),
    max_leaves=20,
)
_keys = st.sampled_from(["messageVersion", "agent", "sessionId", "actionGroup", "function",
                         "apiPath", "httpMethod", "parameters", "requestBody", "inputText"])


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_keys, _json, max_size=10))
def test_fuzzed_events_never_raise_and_never_run_denied_calls(event: dict[str, Any]) -> None:
    h = Handler()
    guard = make_guard()
    resp = guard_action_group(guard)(h)(event, None)
    assert resp["messageVersion"] == "1.0" and isinstance(resp["response"], dict)
    json.dumps(resp)
    # only a parseable event for a declared agent/tool with valid args may reach the handler
    if h.calls:
        req = parse_action_group_event(event)
        assert req.agent in ("support", "billing", "auditor")


def test_review_is_a_readable_denial_in_a_lambda() -> None:
    import copy as _copy

    from .bedrock_support import MANIFEST

    data = _copy.deepcopy(MANIFEST)
    data["agents"]["support"]["tools"]["get_order"]["approval"] = "required"
    h = Handler()
    resp = guard_action_group(make_guard(data))(h)(fixture("function_event.json"), None)
    assert h.calls == []
    assert resp["response"]["functionResponse"]["responseState"] == "REPROMPT"
    assert "human approval" in json.loads(_body(resp))["reason"]


def test_real_redaction_screen_rewrites_the_response_body() -> None:
    guard = make_guard()
    if "redact" not in {s.name for s in guard.screens}:
        pytest.skip("the redaction screen is not in this build")
    h = Handler(result="Customer: jane.doe@example.org, card 4111 1111 1111 1111, status shipped")
    resp = guard_action_group(guard)(h)(fixture("function_event.json"), None)
    body = _body(resp)
    assert "jane.doe@example.org" not in body and "4111 1111 1111 1111" not in body
    assert "status shipped" in body
    assert "responseState" not in resp["response"]["functionResponse"]
