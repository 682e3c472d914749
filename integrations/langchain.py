"""LangChain / LangGraph adapters: a v1 ``AgentMiddleware`` (enforce and redact) and a callback
handler (hard stop for any other loop).

Adding Perimeter to an agent::

    from guardrails import Guard
    from guardrails.integrations.langchain import GuardrailsMiddleware

    agent = create_agent(model, tools, middleware=[GuardrailsMiddleware(Guard.from_yaml("perimeter.yaml"),
                                                                        agent="support")])

**GuardrailsMiddleware** (for ``langchain.agents.create_agent``):

* around each model call (``wrap_model_call``; no extra graph nodes per step) it first screens
  every message this agent has not screened yet (new input, tool results, other agents' messages,
  and history loaded from elsewhere): user input as ``input`` events, ``ToolMessage`` as
  ``tool_result`` events, ``AIMessage(name=<other agent>)`` as ``message`` receive events. Screened
  messages carry a seal (an HMAC of their content, per agent) so each is screened once; a seal cannot
  be forged through metadata. The model sees the rewritten messages and the state is updated;
* when the model answers it checks every planned tool call (handoffs ``transfer_to_<agent>`` also
  as ``message`` send/receive events) and screens a final answer as an ``output`` event before the
  answer is written to the state, so an unredacted answer never reaches a checkpoint;
* in ``wrap_tool_call`` it checks the call again before it runs (the verdict from the model step
  is reused when the call is unchanged, so limits are counted once) and screens the result;
* it enforces the verdict: REDACT swaps the content (tool result, peer message, final answer);
  BLOCK on a tool call means the tool does not run and the model receives
  ``ToolMessage(status="error")`` explaining the refusal (``on_block="raise"`` ends the run with
  :class:`guardrails.Blocked` instead); blocked content is replaced by a notice; a blocked current
  user request ends the run with a refusal (a blocked earlier message is replaced by a notice).
  REVIEW on a tool call pauses the run with a LangGraph ``interrupt`` when the graph has a
  checkpointer (resume with ``Command(resume="approve")`` or ``"reject"``, or
  ``{"type": "approve"}``); without a checkpointer REVIEW is enforced as BLOCK.
  REVIEW on content is enforced as BLOCK.

**GuardrailsCallbackHandler** (for ``AgentExecutor``, custom graphs, ``create_react_agent``):
checks the planned tool calls in ``on_llm_end`` (before any tool runs) and again in
``on_tool_start``, screens tool output in ``on_tool_end``, and raises :class:`guardrails.Blocked`.
A callback **can block but cannot redact**: a REDACT verdict on a tool result is enforced as a block
by default (``on_redact="allow"`` lets it through unredacted and only records it). It is a *sync*
handler with ``raise_error = True`` on purpose: LangChain drops exceptions raised by async
handlers, so an async handler would fail open. Sync handlers run in async loops too.

Every path fails closed: if the guard itself raises, the step is treated as blocked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Annotated, Any, Literal

from guardrails.errors import Blocked, MissingDependency
from guardrails.events import Event, EventKind
from guardrails.guard import Guard
from guardrails.verdict import Action, Finding, Verdict

from .langgraph import (
    agent_from_metadata,
    message_text,
    peer_message_event,
    run_id_from_config,
    tool_call_events,
)

try:
    from langchain.agents.middleware import AgentMiddleware, AgentState
    from langchain.agents.middleware.types import ExtendedModelResponse, ModelResponse, PrivateStateAttr
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, SystemMessage, ToolMessage
    from langgraph.types import Command
    from typing_extensions import NotRequired
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise MissingDependency("langchain", "langchain") from exc

__all__ = [
    "GuardrailsCallbackHandler",
    "GuardrailsMiddleware",
    "PerimeterState",
    "acheck_safely",
    "aguarded_stream",
    "check_safely",
    "guarded_stream",
]

OnBlock = Literal["message", "raise"]
_META_KEY = "perimeter"
_RUN_KEY = "perimeter_run_id"
_CACHE_SIZE = 4096
_CHECKPOINTER_KEY = "__pregel_checkpointer"


# ----------------------------------------------------------------------------- fail closed
def _engine_error(exc: BaseException) -> Verdict:
    f = Finding(screen="adapter", category="screen.error", action=Action.BLOCK,
                rule="adapter.guard_error",
                reason=f"the guard failed ({type(exc).__name__}); blocked (fail closed)",
                details={"safe.error_type": type(exc).__name__})
    return Verdict(action=Action.BLOCK, findings=(f,))


def check_safely(guard: Guard, events: Sequence[Event]) -> Verdict:
    """Check ``events`` and merge the verdicts; a guard that raises gives a BLOCK verdict."""
    try:
        verdicts = [guard.check(e) for e in events]
        if not all(isinstance(v, Verdict) for v in verdicts):
            raise TypeError("guard returned something that is not a Verdict")
        return verdicts[0] if len(verdicts) == 1 else Verdict.merge(verdicts)
    except Exception as exc:  # noqa: BLE001 - fail closed
        return _engine_error(exc)


async def acheck_safely(guard: Guard, events: Sequence[Event]) -> Verdict:
    """Async twin of :func:`check_safely` (uses ``Guard.acheck``)."""
    try:
        verdicts = [await guard.acheck(e) for e in events]
        if not all(isinstance(v, Verdict) for v in verdicts):
            raise TypeError("guard returned something that is not a Verdict")
        return verdicts[0] if len(verdicts) == 1 else Verdict.merge(verdicts)
    except Exception as exc:  # noqa: BLE001 - fail closed
        return _engine_error(exc)


def _args_key(args: object) -> str:
    try:
        return json.dumps(args, sort_keys=True, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(args)


class _VerdictCache:
    """Tool-call verdicts from ``after_model``, reused by ``wrap_tool_call`` when the call is
    unchanged (so a call is counted against its limits once). Bounded LRU, thread-safe."""

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self._d: OrderedDict[tuple[str, str, str, str, str], Verdict] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str, str, str]) -> Verdict | None:
        with self._lock:
            v = self._d.get(key)
            if v is not None:
                self._d.move_to_end(key)
            return v

    def put(self, key: tuple[str, str, str, str, str], verdict: Verdict) -> None:
        with self._lock:
            self._d[key] = verdict
            self._d.move_to_end(key)
            while len(self._d) > self._size:
                self._d.popitem(last=False)


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    """Options are checked when the adapter is built, not when a run first needs them."""
    if value not in allowed:
        raise ValueError(f"{name} must be " + " or ".join(repr(a) for a in allowed) + f", not {value!r}")


def _refusal(verdict: Verdict, what: str) -> str:
    return (f"Perimeter blocked {what}: {verdict.explain()}. "
            "Do not retry it; tell the user it is not allowed.")


def _withheld(verdict: Verdict, what: str) -> str:
    return f"[Perimeter withheld {what}: {verdict.explain()}]"


def _is_blocking(verdict: Verdict) -> bool:
    return verdict.action >= Action.REVIEW


def _review_decision(answer: Any) -> bool:
    """True when a reviewer's resume value approves the call."""
    if isinstance(answer, bool):
        return answer
    if isinstance(answer, str):
        return answer.strip().lower() in ("approve", "approved", "yes", "allow")
    if isinstance(answer, Mapping):
        t = answer.get("type", answer.get("decision"))
        return isinstance(t, str) and t.strip().lower() in ("approve", "approved", "allow")
    return False


# A message the adapter already screened carries a seal: an HMAC, under a key of this process, of
# what the message says. A tool or a caller cannot forge "already checked" by setting metadata, and a
# message whose content changed after it was sealed is screened again. (In another process, e.g. a
# resumed thread, the seal does not verify and the message is simply screened again.)
_SEAL_KEY = os.urandom(32)


def _seal(message: BaseMessage, agent: str) -> str:
    parts = (agent, type(message).__name__, str(getattr(message, "tool_call_id", "")),
             str(getattr(message, "name", "")), message_text(message.content))
    data = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hmac.new(_SEAL_KEY, data, hashlib.sha256).hexdigest()[:32]


def _mark(message: BaseMessage, verdict: Verdict, agent: str) -> None:
    """Seal ``message`` as screened for ``agent`` (each agent screens under its own policy)."""
    meta = dict(message.response_metadata or {})
    old = meta.get(_META_KEY)
    seals = dict(old.get("seals") or {}) if isinstance(old, Mapping) and isinstance(
        old.get("seals"), Mapping) else {}
    seals[agent] = _seal(message, agent)
    meta[_META_KEY] = {"action": verdict.action.label, "categories": list(verdict.categories),
                       "seals": seals}
    message.response_metadata = meta


def _checked(message: BaseMessage, agent: str) -> bool:
    meta = getattr(message, "response_metadata", None)
    mark = meta.get(_META_KEY) if isinstance(meta, Mapping) else None
    seals = mark.get("seals") if isinstance(mark, Mapping) else None
    seal = seals.get(agent) if isinstance(seals, Mapping) else None
    return isinstance(seal, str) and hmac.compare_digest(seal, _seal(message, agent))


class PerimeterState(AgentState[Any]):
    """Agent state with the id of the current Perimeter run (private to the middleware)."""

    perimeter_run_id: NotRequired[Annotated[str, PrivateStateAttr]]


# ----------------------------------------------------------------------------- middleware
class GuardrailsMiddleware(AgentMiddleware[Any, Any, Any]):
    """Perimeter as a LangChain v1 agent middleware (see the module docstring).

    Args:
        guard: the :class:`guardrails.Guard` to ask.
        agent: the manifest agent this agent acts as. When None, the agent is taken from LangGraph
            metadata (the running node or enclosing subgraph that is a manifest agent); if none
            matches, every step is denied (unknown agents are blocked by the policy).
        on_block: ``"message"`` (default): a blocked tool call becomes an error ``ToolMessage`` the
            model can read and the run goes on; ``"raise"``: the run ends with ``Blocked``.
        review: ``"interrupt"`` (default): REVIEW pauses the graph with ``interrupt`` when it has
            a checkpointer, else blocks; ``"block"``: REVIEW is always a block.
        run_id: optional function ``config -> str`` giving the run id; by default the LangGraph
            thread id, the config's ``run_id``, or an id kept in the agent state per invocation.
    """

    state_schema = PerimeterState

    def __init__(
        self,
        guard: Guard,
        agent: str | None = None,
        *,
        on_block: OnBlock = "message",
        review: Literal["interrupt", "block"] = "interrupt",
        run_id: Callable[[Mapping[str, Any]], str] | None = None,
    ) -> None:
        super().__init__()
        _choice("on_block", on_block, ("message", "raise"))
        _choice("review", review, ("interrupt", "block"))
        self.guard = guard
        self.agent = agent
        self.on_block = on_block
        self.review = review
        self._run_id_fn = run_id
        self._cache = _VerdictCache()

    @property
    def name(self) -> str:
        return f"GuardrailsMiddleware[{self.agent}]" if self.agent else "GuardrailsMiddleware"

    # ------------------------------------------------------------------ identity
    @staticmethod
    def _config() -> Mapping[str, Any]:
        try:
            from langgraph.config import get_config

            return get_config()
        except Exception:  # noqa: BLE001 - outside a runnable context
            return {}

    def _agent_for(self, config: Mapping[str, Any]) -> str:
        if self.agent:
            return self.agent
        meta = config.get("metadata") if config else None
        found = agent_from_metadata(meta if isinstance(meta, Mapping) else None,
                                    self.guard.manifest.agent_names)
        return found or ""

    def _run_for(self, config: Mapping[str, Any], state: Mapping[str, Any] | None) -> str:
        if self._run_id_fn is not None:
            try:
                return str(self._run_id_fn(config))
            except Exception:  # noqa: BLE001 - a broken callback must not crash the agent
                return ""
        rid = run_id_from_config(config)
        if rid:
            return rid
        if state is not None:
            sid = state.get(_RUN_KEY)
            if isinstance(sid, str) and sid:
                return sid
        return ""

    # ------------------------------------------------------------------ before_agent: run id
    def before_agent(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        if state.get(_RUN_KEY):
            return None
        return {_RUN_KEY: f"lc:{uuid.uuid4()}"}

    async def abefore_agent(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        return self.before_agent(state, runtime)

    # ------------------------------------------------------------------ wrap_model_call
    # Inputs are screened and the model's answer checked inside the model call itself, so no extra
    # graph nodes run per step and an unredacted answer never reaches the graph state (or a
    # checkpoint): the redacted one is what gets written.
    @staticmethod
    def _new_messages(messages: Sequence[Any], agent: str) -> list[Any]:
        """Every message the model is about to read that this agent has not screened yet: user
        input, tool results and other agents' messages, including ones loaded from an earlier
        history. The system prompt (configuration) and the agent's own answers are not inputs."""
        return [m for m in messages
                if not isinstance(m, SystemMessage)
                and not (isinstance(m, AIMessage) and (not m.name or m.name == agent))
                and not _checked(m, agent)]

    def _content_event(self, m: Any, agent: str, run_id: str) -> Event:
        if isinstance(m, ToolMessage):
            return Event.tool_result(agent=agent, run_id=run_id, tool=str(m.name or "tool"),
                                     content=message_text(m.content), call_id=m.tool_call_id)
        if isinstance(m, AIMessage):
            ev = peer_message_event(m, agent=agent, run_id=run_id)
            if ev is not None:
                return ev
        return Event.input(agent=agent, run_id=run_id, content=message_text(m.content))

    def _model_context(self, request: Any) -> tuple[str, str, list[tuple[Any, Event]]]:
        config = self._config()
        agent = self._agent_for(config)
        run_id = self._run_for(config, getattr(request, "state", None))
        msgs = self._new_messages(list(request.messages or ()), agent)
        return agent, run_id, [(m, self._content_event(m, agent, run_id)) for m in msgs]

    @staticmethod
    def _replace(m: Any, content: str | None, v: Verdict, agent: str) -> Any:
        new = m.model_copy(update={"content": content} if content is not None else {})
        _mark(new, v, agent)
        return new

    def _inputs(self, pairs: list[tuple[Any, Event, Verdict]],
                agent: str) -> tuple[list[Any], AIMessage | None]:
        """Rewritten input messages (same ids, so they replace the originals in the state) and,
        when the user's input is blocked, the refusal that ends the run instead of the model."""
        updates: list[Any] = []
        last_user = max((i for i, (_, ev, _) in enumerate(pairs) if ev.kind is EventKind.INPUT),
                        default=-1)
        for i, (m, ev, v) in enumerate(pairs):
            if _is_blocking(v):
                if self.on_block == "raise":
                    raise Blocked(v)
                if i == last_user:  # the request itself: refuse it, the model is not called
                    refusal = AIMessage(content=_refusal(v, "this request"), name=agent or None)
                    _mark(refusal, v, agent)
                    return updates, refusal
                what = {EventKind.TOOL_RESULT: "a tool result", EventKind.INPUT: "an earlier message"}.get(
                    ev.kind, "a message from another agent")
                updates.append(self._replace(m, _withheld(v, what), v, agent))
            elif v.action == Action.REDACT and v.content is not None:
                updates.append(self._replace(m, v.content, v, agent))
            elif getattr(m, "id", None) is not None:
                updates.append(self._replace(m, None, v, agent))  # sealed: not screened again
        return updates, None

    @staticmethod
    def _swap(request: Any, updates: list[Any]) -> Any:
        if not updates:
            return request
        by_id = {u.id: u for u in updates if u.id is not None}
        messages = [by_id.get(m.id, m) if m.id is not None else m for m in request.messages]
        return request.override(messages=messages)

    def _call_key(self, run_id: str, agent: str, call: Mapping[str, Any]) -> tuple[str, str, str, str, str]:
        return (run_id, agent, str(call.get("id") or ""), str(call.get("name")), _args_key(call.get("args")))

    def _call_events(self, agent: str, run_id: str, call: Mapping[str, Any]) -> list[Event]:
        return tool_call_events(agent=agent, run_id=run_id, tool=str(call.get("name")),
                                args=call.get("args"), call_id=call.get("id"))

    @staticmethod
    def _unpack(response: Any) -> tuple[Any, Any]:
        """(ModelResponse, command or None) from what a model-call handler returned."""
        if isinstance(response, AIMessage):
            return ModelResponse(result=[response]), None
        if isinstance(response, ExtendedModelResponse):
            return response.model_response, response.command
        return response, None

    @staticmethod
    def _answer_index(resp: Any) -> int | None:
        result = getattr(resp, "result", None) or []
        for i in range(len(result) - 1, -1, -1):
            if isinstance(result[i], AIMessage):
                return i
        return None

    def _pack(self, resp: Any, command: Any, updates: list[Any]) -> Any:
        if not updates and command is None:
            return resp
        if updates:
            if command is None:
                command = Command(update={"messages": updates})
            elif isinstance(command.update, Mapping):
                old = command.update.get("messages") or []
                command = Command(update={**command.update, "messages": [*old, *updates]},
                                  goto=command.goto, graph=command.graph, resume=command.resume)
            else:
                # another middleware's non-mapping update cannot be merged: the model already saw
                # the rewritten messages; the state keeps the originals (documented limitation)
                return ExtendedModelResponse(model_response=resp, command=command)
        return ExtendedModelResponse(model_response=resp, command=command)

    def _finish_answer(self, resp: Any, agent: str, run_id: str, verdicts: list[Verdict],
                       answer: Verdict | None, idx: int | None) -> None:
        if verdicts:
            blocked = [v for v in verdicts if v.action == Action.BLOCK]
            if blocked and self.on_block == "raise":
                raise Blocked(Verdict.merge(blocked))
            return  # wrap_tool_call enforces each call before it runs
        if answer is None or idx is None:
            return
        msg = resp.result[idx]
        if _is_blocking(answer):
            if self.on_block == "raise":
                raise Blocked(answer)
            resp.result[idx] = self._replace(msg, _withheld(answer, "the answer"), answer, agent)
        elif answer.action == Action.REDACT and answer.content is not None:
            resp.result[idx] = self._replace(msg, answer.content, answer, agent)

    def wrap_model_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        agent, run_id, planned = self._model_context(request)
        updates, refusal = self._inputs([(m, ev, check_safely(self.guard, [ev])) for m, ev in planned], agent)
        if refusal is not None:
            return self._pack(ModelResponse(result=[refusal]), None, updates)
        resp, command = self._unpack(handler(self._swap(request, updates)))
        idx = self._answer_index(resp)
        msg = resp.result[idx] if idx is not None else None
        verdicts: list[Verdict] = []
        answer: Verdict | None = None
        if msg is not None and msg.tool_calls:
            for call in msg.tool_calls:
                v = check_safely(self.guard, self._call_events(agent, run_id, call))
                self._cache.put(self._call_key(run_id, agent, call), v)
                verdicts.append(v)
        elif msg is not None:
            answer = check_safely(self.guard, [Event.output(agent=agent, run_id=run_id,
                                                            content=message_text(msg.content))])
        self._finish_answer(resp, agent, run_id, verdicts, answer, idx)
        return self._pack(resp, command, updates)

    async def awrap_model_call(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        agent, run_id, planned = self._model_context(request)
        updates, refusal = self._inputs([(m, ev, await acheck_safely(self.guard, [ev]))
                                         for m, ev in planned], agent)
        if refusal is not None:
            return self._pack(ModelResponse(result=[refusal]), None, updates)
        resp, command = self._unpack(await handler(self._swap(request, updates)))
        idx = self._answer_index(resp)
        msg = resp.result[idx] if idx is not None else None
        verdicts: list[Verdict] = []
        answer: Verdict | None = None
        if msg is not None and msg.tool_calls:
            for call in msg.tool_calls:
                v = await acheck_safely(self.guard, self._call_events(agent, run_id, call))
                self._cache.put(self._call_key(run_id, agent, call), v)
                verdicts.append(v)
        elif msg is not None:
            answer = await acheck_safely(self.guard, [Event.output(agent=agent, run_id=run_id,
                                                                   content=message_text(msg.content))])
        self._finish_answer(resp, agent, run_id, verdicts, answer, idx)
        return self._pack(resp, command, updates)

    # ------------------------------------------------------------------ wrap_tool_call
    def _tool_context(self, request: Any) -> tuple[str, str, Mapping[str, Any], bool]:
        runtime = getattr(request, "runtime", None)
        config = getattr(runtime, "config", None) or self._config()
        agent = self._agent_for(config)
        run_id = self._run_for(config, getattr(request, "state", None))
        configurable = config.get("configurable") if isinstance(config, Mapping) else None
        has_ckpt = isinstance(configurable, Mapping) and configurable.get(_CHECKPOINTER_KEY) is not None
        return agent, run_id, config, has_ckpt

    def _deny(self, call: Mapping[str, Any], verdict: Verdict, agent: str) -> ToolMessage:
        if self.on_block == "raise":
            raise Blocked(verdict)
        name = str(call.get("name"))
        msg = ToolMessage(content=_refusal(verdict, f"the call to {name!r}"),
                          tool_call_id=str(call.get("id") or ""), name=name, status="error")
        _mark(msg, verdict, agent)
        return msg

    def _gate(self, request: Any, verdict: Verdict, has_ckpt: bool,
              agent: str) -> tuple[Any, ToolMessage | None]:
        """Enforce a tool-call verdict: the (possibly rewritten) request to run, or the refusal."""
        call = request.tool_call
        if verdict.action == Action.REVIEW and self.review == "interrupt" and has_ckpt:
            from langgraph.types import interrupt

            answer = interrupt({
                "type": "perimeter_review",
                "agent": agent,
                "tool": call.get("name"),
                "args": call.get("args"),
                "tool_call_id": call.get("id"),
                "reason": verdict.explain(),
                "findings": [f.to_dict() for f in verdict.findings],
                "decisions": ["approve", "reject"],
            })
            if not _review_decision(answer):
                rejected = Verdict(action=Action.BLOCK, findings=verdict.findings)
                if self.on_block == "raise":
                    raise Blocked(rejected, f"reviewer rejected the call to {call.get('name')!r}")
                msg = ToolMessage(
                    content=(f"A reviewer rejected the call to {call.get('name')!r}; it did not run. "
                             "Do not retry it."),
                    tool_call_id=str(call.get("id") or ""), name=str(call.get("name")), status="error")
                _mark(msg, rejected, agent)
                return request, msg
        elif _is_blocking(verdict):
            return request, self._deny(call, verdict, agent)
        if verdict.args is not None and verdict.action <= Action.REDACT:
            request = request.override(tool_call={**call, "args": dict(verdict.args)})
        return request, None

    def _result(self, result: Any, verdict: Verdict, agent: str) -> Any:
        if not isinstance(result, ToolMessage):
            return result  # a Command (e.g. a handoff): its messages are screened before the next model call
        if _is_blocking(verdict):
            if self.on_block == "raise":
                raise Blocked(verdict)
            new = result.model_copy(update={"content": _withheld(verdict, "this tool result"),
                                            "status": "error"})
            _mark(new, verdict, agent)
            return new
        if verdict.action == Action.REDACT and verdict.content is not None:
            new = result.model_copy(update={"content": verdict.content})
            _mark(new, verdict, agent)
            return new
        _mark(result, verdict, agent)
        return result

    def _result_event(self, result: Any, call: Mapping[str, Any], agent: str, run_id: str) -> Event | None:
        if not isinstance(result, ToolMessage):
            return None
        return Event.tool_result(agent=agent, run_id=run_id, tool=str(call.get("name")),
                                 content=message_text(result.content), call_id=call.get("id"))

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        agent, run_id, _, has_ckpt = self._tool_context(request)
        call = request.tool_call
        key = self._call_key(run_id, agent, call)
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = check_safely(self.guard, self._call_events(agent, run_id, call))
            self._cache.put(key, verdict)
        request, refusal = self._gate(request, verdict, has_ckpt, agent)
        if refusal is not None:
            return refusal
        result = handler(request)
        ev = self._result_event(result, call, agent, run_id)
        if ev is None:
            return result
        return self._result(result, check_safely(self.guard, [ev]), agent)

    async def awrap_tool_call(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        agent, run_id, _, has_ckpt = self._tool_context(request)
        call = request.tool_call
        key = self._call_key(run_id, agent, call)
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = await acheck_safely(self.guard, self._call_events(agent, run_id, call))
            self._cache.put(key, verdict)
        request, refusal = self._gate(request, verdict, has_ckpt, agent)
        if refusal is not None:
            return refusal
        result = await handler(request)
        ev = self._result_event(result, call, agent, run_id)
        if ev is None:
            return result
        return self._result(result, await acheck_safely(self.guard, [ev]), agent)


# ----------------------------------------------------------------------------- callback handler
class GuardrailsCallbackHandler(BaseCallbackHandler):
    """Hard stop for any LangChain loop: raises :class:`Blocked` before a denied tool runs.

    Checks planned tool calls in ``on_llm_end`` and again in ``on_tool_start`` (the earlier verdict
    is reused for an unchanged call), screens tool output in ``on_tool_end``. It cannot redact:
    REDACT on a tool result is a block unless ``on_redact="allow"``. REVIEW is a block (a callback
    cannot pause a run). Keep it a sync handler: LangChain drops exceptions of async handlers.
    """

    raise_error = True
    run_inline = True

    def __init__(self, guard: Guard, agent: str | None = None, *,
                 on_redact: Literal["block", "allow"] = "block",
                 run_id: str | None = None) -> None:
        super().__init__()
        _choice("on_redact", on_redact, ("block", "allow"))
        self.guard = guard
        self.agent = agent
        self.on_redact = on_redact
        self._fixed_run = run_id
        self._parents: OrderedDict[Any, Any] = OrderedDict()
        self._tool_calls: OrderedDict[Any, tuple[str, str, str | None, Any]] = OrderedDict()
        self._cache = _VerdictCache()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ bookkeeping
    def _remember(self, run_id: Any, parent_run_id: Any) -> None:
        with self._lock:
            self._parents[run_id] = parent_run_id
            while len(self._parents) > 20000:
                self._parents.popitem(last=False)

    def _root(self, run_id: Any) -> str:
        if self._fixed_run:
            return self._fixed_run
        seen = 0
        cur = run_id
        with self._lock:
            while seen < 1000:
                parent = self._parents.get(cur)
                if parent is None:
                    break
                cur = parent
                seen += 1
        return f"cb:{cur}"

    def _agent(self, metadata: Mapping[str, Any] | None) -> str:
        if self.agent:
            return self.agent
        return agent_from_metadata(metadata, self.guard.manifest.agent_names) or ""

    def _enforce(self, verdict: Verdict, *, content: bool = False) -> None:
        if verdict.action >= Action.REVIEW:
            raise Blocked(verdict)
        if content and verdict.action == Action.REDACT and self.on_redact == "block":
            raise Blocked(verdict, "a callback cannot redact; blocked: " + verdict.explain())

    # ------------------------------------------------------------------ run tree
    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: Any, parent_run_id: Any = None,
                       **kwargs: Any) -> None:
        self._remember(run_id, parent_run_id)

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: Any,
                            parent_run_id: Any = None, metadata: Mapping[str, Any] | None = None,
                            **kwargs: Any) -> None:
        self._remember(run_id, parent_run_id)
        with self._lock:
            self._tool_calls[run_id] = ("", "", None, metadata)

    def on_llm_start(self, serialized: Any, prompts: Any, *, run_id: Any, parent_run_id: Any = None,
                     metadata: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        self._remember(run_id, parent_run_id)
        with self._lock:
            self._tool_calls[run_id] = ("", "", None, metadata)

    # ------------------------------------------------------------------ checks
    def on_llm_end(self, response: Any, *, run_id: Any, parent_run_id: Any = None,
                   **kwargs: Any) -> None:
        with self._lock:
            info = self._tool_calls.pop(run_id, None)
        metadata = info[3] if info else kwargs.get("metadata")
        try:
            message = response.generations[0][0].message
        except (AttributeError, IndexError, TypeError):
            return  # a completion model without chat messages plans no tool calls
        calls = getattr(message, "tool_calls", None) or ()
        if not calls:
            return
        agent = self._agent(metadata)
        rid = self._root(run_id)
        verdicts = []
        for call in calls:
            key = (rid, agent, str(call.get("id") or ""), str(call.get("name")), _args_key(call.get("args")))
            v = check_safely(self.guard, tool_call_events(
                agent=agent, run_id=rid, tool=str(call.get("name")), args=call.get("args"),
                call_id=call.get("id")))
            self._cache.put(key, v)
            verdicts.append(v)
        self._enforce(Verdict.merge(verdicts))

    def on_tool_start(self, serialized: Any, input_str: str, *, run_id: Any, parent_run_id: Any = None,
                      tags: Any = None, metadata: Mapping[str, Any] | None = None,
                      inputs: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        self._remember(run_id, parent_run_id)
        name = str((serialized or {}).get("name") or kwargs.get("name") or "")
        call_id = kwargs.get("tool_call_id")
        args: Any = dict(inputs) if isinstance(inputs, Mapping) else _parse_input(input_str)
        agent = self._agent(metadata)
        rid = self._root(run_id)
        with self._lock:
            self._tool_calls[run_id] = (name, agent, call_id, metadata)
            while len(self._tool_calls) > 20000:
                self._tool_calls.popitem(last=False)
        key = (rid, agent, str(call_id or ""), name, _args_key(args))
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = check_safely(self.guard, tool_call_events(
                agent=agent, run_id=rid, tool=name, args=args, call_id=call_id))
            self._cache.put(key, verdict)
        self._enforce(verdict)

    def on_tool_end(self, output: Any, *, run_id: Any, parent_run_id: Any = None, **kwargs: Any) -> None:
        with self._lock:
            name, agent, call_id, metadata = self._tool_calls.pop(run_id, ("tool", "", None, None))
        agent = agent or self._agent(metadata)
        content = message_text(getattr(output, "content", output))
        verdict = check_safely(self.guard, [Event.tool_result(
            agent=agent, run_id=self._root(run_id), tool=name or "tool", content=content,
            call_id=call_id)])
        self._enforce(verdict, content=True)

    def on_tool_error(self, error: BaseException, *, run_id: Any, parent_run_id: Any = None,
                      **kwargs: Any) -> None:
        with self._lock:
            self._tool_calls.pop(run_id, None)

    def on_llm_error(self, error: BaseException, *, run_id: Any, parent_run_id: Any = None,
                     **kwargs: Any) -> None:
        with self._lock:
            self._tool_calls.pop(run_id, None)


def _parse_input(input_str: str) -> Any:
    try:
        return json.loads(input_str)
    except (TypeError, ValueError):
        return input_str



# ----------------------------------------------------------------------------- streamed tokens
class _StreamFilter:
    """Maps LangGraph stream items: model token chunks go through one GuardedStream per message."""

    def __init__(self, guard: Guard, agent: str | None, config: Mapping[str, Any] | None,
                 run_id: str | None, on_block: OnBlock) -> None:
        _choice("on_block", on_block, ("message", "raise"))
        self.guard = guard
        self.agent = agent
        self.run_id = run_id if run_id is not None else (run_id_from_config(config) or "")
        self.on_block = on_block
        # message key -> (GuardedStream, last chunk, metadata, item prefix)
        self.open: dict[str, tuple[Any, Any, Any, tuple[Any, ...]]] = {}

    def _agent_for(self, meta: Any) -> str:
        if self.agent:
            return self.agent
        return agent_from_metadata(meta if isinstance(meta, Mapping) else None,
                                   self.guard.manifest.agent_names) or ""

    def item(self, item: Any) -> list[Any]:
        """The items to yield for one stream item (usually exactly one).

        Shapes: ``(chunk, metadata)`` (``stream_mode="messages"``), ``(mode, (chunk, metadata))``
        (a list of modes), ``(namespace, (chunk, metadata))`` and ``(namespace, mode, (chunk,
        metadata))`` (``subgraphs=True``). Anything else passes unchanged."""
        if isinstance(item, tuple) and item:
            if len(item) == 2 and isinstance(item[0], BaseMessage):
                return self._chunk(item[0], item[1], None)
            last = item[-1]
            if 2 <= len(item) <= 3 and isinstance(last, tuple) and len(last) == 2 and isinstance(
                    last[0], BaseMessage) and (len(item) == 2 or item[-2] == "messages"):
                return self._chunk(last[0], last[1], item[:-1])
        return [item]

    @staticmethod
    def _shape(prefix: tuple[Any, ...] | None, chunk: Any, meta: Any) -> Any:
        return (chunk, meta) if prefix is None else (*prefix, (chunk, meta))

    def _chunk(self, chunk: Any, meta: Any, prefix: tuple[Any, ...] | None) -> list[Any]:
        if not isinstance(chunk, AIMessageChunk):
            if isinstance(chunk, AIMessage):  # a model that did not stream: the whole message at once
                return [self._shape(prefix, self._whole(chunk, meta), meta)]
            return [self._shape(prefix, chunk, meta)]
        key = f"{prefix!r}:{chunk.id or ''}"
        entry = self.open.get(key)
        stream = entry[0] if entry is not None else self.guard.stream(
            self._agent_for(meta), self.run_id, kind=EventKind.OUTPUT)
        self.open[key] = (stream, chunk, meta, prefix or ())
        safe = "".join(stream.feed(t) for t in _texts(chunk.content))
        out = [self._shape(prefix, _with_text(chunk, safe), meta)]
        if getattr(chunk, "chunk_position", None) == "last":
            out.extend(self._close(key))
        return out

    def _whole(self, message: Any, meta: Any) -> Any:
        stream = self.guard.stream(self._agent_for(meta), self.run_id, kind=EventKind.OUTPUT)
        text = "".join(stream.feed(t) for t in _texts(message.content)) + stream.flush()
        if stream.verdict.action >= Action.REVIEW:
            if self.on_block == "raise":
                raise Blocked(stream.verdict)
            text = _withheld(stream.verdict, "this answer")
        if text == message_text(message.content):
            return message
        return _with_text(message, text)

    def _close(self, key: str) -> list[Any]:
        stream, chunk, meta, prefix = self.open.pop(key)
        rest = stream.flush()
        verdict = stream.verdict
        if verdict.action >= Action.REVIEW:
            if self.on_block == "raise":
                raise Blocked(verdict)
            rest += _withheld(verdict, "the rest of this answer")
        if not rest:
            return []
        return [self._shape(prefix or None, AIMessageChunk(content=rest, id=chunk.id), meta)]

    def finish(self) -> list[Any]:
        out: list[Any] = []
        for key in list(self.open):
            out.extend(self._close(key))
        return out


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [b if isinstance(b, str) else str(b.get("text", "")) for b in content
                if isinstance(b, str) or (isinstance(b, Mapping) and b.get("type") == "text")]
    return []


def _with_text(chunk: Any, text: str) -> Any:
    """The chunk with its text replaced by ``text`` (tool-call chunks and metadata kept)."""
    return chunk.model_copy(update={"content": text})


def guarded_stream(stream: Iterable[Any], guard: Guard, *, agent: str | None = None,
                   config: Mapping[str, Any] | None = None, run_id: str | None = None,
                   on_block: OnBlock = "message") -> Iterator[Any]:
    """Redact a LangGraph / LangChain agent's streamed tokens before they reach the user::

        for chunk, meta in guarded_stream(agent.stream(inputs, config, stream_mode="messages"),
                                          guard, config=config):
            print(chunk.content, end="")

    Model token chunks (``AIMessageChunk``) pass through a :class:`guardrails.streaming.GuardedStream`
    per message, so an e-mail address or a key split across tokens is still redacted (a look-back
    buffer delays the last characters until a value is complete); everything else (tool messages,
    ``updates``/``values`` items) passes unchanged. Works with ``stream_mode="messages"``, a list of
    modes and ``subgraphs=True``. The agent is ``agent`` or the manifest agent found in the token's
    metadata; an unknown agent's tokens are withheld. Pass the run's ``config`` (its ``thread_id``)
    so that pseudonyms match the ones the middleware writes. When the Guard's check of a whole
    answer blocks, the stream ends that answer with a withheld notice (``on_block="raise"``:
    raises :class:`guardrails.Blocked`)."""
    flt = _StreamFilter(guard, agent, config, run_id, on_block)
    for item in stream:
        yield from flt.item(item)
    yield from flt.finish()


async def aguarded_stream(stream: AsyncIterable[Any], guard: Guard, *, agent: str | None = None,
                          config: Mapping[str, Any] | None = None, run_id: str | None = None,
                          on_block: OnBlock = "message") -> AsyncIterator[Any]:
    """Async twin of :func:`guarded_stream` (for ``agent.astream(...)``)."""
    flt = _StreamFilter(guard, agent, config, run_id, on_block)
    async for item in stream:
        for out in flt.item(item):
            yield out
    for out in flt.finish():
        yield out
