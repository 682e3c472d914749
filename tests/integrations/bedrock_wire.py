"""Offline AWS wire formats for tests: event-stream frames and a botocore ``before-send`` server.

moto has no Converse or InvokeAgent, and botocore's Stubber rejects event-stream responses, so
the tests encode real ``application/vnd.amazon.eventstream`` messages and hand them to a real
botocore client from its ``before-send`` hook. Frame layout (AWS "Event stream encoding"):

    prelude: total length (uint32 BE) | headers length (uint32 BE) | prelude CRC32 (uint32 BE)
    headers: name length (uint8) | name | value type (uint8, 7 = string) | length (uint16 BE) | value
    payload
    message CRC32 over everything before it (uint32 BE)
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = [
    "Server",
    "chunk_event",
    "converse_stream_events",
    "encode_frame",
    "event_frame",
    "json_response",
    "return_control_event",
    "stream_response",
]


def _header(name: str, value: str) -> bytes:
    n, v = name.encode(), value.encode()
    return struct.pack(">B", len(n)) + n + b"\x07" + struct.pack(">H", len(v)) + v


def encode_frame(headers: Mapping[str, str], payload: bytes) -> bytes:
    hdr = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(hdr) + len(payload) + 4
    prelude = struct.pack(">II", total, len(hdr))
    prelude += struct.pack(">I", zlib.crc32(prelude) & 0xFFFFFFFF)
    body = prelude + hdr + payload
    return body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def event_frame(event_type: str, payload: Mapping[str, Any]) -> bytes:
    return encode_frame({":message-type": "event", ":event-type": event_type,
                         ":content-type": "application/json"},
                        json.dumps(payload).encode())


def chunk_event(text: str) -> bytes:
    # ``bytes`` is a blob: base64 in the JSON payload of the event
    return event_frame("chunk", {"bytes": base64.b64encode(text.encode()).decode()})


def return_control_event(payload: Mapping[str, Any]) -> bytes:
    return event_frame("returnControl", payload)


def converse_stream_events(text: str = "", tool_uses: list[dict[str, Any]] | None = None,
                           stop: str | None = None, split: int = 7) -> bytes:
    """ConverseStream frames for one assistant message (text split into several deltas,
    tool inputs streamed as partial JSON strings)."""
    frames = [event_frame("messageStart", {"role": "assistant"})]
    idx = 0
    if text:
        # text blocks have no contentBlockStart: the first delta opens them
        for i in range(0, len(text), split):
            frames.append(event_frame("contentBlockDelta", {"contentBlockIndex": idx,
                                                            "delta": {"text": text[i:i + split]}}))
        frames.append(event_frame("contentBlockStop", {"contentBlockIndex": idx}))
        idx += 1
    for tu in tool_uses or []:
        frames.append(event_frame("contentBlockStart", {
            "contentBlockIndex": idx,
            "start": {"toolUse": {"toolUseId": tu["toolUseId"], "name": tu["name"]}}}))
        raw = json.dumps(tu["input"])
        for i in range(0, len(raw), split):
            frames.append(event_frame("contentBlockDelta", {
                "contentBlockIndex": idx, "delta": {"toolUse": {"input": raw[i:i + split]}}}))
        frames.append(event_frame("contentBlockStop", {"contentBlockIndex": idx}))
        idx += 1
    frames.append(event_frame("messageStop", {
        "stopReason": stop or ("tool_use" if tool_uses else "end_turn")}))
    frames.append(event_frame("metadata", {"usage": {"inputTokens": 10, "outputTokens": 5,
                                                     "totalTokens": 15},
                                           "metrics": {"latencyMs": 12}}))
    return b"".join(f for f in frames if f)


class _Raw:
    """What botocore reads an HTTP body from (``stream()`` for event streams, ``read()``)."""

    def __init__(self, data: bytes, piece: int = 13) -> None:
        self._data = data
        self._piece = piece  # deliver in odd-sized pieces: frames straddle reads

    def stream(self, amt: int | None = None, decode_content: bool = True) -> Iterator[bytes]:
        for i in range(0, len(self._data), self._piece):
            yield self._data[i:i + self._piece]

    def read(self, amt: int | None = None) -> bytes:
        data, self._data = self._data, b""
        return data

    def close(self) -> None:
        pass

    def release_conn(self) -> None:
        pass


class Server:
    """Answers a botocore client's requests from ``before-send`` with scripted responses.

    ``script`` is a list of callables ``(request) -> (status, headers, body_bytes)``, one per
    request, in order. ``requests`` keeps what the client sent (operation URL and parsed body).
    """

    def __init__(self, client: Any, script: list[Callable[[Any], tuple[int, dict[str, str], bytes]]]):
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        client.meta.events.register("before-send", self._send)

    def _send(self, request: Any, **kwargs: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body
        self.requests.append({"url": request.url, "body": parsed})
        if not self.script:
            raise AssertionError(f"unexpected request to {request.url}")
        status, headers, data = self.script.pop(0)(request)
        return AWSResponse(request.url, status, headers, _Raw(data))


Reply = Callable[[Any], tuple[int, dict[str, str], bytes]]


def stream_response(data: bytes, content_type: str = "application/vnd.amazon.eventstream",
                    extra: dict[str, str] | None = None) -> Reply:
    headers = {"content-type": content_type, **(extra or {})}
    return lambda req: (200, headers, data)


def json_response(payload: Mapping[str, Any]) -> Reply:
    return lambda req: (200, {"content-type": "application/json"}, json.dumps(payload).encode())
