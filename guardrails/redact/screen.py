"""The redaction screen (order 40).

On the event kinds in ``redact.on`` (tool_result, message, output by default) it finds PII and
secrets, returns one finding per redacted span (category ``pii.<ENTITY>`` or
``secret.<subtype>``, action REDACT, the span, never the value) and sets ``ctx.content`` to the
rewritten text.

On ``tool_call`` events:

* with ``check_tool_args`` (default on), every string inside the arguments is scanned for
  secrets (entity ``SECRET``). A credential in an outgoing argument is a possible
  exfiltration and cannot be undone once the call runs, so the finding's action is **BLOCK**
  (category ``secret.<subtype>``, ``details["safe.arg"]`` names the argument). Pseudonym tokens
  are not secrets: they are checked before being restored.
* pseudonym tokens (``<EMAIL_ADDRESS_1>``) in the arguments are restored to the original values
  only for entity types the manifest allows for that tool (``tools.<name>.restore``) or that
  argument (``args.<arg>.restore``); ``ctx.args`` then carries the restored arguments and an
  ALLOW finding ``redact.restored`` records how many were restored (no values).

Pseudonyms are shared by all agents of a run (``scope: run``) or by a tenant
(``scope: tenant``; the tenant is ``event.metadata["tenant"]``, else ``"default"``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..events import Event, EventKind
from ..screens.base import CheckContext, register_screen
from ..state import MemoryStore
from ..verdict import Action, Finding
from .redactor import Redactor, category_of, category_of_item_name
from .state_vault import StateVault
from .vault import TOKEN_RE, MemoryVault, Vault

if TYPE_CHECKING:
    from ..manifest import AgentPolicy, Manifest, RedactSettings
    from ..state import StateStore

__all__ = ["RedactScreen", "scope_for"]

_ALL_KINDS = frozenset(EventKind)


def scope_for(event: Event, settings: RedactSettings) -> str:
    if settings.scope == "tenant":
        tenant = event.metadata.get("tenant") or event.metadata.get("tenant_id") or "default"
        return f"tenant:{tenant}"
    return f"run:{event.run_id}"


class RedactScreen:
    name = "redact"
    kinds = _ALL_KINDS

    def __init__(self, manifest: Manifest, *, vault: MemoryVault | None = None) -> None:
        self.manifest = manifest
        ttl = float(manifest.defaults.run_ttl)
        self.vault = vault if vault is not None else MemoryVault(ttl=ttl)
        self._redactors: dict[tuple[Any, ...], Redactor] = {}
        self._state_vaults: dict[int, StateVault] = {}
        self._lock = threading.Lock()

    def vault_for(self, state: StateStore | None) -> Vault:
        """The in-process vault, or, when the Guard's state is shared (e.g. a RedisStore), a
        :class:`StateVault` in that store, so every replica writes and restores the same tokens."""
        if state is None or isinstance(state, MemoryStore):
            return self.vault
        sv = self._state_vaults.get(id(state))
        if sv is None or sv.store is not state:
            with self._lock:
                sv = StateVault(state, ttl=float(self.manifest.defaults.run_ttl))
                self._state_vaults[id(state)] = sv
        return sv

    def redactor(self, settings: RedactSettings, *, secrets_only: bool = False,
                 state: StateStore | None = None) -> Redactor:
        entities = ("SECRET",) if secrets_only else tuple(settings.entities)
        operator = "replace" if secrets_only else settings.operator
        vault = self.vault_for(state) if operator == "pseudonym" else self.vault
        key = (entities, operator, settings.score_threshold, settings.ner and not secrets_only, id(vault))
        r = self._redactors.get(key)
        if r is None:
            with self._lock:
                r = self._redactors.get(key)
                if r is None:
                    r = Redactor(entities, operator=operator, score_threshold=settings.score_threshold,
                                 ner=settings.ner and not secrets_only, vault=vault)
                    self._redactors[key] = r
        return r

    def __call__(self, event: Event, ctx: CheckContext) -> Sequence[Finding]:
        policy = ctx.policy
        if policy is None or not policy.redact.enabled:
            return []
        settings = policy.redact
        if event.kind is EventKind.TOOL_CALL:
            return self._tool_call(event, ctx, policy, settings)
        if str(event.kind) not in settings.on:
            return []
        text = ctx.content if ctx.content is not None else event.content
        if not text:
            return []
        result = self.redactor(settings, state=ctx.state).redact(text, scope=scope_for(event, settings))
        if not result.items:
            return []
        ctx.content = result.text
        return [
            Finding(
                screen=self.name,
                category=category_of_item_name(item.entity, item.subtype),
                action=Action.REDACT,
                score=item.score,
                span=(item.start, item.end),
                rule=f"redact.{item.recognizer or item.entity}",
                reason=f"{item.entity}{'/' + item.subtype if item.subtype else ''} redacted "
                       f"({settings.operator})",
                details={"safe.entity": item.entity, "safe.operator": settings.operator,
                         **({"safe.subtype": item.subtype} if item.subtype else {})},
            )
            for item in result.items
        ]

    # ------------------------------------------------------------------ tool calls
    def _tool_call(self, event: Event, ctx: CheckContext, policy: AgentPolicy,
                   settings: RedactSettings) -> list[Finding]:
        assert event.tool is not None
        args: Any = ctx.args if ctx.args is not None else event.tool.args
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                args = {"_raw": args}
        if not isinstance(args, Mapping):
            args = {"_raw": args}
        findings: list[Finding] = []
        if settings.check_tool_args and "SECRET" in settings.entities:
            sec = self.redactor(settings, secrets_only=True)
            for arg, path, value in _strings(args):
                if "<" in value and TOKEN_RE.fullmatch(value.strip()):
                    continue
                for d in sec.analyze(value):
                    findings.append(Finding(
                        screen=self.name,
                        category=category_of(d),
                        action=Action.BLOCK,
                        score=d.score,
                        rule=f"redact.tool_arg.{d.subtype or 'secret'}",
                        reason=f"a secret ({d.subtype or 'secret'}) in argument {arg!r} of tool "
                               f"{event.tool.name!r}: possible exfiltration",
                        details={"safe.arg": arg, "safe.path": path, "safe.subtype": d.subtype,
                                 "safe.tool": event.tool.name},
                    ))
        tool_policy = policy.tools.get(event.tool.name)
        if tool_policy is None:
            return findings
        rules = tool_policy.args if isinstance(tool_policy.args, dict) else {}
        if not tool_policy.restore and not any(r.restore for r in rules.values()):
            return findings
        redactor = self.redactor(settings, state=ctx.state)
        scope = scope_for(event, settings)
        new_args: dict[str, Any] = {}
        restored = 0
        for arg, value in args.items():
            allowed = set(tool_policy.restore)
            rule = rules.get(arg)
            if rule is not None:
                allowed |= set(rule.restore)
            if allowed:
                value, n = redactor.restore_value(value, scope=scope, allowed=sorted(allowed))
                restored += n
            new_args[arg] = value
        if restored:
            ctx.args = new_args
            findings.append(Finding(
                screen=self.name, category="redact.restored", action=Action.ALLOW, score=1.0,
                rule="redact.restore",
                reason=f"{restored} pseudonym(s) restored for tool {event.tool.name!r} as the "
                       "manifest allows",
                details={"safe.count": str(restored), "safe.tool": event.tool.name},
            ))
        return findings


def _strings(value: Any, arg: str = "", path: str = "", depth: int = 0) -> list[tuple[str, str, str]]:
    """(top-level argument, JSON-ish path, string) for every string inside ``value``."""
    out: list[tuple[str, str, str]] = []
    if depth > 32:
        return out
    if isinstance(value, str):
        out.append((arg, path, value))
    elif isinstance(value, Mapping):
        for k, v in value.items():
            key = str(k)
            out.extend(_strings(v, arg or key, f"{path}.{key}" if path else key, depth + 1))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            out.extend(_strings(v, arg, f"{path}[{i}]", depth + 1))
    return out


@register_screen("redact", order=40)
def _factory(manifest: Manifest) -> RedactScreen | None:
    names = manifest.agent_names
    enabled = any((p := manifest.agent(n)) is not None and p.redact.enabled for n in names)
    if not enabled:
        return None
    from .presidio_bridge import require_presidio

    require_presidio()  # a clear MissingDependency at Guard construction, not a block at run time
    return RedactScreen(manifest)
