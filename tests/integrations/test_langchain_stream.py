"""guarded_stream / aguarded_stream: streamed model tokens redacted before they reach the user."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from guardrails.integrations.langchain import GuardrailsMiddleware, aguarded_stream, guarded_stream
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage

from guardrails import Blocked, Guard

EMAIL = "john.smith@example.com"
KEY = "AKIAIOSFODNN7EXAMPLE"
ANSWER = f"Sure: mail {EMAIL} and use the key {KEY} for the deploy, then tell me how it went."
CFG = {"configurable": {"thread_id": "t-1"}}


def make_guard(operator: str = "replace") -> Guard:
    return Guard.from_dict({"version": 1, "defaults": {"redact": {"operator": operator}},
                            "agents": {"bot": {"tools": {}}}}, telemetry=False)


def chunks(text: str, size: int, mid: str = "m1", meta: Any = None) -> Iterator[tuple[AIMessageChunk, Any]]:
    meta = meta if meta is not None else {"langgraph_node": "model", "lc_agent_name": "bot"}
    pieces = [text[i:i + size] for i in range(0, len(text), size)]
    for i, p in enumerate(pieces):
        pos = "last" if i == len(pieces) - 1 else None
        yield AIMessageChunk(content=p, id=mid, chunk_position=pos), meta


def joined(items: list[Any]) -> str:
    return "".join(str(c.content) for c, _ in items)


@pytest.mark.parametrize("size", [1, 3, 7, 50])
def test_tokens_split_anywhere_are_redacted(size: int) -> None:
    out = list(guarded_stream(chunks(ANSWER, size), make_guard()))
    text = joined(out)
    assert EMAIL not in text and KEY not in text
    assert text == "Sure: mail <EMAIL_ADDRESS> and use the key <SECRET> for the deploy, then tell me how it went."
    assert all(isinstance(c, AIMessageChunk) and c.id == "m1" for c, _ in out)


def test_real_agent_stream_messages_mode() -> None:
    g = make_guard()
    model = GenericFakeChatModel(messages=iter([AIMessage(ANSWER)]))
    agent = create_agent(model, [], name="bot")  # no middleware: the stream alone must not leak
    raw = list(agent.stream({"messages": [{"role": "user", "content": "hi"}]}, CFG, stream_mode="messages"))
    assert EMAIL in joined(raw)  # the unguarded stream leaks
    model = GenericFakeChatModel(messages=iter([AIMessage(ANSWER)]))
    agent = create_agent(model, [], name="bot")
    seen = list(guarded_stream(agent.stream({"messages": [{"role": "user", "content": "hi"}]}, CFG,
                                            stream_mode="messages"), g, config=CFG))
    text = joined(seen)
    assert EMAIL not in text and KEY not in text and "<EMAIL_ADDRESS>" in text


def test_pseudonym_tokens_are_shared_with_the_middleware() -> None:
    g = make_guard("pseudonym")
    model = GenericFakeChatModel(messages=iter([AIMessage(ANSWER), AIMessage(ANSWER)]))
    agent = create_agent(model, [], name="bot", middleware=[GuardrailsMiddleware(g, agent="bot")])
    items = list(guarded_stream(agent.stream({"messages": [{"role": "user", "content": "hi"}]}, CFG,
                                             stream_mode=["messages", "values"]), g, config=CFG))
    modes = {m for m, _ in items}
    assert modes == {"messages", "values"}  # the multi-mode shape is kept
    streamed = "".join(str(p[0].content) for m, p in items if m == "messages")
    last_state = [p for m, p in items if m == "values"][-1]
    stored = last_state["messages"][-1].content  # written by the middleware (redacted in state)
    assert "<EMAIL_ADDRESS_1>" in streamed and "<EMAIL_ADDRESS_1>" in stored and EMAIL not in stored


def test_other_items_pass_unchanged_and_subgraph_shapes_are_kept() -> None:
    g = make_guard()
    tool = ToolMessage(content=f"raw {EMAIL}", tool_call_id="c1")  # tool results are the middleware's job
    upd = ("updates", {"model": {"messages": []}})
    sub = [(("child:1",), "messages", pair) for pair in chunks(ANSWER, 5)]
    items: list[Any] = [upd, (tool, {}), *sub]
    out = list(guarded_stream(iter(items), g, agent="bot"))
    assert out[0] is upd and out[1][0] is tool
    rest = out[2:]
    assert all(o[0] == ("child:1",) and o[1] == "messages" for o in rest)
    text = "".join(str(o[2][0].content) for o in rest)
    assert EMAIL not in text and "<EMAIL_ADDRESS>" in text


def test_open_messages_are_flushed_when_the_stream_ends() -> None:
    g = make_guard()
    items = [(AIMessageChunk(content=p, id="m9"), {}) for p in ("write to john.smi", "th@example.com")]
    out = list(guarded_stream(iter(items), g, agent="bot"))  # no chunk marked "last"
    assert joined(out) == "write to <EMAIL_ADDRESS>"


def test_a_whole_message_from_a_model_that_does_not_stream() -> None:
    g = make_guard()
    msg = AIMessage(content=f"contact {EMAIL}", id="w1")
    out = list(guarded_stream(iter([(msg, {"lc_agent_name": "bot"})]), g))
    assert out[0][0].content == "contact <EMAIL_ADDRESS>" and out[0][0].id == "w1"


def test_unknown_agent_is_withheld_or_raises() -> None:
    g = make_guard()
    meta = {"langgraph_node": "model", "lc_agent_name": "someone-else"}
    out = list(guarded_stream(chunks(ANSWER, 4, meta=meta), g))
    text = joined(out)
    assert EMAIL not in text and "Sure" not in text and text.startswith("[Perimeter withheld")
    with pytest.raises(Blocked):
        list(guarded_stream(chunks(ANSWER, 4, meta=meta), g, on_block="raise"))
    with pytest.raises(ValueError):
        list(guarded_stream(iter([]), g, on_block="ignore"))  # type: ignore[arg-type]


def test_async_twin() -> None:
    g = make_guard()

    async def source() -> AsyncIterator[Any]:
        for item in chunks(ANSWER, 2):
            yield item

    async def collect() -> list[Any]:
        return [x async for x in aguarded_stream(source(), g)]

    out = asyncio.run(collect())
    assert EMAIL not in joined(out) and "<SECRET>" in joined(out)
