"""LangGraph multi-agent support: which agent is acting, messages between agents, handoffs.

Adapters translate framework objects into :class:`guardrails.Event` values; the policy lives in the
manifest and the screens, never here. This module is pure translation and needs no LangGraph
import for most of it (messages are read duck-typed), so it is shared by the LangChain middleware
and the callback handler:

* **Agent identity**: the name given to the adapter, or else the LangGraph node that is running
  (``metadata["langgraph_node"]``, or the innermost enclosing subgraph named in the checkpoint
  namespace) when that name is an agent of the manifest.
* **Messages from other agents**: an ``AIMessage(name="billing")`` in the conversation of agent
  ``support`` (supervisor and swarm graphs name each agent's messages) becomes
  ``Event.message(agent="support", peer="billing", direction="receive")``: untrusted content.
* **Handoffs**: a tool call ``transfer_to_<agent>`` is checked as a tool call *and* as a
  ``message`` send event of the sender (``peers.send``) and a receive event of the receiver
  (``peers.receive``).
* **Run id**: the LangGraph thread (``configurable.thread_id``), the ``run_id`` given in the
  config, or an id the middleware keeps in the graph state for one invocation.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from guardrails.events import Direction, Event

__all__ = [
    "HANDOFF_PREFIX",
    "agent_from_metadata",
    "handoff_events",
    "handoff_target",
    "message_text",
    "peer_message_event",
    "run_id_from_config",
    "tool_call_events",
]

HANDOFF_PREFIX = "transfer_to_"
_MAX_META_AGENT = 256


def handoff_target(tool_name: object) -> str | None:
    """``transfer_to_billing`` -> ``billing`` (the convention of langgraph-supervisor/swarm)."""
    if isinstance(tool_name, str) and tool_name.startswith(HANDOFF_PREFIX):
        target = tool_name[len(HANDOFF_PREFIX):]
        return target or None
    return None


def message_text(content: object) -> str:
    """The text of a message's content: a string, or the text parts of a list of content blocks.

    Non-text blocks (images, tool-use blocks) contribute their string fields, so nothing that a
    model could read is silently skipped.
    """
    if isinstance(content, str):
        return content
    if isinstance(content, Iterable) and not isinstance(content, (bytes, Mapping)):
        parts: list[str] = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, Mapping):
                text = block.get("text")
                if isinstance(text, str):
                    parts.append(text)
                else:
                    parts.extend(v for k, v in block.items()
                                 if isinstance(v, str) and k not in ("type", "id", "mime_type"))
        return "\n".join(parts)
    if content is None:
        return ""
    if isinstance(content, Mapping):
        return json.dumps(dict(content), ensure_ascii=False, default=str)
    return str(content)


def _ns_names(ns: object) -> list[str]:
    """Node names in a checkpoint namespace ``outer:task|inner:task`` (outermost first)."""
    if not isinstance(ns, str) or not ns:
        return []
    return [seg.split(":", 1)[0] for seg in ns.split("|") if seg]


def agent_from_metadata(metadata: Mapping[str, Any] | None, agents: Collection[str]) -> str | None:
    """The manifest agent that is running, from LangGraph run metadata.

    Looks at the agent's own name (``lc_agent_name``, set by ``create_agent(name=...)``), the
    current node (``langgraph_node``) and then at the enclosing subgraph nodes of the checkpoint
    namespace, innermost first; returns the first name that is a manifest agent.
    A name that is not an agent is never returned (the adapter then falls back to its own
    ``agent`` argument, or blocks: unknown agents are denied).
    """
    if not metadata:
        return None
    candidates: list[str] = []
    for key in ("lc_agent_name", "langgraph_node"):
        name = metadata.get(key)
        if isinstance(name, str):
            candidates.append(name)
    for key in ("langgraph_checkpoint_ns", "checkpoint_ns"):
        candidates.extend(reversed(_ns_names(metadata.get(key))))
    for name in candidates:
        if len(name) <= _MAX_META_AGENT and name in agents:
            return name
    return None


def run_id_from_config(config: Mapping[str, Any] | None) -> str | None:
    """A stable per-run id from a RunnableConfig: the thread id, else an explicit ``run_id``."""
    if not config:
        return None
    configurable = config.get("configurable")
    if isinstance(configurable, Mapping):
        thread = configurable.get("thread_id")
        if thread is not None and str(thread):
            return f"thread:{thread}"
    rid = config.get("run_id")
    if rid is not None and str(rid):
        return f"run:{rid}"
    return None


def peer_message_event(message: Any, *, agent: str, run_id: str,
                       metadata: Mapping[str, Any] | None = None) -> Event | None:
    """An AI message written by another agent (``name`` set and not ``agent``) as a receive
    ``message`` event; None for the agent's own messages."""
    name = getattr(message, "name", None)
    if not isinstance(name, str) or not name or name == agent:
        return None
    return Event.message(agent=agent, run_id=run_id, content=message_text(getattr(message, "content", "")),
                         peer=name, direction=Direction.RECEIVE, metadata=metadata)


def _args_content(args: object) -> str:
    if isinstance(args, str):
        return args
    if isinstance(args, Mapping):
        for key in ("task", "message", "task_description", "content", "instructions"):
            v = args.get(key)
            if isinstance(v, str):
                return v
        try:
            return json.dumps(dict(args), ensure_ascii=False, default=str, sort_keys=True)
        except (TypeError, ValueError):
            return str(dict(args))
    return "" if args is None else str(args)


def handoff_events(*, agent: str, run_id: str, tool: str, args: object,
                   metadata: Mapping[str, Any] | None = None) -> list[Event]:
    """For a handoff tool call: the sender's ``send`` event and the receiver's ``receive`` event
    (empty for other tools)."""
    target = handoff_target(tool)
    if target is None:
        return []
    text = _args_content(args)
    return [
        Event.message(agent=agent, run_id=run_id, content=text, peer=target,
                      direction=Direction.SEND, metadata=metadata),
        Event.message(agent=target, run_id=run_id, content=text, peer=agent,
                      direction=Direction.RECEIVE, metadata=metadata),
    ]


def tool_call_events(*, agent: str, run_id: str, tool: str, args: Any, call_id: str | None,
                     metadata: Mapping[str, Any] | None = None) -> list[Event]:
    """Every event a planned tool call is checked as: the tool call, plus the handoff message
    events when the tool is a handoff."""
    if not isinstance(args, (Mapping, str)):
        args = "" if args is None else str(args)  # not a JSON object: the policy screen denies it
    events = [Event.tool_call(agent=agent, run_id=run_id, tool=str(tool), args=args,
                              call_id=call_id, metadata=metadata)]
    events.extend(handoff_events(agent=agent, run_id=run_id, tool=str(tool), args=args,
                                 metadata=metadata))
    return events
