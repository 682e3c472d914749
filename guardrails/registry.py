"""One small registry per kind of plugin (screens, recognizers, operators, state backends)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> plugin, with an order for plugins that run in sequence (cheapest first)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, tuple[int, T]] = {}
        self._lock = threading.Lock()

    def register(self, name: str, item: T, *, order: int = 100, replace: bool = False) -> T:
        with self._lock:
            if name in self._items and not replace:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = (order, item)
        return item

    def unregister(self, name: str) -> None:
        with self._lock:
            self._items.pop(name, None)

    def get(self, name: str) -> T:
        try:
            return self._items[name][1]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise KeyError(f"unknown {self.kind} {name!r} (known: {known})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def names(self) -> list[str]:
        return [n for n, _ in sorted(self._items.items(), key=lambda kv: (kv[1][0], kv[0]))]

    def __iter__(self) -> Iterator[tuple[str, T]]:
        for n in self.names():
            yield n, self._items[n][1]

    def __len__(self) -> int:
        return len(self._items)
