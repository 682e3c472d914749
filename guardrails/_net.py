"""Strict parsing of e-mail addresses, URLs and domain names for ``domains`` rules.

Anything ambiguous (several ``@``, user-info in URLs, backslashes, whitespace, control or
invisible characters, several recipients in one string) is rejected rather than guessed at.
So is anything two real parsers could read differently: percent-escapes in addresses (a mail
client decodes ``mailto:eve%40evil.com%2Cbob@example.com`` into two recipients), source routes
(``user%host@relay``, ``host!user@relay``), host names that IDNA 2003 (Python's codec) and IDNA
2008 / UTS 46 (browsers, the ``idna`` package) map to different domains (``claß.com``), and IPv4
hosts in other than dotted-decimal form (``0x0a.0.0.1``, ``167772161``, ``012.0.0.1``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from urllib.parse import urlsplit

__all__ = ["domain_allowed", "host_of", "normalize_domain"]

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# RFC 5322 dot-atom without '%' and '!' (source routing through the allowed server, and
# percent-escapes that a mail client decodes into '@' or ',')
_LOCAL = re.compile(r"^[A-Za-z0-9#$&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9#$&'*+/=?^_`{|}~-]+)*$")
_DOTS = re.compile("[.\u3002\uff0e\uff61]")  # the label separators of IDNA
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"^{_OCTET}(?:\.{_OCTET}){{3}}$")
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")
_BAD = re.compile(r"[\s\\\x00-\x1f\x7f\u00a0\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3002\ufeff]")
_SCHEMES = {"http", "https", "ws", "wss", "ftp", "ftps", "sftp", "s3"}


@functools.lru_cache(maxsize=1024)
def normalize_domain(d: str) -> str | None:
    """Lower-case ASCII (IDNA) form of a host name, or None if it is not a valid one."""
    if not d or len(d) > 253 or _BAD.search(d):
        return None
    d = d.rstrip(".") if d.endswith(".") and not d.endswith("..") else d
    ascii_d: str | None
    if d.isascii():
        ascii_d = d.lower()
    else:
        if unicodedata.normalize("NFKC", d) != d:
            return None  # full-width or compatibility forms: a look-alike, not a spelling
        ascii_d = _idna_unambiguous(d)
        if ascii_d is None:
            return None
    labels = ascii_d.split(".")
    if not all(_LABEL.match(lbl) for lbl in labels):
        return None
    if _NUMERIC_LABEL.match(labels[-1]) and not _IPV4.match(ascii_d):
        # a URL parser reads a host ending in a number as an IPv4 address (hex, octal and
        # 1-3 part forms included): only the canonical dotted-decimal form is comparable
        return None
    return ascii_d


def _idna_unambiguous(d: str) -> str | None:
    """ASCII form of a non-ASCII host name, or None when IDNA 2003 (which maps characters such
    as ß, ς, soft hyphen and joiners) and plain Punycode of the lower-cased label disagree:
    then different clients would resolve different domains."""
    out = []
    for label in _DOTS.split(d):
        if label.isascii():
            out.append(label.lower())
            continue
        try:
            via_idna = label.encode("idna").decode("ascii").lower()
            direct = "xn--" + unicodedata.normalize("NFC", label.lower()).encode("punycode").decode("ascii")
        except (UnicodeError, ValueError):
            return None
        if via_idna != direct:
            return None
        out.append(direct)
    return ".".join(out)


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
        if "?" in value or "%" in value:
            return None
    if "@" in value:
        if value.count("@") != 1:
            return None
        local, _, dom = value.partition("@")
        if not _LOCAL.match(local) or len(local) > 64 or "=?" in local:
            return None  # "=?" starts an RFC 2047 encoded-word, which some mail libraries decode
        return normalize_domain(dom)
    if "/" in value or ":" in value:
        return None
    return normalize_domain(value)


def domain_allowed(host: str, domains: tuple[str, ...]) -> bool:
    """``host`` is one of ``domains`` or a subdomain of one (an IP address has no subdomains)."""
    return any(host == d or (host.endswith("." + d) and not _IPV4.match(d)) for d in domains)
