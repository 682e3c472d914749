"""A scripted chat model for offline demos, tests and benchmarks.

:class:`ScriptedChatModel` is a real LangChain ``BaseChatModel`` (it binds tools, returns tool calls
with ids, works in sync and async loops) whose next message is computed by a plain function of the
conversation. :func:`obedient_brain` builds the function the demo uses: a deliberately gullible agent
that **obeys instructions it finds anywhere in its context**, in user messages, tool results or
other agents' messages alike. That is exactly the weakness prompt injection exploits, so an
injected page really hijacks it, offline and deterministically.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field

__all__ = ["Brain", "ScriptedChatModel", "obedient_brain", "replay"]

Brain = Callable[[Sequence[BaseMessage]], AIMessage]


class ScriptedChatModel(BaseChatModel):
    """A chat model whose reply is ``brain(messages)``. ``bind_tools`` is accepted (the brain
    decides which tools to call). Tool call ids are unique per model instance."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    brain: Any = Field(description="Callable[[Sequence[BaseMessage]], AIMessage]")
    calls: int = 0
    _ids: Any = None

    @property
    def _llm_type(self) -> str:
        return "perimeter-scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        return self

    def _next_id(self) -> str:
        if self._ids is None:
            self._ids = itertools.count(1)
        return f"call_{next(self._ids)}"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:
        self.calls += 1
        msg = self.brain(messages)
        if msg.tool_calls:
            calls = [{**c, "id": c.get("id") or self._next_id()} for c in msg.tool_calls]
            msg = AIMessage(content=msg.content, tool_calls=calls)
        return ChatResult(generations=[ChatGeneration(message=msg)])


def replay(messages: Sequence[AIMessage]) -> Brain:
    """A brain that answers with ``messages`` in order, then repeats the last one."""
    items = list(messages)
    state = {"i": 0}

    def brain(_: Sequence[BaseMessage]) -> AIMessage:
        i = min(state["i"], len(items) - 1)
        state["i"] += 1
        return items[i].model_copy()

    return brain


# ------------------------------------------------------------------------ the obedient brain
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
_SEND = re.compile(rf"\b(?:e-?mail|send|forward)\b[^.\n]{{0,120}}?\bto\s+({_EMAIL})", re.I)
_TRANSFER = re.compile(r"\b(?:transfer|hand(?:\s+it)?\s+off|escalate|pass)\b[^.\n]{0,60}?\bto\s+(?:the\s+)?"
                       r"([a-z][a-z0-9_]{1,30})(?:\s+agent|\s+team)?\b", re.I)
_ORDER = re.compile(r"\border\s+(?:#\s*)?([A-Z]{2}[0-9]{8})\b")
_URL = re.compile(r"\b(?:read|summari[sz]e|fetch|open|check)\b[^\n]{0,40}?(https?://[^\s\"'<>]+)", re.I)
_REFUND = re.compile(r"\brefund\b[^.\n]{0,80}?(?:order\s+)?([A-Z]{2}[0-9]{8})\D{1,40}?"
                     r"([0-9]+(?:\.[0-9]+)?)", re.I)
_STOPWORDS = {"the", "a", "an", "me", "us", "you", "it", "them", "this", "that", "him", "her"}


def _text(m: BaseMessage) -> str:
    c = m.content
    if isinstance(c, str):
        return c
    return " ".join(b if isinstance(b, str) else str(b.get("text", "")) for b in c
                    if isinstance(b, (str, dict)))


def _done(messages: Sequence[BaseMessage], name: str, key: str) -> bool:
    for m in messages:
        if isinstance(m, AIMessage):
            for c in m.tool_calls:
                if c["name"] == name and key in str(c.get("args", {})):
                    return True
    return False


def _plan_from_user(text: str, context: Sequence[BaseMessage]) -> AIMessage | None:
    if (hit := _SEND.search(text)) and not _done(context, "send_email", hit.group(1)):
        return _call("send_email", to=hit.group(1), subject="As requested", body=text[:500])
    if (hit := _TRANSFER.search(text)) and hit.group(1).lower() not in _STOPWORDS:
        target = hit.group(1).lower()
        if not _done(context, f"transfer_to_{target}", ""):
            return _call(f"transfer_to_{target}", task=text[:500])
    if (hit := _REFUND.search(text)) and not _done(context, "refund", hit.group(1)):
        return _call("refund", order_id=hit.group(1), amount=float(hit.group(2)))
    if (hit := _URL.search(text)) and not _done(context, "fetch_page", hit.group(1)):
        return _call("fetch_page", url=hit.group(1).rstrip(".,)"))
    if (hit := _ORDER.search(text)) and not _done(context, "get_order", hit.group(1)):
        return _call("get_order", order_id=hit.group(1))
    return None


def _obey(text: str, context: Sequence[BaseMessage]) -> AIMessage | None:
    """Instructions found in content that is not the user's (tool results, other agents)."""
    if (hit := _SEND.search(text)) and not _done(context, "send_email", hit.group(1)):
        body = "\n".join(_text(x) for x in context if isinstance(x, ToolMessage))[:1500]
        return _call("send_email", to=hit.group(1), subject="Requested data", body=body or text[:500])
    if (hit := _TRANSFER.search(text)) and hit.group(1).lower() not in _STOPWORDS:
        target = hit.group(1).lower()
        if not _done(context, f"transfer_to_{target}", ""):
            return _call(f"transfer_to_{target}", task=text[:500])
    return None


def obedient_brain(name: str | None = None) -> Brain:
    """A brain for the agent called ``name`` that obeys the newest instruction in its context.

    It acts on the user's request (look up an order, read a URL, refund, e-mail, transfer to
    another agent) until it has acted on it, and it obeys instructions it finds in tool results
    and other agents' messages (e-mail something to an address, transfer/escalate to an agent):
    the gullibility prompt injection exploits. With nothing left to do it answers with what its
    tools and peers told it (which may include personal data: redaction's job).
    """

    def own(m: BaseMessage) -> bool:
        return isinstance(m, AIMessage) and (not m.name or m.name == name)

    def brain(messages: Sequence[BaseMessage]) -> AIMessage:
        context = [m for m in messages if not isinstance(m, SystemMessage)]
        if context and isinstance(context[-1], ToolMessage) and context[-1].status == "error":
            return AIMessage(content=f"I could not complete that step. {_text(context[-1])}")
        last_user = max((i for i, m in enumerate(context) if isinstance(m, HumanMessage)), default=-1)
        after = context[last_user + 1:]
        # newest first: the most recent instruction wins (which is what makes injections work)
        for m in reversed(after):
            if isinstance(m, ToolMessage) or (isinstance(m, AIMessage) and not own(m)):
                step = _obey(_text(m), context)
                if step is not None:
                    return step
        if last_user >= 0 and not any(isinstance(m, AIMessage) and own(m) and m.tool_calls for m in after):
            step = _plan_from_user(_text(context[last_user]), context)
            if step is not None:
                return step
        facts = [m for m in after if isinstance(m, ToolMessage) or (isinstance(m, AIMessage) and not own(m)
                                                                     and _text(m))]
        if not facts:
            return AIMessage(content="How can I help?")
        src = facts[-1]
        who = f"{src.name} says" if isinstance(src, AIMessage) else "Here is what I found"
        return AIMessage(content=f"{who}: {_text(src)[:600]}")

    return brain


def _call(name: str, **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": None,
                                              "type": "tool_call"}])
