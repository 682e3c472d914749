"""guardrails._cache: one cache root, environment overrides, no cache when unusable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from guardrails._cache import cache_dir, cache_root


def test_env_var_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERIMETER_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    d = cache_dir("redact")
    assert d == tmp_path / "c" / "redact" and d.is_dir()
    assert cache_dir() == tmp_path / "c"


def test_empty_env_var_turns_caching_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERIMETER_CACHE_DIR", "")
    assert cache_root() is None
    assert cache_dir("detect") is None


def test_xdg_then_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERIMETER_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir("detect") == tmp_path / "xdg" / "perimeter" / "detect"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # not absolute: ignored (XDG spec)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir("detect") == tmp_path / "home" / ".cache" / "perimeter" / "detect"


def test_unwritable_means_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("PERIMETER_CACHE_DIR", str(blocker))
    assert cache_dir("redact") is None
    if os.geteuid() != 0:  # root may write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        monkeypatch.setenv("PERIMETER_CACHE_DIR", str(ro))
        try:
            assert cache_dir("redact") is None
        finally:
            ro.chmod(0o700)


@pytest.mark.parametrize("sub", ["/etc", "../x", "a/../../b"])
def test_sub_must_be_relative(sub: str) -> None:
    with pytest.raises(ValueError):
        cache_dir(sub)


def test_redact_fast_path_uses_the_shared_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from guardrails.redact import fastpath

    monkeypatch.setenv("PERIMETER_CACHE_DIR", str(tmp_path))
    p = fastpath._cache_path([(0, "abc", True, False)])
    assert p is not None and p.parent == tmp_path / "redact"
    monkeypatch.setenv("PERIMETER_CACHE_DIR", "")
    assert fastpath._cache_path([(0, "abc", True, False)]) is None
    assert fastpath._load_cached([(0, "abc", True, False)]) is None


def test_detect_engine_uses_the_shared_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from guardrails.detect import engine

    monkeypatch.setenv("PERIMETER_CACHE_DIR", str(tmp_path))
    assert engine._cache_dir() == tmp_path / "detect"
