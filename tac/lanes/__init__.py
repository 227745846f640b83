"""Compression lanes: each turns frames into archive payload files and back.

A registry, not an if-chain: `get_lane("codec")`. A lane has `compress(frames, params, out)`,
`inflate(payload, params)`, `inflate_config(params)` and a `params_type` that validates settings.
"""

from __future__ import annotations

from tac.errors import TacError

# name → "module:class"; imported on first use so that `tac.lanes.encoders` (plain data) can be
# read without loading torch and PyAV.
LANES = {"codec": "tac.lanes.codec:CodecLane"}


def get_lane(name: str):
    import importlib

    if name not in LANES:
        raise TacError(f"unknown lane {name!r}; available: {', '.join(sorted(LANES))}")
    module, cls = LANES[name].split(":")
    return getattr(importlib.import_module(module), cls)()


def __getattr__(name: str):
    if name == "CodecLane":
        from tac.lanes.codec import CodecLane

        return CodecLane
    if name == "CodecParams":
        from tac.lanes.codec_params import CodecParams

        return CodecParams
    raise AttributeError(name)


__all__ = ["LANES", "CodecLane", "CodecParams", "get_lane"]
