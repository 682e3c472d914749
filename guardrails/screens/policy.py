"""The policy screen: authorizes each planned tool call and inter-agent message against the
agent's role manifest. Deny by default: unknown agents, tools, arguments and peers are blocked.

Names (agents, tools, argument keys, peers) are compared exactly. A name that is not declared but
looks like a declared one (differs only by case, width, diacritics, confusable or invisible
characters) is an evasion attempt and gets its own category, ``policy.evasion``.

Rules are compiled once per Guard into small closures, so a check is a handful of dict look-ups
and (for ``pattern``) one linear-time RE2 match per value.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._net import domain_allowed, host_of
from .._patterns import compile_full
from .._text import lookalike, skeleton
from ..events import Direction, Event, EventKind
from ..manifest import AgentPolicy, ArgRule, Manifest, ToolPolicy
from ..verdict import Action, Finding, Verdict
from .base import CheckContext, register_screen

__all__ = ["MAX_ARGS_JSON", "MAX_ARG_DEPTH", "MAX_ARG_NODES", "PolicyScreen", "parse_args"]

MAX_ARG_DEPTH = 32  # nesting levels in tool arguments
MAX_ARG_NODES = 10_000  # values (containers and leaves) in one call's arguments
MAX_ARGS_JSON = 4 << 20  # bytes of a JSON-string argument payload

SCREEN = "policy"

Problem = tuple[str, str, str]  # (category, rule id, reason)
Checker = Callable[[Any, str, int, list[Problem], list[int]], None]


class ArgsError(ValueError):
    pass


class _StateFailure(Exception):
    """The state store failed while counting a call (its cause is the real error)."""


def _reject_constant(name: str) -> Any:
    raise ArgsError(f"non-finite number {name} in arguments")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ArgsError(f"duplicate argument key {k!r} (which value would the tool use?)")
        out[k] = v
    return out


def parse_args(raw: Mapping[str, Any] | str | None) -> Mapping[str, Any]:
    """Tool arguments as a mapping. A JSON string is parsed strictly: it must be one object,
    without duplicate keys or NaN/Infinity, and at most ``MAX_ARGS_JSON`` bytes."""
    if raw is None:
        return {}
    if type(raw) is dict or isinstance(raw, Mapping):
        return raw
    if isinstance(raw, (bytes, bytearray)):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ArgsError("arguments are bytes that are not UTF-8") from None
    if not isinstance(raw, str):
        raise ArgsError(f"arguments must be an object, not {type(raw).__name__}")
    if len(raw) > MAX_ARGS_JSON:
        raise ArgsError(f"argument JSON larger than {MAX_ARGS_JSON} characters")
    if not raw.strip():
        return {}
    try:
        val = json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except ArgsError:
        raise
    except (ValueError, RecursionError) as exc:
        raise ArgsError(f"arguments are not valid JSON ({type(exc).__name__})") from None
    if not isinstance(val, dict):
        raise ArgsError(f"arguments must be a JSON object, not {type(val).__name__}")
    return val


# ------------------------------------------------------------------------------- compiling
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, (list, tuple)),
    "object": lambda v: isinstance(v, Mapping),
    "null": lambda v: v is None,
    "any": lambda v: True,
}


def _typename(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, Mapping):
        return "object"
    if isinstance(v, (list, tuple)):
        return "array"
    return type(v).__name__


def _safe_fullmatch(matcher: Any, value: str) -> bool:
    try:
        return bool(matcher.fullmatch(value))
    except (UnicodeError, ValueError):
        return False  # lone surrogates and the like never match


def _over_budget(budget: list[int], out: list[Problem]) -> bool:
    """Count one value against the per-call budget; report once when it runs out."""
    budget[0] -= 1
    if budget[0] >= 0:
        return False
    if budget[0] == -1:
        out.append(("policy.arg", "arg.size", f"arguments have more than {MAX_ARG_NODES} values"))
    return True


def _compile_rule(rule: ArgRule, where: str) -> Checker:
    """Turn an ArgRule into a checker ``(value, path, problems, budget) -> None``."""
    type_test = _TYPE_TESTS[rule.type] if rule.type else None
    matcher = compile_full(rule.pattern) if rule.pattern is not None else None
    one_of = rule.one_of
    one_of_keys = (
        frozenset((type(x) is bool, x) for x in one_of) if one_of is not None else None
    )
    domains = rule.domains
    has_str = any(x is not None for x in (matcher, domains, rule.max_length, rule.min_length))
    has_num = rule.min is not None or rule.max is not None
    items = _compile_rule(rule.items, where + "[]") if rule.items is not None else None
    props: dict[str, tuple[Checker, bool]] | None = None
    props_any = rule.properties == "any"
    if isinstance(rule.properties, dict):
        props = {k: (_compile_rule(r, f"{where}.{k}"), r.required) for k, r in rule.properties.items()}
    prop_skeletons = {skeleton(k): k for k in props} if props else {}
    # `items` means the value is a list and `properties` an object: a value of another shape
    # (an object for `items`, a list of objects or a JSON string for `properties`) would slip
    # past those rules, so it is a type error
    # a value rule (pattern, domains, one_of, min/max...) applies to each element of a list, so
    # an empty list passes it vacuously; unless the rule says the value is an array, deny that
    empty_is_unchecked = (has_str or has_num or one_of is not None) and rule.type != "array"
    shape: tuple[type, ...] | None = None
    shape_name = ""
    if items is not None:
        shape, shape_name = (list, tuple), "an array"
    elif props is not None or props_any:
        shape, shape_name = (Mapping,), "an object"

    max_length, min_length = rule.max_length, rule.min_length

    def leaf(v: Any, path: str, out: list[Problem]) -> None:
        if isinstance(v, str):
            if has_num:
                out.append(("policy.arg", "arg.type", f"argument {path} must be a number, got a string"))
                return
            if max_length is not None and len(v) > max_length:
                out.append(("policy.arg", "arg.max_length",
                            f"argument {path} is {len(v)} characters, more than max_length {max_length}"))
            if min_length is not None and len(v) < min_length:
                out.append(("policy.arg", "arg.min_length",
                            f"argument {path} is shorter than min_length {min_length}"))
            if matcher is not None and not _safe_fullmatch(matcher, v):
                out.append(("policy.arg", "arg.pattern",
                            f"argument {path} does not match the pattern {rule.pattern!r}"))
            if domains is not None:
                host = host_of(v)
                if host is None:
                    out.append(("policy.arg", "arg.domains",
                                f"argument {path} is not exactly one well-formed address or URL"))
                elif not domain_allowed(host, domains):
                    out.append(("policy.arg", "arg.domains",
                                f"argument {path} points to domain {host!r}, not one of {list(domains)}"))
        elif _is_number(v):
            if isinstance(v, float) and not math.isfinite(v):
                out.append(("policy.arg", "arg.type", f"argument {path} is not a finite number"))
                return
            if has_str:
                out.append(("policy.arg", "arg.type", f"argument {path} must be a string, got a number"))
                return
            if rule.min is not None and v < rule.min:
                out.append(("policy.arg", "arg.min", f"argument {path} is below min {rule.min:g}"))
            if rule.max is not None and v > rule.max:
                out.append(("policy.arg", "arg.max", f"argument {path} is above max {rule.max:g}"))
        elif isinstance(v, bool) or v is None:
            if has_str or has_num:
                out.append(("policy.arg", "arg.type",
                            f"argument {path} must be a {'number' if has_num else 'string'}, got {_typename(v)}"))
                return
        else:
            out.append(("policy.arg", "arg.type", f"argument {path} has unsupported type {_typename(v)}"))
            return
        if one_of_keys is not None and (isinstance(v, bool), v) not in one_of_keys:
            out.append(("policy.arg", "arg.one_of", f"argument {path} is not one of the allowed values"))

    def check(v: Any, path: str, depth: int, out: list[Problem], budget: list[int]) -> None:
        if _over_budget(budget, out):
            return
        if type_test is not None and not type_test(v):
            out.append(("policy.arg", "arg.type", f"argument {path} must be {rule.type}, got {_typename(v)}"))
            return
        if shape is not None and not isinstance(v, shape):
            out.append(("policy.arg", "arg.type", f"argument {path} must be {shape_name}, got {_typename(v)}"))
            return
        if type(v) in _SCALARS:
            leaf(v, path, out)
            return
        if depth > MAX_ARG_DEPTH:
            out.append(("policy.arg", "arg.depth", f"argument {path} is nested more than {MAX_ARG_DEPTH} deep"))
            return
        if isinstance(v, (list, tuple)):
            if rule.max_items is not None and len(v) > rule.max_items:
                out.append(("policy.arg", "arg.max_items",
                            f"argument {path} has {len(v)} items, more than max_items {rule.max_items}"))
            if not v and empty_is_unchecked:
                out.append(("policy.arg", "arg.empty", f"argument {path} is an empty list: its value "
                            "rules cannot be checked (a tool may read it as 'no filter' or 'all')"))
                return
            sub = items if items is not None else check_nested
            for i, x in enumerate(v):
                sub(x, f"{path}[{i}]", depth + 1, out, budget)
            return
        if isinstance(v, Mapping):
            if props is not None:
                for k, x in v.items():
                    if not isinstance(k, str):
                        out.append(("policy.arg", "arg.key", f"argument {path} has a non-string key"))
                        continue
                    entry = props.get(k)
                    if entry is None:
                        _unknown_key(k, f"{path}.{_fmt_key(k)}", prop_skeletons, out)
                        continue
                    entry[0](x, f"{path}.{_fmt_key(k)}", depth + 1, out, budget)
                for k, (_, req) in props.items():
                    if req and k not in v:
                        out.append(("policy.arg", "arg.required", f"argument {path}.{k} is required"))
                return
            constrained = has_str or has_num or one_of is not None
            if props_any and not constrained:
                return
            if constrained and props is None and rule.type not in ("object", "any"):
                out.append(("policy.arg", "arg.type",
                            f"argument {path} must be a value or a list of values, got an object"))
                return
            for k, x in v.items():
                check_nested(x, f"{path}.{_fmt_key(str(k))}", depth + 1, out, budget)
            return
        leaf(v, path, out)

    def check_nested(v: Any, path: str, depth: int, out: list[Problem], budget: list[int]) -> None:
        # containers without items/properties: constraints apply to every leaf inside
        if _over_budget(budget, out):
            return
        if depth > MAX_ARG_DEPTH:
            out.append(("policy.arg", "arg.depth", f"argument {path} is nested more than {MAX_ARG_DEPTH} deep"))
            return
        if isinstance(v, (list, tuple)):
            if not v and empty_is_unchecked:
                out.append(("policy.arg", "arg.empty", f"argument {path} is an empty list: its value "
                            "rules cannot be checked"))
            for i, x in enumerate(v):
                check_nested(x, f"{path}[{i}]", depth + 1, out, budget)
        elif isinstance(v, Mapping):
            for k, x in v.items():
                check_nested(x, f"{path}.{_fmt_key(str(k))}", depth + 1, out, budget)
        else:
            leaf(v, path, out)

    return check


def _fmt_key(k: str) -> str:
    if len(k) > 64:  # an attacker-chosen key must not blow up reasons, logs and spans
        return json.dumps(k[:64]) + f"...({len(k)} chars)"
    return k if k.isidentifier() and k.isascii() else json.dumps(k)


def _unknown_key(k: str, path: str, skeletons: dict[str, str], out: list[Problem]) -> None:
    declared = lookalike(k, skeletons)
    if declared is not None:
        out.append(("policy.evasion", "arg.lookalike_key",
                    f"argument key {path} imitates the declared argument {declared!r} "
                    "(case, width, look-alike or invisible characters)"))
    else:
        out.append(("policy.arg_not_allowed", "arg.undeclared", f"argument {path} is not declared for this tool"))


@dataclass(frozen=True, slots=True)
class _CompiledTool:
    name: str
    any_args: bool
    args: Mapping[str, tuple[Checker, str]]
    required: tuple[str, ...]
    arg_skeletons: dict[str, str]
    approval: bool
    limit_calls: int | None
    limit_window: float | None
    limit_per: str


@dataclass(frozen=True, slots=True)
class _CompiledAgent:
    policy: AgentPolicy
    tools: Mapping[str, _CompiledTool]
    tool_skeletons: dict[str, str]
    send: frozenset[str]
    receive: frozenset[str]
    budget_calls: int | None
    budget_window: float | None
    budget_per: str


def _compile_tool(name: str, tp: ToolPolicy) -> _CompiledTool:
    if tp.args == "any":
        checkers: dict[str, tuple[Checker, str]] = {}
        required: tuple[str, ...] = ()
    else:
        checkers = {k: (_compile_rule(r, k), _fmt_key(k)) for k, r in tp.args.items()}
        required = tuple(k for k, r in tp.args.items() if r.required)
    return _CompiledTool(
        name=name,
        any_args=tp.args == "any",
        args=checkers,
        required=required,
        arg_skeletons={skeleton(k): k for k in checkers},
        approval=tp.approval == "required",
        limit_calls=tp.limit.calls if tp.limit else None,
        limit_window=tp.limit.window if tp.limit else None,
        limit_per=tp.limit.per if tp.limit else "run",
    )


def _compile_agent(policy: AgentPolicy) -> _CompiledAgent:
    tools = {n: _compile_tool(n, tp) for n, tp in policy.tools.items()}
    return _CompiledAgent(
        policy=policy,
        tools=tools,
        tool_skeletons={skeleton(n): n for n in tools},
        send=frozenset(policy.peers.send),
        receive=frozenset(policy.peers.receive),
        budget_calls=policy.budget.tool_calls if policy.budget else None,
        budget_window=policy.budget.window if policy.budget else None,
        budget_per=policy.budget.per if policy.budget else "run",
    )


def _f(category: str, rule: str, reason: str, action: Action = Action.BLOCK,
       details: Mapping[str, str] | None = None) -> Finding:
    return Finding(screen=SCREEN, category=category, action=action, score=1.0, rule=f"policy.{rule}",
                   reason=reason, details=details or {})


class PolicyScreen:
    """Allowlist, argument rules, approvals, rate limits, budgets and peers."""

    name = SCREEN
    kinds = frozenset(EventKind)

    def __init__(self, manifest: Manifest) -> None:
        self._agents = {n: _compile_agent(p) for n in manifest.agents
                        if (p := manifest.agent(n)) is not None}
        self._agent_skeletons = {skeleton(n): n for n in self._agents}

    # -------------------------------------------------------------- the check
    def __call__(self, event: Event, ctx: CheckContext) -> Sequence[Finding]:
        agent = self._agents.get(event.agent)
        if agent is None:
            return [self._unknown_agent(event.agent)]
        kind = event.kind
        if kind is EventKind.TOOL_CALL:
            # The allowlist and argument rules are deterministic: if they cannot be evaluated
            # (an argument object that raises, a bug), the call is denied even under
            # `on_error: allow`. Only a failing state store (limits, budgets) is an operational
            # error that `on_error` decides.
            try:
                return self._tool_call(agent, event, ctx)
            except _StateFailure as exc:
                raise (exc.__cause__ or exc) from None
            except Exception as exc:  # noqa: BLE001 - fail closed
                return [_f("policy.error", "check_failed",
                           f"the tool call could not be checked ({type(exc).__name__}); denied")]
        if kind is EventKind.MESSAGE:
            return self._message(agent, event)
        return ()

    def _unknown_agent(self, name: str) -> Finding:
        declared = lookalike(name, self._agent_skeletons) if isinstance(name, str) else None
        if declared is not None:
            return _f("policy.evasion", "agent_lookalike",
                      f"agent name imitates the declared agent {declared!r} "
                      "(case, width, look-alike or invisible characters)",
                      details={"safe.declared": declared})
        return _f("policy.unknown_agent", "unknown_agent",
                  "the acting agent is not declared in the manifest (deny by default)")

    def _tool_call(self, agent: _CompiledAgent, event: Event, ctx: CheckContext) -> list[Finding]:
        assert event.tool is not None
        name = event.tool.name
        tool = agent.tools.get(name)
        if tool is None:
            declared = lookalike(name, agent.tool_skeletons)
            if declared is not None:
                return [_f("policy.evasion", "tool_lookalike",
                           f"tool name imitates the declared tool {declared!r} "
                           "(case, width, look-alike or invisible characters)",
                           details={"safe.declared": declared})]
            return [_f("policy.tool_not_allowed", "tool_not_allowed",
                       f"tool is not in the role of agent {agent.policy.name!r}",
                       details={"safe.tool": name[:64]})]
        try:
            args = parse_args(event.tool.args)
        except ArgsError as exc:
            return [_f("policy.args_malformed", "args_malformed", f"tool {name!r}: {exc}")]
        findings: list[Finding] = []
        if not tool.any_args:
            problems: list[Problem] = []
            budget = [MAX_ARG_NODES]
            checkers = tool.args
            for key, value in args.items():
                if not isinstance(key, str):
                    problems.append(("policy.arg", "arg.key", "an argument key is not a string"))
                    continue
                entry = checkers.get(key)
                if entry is None:
                    _unknown_key(key, _fmt_key(key), tool.arg_skeletons, problems)
                    continue
                entry[0](value, entry[1], 1, problems, budget)
            for key in tool.required:
                if key not in args:
                    problems.append(("policy.arg_missing", "arg.required", f"required argument {key} is missing"))
            for cat, rule, reason in problems:
                findings.append(_f(cat, rule, f"tool {name!r}: {reason}"))
        if findings:
            return findings
        if tool.approval:
            findings.append(_f("policy.approval_required", "approval_required",
                               f"tool {name!r} needs human approval", Action.REVIEW))
        try:
            counted = self._count(agent, tool, event, ctx, args)
        except Exception as exc:
            raise _StateFailure from exc
        findings.extend(counted)
        return findings

    def _count(self, agent: _CompiledAgent, tool: _CompiledTool, event: Event,
               ctx: CheckContext, args: Mapping[str, Any]) -> list[Finding]:
        """Atomically count this call against its limits; a count over a limit is rolled back
        at once, a counted call that ends up blocked is rolled back in ``observe``.

        Time windows are sliding: the previous window's count is weighted by how much of it
        still overlaps the last ``per`` seconds, so calls bunched around a window boundary
        cannot reach twice the limit.

        A call that needs approval is checked twice: when it is planned (REVIEW) and again when
        the run resumes after the approval, maybe in another process. It is counted once: the
        first check marks (run, call id, tool, arguments) in the state store, and a check of the
        same marked call is not counted again. Only approval tools get this (a human saw each
        such call), so reusing a call id cannot hide other calls from a limit."""
        if tool.limit_calls is None and agent.budget_calls is None:
            return []
        taken: list[tuple[str, float]] = []
        ttl_run = float(agent.policy.run_ttl)
        if type(event.run_id) is not str:
            # the per-run key is built from it: an object with a changing str() would get a fresh
            # budget on every call
            return [_f("policy.args_malformed", "run_id_invalid", "run_id is not a string")]
        assert event.tool is not None
        call_id = event.tool.call_id
        if tool.approval and isinstance(call_id, str) and call_id:
            digest = hashlib.sha256(json.dumps([call_id, tool.name, args], sort_keys=True, default=repr,
                                               ensure_ascii=True).encode()).hexdigest()[:32]
            seen = f"pol:seen:{agent.policy.name}:run:{event.run_id}:{digest}"
            if ctx.state.incr(seen, 1, ttl=ttl_run) > 1:
                return []  # the same approved call, checked again on resume: already counted
            taken.append((seen, ttl_run))
        out: list[Finding] = []
        checks = []
        if tool.limit_calls is not None:
            checks.append(("limit", tool.limit_calls, tool.limit_window, tool.limit_per, tool.name))
        if agent.budget_calls is not None:
            checks.append(("budget", agent.budget_calls, agent.budget_window, agent.budget_per, "*"))
        for what, calls, window, per, tname in checks:
            if window is None:
                key = f"pol:{what}:{agent.policy.name}:{tname}:run:{event.run_id}"
                ttl = ttl_run
            else:
                bucket = int(ctx.now // window)
                base = f"pol:{what}:{agent.policy.name}:{tname}:{per}:"
                key = f"{base}{bucket}"
                ttl = window * 2
            n: float = ctx.state.incr(key, 1, ttl=ttl)
            if window is not None and n <= calls:
                prev = ctx.state.get(f"{base}{bucket - 1}")
                if prev:
                    n += prev * (1.0 - (ctx.now - bucket * window) / window)
            if n > calls:
                ctx.state.incr(key, -1, ttl=ttl)
                scope = "this run" if window is None else f"per {per}"
                label = (f"tool {tool.name!r} exceeded its limit of {calls} call(s) {scope}"
                         if what == "limit" else
                         f"agent {agent.policy.name!r} exceeded its budget of {calls} tool call(s) {scope}")
                out.append(_f(f"policy.{what}", f"{what}_exceeded", label))
                break
            taken.append((key, ttl))
        if out:
            for key, ttl in taken:
                ctx.state.incr(key, -1, ttl=ttl)
        elif taken:
            ctx.scratch["policy.counted"] = taken  # rolled back (mark included) if finally blocked
        return out

    def _message(self, agent: _CompiledAgent, event: Event) -> list[Finding]:
        peer = event.peer
        if not isinstance(peer, str) or not peer:
            return [_f("policy.peer_not_allowed", "peer_missing", "message event without a peer")]
        direction = event.direction
        if direction == Direction.SEND:
            sending = True
        elif direction == Direction.RECEIVE:
            sending = False
        else:
            return [_f("policy.peer_not_allowed", "direction_missing",
                       "message event without a direction (send or receive)")]
        allowed = agent.send if sending else agent.receive
        if peer in allowed:
            return []
        verb = "send to" if sending else "receive from"
        look = lookalike(peer, self._agent_skeletons)
        if look is not None and look != peer:
            return [_f("policy.evasion", "peer_lookalike",
                       f"peer name imitates the agent {look!r} (case, width, look-alike or invisible characters)")]
        return [_f("policy.peer_not_allowed", "peer_not_allowed",
                   f"agent {agent.policy.name!r} may not {verb} {peer[:64]!r}")]

    def observe(self, event: Event, verdict: Verdict, ctx: CheckContext) -> None:
        taken = ctx.scratch.get("policy.counted")
        # a REVIEW call runs once approved, so it stays counted; only a blocked call is undone
        if taken and verdict.action >= Action.BLOCK:
            for key, ttl in taken:
                ctx.state.incr(key, -1, ttl=ttl)


@register_screen(SCREEN, order=10)
def _factory(manifest: Manifest) -> PolicyScreen:
    return PolicyScreen(manifest)
