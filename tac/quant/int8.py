"""Per-output-channel symmetric integer quantization (int8 by default).

Symmetric, no zero point: a filter's residual convs have weights centred on zero, and a
symmetric grid keeps 0 exactly representable (so a zero-initialised layer stays the identity).
"""

from __future__ import annotations

import torch


def qmax(bits: int) -> int:
    return 2 ** (bits - 1) - 1


def channel_scale(w: torch.Tensor, bits: int = 8) -> torch.Tensor:
    """One step size per output channel (dim 0): absmax / qmax, never zero."""
    absmax = w.detach().reshape(w.shape[0], -1).abs().amax(dim=1)
    return (absmax / qmax(bits)).clamp_min(1e-12).to(torch.float32)


def _broadcast(scale: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return scale.reshape(-1, *([1] * (like.ndim - 1)))


def quantize_per_channel(w: torch.Tensor, bits: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """w → (integer codes as int8, float32 scale per output channel)."""
    scale = channel_scale(w, bits)
    q = torch.round(w.detach() / _broadcast(scale, w)).clamp(-qmax(bits), qmax(bits))
    return q.to(torch.int8), scale


def dequantize_per_channel(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return q.to(torch.float32) * _broadcast(scale.to(torch.float32), q)
