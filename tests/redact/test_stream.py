from __future__ import annotations

from guardrails.redact.redactor import Redactor


def _run(chunks, **kw):
    r = Redactor(["EMAIL_ADDRESS", "CREDIT_CARD", "SECRET"])
    s = r.stream(**kw)
    out = [s.feed(c) for c in chunks]
    out.append(s.flush())
    return out


def test_pii_split_across_chunks_is_caught():
    text = "hello there, my mail is bob.smith@example.com and card 4111 1111 1111 1111. bye " * 3
    for size in (1, 3, 7, 16, 50):
        chunks = [text[i:i + size] for i in range(0, len(text), size)]
        out = "".join(_run(chunks, lookback=64))
        assert "bob.smith" not in out and "4111" not in out
        assert out.count("<EMAIL_ADDRESS>") == 3 and out.count("<CREDIT_CARD>") == 3


def test_delay_is_bounded():
    r = Redactor(["EMAIL_ADDRESS"])
    s = r.stream(lookback=32, max_buffer=256)
    emitted = 0
    for _ in range(100):
        emitted += len(s.feed("word " * 10))
        assert s.pending <= 256 + 50
    assert emitted > 0


def test_long_token_is_flushed_when_buffer_is_full():
    r = Redactor(["SECRET"])
    s = r.stream(lookback=16, max_buffer=128)
    out = "".join(s.feed("x" * 10) for _ in range(50))
    assert s.pending <= 128 + 10 and out
