"""Quantization-aware training: fake quantization in the forward pass, gradients straight through.

Both are weight *parametrizations* (torch.nn.utils.parametrize): once registered, every read of
`conv.weight` returns the quantized value, so any architecture trains quantization-aware
without knowing it.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch.nn.utils import parametrize

from tac.quant.int8 import channel_scale, qmax


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """round() in the forward pass, identity in the backward pass."""
    return x + (torch.round(x) - x).detach()


def _broadcast(scale: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return scale.reshape(-1, *([1] * (like.ndim - 1)))


class FakeQuant(nn.Module):
    """Per-channel symmetric fake quantization with a max-abs step size (recomputed each call)."""

    def __init__(self, bits: int = 8):
        super().__init__()
        self.bits = bits

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        s = _broadcast(channel_scale(w, self.bits), w)
        q = qmax(self.bits)
        x = w / s
        # With a max-abs step nothing lies outside the grid, so the gradient is the identity
        # everywhere (a clamp after round_ste could zero it at ±qmax through float error).
        return (x + (torch.round(x).clamp(-q, q) - x).detach()) * s


class FakeQuantNF4(nn.Module):
    """4-bit QAT: the forward pass sees exactly the NF4 block-quantized weights it will ship."""

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        from tac.quant.fp4 import dequantize_fp4, quantize_fp4

        value = dequantize_fp4(*quantize_fp4(w), tuple(w.shape)).to(w.dtype)
        return w + (value - w).detach()


class LSQ(nn.Module):
    """Learned Step-size Quantization (Esser et al. 2020): the per-channel step is a parameter.

    The step receives gradients through the rounding (scaled by 1/sqrt(numel·qmax), as in the
    paper, so it learns at the same pace as the weights).
    """

    def __init__(self, weight: torch.Tensor, bits: int = 8):
        super().__init__()
        self.bits = bits
        q = qmax(bits)
        init = 2 * weight.detach().reshape(weight.shape[0], -1).abs().mean(dim=1) / math.sqrt(q)
        self.step = nn.Parameter(init.clamp_min(1e-8))
        self.grad_scale = 1.0 / math.sqrt(weight[0].numel() * q)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        q = qmax(self.bits)
        step = self.step * self.grad_scale + (self.step - self.step * self.grad_scale).detach()
        s = _broadcast(step.abs().clamp_min(1e-8), w)
        return round_ste((w / s).clamp(-q, q)) * s


def quantized_layers(model: nn.Module) -> list[nn.Module]:
    """The layers whose weights are quantized: every conv and linear."""
    return [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def enable_qat(model: nn.Module, bits: int = 8, lsq: bool = False) -> nn.Module:
    """Register fake quantization on every conv/linear weight of `model` (in place)."""
    for layer in quantized_layers(model):
        if parametrize.is_parametrized(layer, "weight"):
            continue
        if bits == 4:
            module = FakeQuantNF4()  # 4-bit ships as NF4 blocks: train on exactly that grid
        else:
            module = LSQ(layer.weight, bits) if lsq else FakeQuant(bits)
        parametrize.register_parametrization(layer, "weight", module)
    return model


def disable_qat(model: nn.Module) -> nn.Module:
    """Remove fake quantization, keeping the latent float weights (not the quantized ones)."""
    for layer in quantized_layers(model):
        if parametrize.is_parametrized(layer, "weight"):
            parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
    return model
