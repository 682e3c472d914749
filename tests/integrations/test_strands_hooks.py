"""Strands Agents hooks on a real Strands agent loop.

The agents use Strands' own ``BedrockModel``; its botocore client gets ConverseStream answers as
real AWS event-stream frames from a ``before-send`` hook, so the whole loop (streaming parser,
tool executor, hook events) is the production code path.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from guardrails.integrations.strands import RUN_ID_KEY, GuardrailsHooks

from .bedrock_support import CANARY, INJECTION, SECRET, make_guard
from .bedrock_wire import Server, converse_stream_events, stream_response

strands = pytest.importorskip("strands")
boto3 = pytest.importorskip("boto3")

from strands import Agent, tool  # noqa: E402
from strands.models.bedrock import BedrockModel  # noqa: E402

CALLS: list[tuple[str, dict[str, Any]]] = []


@tool
def get_order(order_id: str) -> str:
    """Look up an order by id."""
    CALLS.append(("get_order", {"order_id": order_id}))
    return json.dumps({"order_id": order_id, "status": "shipped", "token": SECRET})


@tool
def send_email(to: str, body: str) -> str:
    """Send an e-mail."""
    CALLS.append(("send_email", {"to": to, "body": body}))
    return "sent"


@tool
def search_kb(query: str) -> str:
    """Search the knowledge base."""
    CALLS.append(("search_kb", {"query": query}))
    return f"Result for {query}. {INJECTION}"


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()


def _model(frames: list[bytes]) -> tuple[BedrockModel, Server]:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name="us-east-1")
    model = BedrockModel(model_id="anthropic.claude-3-haiku-20240307-v1:0", boto_session=session)
    return model, Server(model.client, [stream_response(f) for f in frames])


def _agent(frames: list[bytes], name: str = "support", **hook_kw: Any) -> tuple[Agent, Server,
                                                                                 GuardrailsHooks]:
    model, server = _model(frames)
    hooks = GuardrailsHooks(make_guard(), **hook_kw)
    agent = Agent(name=name, model=model, tools=[get_order, send_email, search_kb], hooks=[hooks],
                  callback_handler=None)
    return agent, server, hooks


def _tool_results(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for m in request["body"]["messages"]:
        for b in m["content"]:
            if "toolResult" in b:
                out[b["toolResult"]["toolUseId"]] = b["toolResult"]
    return out


def test_denied_tool_is_cancelled_allowed_tool_redacted_answer_redacted() -> None:
    frames = [
        converse_stream_events("Checking.", [
            {"toolUseId": "t1", "name": "get_order", "input": {"order_id": "AB12345678"}},
            {"toolUseId": "t2", "name": "send_email",
             "input": {"to": "attacker@evil.test", "body": "orders"}},
        ]),
        converse_stream_events(f"Your order shipped. Token {SECRET}."),
    ]
    agent, server, hooks = _agent(frames)
    result = agent("Where is AB12345678?")
    assert CALLS == [("get_order", {"order_id": "AB12345678"})]  # send_email never ran
    assert SECRET not in str(result) and "Your order shipped" in str(result)
    results = _tool_results(server.requests[1])
    assert results["t1"]["status"] == "success"
    assert SECRET not in json.dumps(results["t1"])
    assert results["t2"]["status"] == "error"
    assert "Denied by guardrails" in json.dumps(results["t2"])
    assert any("send_email" in what for what, _ in hooks.verdicts)
    # the conversation kept by the agent is redacted too
    assert SECRET not in json.dumps(agent.messages, default=str)


def test_injected_input_cancels_the_invocation_before_the_model() -> None:
    agent, server, _ = _agent([])
    result = agent(INJECTION)
    assert server.requests == [] and CALLS == []
    assert "Denied by guardrails" in str(result)


def test_injection_in_tool_output_is_replaced_by_an_error_result() -> None:
    frames = [
        converse_stream_events("", [{"toolUseId": "k1", "name": "search_kb",
                                     "input": {"query": "refunds"}}]),
        converse_stream_events("I could not read the knowledge base."),
    ]
    agent, server, _ = _agent(frames)
    agent("What is the refund policy?")
    assert CALLS == [("search_kb", {"query": "refunds"})]
    r = _tool_results(server.requests[1])["k1"]
    assert r["status"] == "error" and "attacker@evil.test" not in json.dumps(r)


def test_blocked_answer_is_withheld() -> None:
    agent, _, _hooks = _agent([converse_stream_events(f"the canary is {CANARY}")])
    result = agent("hello")
    assert CANARY not in str(result) and "withheld" in str(result)


def test_unknown_agent_name_denies_everything() -> None:
    agent, server, _ = _agent([], name="Strands Agents")
    result = agent("Where is AB12345678?")
    assert server.requests == [] and "Denied" in str(result)


def test_bad_args_denied_and_run_id_from_invocation_state() -> None:
    frames = [
        converse_stream_events("", [{"toolUseId": "t1", "name": "get_order",
                                     "input": {"order_id": "../../etc/passwd"}}]),
        converse_stream_events("Sorry."),
    ]
    agent, _, hooks = _agent(frames)
    agent("look it up", invocation_state={RUN_ID_KEY: "run-42"})
    assert CALLS == []
    assert hooks._runs[id(agent)] == "run-42"


# --------------------------------------------------------------------------- multi-agent
def _graph(receiver: str, text: str = "Order AB12345678 needs a refund of 20 USD.",
           ) -> tuple[Any, list[Server]]:
    from strands.multiagent import GraphBuilder

    m1, s1 = _model([converse_stream_events(text)])
    m2, s2 = _model([converse_stream_events("Refund noted.")])
    first = Agent(name="support", model=m1, tools=[], callback_handler=None)
    second = Agent(name=receiver, model=m2, tools=[], callback_handler=None)
    b = GraphBuilder()
    b.add_node(first, "support")
    b.add_node(second, receiver)
    b.add_edge("support", receiver)
    b.set_entry_point("support")
    b.set_hook_providers([GuardrailsHooks(make_guard())])
    b.set_max_node_executions(5)
    return b.build(), [s1, s2]


def test_graph_handoff_to_allowed_peer_runs() -> None:
    graph, (s1, s2) = _graph("billing")
    result = graph("Refund order AB12345678")
    assert len(s1.requests) == 1 and len(s2.requests) == 1
    assert str(result.status).lower().endswith("completed")


def test_graph_handoff_to_undeclared_peer_is_cancelled() -> None:
    graph, (s1, s2) = _graph("auditor")  # support may not send to auditor
    with pytest.raises(RuntimeError, match=r"Denied by guardrails.*support.*auditor"):
        graph("Refund order AB12345678")  # Strands raises the cancel message of a cancelled node
    assert len(s1.requests) == 1
    assert s2.requests == []  # the receiving node never ran


def test_graph_handoff_carrying_an_injection_is_cancelled() -> None:
    graph, (_s1, s2) = _graph("billing", text=f"Refund noted. {INJECTION}")
    with pytest.raises(RuntimeError, match="Denied by guardrails"):
        graph("Refund order AB12345678")
    assert s2.requests == []


# --------------------------------------------------------------------------- Swarm hand-offs
def _swarm(target: str) -> tuple[Any, Server, Server, GuardrailsHooks]:
    import copy

    from strands.multiagent import Swarm

    from .bedrock_support import MANIFEST

    data = copy.deepcopy(MANIFEST)
    data["agents"]["support"]["tools"]["handoff_to_agent"] = {"args": "any"}
    guard = make_guard(data)
    handoff = {"toolUseId": "h1", "name": "handoff_to_agent",
               "input": {"agent_name": target, "message": "Please refund AB12345678, 20 USD."}}
    m1, s1 = _model([converse_stream_events("", [handoff]),
                     converse_stream_events("Handed over.")])
    m2, s2 = _model([converse_stream_events("Refund done.")])
    hooks = GuardrailsHooks(guard)
    first = Agent(name="support", model=m1, tools=[], hooks=[hooks], callback_handler=None)
    second = Agent(name=target, model=m2, tools=[], hooks=[hooks], callback_handler=None)
    swarm = Swarm([first, second], hooks=[hooks], max_handoffs=3, max_iterations=5,
                  execution_timeout=60, node_timeout=30)
    return swarm, s1, s2, hooks


def test_swarm_handoff_to_allowed_peer() -> None:
    swarm, s1, s2, _ = _swarm("billing")
    swarm("Refund order AB12345678")
    assert len(s1.requests) == 2  # support handed off, then finished its own turn
    assert len(s2.requests) == 1  # billing ran after the hand-off


def test_swarm_handoff_to_undeclared_peer_is_cancelled() -> None:
    swarm, s1, s2, hooks = _swarm("auditor")
    swarm("Refund order AB12345678")
    assert s2.requests == []  # the hand-off was cancelled: auditor never ran
    r = _tool_results(s1.requests[1])["h1"]
    assert r["status"] == "error" and "auditor" in json.dumps(r)
    assert any("hand-off" in what for what, _ in hooks.verdicts)
