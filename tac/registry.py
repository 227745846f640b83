"""One registry helper for every extension point: lanes, post-filter families, generators,
lossless codecs, training profiles and backend kinds.

    LANES = Registry("lane")
    LANES.register("codec", CodecLane)            # or @LANES.register("codec") on a class
    LANES.lazy("heavy", "some.module:HeavyLane")  # imported on first `get`, so listing stays light
    LANES.get("codec")                            # unknown names are one TacError listing the known

Plug-ins outside tac register themselves when imported. `load_plugins()` imports the modules
named in $TAC_PLUGINS (comma-separated) and every `tac.plugins` entry point, once per process;
a registry calls it before it lists its names or reports a name unknown, so a lane written in
another package (or under `tests/`) reaches every process tac starts, workers included.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar, overload

from .errors import TacError  # relative: the codec lane's inflate runtime ships this file

T = TypeVar("T")
PLUGINS_ENV = "TAC_PLUGINS"
PLUGIN_GROUP = "tac.plugins"
_loaded = False


def load_plugins() -> None:
    """Import every plug-in module once ($TAC_PLUGINS, then the `tac.plugins` entry points)."""
    global _loaded
    if _loaded:
        return
    _loaded = True  # set first: a plug-in that looks names up while importing must not recurse
    for name in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise TacError(f"${PLUGINS_ENV}: cannot import plug-in {name!r} ({exc})") from None
    for ep in entry_points(group=PLUGIN_GROUP):
        ep.load()


class Registry(Generic[T]):
    """Named objects of one kind. Names are unique: registering a second object under a taken
    name is a mistake (two plug-ins colliding), not an override."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._lazy: dict[str, str] = {}

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...
    @overload
    def register(self, name: str, obj: T) -> T: ...
    def register(self, name, obj=None):
        """`register(name, obj)`, or `@register(name)` as a decorator."""

        def add(item: T) -> T:
            known = self._items.get(name)
            if (known is not None and known is not item) or name in self._lazy:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = item
            return item

        return add if obj is None else add(obj)

    def lazy(self, name: str, target: str) -> None:
        """Register `"module:attribute"`, imported on first use."""
        if name in self._items or name in self._lazy:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._lazy[name] = target

    def get(self, name: str) -> T:
        if name not in self._items and name not in self._lazy:
            load_plugins()
        if name in self._lazy:
            module, attr = self._lazy.pop(name).split(":")
            self._items[name] = getattr(importlib.import_module(module), attr)
        if name not in self._items:
            raise TacError(f"unknown {self.kind} {name!r}; available: {', '.join(self.names())}")
        return self._items[name]

    __getitem__ = get

    def unregister(self, name: str) -> None:
        """Forget `name` (a test removing the plug-in it added)."""
        self._items.pop(name, None)
        self._lazy.pop(name, None)

    def names(self) -> list[str]:
        load_plugins()
        return sorted({*self._items, *self._lazy})

    def items(self) -> list[tuple[str, T]]:
        """(name, object) in name order, lazy entries imported."""
        return [(name, self.get(name)) for name in self.names()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())
