"""The masks lane's payload: the renderer's weights, the coded masks and the pose side channel.

    blob = b"MSR1" | u16 n | renderer config JSON (n bytes) | u8 bits | tensor × k
           | u8 c | mask codec name (c bytes) | u32 m | mask stream | u32 p | pose stream

The renderer's tensors are `tac.quant.tensors` streams in `state_dict` order. The mask stream is
whatever its codec wrote (`codecs.MASK_CODECS`), at the renderer's output size; the pose stream
is `pose.encode`'s. `load` gives back exactly what training's quantized forward used: the
renderer at its shipped weights and the decoded masks and poses.
"""

from __future__ import annotations

import struct

import numpy as np
import torch

from ...quant import entropy
from ...quant.tensors import Reader, chunk, network_header, pack_tensors
from . import pose as pose_channel
from .codecs import MASK_CODECS
from .renderer import Renderer, RendererConfig

MAGIC = b"MSR1"
MEMBER = "masks.bin"


def pack(renderer: Renderer, bits: int, codec: str, mask_stream: bytes, pose_stream: bytes, coders=entropy.PORTABLE) -> bytes:  # fmt: skip
    name = codec.encode()
    return b"".join([
        network_header(MAGIC, renderer.config.to_json(), bits),
        pack_tensors(renderer.state_dict().values(), bits, coders),
        struct.pack("<B", len(name)), name, chunk(mask_stream), chunk(pose_stream),
    ])  # fmt: skip


def unpack(blob: bytes) -> tuple[RendererConfig, dict, int, str, bytes, bytes]:
    r = Reader(blob, "masks payload")
    data, bits = r.network_header(MAGIC)
    config = RendererConfig.from_dict(data)
    state = r.tensors(Renderer(config).state_dict())
    (c,) = struct.unpack("<B", r.take(1))
    codec = r.take(c).decode()
    mask_stream, pose_stream = r.chunk(), r.chunk()
    if r.pos != len(blob):
        raise ValueError(f"masks payload: {len(blob) - r.pos} bytes after the pose stream")
    return config, state, bits, codec, mask_stream, pose_stream


def load(blob: bytes) -> tuple[Renderer, torch.Tensor, torch.Tensor]:
    """payload → (renderer at its shipped weights, masks (P, h, w) long, poses (P, 6) float)."""
    config, state, _, codec, mask_stream, pose_stream = unpack(blob)
    renderer = Renderer(config)
    renderer.load_state_dict(state, strict=True)
    masks = torch.from_numpy(MASK_CODECS.get(codec).decode(mask_stream).astype(np.int64))
    poses = torch.from_numpy(pose_channel.decode(pose_stream))
    if masks.shape[1:] != config.out_size or len(masks) != len(poses):
        raise ValueError(f"masks payload: {tuple(masks.shape)} masks and {len(poses)} poses for a {config.out_size} renderer")  # fmt: skip
    return renderer.eval().requires_grad_(False), masks, poses
