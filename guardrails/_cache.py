"""One on-disk cache directory for Perimeter (compiled Hyperscan databases and the like).

``$PERIMETER_CACHE_DIR`` when set (set it to the empty string to turn disk caching off), else
``$XDG_CACHE_HOME/perimeter``, else ``~/.cache/perimeter``. Each user of the cache takes a
sub-directory (``cache_dir("redact")``). A directory that cannot be created or written means
"no disk cache": callers then compile every time, they never fail because of the cache.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_VAR", "cache_dir", "cache_root"]

ENV_VAR = "PERIMETER_CACHE_DIR"


def cache_root() -> Path | None:
    """The cache root from the environment (not created; None: caching is off or there is no
    home directory)."""
    d = os.environ.get(ENV_VAR)
    if d is not None:
        return Path(d).expanduser() if d.strip() else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "perimeter"
    try:
        home = Path.home()
    except (RuntimeError, KeyError):  # no HOME and no passwd entry
        return None
    return home / ".cache" / "perimeter"


def cache_dir(sub: str = "") -> Path | None:
    """``cache_root() / sub``, created if missing; None when caching is off or the directory
    cannot be created or written. ``sub`` is one relative name such as ``"redact"``."""
    if sub and (os.path.isabs(sub) or ".." in Path(sub).parts):
        raise ValueError(f"cache sub-directory must be a relative name, not {sub!r}")
    root = cache_root()
    if root is None:
        return None
    path = root / sub if sub else root
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        return None
    return path
