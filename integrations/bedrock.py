"""Amazon Bedrock: Agents action groups, return of control, and the Converse tool loop.

Three entry points, one per way Bedrock runs tools; each translates Bedrock's wire format into
Perimeter events and enforces the guard's verdicts (the guard decides, this module only adapts):

- :func:`guard_action_group` decorates the Lambda handler of a Bedrock Agents action group
  (Lambda input/response format ``messageVersion`` "1.0", both *function details* and *OpenAPI
  schema* action groups). The agent is ``event["agent"]["name"]``, the run is ``sessionId``.
- :func:`handle_return_control` / :func:`invoke_agent` serve action groups configured with
  ``RETURN_CONTROL``: the ``returnControl`` payload of an ``InvokeAgent`` response is checked call by
  call, only allowed calls run, and the results go back as
  ``sessionState.returnControlInvocationResults``; the agent's ``chunk`` text is screened as output.
- :class:`GuardedConverse` runs the ``bedrock-runtime`` ``converse`` / ``converse_stream`` tool
  loop: user text and ``toolResult`` content are screened, every ``toolUse`` is checked before its
  tool runs, and the final text is screened (redacted) before it is returned.

Tool names. A function-details action is named by its ``function``. An OpenAPI operation is named
``"<METHOD> <apiPath>"`` with the method upper-cased, exactly as in the schema, e.g.
``"GET /orders/{orderId}"`` (quote it in YAML). Pass ``tool_name=`` to map requests to other names.
Arguments: function ``parameters``, or OpenAPI ``parameters`` (path/query/header) merged with the
``requestBody`` properties; values are converted from Bedrock's strings by their declared ``type``
(integer, number, boolean, array/object as JSON). A name given twice is a malformed request.

Denials are answers the agent can read, never a Lambda error: function responses carry
``responseState: "REPROMPT"`` and a JSON body with the reason; OpenAPI responses carry
``httpStatusCode`` 403 (400 for malformed requests). REVIEW (human approval) cannot be asked for
from inside a Lambda and is treated as a denial. boto3 is never imported by this module.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from guardrails.errors import Blocked, GuardrailError, InputError
from guardrails.events import Event
from guardrails.guard import Guard
from guardrails.verdict import Action, Finding, Verdict

__all__ = [
    "ActionGroupRequest",
    "AgentRunResult",
    "ConverseResult",
    "GuardedConverse",
    "ToolInvocation",
    "api_tool_name",
    "guard_action_group",
    "handle_return_control",
    "invoke_agent",
    "parse_action_group_event",
    "parse_return_control",
    "screen_agent_text",
]

log = logging.getLogger("guardrails.integrations.bedrock")

MESSAGE_VERSION = "1.0"
_MAX_BODY = 25_000  # Bedrock's documented Lambda response limit is 25 KB; denial bodies stay tiny
F = TypeVar("F", bound=Callable[..., Any])
Style = Literal["function", "api"]


# --------------------------------------------------------------------------- shared helpers
def _safe_check(guard: Guard, event: Event) -> Verdict:
    """guard.check never raises by contract; if it ever does, fail closed."""
    try:
        return guard.check(event)
    except Exception as exc:  # noqa: BLE001
        f = Finding(screen="bedrock", category="screen.error", action=Action.BLOCK,
                    rule="bedrock.engine_error",
                    reason=f"the guard failed ({type(exc).__name__}); blocked")
        return Verdict(action=Action.BLOCK, findings=(f,))


def _reason(verdict: Verdict) -> str:
    if verdict.action == Action.REVIEW:
        return "needs human approval, which this integration cannot ask for: " + verdict.explain()
    return verdict.explain()


def _denial_body(verdict: Verdict, what: str) -> str:
    return json.dumps({
        "error": "denied_by_policy",
        "message": f"{what} was not allowed by the agent's guardrails; do not retry it unchanged.",
        "reason": _reason(verdict)[:1000],
        "categories": list(verdict.categories)[:10],
    }, ensure_ascii=False)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


_INT = re.compile(r"[+-]?[0-9]+")


def _convert(type_: Any, value: Any) -> Any:
    """Bedrock sends every parameter value as a string; convert by the declared type. A value that
    does not convert stays a string (the policy screen then judges it against the manifest)."""
    if not isinstance(value, str):
        return value
    t = str(type_ or "string").lower()
    v = value.strip()
    try:
        if t == "integer" and _INT.fullmatch(v):
            return int(v)
        if t == "number":
            return int(v) if _INT.fullmatch(v) else float(v)
        if t == "boolean" and v.lower() in ("true", "false"):
            return v.lower() == "true"
        if t in ("array", "object"):
            parsed = json.loads(v)
            if isinstance(parsed, (list, dict)):
                return parsed
    except (ValueError, OverflowError):
        pass
    return value


def _params(items: Any, where: str, into: dict[str, Any]) -> None:
    if items is None:
        return
    if not isinstance(items, list):
        raise InputError(f"{where} must be a list of {{name, type, value}}")
    for p in items:
        if not isinstance(p, Mapping) or not isinstance(p.get("name"), str) or not p["name"]:
            raise InputError(f"{where} has an entry without a name")
        name = p["name"]
        if name in into:
            raise InputError(f"parameter {name!r} is given more than once")
        into[name] = _convert(p.get("type"), p.get("value"))


def api_tool_name(http_method: str, api_path: str) -> str:
    """The manifest name of an OpenAPI operation: ``"<METHOD> <apiPath>"``."""
    return f"{http_method.strip().upper()} {api_path.strip()}"


# --------------------------------------------------------------------------- action-group Lambda
@dataclass(frozen=True)
class ActionGroupRequest:
    """A parsed Bedrock Agents action-group Lambda input event (messageVersion 1.0)."""

    style: Style
    message_version: str
    agent: str
    session_id: str
    action_group: str
    tool: str
    args: Mapping[str, Any]
    input_text: str = ""
    function: str | None = None
    api_path: str | None = None
    http_method: str | None = None
    content_type: str | None = None
    agent_id: str | None = None
    agent_alias: str | None = None
    agent_version: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


def parse_action_group_event(event: Any) -> ActionGroupRequest:
    """Parse a Lambda input event; raises InputError with a clear reason when malformed."""
    if not isinstance(event, Mapping):
        raise InputError("the event is not a JSON object")
    mv = event.get("messageVersion")
    if not isinstance(mv, str) or not mv.startswith("1."):
        raise InputError(f"unsupported messageVersion {mv!r} (expected 1.0)")
    agent = event.get("agent")
    if not isinstance(agent, Mapping) or not isinstance(agent.get("name"), str) or not agent["name"]:
        raise InputError("event.agent.name is missing")
    session = event.get("sessionId")
    if not isinstance(session, str) or not session:
        raise InputError("sessionId is missing")
    group = event.get("actionGroup")
    if not isinstance(group, str) or not group:
        raise InputError("actionGroup is missing")
    text = event.get("inputText") or ""
    if not isinstance(text, str):
        raise InputError("inputText is not a string")
    args: dict[str, Any] = {}
    fn, path, method = event.get("function"), event.get("apiPath"), event.get("httpMethod")
    common = {
        "message_version": mv, "agent": agent["name"], "session_id": session,
        "action_group": group, "input_text": text,
        "agent_id": _opt(agent.get("id")), "agent_alias": _opt(agent.get("alias")),
        "agent_version": _opt(agent.get("version")), "raw": event,
    }
    if isinstance(fn, str) and fn:
        if path is not None:
            raise InputError("the event has both function and apiPath")
        _params(event.get("parameters"), "parameters", args)
        return ActionGroupRequest(style="function", tool=fn, args=args, function=fn, **common)
    if isinstance(path, str) and path and isinstance(method, str) and method:
        _params(event.get("parameters"), "parameters", args)
        content_type = None
        body = event.get("requestBody")
        if body is not None:
            content = body.get("content") if isinstance(body, Mapping) else None
            if not isinstance(content, Mapping):
                raise InputError("requestBody.content is not an object")
            for ct, spec in content.items():
                if not isinstance(spec, Mapping):
                    raise InputError("requestBody content entry is not an object")
                content_type = str(ct)
                _params(spec.get("properties"), "requestBody properties", args)
        return ActionGroupRequest(style="api", tool=api_tool_name(method, path), args=args,
                                  api_path=path, http_method=method.upper(),
                                  content_type=content_type, **common)
    raise InputError("the event names neither a function nor an apiPath with httpMethod")


def _opt(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _attrs(event: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in ("sessionAttributes", "promptSessionAttributes"):
        v = event.get(k)
        if isinstance(v, Mapping):
            out[k] = dict(v)
    return out


def _function_response(event: Mapping[str, Any], group: str, function: str, body: str,
                       state: str | None) -> dict[str, Any]:
    fr: dict[str, Any] = {"responseBody": {"TEXT": {"body": body}}}
    if state:
        fr["responseState"] = state
    return {"messageVersion": MESSAGE_VERSION,
            "response": {"actionGroup": group, "function": function, "functionResponse": fr},
            **_attrs(event)}


def _api_response(event: Mapping[str, Any], group: str, path: str, method: str, status: int,
                  body: str) -> dict[str, Any]:
    return {"messageVersion": MESSAGE_VERSION,
            "response": {"actionGroup": group, "apiPath": path, "httpMethod": method,
                         "httpStatusCode": status,
                         "responseBody": {"application/json": {"body": body}}},
            **_attrs(event)}


def _deny(req: ActionGroupRequest, body: str, *, state: str, status: int) -> dict[str, Any]:
    if req.style == "function":
        return _function_response(req.raw, req.action_group, req.function or req.tool, body, state)
    return _api_response(req.raw, req.action_group, req.api_path or "", req.http_method or "",
                         status, body)


def _malformed(event: Any, reason: str) -> dict[str, Any]:
    """A safe, well-formed answer to an event we cannot understand (REPROMPT / 400)."""
    e: Mapping[str, Any] = event if isinstance(event, Mapping) else {}
    body = json.dumps({"error": "malformed_request", "message": reason[:300]})
    group = e.get("actionGroup") if isinstance(e.get("actionGroup"), str) else ""
    path, method = e.get("apiPath"), e.get("httpMethod")
    if isinstance(path, str) and path and not e.get("function"):
        return _api_response(e, str(group), path, str(method or ""), 400, body)
    fn = e.get("function") if isinstance(e.get("function"), str) else ""
    return _function_response(e, str(group), str(fn), body, "REPROMPT")


def _rewrite_event(event: Mapping[str, Any], args: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the event with parameter values replaced by the guard's rewritten ``args``."""
    out = copy.deepcopy(dict(event))

    def fix(items: Any) -> None:
        if isinstance(items, list):
            for p in items:
                if isinstance(p, dict) and p.get("name") in args:
                    v = args[p["name"]]
                    p["value"] = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)

    fix(out.get("parameters"))
    body = out.get("requestBody")
    if isinstance(body, dict) and isinstance(body.get("content"), dict):
        for spec in body["content"].values():
            if isinstance(spec, dict):
                fix(spec.get("properties"))
    return out


def _response_bodies(resp: dict[str, Any], style: Style) -> list[dict[str, Any]]:
    """The ``{"body": ...}`` holders of a handler's response (to screen in place)."""
    r = resp.get("response")
    if not isinstance(r, dict):
        return []
    if style == "function":
        fr = r.get("functionResponse")
        rb = fr.get("responseBody") if isinstance(fr, dict) else None
    else:
        rb = r.get("responseBody")
    if not isinstance(rb, dict):
        return []
    return [v for v in rb.values() if isinstance(v, dict) and "body" in v]


def guard_action_group(
    guard: Guard,
    *,
    agent: str | Callable[[ActionGroupRequest], str] | None = None,
    tool_name: Callable[[ActionGroupRequest], str] | None = None,
    screen_input: bool = True,
    catch_errors: bool = True,
) -> Callable[[F], F]:
    """Decorate a Bedrock Agents action-group Lambda handler.

    Before the handler runs: the user's ``inputText`` is screened (input event) and the call is
    checked (tool_call event: tool name, arguments). A denied call never reaches the handler; the
    agent gets a readable denial. After it runs, each response ``body`` is screened as a tool
    result: redacted when the verdict is REDACT, withheld (REPROMPT / 502) when blocked.

    The handler may return a full Bedrock response, or just the body (str or JSON-serializable),
    which is wrapped into the right response format. ``agent`` overrides the manifest agent name
    (default: ``event.agent.name``); ``tool_name`` overrides how a request is named. With
    ``catch_errors`` (default) an exception in the handler becomes ``responseState: FAILURE`` /
    HTTP 500 with a generic message, so no stack trace or detail reaches the model.
    """

    def deco(handler: F) -> F:
        @functools.wraps(handler)
        def wrapper(event: Any, context: Any = None, *rest: Any, **kw: Any) -> dict[str, Any]:
            try:
                req = parse_action_group_event(event)
            except InputError as exc:
                log.warning("malformed Bedrock action-group event: %s", exc)
                return _malformed(event, str(exc))
            name = req.agent if agent is None else (agent if isinstance(agent, str) else agent(req))
            tool = tool_name(req) if tool_name is not None else req.tool
            meta = {"bedrock.action_group": req.action_group, "bedrock.agent_id": req.agent_id or "",
                    "bedrock.agent_alias": req.agent_alias or ""}
            if screen_input and req.input_text:
                v_in = _safe_check(guard, Event.input(agent=name, run_id=req.session_id,
                                                      content=req.input_text, metadata=meta))
                if not v_in.allowed:
                    return _deny(req, _denial_body(v_in, "the user's request"),
                                 state="REPROMPT", status=403)
            v_call = _safe_check(guard, Event.tool_call(agent=name, run_id=req.session_id, tool=tool,
                                                        args=dict(req.args), metadata=meta))
            if not v_call.allowed:
                return _deny(req, _denial_body(v_call, f"the call to {tool!r}"),
                             state="REPROMPT", status=403)
            call_event = _rewrite_event(req.raw, v_call.args) if v_call.args is not None else event
            try:
                result = handler(call_event, context, *rest, **kw)
            except Exception as exc:
                if not catch_errors:
                    raise
                log.error("action-group handler for %s failed: %s", tool, type(exc).__name__)
                body = json.dumps({"error": "tool_failed", "message": "the tool failed"})
                return _deny(req, body, state="FAILURE", status=500)
            resp = _normalize(req, result)
            for holder in _response_bodies(resp, req.style):
                content = _text(holder.get("body"))
                v_out = _safe_check(guard, Event.tool_result(agent=name, run_id=req.session_id,
                                                             tool=tool, content=content, metadata=meta))
                if not v_out.allowed:
                    return _deny(req, _denial_body(v_out, f"the output of {tool!r}"),
                                 state="REPROMPT", status=502)
                holder["body"] = v_out.content if v_out.content is not None else content
            return resp

        return wrapper  # type: ignore[return-value]

    return deco


def _normalize(req: ActionGroupRequest, result: Any) -> dict[str, Any]:
    if isinstance(result, Mapping) and isinstance(result.get("response"), Mapping):
        resp = copy.deepcopy(dict(result))
        resp.setdefault("messageVersion", MESSAGE_VERSION)
        return resp
    body = _text(result)
    if req.style == "function":
        return _function_response(req.raw, req.action_group, req.function or req.tool, body, None)
    return _api_response(req.raw, req.action_group, req.api_path or "", req.http_method or "",
                         200, body)


# --------------------------------------------------------------------------- return of control
@dataclass(frozen=True)
class ToolInvocation:
    """One entry of ``returnControl.invocationInputs``."""

    style: Style
    tool: str
    action_group: str
    args: Mapping[str, Any]
    function: str | None = None
    api_path: str | None = None
    http_method: str | None = None
    agent_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


def parse_return_control(payload: Mapping[str, Any]) -> tuple[str, list[ToolInvocation | str]]:
    """``(invocationId, invocations)``; an entry that cannot be parsed is its error string."""
    if not isinstance(payload, Mapping):
        raise InputError("returnControl payload is not an object")
    inv_id = payload.get("invocationId")
    if not isinstance(inv_id, str) or not inv_id:
        raise InputError("returnControl.invocationId is missing")
    inputs = payload.get("invocationInputs")
    if not isinstance(inputs, list):
        raise InputError("returnControl.invocationInputs is not a list")
    out: list[ToolInvocation | str] = []
    for item in inputs:
        try:
            out.append(_parse_invocation(item))
        except InputError as exc:
            out.append(str(exc))
    return inv_id, out


def _parse_invocation(item: Any) -> ToolInvocation:
    if not isinstance(item, Mapping):
        raise InputError("invocation input is not an object")
    fi, ai = item.get("functionInvocationInput"), item.get("apiInvocationInput")
    args: dict[str, Any] = {}
    if isinstance(fi, Mapping):
        fn, group = fi.get("function"), fi.get("actionGroup")
        if not isinstance(fn, str) or not fn or not isinstance(group, str):
            raise InputError("functionInvocationInput needs function and actionGroup")
        _params(fi.get("parameters"), "parameters", args)
        return ToolInvocation("function", fn, group, args, function=fn,
                              agent_id=_opt(fi.get("agentId")), raw=fi)
    if isinstance(ai, Mapping):
        path, method, group = ai.get("apiPath"), ai.get("httpMethod"), ai.get("actionGroup")
        if not (isinstance(path, str) and path and isinstance(method, str) and method
                and isinstance(group, str)):
            raise InputError("apiInvocationInput needs apiPath, httpMethod and actionGroup")
        _params(ai.get("parameters"), "parameters", args)
        body = ai.get("requestBody")
        if isinstance(body, Mapping) and isinstance(body.get("content"), Mapping):
            for spec in body["content"].values():
                if isinstance(spec, Mapping):
                    _params(spec.get("properties"), "requestBody properties", args)
        return ToolInvocation("api", api_tool_name(method, path), group, args, api_path=path,
                              http_method=method.upper(), agent_id=_opt(ai.get("agentId")), raw=ai)
    raise InputError("invocation input has neither functionInvocationInput nor apiInvocationInput")


def _rc_result(inv: ToolInvocation | None, raw: Any, body: str, *, ok: bool,
               status: int = 200) -> dict[str, Any]:
    state = {} if ok else {"responseState": "REPROMPT"}
    if inv is None:  # unparseable entry: answer in the shape it claimed to have
        r = raw if isinstance(raw, Mapping) else {}
        if isinstance(r.get("apiInvocationInput"), Mapping):
            a = r["apiInvocationInput"]
            return {"apiResult": {"actionGroup": str(a.get("actionGroup") or ""),
                                  "apiPath": str(a.get("apiPath") or ""),
                                  "httpMethod": str(a.get("httpMethod") or ""),
                                  "httpStatusCode": 400,
                                  "responseBody": {"TEXT": {"body": body}}, **state}}
        fi = r.get("functionInvocationInput")
        f: Mapping[str, Any] = fi if isinstance(fi, Mapping) else {}
        return {"functionResult": {"actionGroup": str(f.get("actionGroup") or ""),
                                   "function": str(f.get("function") or ""),
                                   "responseBody": {"TEXT": {"body": body}}, **state}}
    extra = {"agentId": inv.agent_id} if inv.agent_id else {}
    if inv.style == "function":
        return {"functionResult": {"actionGroup": inv.action_group, "function": inv.function,
                                   "responseBody": {"TEXT": {"body": body}}, **state, **extra}}
    return {"apiResult": {"actionGroup": inv.action_group, "apiPath": inv.api_path,
                          "httpMethod": inv.http_method, "httpStatusCode": status,
                          "responseBody": {"TEXT": {"body": body}}, **state, **extra}}


def handle_return_control(
    guard: Guard,
    return_control: Mapping[str, Any],
    *,
    agent: str,
    session_id: str,
    tools: Mapping[str, Callable[..., Any]],
) -> dict[str, Any]:
    """Answer a ``returnControl`` event: returns the ``sessionState`` for the next InvokeAgent call
    (``{"invocationId": ..., "returnControlInvocationResults": [...]}``).

    Each invocation is checked as a tool call of ``agent`` in run ``session_id``; only allowed
    ones run, as ``tools[name](**args)``. Denied, unknown, malformed or failing invocations are
    answered with ``responseState: "REPROMPT"`` and a reason. Tool output is screened as a tool
    result (redacted, or withheld when blocked) before it goes back to the agent.
    """
    inv_id, invocations = parse_return_control(return_control)
    raw_inputs = return_control.get("invocationInputs") or []
    results: list[dict[str, Any]] = []
    for i, inv in enumerate(invocations):
        if isinstance(inv, str):
            body = json.dumps({"error": "malformed_request", "message": inv[:300]})
            results.append(_rc_result(None, raw_inputs[i], body, ok=False))
            continue
        v = _safe_check(guard, Event.tool_call(agent=agent, run_id=session_id, tool=inv.tool,
                                               args=dict(inv.args),
                                               metadata={"bedrock.action_group": inv.action_group}))
        if not v.allowed:
            results.append(_rc_result(inv, None, _denial_body(v, f"the call to {inv.tool!r}"),
                                      ok=False, status=403))
            continue
        fn = tools.get(inv.tool)
        if fn is None:
            body = json.dumps({"error": "unknown_tool", "message": f"no handler for {inv.tool!r}"})
            results.append(_rc_result(inv, None, body, ok=False, status=404))
            continue
        args = dict(v.args) if v.args is not None else dict(inv.args)
        try:
            output = _text(fn(**args))
        except Exception as exc:  # noqa: BLE001 - the agent sees a generic failure only
            log.error("return-control tool %s failed: %s", inv.tool, type(exc).__name__)
            body = json.dumps({"error": "tool_failed", "message": "the tool failed"})
            results.append(_rc_result(inv, None, body, ok=False, status=500))
            continue
        vr = _safe_check(guard, Event.tool_result(agent=agent, run_id=session_id, tool=inv.tool,
                                                  content=output))
        if not vr.allowed:
            results.append(_rc_result(inv, None, _denial_body(vr, f"the output of {inv.tool!r}"),
                                      ok=False, status=502))
            continue
        results.append(_rc_result(inv, None, vr.content if vr.content is not None else output,
                                  ok=True))
    return {"invocationId": inv_id, "returnControlInvocationResults": results}


def screen_agent_text(guard: Guard, text: str, *, agent: str, session_id: str) -> str:
    """Screen an agent's answer (the joined ``chunk`` bytes) as an output event: returns the text,
    redacted when the verdict is REDACT; raises :class:`Blocked` when it is not allowed."""
    v = _safe_check(guard, Event.output(agent=agent, run_id=session_id, content=text))
    if not v.allowed:
        raise Blocked(v)
    return v.content if v.content is not None else text


@dataclass(frozen=True)
class AgentRunResult:
    text: str
    session_id: str
    round_trips: int
    denied: tuple[str, ...] = ()
    verdict: Verdict = field(default_factory=Verdict)


def invoke_agent(
    client: Any,
    guard: Guard,
    *,
    agent: str,
    agent_id: str,
    agent_alias_id: str,
    session_id: str,
    input_text: str,
    tools: Mapping[str, Callable[..., Any]],
    max_round_trips: int = 10,
    **invoke_kwargs: Any,
) -> AgentRunResult:
    """Run one ``InvokeAgent`` turn with return of control, guarded end to end.

    The user's text is screened first (a blocked input never reaches the agent). Each
    ``returnControl`` event is answered with :func:`handle_return_control` in a follow-up
    InvokeAgent call; the final ``chunk`` text is screened with :func:`screen_agent_text`.
    Raises :class:`Blocked` when the input or the answer is blocked.
    """
    v_in = _safe_check(guard, Event.input(agent=agent, run_id=session_id, content=input_text))
    if not v_in.allowed:
        raise Blocked(v_in)
    text_in = v_in.content if v_in.content is not None else input_text
    session_state: dict[str, Any] | None = None
    denied: list[str] = []
    for trip in range(1, max_round_trips + 1):
        kwargs = dict(invoke_kwargs, agentId=agent_id, agentAliasId=agent_alias_id,
                      sessionId=session_id)
        if session_state is None:
            kwargs["inputText"] = text_in
        else:
            kwargs["sessionState"] = {**kwargs.get("sessionState", {}), **session_state}
        resp = client.invoke_agent(**kwargs)
        chunks: list[str] = []
        rc: Mapping[str, Any] | None = None
        for ev in resp["completion"]:
            if "chunk" in ev:
                chunks.append(_text(ev["chunk"].get("bytes", b"")))
            elif "returnControl" in ev:
                rc = ev["returnControl"]
        if rc is None:
            text = screen_agent_text(guard, "".join(chunks), agent=agent, session_id=session_id)
            return AgentRunResult(text=text, session_id=session_id, round_trips=trip,
                                  denied=tuple(denied))
        session_state = handle_return_control(guard, rc, agent=agent, session_id=session_id,
                                              tools=tools)
        for r in session_state["returnControlInvocationResults"]:
            body = next(iter(r.values()))
            if body.get("responseState"):
                denied.append(str(body.get("function") or
                                  api_tool_name(str(body.get("httpMethod", "")),
                                                str(body.get("apiPath", "")))))
    raise GuardrailError(f"the agent asked for tools more than {max_round_trips} times in one turn")


# --------------------------------------------------------------------------- Converse tool loop
@dataclass(frozen=True)
class ConverseResult:
    text: str
    messages: tuple[Mapping[str, Any], ...]
    stop_reason: str
    turns: int
    denied: tuple[str, ...] = ()
    response: Mapping[str, Any] = field(default_factory=dict, repr=False)


def _assemble_stream(events: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Any], str, Any]:
    """Rebuild the ``output.message`` of a ``converse_stream`` response from its events."""
    role = "assistant"
    blocks: dict[int, dict[str, Any]] = {}
    stop = "end_turn"
    usage: Any = None
    for ev in events:
        if "messageStart" in ev:
            role = ev["messageStart"].get("role", role)
        elif "contentBlockStart" in ev:
            i = int(ev["contentBlockStart"].get("contentBlockIndex", 0))
            start = ev["contentBlockStart"].get("start") or {}
            if "toolUse" in start:
                tu = start["toolUse"]
                blocks[i] = {"toolUse": {"toolUseId": tu.get("toolUseId"), "name": tu.get("name"),
                                         "input": ""}}
        elif "contentBlockDelta" in ev:
            i = int(ev["contentBlockDelta"].get("contentBlockIndex", 0))
            delta = ev["contentBlockDelta"].get("delta") or {}
            if "text" in delta:
                blocks.setdefault(i, {"text": ""})
                if "text" in blocks[i]:
                    blocks[i]["text"] += delta["text"]
            elif "toolUse" in delta:
                b = blocks.setdefault(i, {"toolUse": {"toolUseId": None, "name": None, "input": ""}})
                if "toolUse" in b:
                    b["toolUse"]["input"] += delta["toolUse"].get("input", "")
        elif "messageStop" in ev:
            stop = ev["messageStop"].get("stopReason", stop)
        elif "metadata" in ev:
            usage = ev["metadata"].get("usage")
    content = []
    for i in sorted(blocks):
        b = blocks[i]
        if "toolUse" in b:
            raw = b["toolUse"]["input"]
            try:
                b["toolUse"]["input"] = json.loads(raw) if raw.strip() else {}
            except ValueError:
                b["toolUse"]["input"] = raw  # kept as a string: the policy screen denies it
        content.append(b)
    return {"role": role, "content": content}, stop, usage


class GuardedConverse:
    """A guarded ``converse`` tool loop::

        loop = GuardedConverse(boto3.client("bedrock-runtime"), guard, agent="support",
                               tools={"get_order": get_order})
        result = loop.run([{"role": "user", "content": [{"text": "Where is AB12345678?"}]}],
                          modelId="...", toolConfig={...})
        result.text

    User text and ``toolResult`` blocks of the given messages are screened (input / tool_result);
    blocked input raises :class:`Blocked` before any model call, REDACT rewrites the text sent.
    Each ``toolUse`` is checked before its tool runs: a denied call is answered with a
    ``toolResult`` of ``status: "error"`` carrying the reason and the tool never runs. Tool output
    is screened and redacted before the model sees it. The final text is screened as output:
    redacted, or :class:`Blocked` raised. ``stream=True`` uses ``converse_stream`` and reassembles
    each turn before acting on it (no text is released before it is screened).
    """

    def __init__(self, client: Any, guard: Guard, *, agent: str,
                 tools: Mapping[str, Callable[..., Any]], max_turns: int = 8) -> None:
        self.client = client
        self.guard = guard
        self.agent = agent
        self.tools = dict(tools)
        self.max_turns = max_turns

    def run(self, messages: Sequence[Mapping[str, Any]], *, run_id: str | None = None,
            stream: bool = False, **converse_kwargs: Any) -> ConverseResult:
        run = run_id or uuid.uuid4().hex
        history = self._screen_inbound(messages, run)
        denied: list[str] = []
        resp: Mapping[str, Any] = {}
        for turn in range(1, self.max_turns + 1):
            message, stop, resp = self._call(history, stream, converse_kwargs)
            if stop != "tool_use":
                text = "".join(b.get("text", "") for b in message.get("content", [])
                               if isinstance(b, Mapping))
                v = _safe_check(self.guard, Event.output(agent=self.agent, run_id=run, content=text))
                if not v.allowed:
                    raise Blocked(v)
                if v.content is not None:
                    text = v.content
                    message = {"role": message.get("role", "assistant"),
                               "content": [{"text": text}]}
                history.append(message)
                out = dict(resp)
                out["output"] = {"message": message}
                return ConverseResult(text=text, messages=tuple(history), stop_reason=str(stop),
                                      turns=turn, denied=tuple(denied), response=out)
            history.append(message)
            results = []
            for block in message.get("content", []):
                if isinstance(block, Mapping) and "toolUse" in block:
                    result, ok = self._run_tool(block["toolUse"], run)
                    if not ok:
                        denied.append(str(block["toolUse"].get("name")))
                    results.append({"toolResult": result})
            history.append({"role": "user", "content": results})
        return ConverseResult(text="", messages=tuple(history), stop_reason="max_turns",
                              turns=self.max_turns, denied=tuple(denied), response=resp)

    # ------------------------------------------------------------------ internals
    def _call(self, history: list[dict[str, Any]], stream: bool,
              kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], str, Mapping[str, Any]]:
        if stream:
            resp = self.client.converse_stream(messages=history, **kwargs)
            message, stop, usage = _assemble_stream(resp["stream"])
            return message, stop, {"stopReason": stop, "usage": usage}
        resp = self.client.converse(messages=history, **kwargs)
        message = copy.deepcopy(dict(resp["output"]["message"]))
        return message, str(resp.get("stopReason", "end_turn")), resp

    def _screen_inbound(self, messages: Sequence[Mapping[str, Any]], run: str) -> list[dict[str, Any]]:
        history: list[dict[str, Any]] = []
        for msg in messages:
            m = copy.deepcopy(dict(msg))
            if m.get("role") == "user":
                new_content = []
                for block in m.get("content", []):
                    if isinstance(block, dict) and isinstance(block.get("text"), str):
                        v = _safe_check(self.guard, Event.input(agent=self.agent, run_id=run,
                                                                content=block["text"]))
                        if not v.allowed:
                            raise Blocked(v)
                        if v.content is not None:
                            block = {**block, "text": v.content}
                    elif isinstance(block, dict) and isinstance(block.get("toolResult"), dict):
                        block = {"toolResult": self._screen_result_block(block["toolResult"], run)}
                    new_content.append(block)
                m["content"] = new_content
            history.append(m)
        return history

    def _screen_result_block(self, tr: Mapping[str, Any], run: str,
                             tool: str = "tool") -> dict[str, Any]:
        out = dict(tr)
        content = []
        for c in tr.get("content", []):
            if isinstance(c, Mapping) and ("text" in c or "json" in c):
                is_json = "text" not in c
                text = _text(c["json"]) if is_json else _text(c["text"])
                v = _safe_check(self.guard, Event.tool_result(agent=self.agent, run_id=run,
                                                              tool=tool, content=text))
                if not v.allowed:
                    return {"toolUseId": tr.get("toolUseId"), "status": "error",
                            "content": [{"text": _denial_body(v, "the tool output")}]}
                new = v.content if v.content is not None else text
                if is_json:
                    try:
                        content.append({"json": json.loads(new)})
                    except ValueError:
                        content.append({"text": new})
                else:
                    content.append({"text": new})
            else:
                content.append(c)  # images / documents pass through unchanged
        out["content"] = content
        return out

    def _run_tool(self, tool_use: Mapping[str, Any], run: str) -> tuple[dict[str, Any], bool]:
        use_id = tool_use.get("toolUseId")
        name = tool_use.get("name")
        raw_args = tool_use.get("input", {})
        if not isinstance(name, str) or not name:
            body = json.dumps({"error": "malformed_request", "message": "toolUse without a name"})
            return {"toolUseId": use_id, "status": "error", "content": [{"text": body}]}, False
        args: Mapping[str, Any] | str = raw_args if isinstance(raw_args, (Mapping, str)) else _text(
            raw_args)
        v = _safe_check(self.guard, Event.tool_call(agent=self.agent, run_id=run, tool=name,
                                                    args=args, call_id=use_id))
        if not v.allowed:
            return {"toolUseId": use_id, "status": "error",
                    "content": [{"text": _denial_body(v, f"the call to {name!r}")}]}, False
        fn = self.tools.get(name)
        if fn is None or not isinstance(args, Mapping):
            body = json.dumps({"error": "unknown_tool", "message": f"no tool {name!r} here"})
            return {"toolUseId": use_id, "status": "error", "content": [{"text": body}]}, False
        call_args = dict(v.args) if v.args is not None else dict(args)
        try:
            output = fn(**call_args)
        except Exception as exc:  # noqa: BLE001 - the model sees a generic failure only
            log.error("converse tool %s failed: %s", name, type(exc).__name__)
            body = json.dumps({"error": "tool_failed", "message": "the tool failed"})
            return {"toolUseId": use_id, "status": "error", "content": [{"text": body}]}, True
        block = ({"json": output} if isinstance(output, (dict, list)) else {"text": _text(output)})
        result = self._screen_result_block({"toolUseId": use_id, "content": [block]}, run, name)
        result.setdefault("status", "success")
        return result, True
