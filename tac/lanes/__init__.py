"""Compression lanes: each turns frames into archive payload files and back.

A registry, not an if-chain: `get_lane("codec")`. A lane has `compress(frames, params, out)`,
`inflate(payload, params)`, `inflate_config(params)` and a `params_type` that validates settings.
"""

from __future__ import annotations

from tac.errors import TacError
from tac.lanes.codec import CodecLane
from tac.lanes.codec_params import CodecParams

LANES = {"codec": CodecLane}


def get_lane(name: str):
    try:
        return LANES[name]()
    except KeyError:
        raise TacError(f"unknown lane {name!r}; available: {', '.join(sorted(LANES))}") from None


__all__ = ["LANES", "CodecLane", "CodecParams", "get_lane"]
