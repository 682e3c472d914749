"""GuardrailsCallbackHandler: a hard stop for loops without middleware (sync and async)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from guardrails.integrations.langchain import GuardrailsCallbackHandler
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from guardrails import Blocked
from guardrails.demo.model import ScriptedChatModel, replay

from .conftest import Exploding, Tools, make_guard


def call(name: str, **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": None, "type": "tool_call"}])


def agent(tools: Tools, script: list[AIMessage]) -> Any:
    return create_agent(ScriptedChatModel(brain=replay(script)), tools.all)


def cfg(guard: Any, agent_name: str | None = "support") -> dict[str, Any]:
    return {"callbacks": [GuardrailsCallbackHandler(guard, agent=agent_name)]}


def test_allowed_loop_completes(tools: Tools) -> None:
    out = agent(tools, [call("lookup_once", q="x"), AIMessage("done")]).invoke(
        {"messages": [HumanMessage("order?")]}, cfg(make_guard(), agent_name="support"),
    )
    assert tools.names() == ["lookup_once"] and out["messages"][-1].content == "done"


def test_denied_tool_never_runs_sync(tools: Tools) -> None:
    a = agent(tools, [call("delete_account", user="bob"), AIMessage("done")])
    with pytest.raises(Blocked) as ei:
        a.invoke({"messages": [HumanMessage("x")]}, cfg(make_guard()))
    assert tools.ran == []
    assert "policy.tool_not_allowed" in ei.value.verdict.categories


async def test_denied_tool_never_runs_async_loop(tools: Tools) -> None:
    a = agent(tools, [call("send_email", to="x@evil.example", subject="s", body="b"), AIMessage("d")])
    with pytest.raises(Blocked):
        await a.ainvoke({"messages": [HumanMessage("x")]}, cfg(make_guard()))
    assert tools.ran == []


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_create_react_agent_loop(tools: Tools, mode: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langgraph.prebuilt import create_react_agent

        a = create_react_agent(ScriptedChatModel(brain=replay([call("delete_account", user="x"),
                                                               AIMessage("d")])), tools.all)
    with pytest.raises(Blocked):
        if mode == "sync":
            a.invoke({"messages": [HumanMessage("x")]}, cfg(make_guard()))
        else:
            await a.ainvoke({"messages": [HumanMessage("x")]}, cfg(make_guard()))
    assert tools.ran == []


def test_on_tool_start_catches_direct_tool_invocation(tools: Tools) -> None:
    """A custom loop that runs a tool without a model turn is still checked in on_tool_start."""
    delete = next(t for t in tools.all if t.name == "delete_account")
    with pytest.raises(Blocked):
        delete.invoke({"user": "bob"}, cfg(make_guard()))
    assert tools.ran == []
    get_order = next(t for t in tools.all if t.name == "get_order")
    get_order.invoke({"order_id": "AB12345678"}, {"callbacks": [
        GuardrailsCallbackHandler(make_guard(), agent="support", on_redact="allow")]})
    assert tools.names() == ["get_order"]


def test_tool_output_injection_stops_the_run(tools: Tools) -> None:
    a = agent(tools, [call("fetch_page", url="https://status.example.com"), AIMessage("d")])
    with pytest.raises(Blocked) as ei:
        a.invoke({"messages": [HumanMessage("x")]}, cfg(make_guard()))
    assert "injection.override" in ei.value.verdict.categories


def test_redact_is_block_by_default_and_allow_on_request(tools: Tools) -> None:
    script = [call("get_order", order_id="AB12345678"), AIMessage("d")]
    with pytest.raises(Blocked) as ei:
        agent(tools, script).invoke({"messages": [HumanMessage("x")]}, cfg(make_guard()))
    assert "cannot redact" in str(ei.value)
    out = agent(tools, script).invoke(
        {"messages": [HumanMessage("x")]},
        {"callbacks": [GuardrailsCallbackHandler(make_guard(), agent="support", on_redact="allow")]})
    assert out["messages"][-1].content == "d"


def test_review_is_a_block_in_callbacks(tools: Tools) -> None:
    with pytest.raises(Blocked):
        agent(tools, [call("wire_money", amount=1), AIMessage("d")]).invoke(
            {"messages": [HumanMessage("x")]}, cfg(make_guard()))
    assert tools.ran == []


def test_handler_is_sync_and_raises() -> None:
    from langchain_core.callbacks import AsyncCallbackHandler

    h = GuardrailsCallbackHandler(make_guard(), agent="support")
    assert h.raise_error is True
    assert not isinstance(h, AsyncCallbackHandler)


def test_limit_counted_once_between_llm_end_and_tool_start(tools: Tools) -> None:
    out = agent(tools, [call("lookup_once", q="1"), AIMessage("d")]).invoke(
        {"messages": [HumanMessage("x")]}, cfg(make_guard()))
    assert tools.names() == ["lookup_once"] and out["messages"][-1].content == "d"


# ------------------------------------------------------------------------------ fail closed
def _llm_result(msg: AIMessage) -> LLMResult:
    return LLMResult(generations=[[ChatGeneration(message=msg)]])


def test_fail_closed_on_llm_end() -> None:
    h = GuardrailsCallbackHandler(Exploding(make_guard()), agent="support")  # type: ignore[arg-type]
    with pytest.raises(Blocked) as ei:
        h.on_llm_end(_llm_result(call("get_order", order_id="AB12345678")), run_id="r1")
    assert ei.value.verdict.categories == ("screen.error",)


def test_fail_closed_on_tool_start() -> None:
    h = GuardrailsCallbackHandler(Exploding(make_guard()), agent="support")  # type: ignore[arg-type]
    with pytest.raises(Blocked):
        h.on_tool_start({"name": "get_order"}, '{"order_id": "AB12345678"}', run_id="t1",
                        inputs={"order_id": "AB12345678"})


def test_fail_closed_on_tool_end() -> None:
    h = GuardrailsCallbackHandler(Exploding(make_guard()), agent="support")  # type: ignore[arg-type]
    with pytest.raises(Blocked):
        h.on_tool_end("plain output", run_id="t1")


def test_fail_closed_in_a_real_loop(tools: Tools) -> None:
    a = agent(tools, [call("get_order", order_id="AB12345678"), AIMessage("d")])
    with pytest.raises(Blocked):
        a.invoke({"messages": [HumanMessage("x")]}, cfg(Exploding(make_guard())))
    assert tools.ran == []


def test_malformed_llm_results_do_not_crash() -> None:
    h = GuardrailsCallbackHandler(make_guard(), agent="support")
    h.on_llm_end(LLMResult(generations=[]), run_id="x")
    h.on_llm_end(LLMResult(generations=[[]]), run_id="y")
    weird = AIMessage(content="", tool_calls=[{"name": "get_order", "args": {"order_id": "A" * 100_000},
                                                "id": "z", "type": "tool_call"}])
    with pytest.raises(Blocked):
        h.on_llm_end(_llm_result(weird), run_id="z")


def test_agent_from_langgraph_metadata() -> None:
    h = GuardrailsCallbackHandler(make_guard())  # no agent: from metadata
    meta = {"langgraph_node": "tools", "langgraph_checkpoint_ns": "billing:abc|tools:def"}
    h.on_tool_start({"name": "refund"}, "", run_id="a", metadata=meta,
                    inputs={"order_id": "AB1", "amount": 5})
    with pytest.raises(Blocked):  # support may not refund: identity matters
        h.on_tool_start({"name": "refund"}, "", run_id="b",
                        metadata={"langgraph_checkpoint_ns": "support:1|tools:2"},
                        inputs={"order_id": "AB1", "amount": 5})
    with pytest.raises(Blocked):  # no identity at all: unknown agent, denied
        h.on_tool_start({"name": "refund"}, "", run_id="c", metadata={"langgraph_node": "x"},
                        inputs={"order_id": "AB1", "amount": 5})
