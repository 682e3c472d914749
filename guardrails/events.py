"""Framework-neutral events: what the guard is asked about.

Adapters build these from LangChain messages, Bedrock events and so on; the engine never sees a
framework object. Content from ``tool``, ``peer`` and ``retrieval`` sources is untrusted.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["UNTRUSTED_SOURCES", "Direction", "Event", "EventKind", "Source", "ToolCall"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class EventKind(str, enum.Enum):
    INPUT = "input"  # a user's (or system's) words entering the agent
    MODEL_OUTPUT = "model_output"  # the model's text before it becomes the answer
    TOOL_CALL = "tool_call"  # a planned tool call, before it runs
    TOOL_RESULT = "tool_result"  # what a tool returned, before the model sees it
    MESSAGE = "message"  # a message between agents (see Direction)
    OUTPUT = "output"  # the final answer leaving the agent

    def __str__(self) -> str:
        return self.value


class Source(str, enum.Enum):
    """Trust label of the content's channel."""

    USER = "user"
    SYSTEM = "system"
    TOOL = "tool"
    PEER = "peer"
    RETRIEVAL = "retrieval"
    MODEL = "model"

    def __str__(self) -> str:
        return self.value


class Direction(str, enum.Enum):
    """For ``message`` events: RECEIVE = peer -> agent (untrusted), SEND = agent -> peer."""

    RECEIVE = "receive"
    SEND = "send"

    def __str__(self) -> str:
        return self.value


UNTRUSTED_SOURCES = frozenset({Source.TOOL, Source.PEER, Source.RETRIEVAL})

_DEFAULT_SOURCE = {
    EventKind.INPUT: Source.USER,
    EventKind.MODEL_OUTPUT: Source.MODEL,
    EventKind.TOOL_CALL: Source.MODEL,
    EventKind.TOOL_RESULT: Source.TOOL,
    EventKind.MESSAGE: Source.PEER,
    EventKind.OUTPUT: Source.MODEL,
}


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A planned tool call. ``args`` is a mapping, or the raw JSON string a model produced
    (the policy screen parses it; a string that is not a JSON object is denied)."""

    name: str
    args: Mapping[str, Any] | str = field(default_factory=lambda: _EMPTY)
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    agent: str
    run_id: str = ""
    content: str = ""
    tool: ToolCall | None = None
    peer: str | None = None
    source: Source = Source.USER
    direction: Direction | None = None
    metadata: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    @property
    def untrusted(self) -> bool:
        return self.source in UNTRUSTED_SOURCES

    # Constructors keep the keyword style of the public API (DESIGN §9).
    @classmethod
    def input(
        cls,
        *,
        agent: str,
        run_id: str = "",
        content: str,
        source: Source | str = Source.USER,
        metadata: Mapping[str, Any] | None = None,
    ) -> Event:
        return cls(
            EventKind.INPUT, agent, run_id, content, source=Source(source),
            metadata=_meta(metadata),
        )

    @classmethod
    def tool_call(
        cls,
        *,
        agent: str,
        run_id: str = "",
        tool: str,
        args: Mapping[str, Any] | str | None = None,
        call_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Event:
        return cls(
            EventKind.TOOL_CALL, agent, run_id, "",
            tool=ToolCall(tool, _EMPTY if args is None else args, call_id),
            source=Source.MODEL, metadata=_meta(metadata),
        )

    @classmethod
    def tool_result(
        cls,
        *,
        agent: str,
        run_id: str = "",
        tool: str,
        content: str,
        call_id: str | None = None,
        source: Source | str = Source.TOOL,
        metadata: Mapping[str, Any] | None = None,
    ) -> Event:
        return cls(
            EventKind.TOOL_RESULT, agent, run_id, content,
            tool=ToolCall(tool, _EMPTY, call_id), source=Source(source),
            metadata=_meta(metadata),
        )

    @classmethod
    def message(
        cls,
        *,
        agent: str,
        run_id: str = "",
        content: str,
        peer: str,
        direction: Direction | str = Direction.RECEIVE,
        metadata: Mapping[str, Any] | None = None,
    ) -> Event:
        d = Direction(direction)
        return cls(
            EventKind.MESSAGE, agent, run_id, content, peer=peer,
            source=Source.PEER if d is Direction.RECEIVE else Source.MODEL,
            direction=d, metadata=_meta(metadata),
        )

    @classmethod
    def output(
        cls, *, agent: str, run_id: str = "", content: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> Event:
        return cls(EventKind.OUTPUT, agent, run_id, content, source=Source.MODEL,
                   metadata=_meta(metadata))

    @classmethod
    def model_output(
        cls, *, agent: str, run_id: str = "", content: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> Event:
        return cls(EventKind.MODEL_OUTPUT, agent, run_id, content, source=Source.MODEL,
                   metadata=_meta(metadata))


def _meta(m: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return _EMPTY if not m else MappingProxyType(dict(m))


def default_source(kind: EventKind) -> Source:
    return _DEFAULT_SOURCE[kind]
