"""The nerv lane's payload: the decoder's weights and the latents, quantized and entropy-coded.

    blob     = b"NRV1" | u16 n | config JSON (n bytes) | bits u8 | tensor × k | latents
    tensor   = f16 scale per output channel (per tensor for 1-D) | u32 m | stream (m bytes)
    latents  = f16 low per dimension | f16 step per dimension | u8 delta | u32 m | stream

Tensors come in the decoder's `state_dict` order, so their names and shapes follow from the
config and cost no bytes. Weights are coded by `tac.quant.tensors` (symmetric integers, 8 bits:
±127, 4 bits: ±7, with a scale per output channel); latents are uint8 per dimension, optionally
as differences between consecutive pairs (kept when smaller: trained latents drift slowly along the video). Every
stream is the smallest of the coders in `tac.quant.entropy` (by default the ones the official
machine can decode, `entropy.PORTABLE`).

`quantized_state` is the single definition of what inflate rebuilds: training's quantized
forward, the exact evaluator and the shipped inflate all use these tensors, bit for bit.
"""

from __future__ import annotations

import struct

import torch

from ...quant import entropy
from ...quant.tensors import (  # noqa: F401
    Reader,
    chunk,
    dequantize_tensor,
    network_header,
    pack_tensors,
    quantize_tensor,
)
from .model import NervConfig, NervDecoder

MAGIC = b"NRV1"
LATENT_LEVELS = 255


def quantize_latents(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(pairs, L) float → (uint8-range codes, float16 low, float16 step) per dimension."""
    z = z.detach().float().cpu()
    low = z.amin(0).half()
    step = ((z.amax(0) - low.float()) / LATENT_LEVELS).clamp_min(1e-8).half()
    codes = torch.round((z - low.float()) / step.float()).clamp(0, LATENT_LEVELS)
    return codes.long(), low, step


def dequantize_latents(codes: torch.Tensor, low: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    return low.float() + codes.float() * step.float()


def quantized_state(decoder: NervDecoder, latents: torch.Tensor, bits: int) -> tuple[dict, torch.Tensor]:  # fmt: skip
    """What inflate will hold: the decoder's state and the latents after the round trip."""
    state = {
        name: dequantize_tensor(*quantize_tensor(t, bits))
        for name, t in decoder.state_dict().items()
    }
    return state, dequantize_latents(*quantize_latents(latents))


def pack(decoder: NervDecoder, latents: torch.Tensor, bits: int = 8, coders=entropy.PORTABLE) -> bytes:  # fmt: skip
    """The payload member. Deterministic: the same weights give the same bytes."""
    parts = [network_header(MAGIC, decoder.config.to_json(), bits), pack_tensors(decoder.state_dict().values(), bits, coders)]  # fmt: skip
    codes, low, step = quantize_latents(latents)
    plain = entropy.encode(codes.numpy(), coders)
    delta = entropy.encode(torch.diff(codes, dim=0, prepend=torch.zeros_like(codes[:1])).numpy(), coders)  # fmt: skip
    use_delta = len(delta) < len(plain)
    parts += [
        low.numpy().astype("<f2").tobytes(),
        step.numpy().astype("<f2").tobytes(),
        struct.pack("<B", use_delta),
        chunk(delta if use_delta else plain),
    ]
    return b"".join(parts)


def unpack(blob: bytes) -> tuple[NervConfig, dict, torch.Tensor, int]:
    """payload → (config, decoder state, latents, bits), exactly `quantized_state`'s tensors."""
    r = Reader(blob, "nerv payload")
    data, bits = r.network_header(MAGIC)
    config = NervConfig.from_dict(data)
    state = r.tensors(NervDecoder(config).state_dict())
    dims = config.latent_dim
    low, step = r.f16(dims), r.f16(dims)
    (use_delta,) = struct.unpack("<B", r.take(1))
    codes = torch.from_numpy(r.stream())
    if codes.numel() != config.pairs * dims:
        raise ValueError(f"nerv payload: {codes.numel()} latent values, not {config.pairs * dims}")
    codes = codes.view(config.pairs, dims)
    if use_delta:
        codes = codes.cumsum(0)
    if r.pos != len(blob):
        raise ValueError(f"nerv payload: {len(blob) - r.pos} bytes after the latents")
    return config, state, dequantize_latents(codes, low, step), bits


def load(blob: bytes) -> tuple[NervDecoder, torch.Tensor]:
    """payload → (decoder at its shipped weights, latents): what inflate draws with."""
    config, state, latents, _ = unpack(blob)
    decoder = NervDecoder(config)
    decoder.load_state_dict(state, strict=True)
    return decoder.eval().requires_grad_(False), latents
