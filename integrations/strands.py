"""Strands Agents (AWS's open-source agent SDK): a ``HookProvider`` that guards an agent.

::

    from strands import Agent
    from guardrails.integrations.strands import GuardrailsHooks

    agent = Agent(model=..., tools=[...], hooks=[GuardrailsHooks(guard, agent="support")])

What each Strands hook does (strands-agents >= 1.x hook API):

- ``BeforeInvocationEvent``: the user's messages are screened (input; ``toolResult`` blocks as tool
  results); REDACT rewrites them in place, a denial sets ``cancel`` (the model is never called).
- ``BeforeToolCallEvent``: the planned call is checked; a denial sets ``cancel_tool`` to a readable
  reason (the tool never runs, the model gets an error tool result). Rewritten args replace
  ``tool_use["input"]``. REVIEW is a denial (no human channel here).
- ``AfterToolCallEvent``: the tool's result is screened as untrusted content; ``result`` is replaced
  by a redacted copy, or by an error result when blocked.
- ``MessageAddedEvent``: an assistant message with text and no tool call is the answer; it is
  screened as output and redacted (or withheld) in place, before the caller reads it.
- Swarm hand-offs: the ``handoff_to_agent`` tool call is checked as a tool call (list it in the
  agent's manifest tools, e.g. with ``args: {agent_name: {one_of: [billing]}, ...}``) *and* as a
  peer message send (sender) / receive (target) with the hand-off text; a denial cancels it.
- ``BeforeNodeCallEvent`` (Graph / Swarm, pass the provider in ``hooks=`` of the orchestrator):
  the hand-off from the node(s) that ran before to this node is checked as a peer message in
  both directions (``peers.send`` of the sender, ``peers.receive`` of the receiver, injection in
  the handed-over text); a denial sets ``cancel_node``.

The run id is ``invocation_state["perimeter_run_id"]`` when the caller passes one
(``agent(prompt, invocation_state={"perimeter_run_id": "r1"})``), else a fresh id per invocation.
strands is imported lazily; importing this module does not need it until hooks are registered.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from guardrails.errors import MissingDependency
from guardrails.events import Direction, Event
from guardrails.guard import Guard
from guardrails.verdict import Action, Finding, Verdict

__all__ = ["RUN_ID_KEY", "SWARM_HANDOFF", "GuardrailsHooks"]

RUN_ID_KEY = "perimeter_run_id"
SWARM_HANDOFF = "handoff_to_agent"  # the tool Strands' Swarm gives each agent


def _hooks() -> Any:
    try:
        from strands import hooks
    except ImportError:  # pragma: no cover - only without the extra
        raise MissingDependency("strands-agents", "strands") from None
    return hooks


def _safe_check(guard: Guard, event: Event) -> Verdict:
    try:
        return guard.check(event)
    except Exception as exc:  # noqa: BLE001 - fail closed
        f = Finding(screen="strands", category="screen.error", action=Action.BLOCK,
                    rule="strands.engine_error", reason=f"the guard failed ({type(exc).__name__})")
        return Verdict(action=Action.BLOCK, findings=(f,))


def _reason(verdict: Verdict, what: str) -> str:
    explain = verdict.explain()
    if verdict.action == Action.REVIEW:
        explain = "needs human approval, which is not available here: " + explain
    return f"Denied by guardrails: {what} is not allowed ({explain[:500]})."


def _text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


class GuardrailsHooks:
    """Strands ``HookProvider`` enforcing a :class:`~guardrails.Guard` on an agent.

    ``agent``: the manifest agent name (default: the Strands agent's ``name``). One provider may
    be shared by several agents when ``agent`` is left unset. ``nodes`` maps multi-agent node ids
    to manifest agent names (default: the node id).
    """

    def __init__(self, guard: Guard, *, agent: str | None = None,
                 nodes: Mapping[str, str] | None = None, screen_output: bool = True) -> None:
        self.guard = guard
        self.agent = agent
        self.nodes = dict(nodes or {})
        self.screen_output = screen_output
        self._runs: dict[int, str] = {}
        self._own: list[str] = []
        self._lock = threading.Lock()
        self.verdicts: list[tuple[str, Verdict]] = []  # (what, verdict) of denials, for inspection

    # ------------------------------------------------------------------ registration
    def register_hooks(self, registry: Any, **kwargs: Any) -> None:
        h = _hooks()
        registry.add_callback(h.BeforeInvocationEvent, self.before_invocation)
        registry.add_callback(h.BeforeToolCallEvent, self.before_tool_call)
        registry.add_callback(h.AfterToolCallEvent, self.after_tool_call)
        registry.add_callback(h.MessageAddedEvent, self.message_added)
        registry.add_callback(h.BeforeNodeCallEvent, self.before_node_call)

    # ------------------------------------------------------------------ identity
    def _agent_name(self, strands_agent: Any) -> str:
        if self.agent is not None:
            return self.agent
        return str(getattr(strands_agent, "name", "") or "")

    def _run_id(self, strands_agent: Any, state: Mapping[str, Any] | None) -> str:
        if state is not None and isinstance(state.get(RUN_ID_KEY), str) and state[RUN_ID_KEY]:
            return str(state[RUN_ID_KEY])
        with self._lock:
            return self._runs.setdefault(id(strands_agent), uuid.uuid4().hex)

    def _deny(self, what: str, verdict: Verdict) -> str:
        self.verdicts.append((what, verdict))
        reason = _reason(verdict, what)
        with self._lock:  # our own cancellation text comes back as an assistant message
            self._own.append(reason)
            del self._own[:-32]
        return reason

    # ------------------------------------------------------------------ single agent
    def before_invocation(self, event: Any) -> None:
        state = event.invocation_state
        run = state.get(RUN_ID_KEY) if isinstance(state, dict) else None
        if not isinstance(run, str) or not run:
            run = uuid.uuid4().hex
            if isinstance(state, dict):
                state[RUN_ID_KEY] = run
        with self._lock:
            self._runs[id(event.agent)] = run
        name = self._agent_name(event.agent)
        for message in event.messages or []:
            if not isinstance(message, dict) or message.get("role") != "user":
                continue
            for block in message.get("content") or []:
                if not isinstance(block, dict):
                    continue
                if isinstance(block.get("text"), str):
                    v = _safe_check(self.guard, Event.input(agent=name, run_id=run,
                                                            content=block["text"]))
                    if not v.allowed:
                        event.cancel = self._deny("this request", v)
                        return
                    if v.content is not None:
                        block["text"] = v.content
                elif isinstance(block.get("toolResult"), dict):
                    if not self._screen_result(block["toolResult"], name, run, "tool"):
                        event.cancel = self._deny("a supplied tool result", self.verdicts[-1][1])
                        return

    def before_tool_call(self, event: Any) -> None:
        tool_use = event.tool_use
        name = self._agent_name(event.agent)
        run = self._run_id(event.agent, event.invocation_state)
        tool = tool_use.get("name")
        args = tool_use.get("input")
        if not isinstance(args, (Mapping, str)):
            args = {} if args is None else _text_of(args)
        v = _safe_check(self.guard, Event.tool_call(agent=name, run_id=run, tool=str(tool or ""),
                                                    args=args, call_id=tool_use.get("toolUseId")))
        if not v.allowed:
            event.cancel_tool = self._deny(f"the call to {tool!r}", v)
            return
        if tool == SWARM_HANDOFF and isinstance(args, Mapping):
            denial = self._check_handoff(name, run, args)
            if denial is not None:
                event.cancel_tool = denial
                return
        if v.args is not None:
            new_use = dict(tool_use)
            new_use["input"] = dict(v.args)
            event.tool_use = new_use

    def _check_handoff(self, sender: str, run: str, args: Mapping[str, Any]) -> str | None:
        """A Swarm hand-off is a message from ``sender`` to the named agent: check both sides."""
        target_id = args.get("agent_name")
        if not isinstance(target_id, str) or not target_id:
            return None  # Swarm itself rejects it; nothing is handed over
        target = self.nodes.get(target_id, target_id)
        text = _text_of(args.get("message") or "")
        if args.get("context"):
            text += "\n" + _text_of(args["context"])
        for ev in (Event.message(agent=sender, run_id=run, content=text, peer=target,
                                 direction=Direction.SEND),
                   Event.message(agent=target, run_id=run, content=text, peer=sender,
                                 direction=Direction.RECEIVE)):
            v = _safe_check(self.guard, ev)
            if not v.allowed:
                return self._deny(f"the hand-off from {sender!r} to {target!r}", v)
        return None

    def after_tool_call(self, event: Any) -> None:
        if getattr(event, "cancel_message", None):
            return  # cancelled before it ran: the result is our own denial
        result = event.result
        if not isinstance(result, dict):
            return
        name = self._agent_name(event.agent)
        run = self._run_id(event.agent, event.invocation_state)
        tool = str(event.tool_use.get("name") or "tool")
        new = dict(result)
        new["content"] = [dict(c) if isinstance(c, dict) else c for c in result.get("content") or []]
        if self._screen_result(new, name, run, tool):
            if new != result:
                event.result = new
            return
        event.result = {"toolUseId": result.get("toolUseId"), "status": "error",
                        "content": [{"text": _reason(self.verdicts[-1][1], f"the output of {tool!r}")}]}

    def _screen_result(self, result: dict[str, Any], agent: str, run: str, tool: str) -> bool:
        """Screen a ToolResult dict in place (redaction); False when it must be withheld."""
        content = result.get("content") or []
        out = []
        for c in content:
            if isinstance(c, dict) and ("text" in c or "json" in c):
                is_json = "text" not in c
                text = _text_of(c["json"]) if is_json else _text_of(c["text"])
                v = _safe_check(self.guard, Event.tool_result(agent=agent, run_id=run, tool=tool,
                                                              content=text))
                if not v.allowed:
                    self.verdicts.append((f"the output of {tool!r}", v))
                    return False
                if v.content is not None:
                    if is_json:
                        try:
                            c = {"json": json.loads(v.content)}
                        except ValueError:
                            c = {"text": v.content}
                    else:
                        c = {**c, "text": v.content}
            out.append(c)
        result["content"] = out
        return True

    def message_added(self, event: Any) -> None:
        message = event.message
        if not self.screen_output or not isinstance(message, dict) or message.get("role") != "assistant":
            return
        content = message.get("content") or []
        if any(isinstance(b, dict) and "toolUse" in b for b in content):
            return  # an intermediate turn: its tool calls are checked one by one
        texts = [b for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)]
        if not texts:
            return
        name = self._agent_name(event.agent)
        run = self._run_id(event.agent, None)
        joined = "".join(b["text"] for b in texts)
        with self._lock:
            if joined in self._own:
                return
        v = _safe_check(self.guard, Event.output(agent=name, run_id=run, content=joined))
        if not v.allowed:
            self.verdicts.append(("the answer", v))
            message["content"] = [{"text": "[withheld by guardrails: " + v.decided.label + "]"}]
        elif v.content is not None:
            kept = [b for b in content if not (isinstance(b, dict) and isinstance(b.get("text"), str))]
            message["content"] = [{"text": v.content}, *kept]

    # ------------------------------------------------------------------ multi-agent
    def before_node_call(self, event: Any) -> None:
        receiver_id = str(event.node_id)
        receiver = self.nodes.get(receiver_id, receiver_id)
        state = event.invocation_state if isinstance(event.invocation_state, dict) else None
        run = self._run_id(event.source, state)
        for sender_id, text in _senders(event.source, receiver_id):
            sender = self.nodes.get(sender_id, sender_id)
            send = _safe_check(self.guard, Event.message(agent=sender, run_id=run, content=text,
                                                         peer=receiver, direction=Direction.SEND))
            if not send.allowed:
                event.cancel_node = self._deny(f"the hand-off from {sender!r} to {receiver!r}", send)
                return
            recv = _safe_check(self.guard, Event.message(agent=receiver, run_id=run, content=text,
                                                         peer=sender, direction=Direction.RECEIVE))
            if not recv.allowed:
                event.cancel_node = self._deny(f"the hand-off from {sender!r} to {receiver!r}", recv)
                return


def _senders(source: Any, receiver_id: str) -> list[tuple[str, str]]:
    """(sender node id, handed-over text) for the node about to run, for Swarm and Graph."""
    state = getattr(source, "state", None)
    history = getattr(state, "node_history", None)
    if isinstance(history, list):  # Swarm: the previous agent handed off to this one
        if not history:
            return []
        prev = str(getattr(history[-1], "node_id", ""))
        if not prev or prev == receiver_id:
            return []
        return [(prev, str(getattr(state, "handoff_message", None) or ""))]
    edges = getattr(source, "edges", None)
    completed = getattr(state, "completed_nodes", None)
    if edges is None or completed is None:
        return []
    out = []
    for edge in edges:
        to_node, from_node = getattr(edge, "to_node", None), getattr(edge, "from_node", None)
        if getattr(to_node, "node_id", None) != receiver_id or from_node not in completed:
            continue
        text = ""
        node_result = getattr(from_node, "result", None)
        inner = getattr(node_result, "result", None)
        if inner is not None and not isinstance(inner, BaseException):
            text = str(inner)
        out.append((str(getattr(from_node, "node_id", "")), text))
    return sorted(out)
