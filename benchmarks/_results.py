"""Shared by the benchmarks: replace one ``## Section`` of benchmarks/RESULTS.md in place."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = "# Benchmark results\n"


def machine() -> str:
    import os

    return f"Python {sys.version.split()[0]} on {platform.machine()}, {os.cpu_count()} cores"


def write_section(title: str, body: str, path: Path = RESULTS) -> None:
    """Replace the section that starts with ``title`` (a ``## ...`` line) up to the next
    ``## `` heading, or append it. Other sections are left exactly as they are."""
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.rstrip("\n") == title), None)
    block = title + "\n\n" + body.rstrip("\n") + "\n\n"
    if start is None:
        if not text.endswith("\n\n"):
            text = text.rstrip("\n") + "\n\n"
        path.write_text(text + block, encoding="utf-8")
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    path.write_text("".join(lines[:start]) + block + "".join(lines[end:]), encoding="utf-8")


def write_block(text: str, path: Path = RESULTS) -> None:
    """``write_section`` for a text that starts with its own ``## ...`` heading line."""
    title, _, body = text.lstrip("\n").partition("\n")
    if not title.startswith("## "):
        raise ValueError("a results block starts with its '## ' heading")
    write_section(title.rstrip(), body.strip("\n"), path)
