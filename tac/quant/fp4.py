"""4-bit weights with a codebook: blocks of weights share one fp16 scale, two codes per byte.

The codebook is NF4 (Dettmers et al. 2023): 16 levels placed at quantiles of a normal
distribution, which suits trained conv weights better than a uniform grid; 0 is a level, so a
zero layer stays zero.
"""

from __future__ import annotations

import torch

NF4 = torch.tensor(
    [
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
        -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
        0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
    ],
    dtype=torch.float32,
)  # fmt: skip
BLOCK = 32


def quantize_fp4(w: torch.Tensor, block: int = BLOCK) -> tuple[torch.Tensor, torch.Tensor]:
    """w → (codes packed two per uint8 byte, fp16 scale per block). Pads the last block."""
    flat = w.detach().reshape(-1).to(torch.float32)
    pad = (-flat.numel()) % block
    blocks = torch.nn.functional.pad(flat, (0, pad)).reshape(-1, block)
    scale = blocks.abs().amax(dim=1).clamp_min(1e-12).to(torch.float16)
    normed = blocks / scale.to(torch.float32)[:, None]
    codes = (normed[..., None] - NF4).abs().argmin(dim=-1).to(torch.uint8).reshape(-1)
    if codes.numel() % 2:
        codes = torch.cat([codes, codes.new_zeros(1)])
    packed = codes[0::2] | (codes[1::2] << 4)
    return packed, scale


def dequantize_fp4(
    packed: torch.Tensor, scale: torch.Tensor, shape: tuple[int, ...], block: int = BLOCK
) -> torch.Tensor:
    codes = torch.stack([packed & 0x0F, packed >> 4], dim=1).reshape(-1).long()
    n = 1
    for d in shape:
        n *= d
    values = (
        NF4[codes[: scale.numel() * block]].reshape(-1, block) * scale.to(torch.float32)[:, None]
    )
    return values.reshape(-1)[:n].reshape(shape)


def fp4_bytes(numel: int, block: int = BLOCK) -> int:
    """Exact payload bytes: packed codes plus one fp16 scale per block."""
    blocks = -(-numel // block)
    codes = blocks * block
    return (codes + codes % 2) // 2 + 2 * blocks
