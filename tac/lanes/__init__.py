"""Compression lanes: each turns a video into an archive and back. The lane is the unit of
extension: a new way to compress plugs in here, through the contract in `tac.lanes.base`.

    get_lane("codec")                  # the registered Lane
    register_lane(MyLane)              # a plug-in (see tac.registry for $TAC_PLUGINS)
    LANES.names()                      # what is registered

Importing this package registers the built-in lanes and their params records (which is what
lets a ledger or an anchors file be read) and stays light: numpy and pydantic, no torch or PyAV.
"""

from __future__ import annotations

from tac.lanes.base import Features, Lane, LaneOptions, LaneTable, Trained
from tac.registry import Registry

LANES: Registry[Lane] = Registry("lane")


def register_lane(cls: type[Lane]) -> type[Lane]:
    """Register a Lane subclass (usable as a class decorator); its params record registered
    itself when its class was defined."""
    LANES.register(cls.name, cls())
    return cls


def get_lane(name: str) -> Lane:
    return LANES.get(name)


from tac.lanes.codec import CodecLane  # noqa: E402  (built-ins register below the helpers)
from tac.lanes.masks import MasksLane  # noqa: E402
from tac.lanes.nerv import NervLane  # noqa: E402

register_lane(CodecLane)
register_lane(NervLane)
register_lane(MasksLane)

__all__ = [
    "LANES",
    "CodecLane",
    "Features",
    "Lane",
    "LaneOptions",
    "LaneTable",
    "MasksLane",
    "NervLane",
    "Trained",
    "get_lane",
    "register_lane",
]
