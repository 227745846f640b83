"""A network's weights as a byte stream: per-output-channel symmetric integers, entropy-coded.

    tensor = f16 scale per output channel (per tensor for 1-D) | u32 m | stream (m bytes)

8 bits: ±127, 4 bits: ±7. The scale is rounded to float16 before the codes are computed, so the
shipped scale and the codes agree exactly; each stream is the smallest of `entropy`'s coders.
Tensors go in `state_dict` order, so their names and shapes follow from the network's config and
cost no bytes. One definition for every lane that ships a network (nerv's decoder, the masks
renderer): training's quantized forward, the exact evaluation and the shipped inflate all use
these functions, bit for bit.

Imports numpy, torch and `entropy` only: submissions carry this file verbatim.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import torch

from . import entropy


def qmax(bits: int) -> int:
    if bits not in (4, 8):
        raise ValueError(f"weights are 8- or 4-bit, not {bits}")
    return 2 ** (bits - 1) - 1


def scale_shape(t: torch.Tensor) -> tuple[int, ...]:
    return (t.shape[0],) + (1,) * (t.ndim - 1) if t.ndim > 1 else (1,)


def quantize_tensor(t: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """float tensor → (int64 codes, float16 scales): per output channel, symmetric."""
    t = t.detach().float().cpu()
    flat = t.reshape(t.shape[0], -1) if t.ndim > 1 else t.reshape(1, -1)
    peak = flat.abs().amax(dim=1)
    scale = (peak / qmax(bits)).clamp_min(1e-8).half()  # the shipped value, rounded first
    codes = torch.round(t / scale.float().view(scale_shape(t))).clamp(-qmax(bits), qmax(bits))
    return codes.long(), scale


def dequantize_tensor(codes: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return codes.float() * scale.float().view(scale_shape(codes))


def chunk(stream: bytes) -> bytes:
    return struct.pack("<I", len(stream)) + stream


def pack_tensors(tensors, bits: int, coders=entropy.PORTABLE) -> bytes:
    """The tensors (in order) as scales and entropy-coded codes."""
    parts = []
    for t in tensors:
        codes, scale = quantize_tensor(t, bits)
        parts += [scale.numpy().astype("<f2").tobytes(), chunk(entropy.encode(codes.numpy(), coders))]  # fmt: skip
    return b"".join(parts)


def network_header(magic: bytes, config_json: str, bits: int) -> bytes:
    """A payload's opening: magic | u16 n | the network's config JSON (n bytes) | u8 bits."""
    config = config_json.encode()
    return magic + struct.pack("<H", len(config)) + config + struct.pack("<B", bits)


class Reader:
    """Sequential reads from a payload, with one clear error when it runs out."""

    def __init__(self, blob: bytes, what: str = "payload"):
        self.blob, self.pos, self.what = blob, 0, what

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.blob):
            raise ValueError(f"{self.what} is truncated")
        out = self.blob[self.pos : self.pos + n]
        self.pos += n
        return out

    def f16(self, n: int) -> torch.Tensor:
        return torch.from_numpy(np.frombuffer(self.take(2 * n), dtype="<f2").astype(np.float16))

    def chunk(self) -> bytes:
        (m,) = struct.unpack("<I", self.take(4))
        return self.take(m)

    def stream(self) -> np.ndarray:
        return entropy.decode(self.chunk())

    def network_header(self, magic: bytes) -> tuple[dict, int]:
        """(config dict, bits) from what `network_header` wrote; a bit width no network here
        can hold is refused."""
        if self.take(len(magic)) != magic:
            raise ValueError(f"not a {self.what} (bad magic)")
        (n,) = struct.unpack("<H", self.take(2))
        config = json.loads(self.take(n))
        (bits,) = struct.unpack("<B", self.take(1))
        qmax(bits)
        return config, bits

    def tensors(self, like: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The tensors `pack_tensors` wrote for a state shaped like `like`, dequantized."""
        state = {}
        for name, t in like.items():
            scale = self.f16(t.shape[0] if t.ndim > 1 else 1)
            codes = torch.from_numpy(self.stream())
            if codes.numel() != t.numel():
                raise ValueError(f"{self.what}: {name} has {codes.numel()} values, not {t.numel()}")
            state[name] = dequantize_tensor(codes.view(t.shape), scale)
        return state
