"""Families by name, as in timm's `create_model`: register with a decorator, build from a name.

A post-filter's name plus its keyword arguments is all it takes to rebuild it, which is what
lets a packed filter carry its architecture as a small JSON config instead of pickled code.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import TacError
from ..registry import Registry  # relative: this package ships in submissions as `tacrt`
from .base import PostFilter

P = TypeVar("P", bound=type[PostFilter])


FAMILIES: Registry[type[PostFilter]] = Registry("post-filter")


def register_postfilter(name: str) -> Callable[[P], P]:
    """Class decorator: make a PostFilter subclass buildable as `build_postfilter(name, ...)`."""

    def decorate(cls: P) -> P:
        if "name" in _arguments(cls):
            raise ValueError(f"{cls.__name__}: 'name' is reserved for the family name")
        try:
            FAMILIES.register(name, cls)  # the same class twice is fine (a module reloaded)
        except ValueError:
            raise ValueError(
                f"post-filter {name!r} is already registered by {FAMILIES.get(name)}"
            ) from None
        cls.family = name
        return cls

    return decorate


def list_postfilters() -> list[str]:
    return FAMILIES.names()


def postfilter_arguments(name: str) -> list[str]:
    """The keyword arguments family `name` accepts."""
    return _arguments(_family(name))


def build_postfilter(name: str, **kw: Any) -> PostFilter:
    """A fresh (identity) post-filter of family `name`; `build_postfilter(**m.config())` works."""
    cls = _family(name)
    valid = _arguments(cls)
    unknown = sorted(set(kw) - set(valid))
    if unknown:
        raise TacError(
            f"post-filter {name!r} has no argument {', '.join(map(repr, unknown))}; "
            f"valid arguments: {', '.join(valid) or '(none)'}"
        )
    return cls(**kw)


def _family(name: str) -> type[PostFilter]:
    return FAMILIES.get(name)  # unknown: a TacError listing the families


def _arguments(cls: type[PostFilter]) -> list[str]:
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # drop self
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
