"""Guarded streams: redact a streamed answer as it arrives, check the whole answer when it ends.

A model that streams its answer token by token would leak an e-mail address or an API key
before any per-message check could see the message. :meth:`guardrails.Guard.stream` returns a
:class:`GuardedStream` for one streamed message of one agent::

    stream = guard.stream(agent="support", run_id=run_id)       # kind "output" by default
    for token in model_tokens:
        send(stream.feed(token))    # already redacted; may be "" while a value is still open
    send(stream.flush())            # the rest, redacted
    verdict = stream.verdict        # the Guard's full check of the whole answer (all screens)

What is emitted follows the agent's ``redact`` settings (entities, operator, pseudonym vault
shared with the Guard's redaction screen, so a streamed ``<EMAIL_ADDRESS_1>`` is the same token
as in a checked tool result). PII split across chunks is still caught: a look-back buffer holds
the last ``lookback`` characters, and any value still being written, until it is complete
(bounded by ``max_buffer``).

Fail closed: for an agent the manifest does not know, or once redaction raises, nothing more is
emitted (``withheld`` is True) and the final verdict blocks. Streamed text cannot be taken back,
so screens other than redaction (injection, policy) can only judge the whole answer at the end:
an adapter that must not show a blocked answer at all should not stream it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import InputError
from .events import Event, EventKind
from .verdict import Action, Finding, Verdict

if TYPE_CHECKING:
    from .guard import Guard
    from .redact.stream import StreamRedactor

__all__ = ["GuardedStream", "stream_event"]

_STREAM_KINDS = frozenset({EventKind.OUTPUT, EventKind.MESSAGE, EventKind.MODEL_OUTPUT})


class GuardedStream:
    """One streamed message: :meth:`feed` chunks, :meth:`flush` at the end, then :attr:`verdict`.

    Built by :meth:`guardrails.Guard.stream`; not thread-safe (one stream is one message)."""

    def __init__(self, guard: Guard, event: Event, *, lookback: int = 128, max_buffer: int = 8192) -> None:
        self._guard = guard
        self._event = event
        self._parts: list[str] = []
        self._closed = False
        self._verdict: Verdict | None = None
        self._error: Finding | None = None
        self.withheld = False
        self._redactor: StreamRedactor | None = None
        policy = guard.manifest.agent(event.agent)
        if policy is None:
            # unknown agent: nothing is shown and the final check blocks (unknown = deny), unless
            # the whole manifest runs in shadow mode, where nothing is ever enforced
            self.withheld = guard.manifest.defaults.mode != "shadow"
            return
        settings = policy.redact
        if policy.mode == "shadow" or not settings.enabled or str(event.kind) not in settings.on:
            return  # nothing to enforce on this kind for this agent: chunks pass unchanged
        try:
            from .redact.screen import RedactScreen, scope_for

            screen = next((s for s in guard.screens if isinstance(s, RedactScreen)), None)
            if screen is None:
                # the Guard was built without the redaction screen: the manifest still asks for
                # redaction, so stream nothing rather than stream it unredacted
                raise LookupError("the Guard has no redaction screen")
            self._redactor = screen.redactor(settings, state=guard.state).stream(
                scope=scope_for(event, settings), lookback=lookback, max_buffer=max_buffer)
        except Exception as exc:  # noqa: BLE001 - fail closed below
            self._fail(exc, settings.on_error == "allow")

    # ------------------------------------------------------------------ API
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        """Characters received but not emitted yet (held back in the look-back buffer)."""
        return self._redactor.pending if self._redactor is not None else 0

    def feed(self, chunk: str) -> str:
        """Take the next chunk; return the text that is safe to emit now (may be empty)."""
        if self._closed:
            raise InputError("stream already flushed")
        if not isinstance(chunk, str):
            raise InputError(f"chunks must be str, not {type(chunk).__name__}")
        self._parts.append(chunk)
        if self.withheld:
            return ""
        if self._redactor is None:
            return chunk
        try:
            return self._redactor.feed(chunk)
        except Exception as exc:  # noqa: BLE001 - fail closed
            self._fail(exc, False)
            return ""

    def flush(self) -> str:
        """End the stream: return the rest (redacted) and run the Guard's check of the whole text."""
        if self._closed:
            return ""
        self._closed = True
        out = ""
        if not self.withheld and self._redactor is not None:
            try:
                out = self._redactor.flush()
            except Exception as exc:  # noqa: BLE001 - fail closed
                self._fail(exc, False)
                out = ""
        self._verdict = self._final_check()
        return out

    @property
    def verdict(self) -> Verdict:
        """The Guard's verdict on the whole streamed text (flushes the stream if still open)."""
        if self._verdict is None:
            self.flush()
        assert self._verdict is not None
        return self._verdict

    @property
    def text(self) -> str:
        """The whole text received so far (unredacted: never emit it)."""
        return "".join(self._parts)

    # ------------------------------------------------------------------ internals
    def _fail(self, exc: BaseException, allow: bool) -> None:
        self._error = Finding(
            screen="redact", category="screen.error", action=Action.ALLOW if allow else Action.BLOCK,
            rule="stream.redaction_error",
            reason=f"streamed redaction failed ({type(exc).__name__}); "
                   + ("chunks pass unredacted (on_error: allow)" if allow else "the rest is withheld"),
        )
        self._redactor = None
        if not allow:
            self.withheld = True

    def _final_check(self) -> Verdict:
        event = dataclasses.replace(self._event, content=self.text)
        verdict = self._guard.check(event)
        if self._error is not None:
            verdict = Verdict.merge([verdict, Verdict(self._error.action, (self._error,),
                                                      degraded=self._error.action is Action.ALLOW)])
        return verdict


def stream_event(agent: str, run_id: str = "", kind: EventKind | str = EventKind.OUTPUT, *,
                 peer: str | None = None, metadata: Mapping[str, Any] | None = None) -> Event:
    """The (empty) event a stream starts from; its content becomes the whole text at the end."""
    try:
        k = EventKind(kind)
    except ValueError:
        raise InputError(f"unknown event kind {kind!r}") from None
    if k not in _STREAM_KINDS:
        raise InputError(f"a stream carries output, model_output or a message, not {k.value!r}")
    if k is EventKind.MESSAGE:
        if not peer:
            raise InputError("a streamed message needs the peer it is sent to")
        return Event.message(agent=agent, run_id=run_id, content="", peer=peer, direction="send",
                             metadata=metadata)
    if k is EventKind.OUTPUT:
        return Event.output(agent=agent, run_id=run_id, content="", metadata=metadata)
    return Event.model_output(agent=agent, run_id=run_id, content="", metadata=metadata)
