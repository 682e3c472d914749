"""Strict parsing of e-mail addresses, URLs and domain names for ``domains`` rules.

Anything ambiguous (several ``@``, user-info in URLs, backslashes, whitespace, control or
invisible characters, several recipients in one string) is rejected rather than guessed at.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from urllib.parse import urlsplit

__all__ = ["domain_allowed", "host_of", "normalize_domain"]

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_BAD = re.compile(r"[\s\\\x00-\x1f\x7f\u00a0\u2000-\u200f\u2028-\u202f\u205f-\u206f\ufeff]")
_SCHEMES = {"http", "https", "ws", "wss", "ftp", "ftps", "sftp", "s3"}


@functools.lru_cache(maxsize=1024)
def normalize_domain(d: str) -> str | None:
    """Lower-case ASCII (IDNA) form of a host name, or None if it is not a valid one."""
    if not d or len(d) > 253 or _BAD.search(d):
        return None
    d = d.rstrip(".") if d.endswith(".") and not d.endswith("..") else d
    if not d.isascii() and unicodedata.normalize("NFKC", d) != d:
        return None  # full-width or compatibility forms: a look-alike, not a spelling
    try:
        ascii_d = d.encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError):
        return None
    labels = ascii_d.split(".")
    if not all(_LABEL.match(lbl) for lbl in labels):
        return None
    return ascii_d


@functools.lru_cache(maxsize=1024)
def host_of(value: str) -> str | None:
    """The host an e-mail address, URL or bare domain points at, or None when the value is not
    exactly one well-formed address."""
    if not value or len(value) > 2048 or _BAD.search(value):
        return None
    if "://" in value:
        try:
            parts = urlsplit(value)
            port = parts.port  # noqa: F841 - raises on a malformed port
        except ValueError:
            return None
        if parts.scheme.lower() not in _SCHEMES or "@" in parts.netloc or not parts.hostname:
            return None
        return normalize_domain(parts.hostname)
    if value.lower().startswith("mailto:"):
        value = value[7:]
        if "?" in value:
            return None
    if "@" in value:
        if value.count("@") != 1:
            return None
        local, _, dom = value.partition("@")
        if not _LOCAL.match(local) or len(local) > 64:
            return None
        return normalize_domain(dom)
    if "/" in value or ":" in value:
        return None
    return normalize_domain(value)


def domain_allowed(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)
