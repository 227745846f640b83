"""The masks lane's payload: the renderer's weights, the coded masks and the pose side channel,
and optionally a test-time optimisation (`tto.py`): its probe and step budget.

    blob = b"MSR1" | u16 n | renderer config JSON (n bytes) | u8 bits | tensor × k
           | u8 c | mask codec name (c bytes) | u32 m | mask stream | u32 p | pose stream
           [ | b"TTO1" | u16 n | probe config JSON | u8 bits | tensor × j | u16 steps | f32 lr ]

The networks' tensors are `tac.quant.tensors` streams in `state_dict` order. The mask stream is
whatever its codec wrote (`codecs.MASK_CODECS`), at the renderer's output size; the pose stream
is `pose.encode`'s. `load` gives back what inflate draws with: the renderer at its shipped
weights (refined by the TTO section when there is one) and the decoded masks and poses.

Imports torch, numpy and the lane's shipped modules (relative): submissions carry this file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import torch

from ...quant import entropy
from ...quant.tensors import Reader, chunk, network_header, pack_tensors
from . import pose as pose_channel
from . import tto as tto_module
from .codecs import MASK_CODECS
from .renderer import Renderer, RendererConfig

MAGIC = b"MSR1"
TTO_MAGIC = b"TTO1"
MEMBER = "masks.bin"
TTO_TAIL = struct.Struct("<Hf")  # steps, learning rate


@dataclass(frozen=True)
class TTO:
    """A test-time optimisation as shipped: the probe and the step budget."""

    probe: tto_module.Probe
    steps: int
    lr: float


@dataclass(frozen=True)
class Contents:
    config: RendererConfig
    state: dict
    bits: int
    codec: str
    mask_stream: bytes
    pose_stream: bytes
    tto: TTO | None = None


def pack(renderer: Renderer, bits: int, codec: str, mask_stream: bytes, pose_stream: bytes, tto: TTO | None = None, coders=entropy.PORTABLE) -> bytes:  # fmt: skip
    name = codec.encode()
    parts = [
        network_header(MAGIC, renderer.config.to_json(), bits),
        pack_tensors(renderer.state_dict().values(), bits, coders),
        struct.pack("<B", len(name)), name, chunk(mask_stream), chunk(pose_stream),
    ]  # fmt: skip
    return b"".join(parts) + (tto_section(tto, bits, coders) if tto is not None else b"")


def tto_section(tto: TTO, bits: int, coders=entropy.PORTABLE) -> bytes:
    """The optional last section: appended to a payload without one, it adds the TTO and
    changes nothing before it."""
    return b"".join([
        network_header(TTO_MAGIC, tto.probe.config.to_json(), bits),
        pack_tensors(tto.probe.state_dict().values(), bits, coders),
        TTO_TAIL.pack(tto.steps, tto.lr),
    ])  # fmt: skip


def unpack(blob: bytes) -> Contents:
    r = Reader(blob, "masks payload")
    data, bits = r.network_header(MAGIC)
    config = RendererConfig.from_dict(data)
    state = r.tensors(Renderer(config).state_dict())
    (c,) = struct.unpack("<B", r.take(1))
    codec = r.take(c).decode()
    mask_stream, pose_stream = r.chunk(), r.chunk()
    tto = None
    if r.pos != len(blob):
        probe_data, _ = r.network_header(TTO_MAGIC)  # the renderer's bits, written again
        probe = tto_module.Probe(tto_module.ProbeConfig.from_dict(probe_data))
        probe.load_state_dict(r.tensors(probe.state_dict()), strict=True)
        steps, lr = TTO_TAIL.unpack(r.take(TTO_TAIL.size))
        tto = TTO(probe.eval().requires_grad_(False), steps, lr)
    if r.pos != len(blob):
        raise ValueError(f"masks payload: {len(blob) - r.pos} bytes after its last section")
    return Contents(config, state, bits, codec, mask_stream, pose_stream, tto)


def load(blob: bytes, refine: bool = True, device: str = "cpu") -> tuple[Renderer, torch.Tensor, torch.Tensor]:  # fmt: skip
    """payload → (renderer at its shipped weights, masks (P, h, w) long, poses (P, 6) float),
    on `device`; with a TTO section (and `refine`), the renderer as the optimisation leaves it."""
    c = unpack(blob)
    renderer = Renderer(c.config)
    renderer.load_state_dict(c.state, strict=True)
    masks = torch.from_numpy(MASK_CODECS.get(c.codec).decode(c.mask_stream).astype(np.int64))
    poses = torch.from_numpy(pose_channel.decode(c.pose_stream))
    if masks.shape[1:] != c.config.out_size or len(masks) != len(poses):
        raise ValueError(f"masks payload: {tuple(masks.shape)} masks and {len(poses)} poses for a {c.config.out_size} renderer")  # fmt: skip
    renderer, masks, poses = renderer.eval().requires_grad_(False).to(device), masks.to(device), poses.to(device)  # fmt: skip
    if c.tto is not None and refine:
        renderer = tto_module.refine(renderer, c.tto.probe.to(device), masks, c.tto.steps, c.tto.lr)
    return renderer, masks, poses
