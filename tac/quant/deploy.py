"""From a (possibly QAT-trained) float model to what ships: integer codes + scales, and back.

One function decides the shipped codes (`layer_codes`); the deployed float model and the packed
bytes are both derived from it, so what is evaluated is exactly what inflate reconstructs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn.utils import parametrize

from tac.quant.fake import LSQ, quantized_layers
from tac.quant.fp4 import dequantize_fp4, quantize_fp4
from tac.quant.int8 import dequantize_per_channel, qmax, quantize_per_channel


@dataclass
class LayerCodes:
    bits: int
    codes: torch.Tensor  # int8 (8-bit) or packed uint8 nibbles (4-bit)
    scale: torch.Tensor  # float32 per channel (8-bit) or float16 per block (4-bit)
    shape: tuple[int, ...]

    def dequantize(self) -> torch.Tensor:
        if self.bits == 4:
            return dequantize_fp4(self.codes, self.scale, self.shape)
        return dequantize_per_channel(self.codes, self.scale).reshape(self.shape)


def layer_codes(layer: nn.Module, bits: int) -> LayerCodes:
    """The codes one conv/linear ships with. LSQ layers keep their learned step sizes."""
    if parametrize.is_parametrized(layer, "weight"):
        latent = layer.parametrizations.weight.original.detach()
        quantizer = layer.parametrizations.weight[0]
    else:
        latent, quantizer = layer.weight.detach(), None
    shape = tuple(latent.shape)
    if bits == 4:
        codes, scale = quantize_fp4(latent)
        return LayerCodes(4, codes, scale, shape)
    if isinstance(quantizer, LSQ):
        step = quantizer.step.detach().abs().clamp_min(1e-8).to(torch.float32)
        q = torch.round(latent / step.reshape(-1, *([1] * (latent.ndim - 1)))).clamp(
            -qmax(bits), qmax(bits)
        )
        return LayerCodes(bits, q.to(torch.int8), step, shape)
    codes, scale = quantize_per_channel(latent, bits)
    return LayerCodes(bits, codes, scale, shape)


def shipped_state(model: nn.Module, bits: int) -> dict[str, torch.Tensor]:
    """The plain (unparametrized) state dict of what ships: dequantized codes for conv/linear
    weights, everything else rounded to float16 precision (it ships as float16)."""
    state = {
        k: (
            v.detach().to(torch.float16).to(v.dtype) if v.is_floating_point() else v.detach()
        ).clone()
        for k, v in model.state_dict().items()
        if ".parametrizations." not in k
    }
    names = {id(m): n for n, m in model.named_modules()}
    for layer in quantized_layers(model):
        state[f"{names[id(layer)]}.weight"] = layer_codes(layer, bits).dequantize()
    return state


def deployed_copy(model: nn.Module, bits: int) -> nn.Module:
    """A fresh plain model carrying exactly the shipped weights.

    Built anew from the architecture's config rather than deep-copied: a deep copy of a
    parametrized module shares its generated class, and un-parametrizing one copy breaks both.
    """
    from tac.postfilter import build_postfilter

    fresh = build_postfilter(**model.config())
    fresh.load_state_dict(shipped_state(model, bits), strict=True)
    return fresh.eval().to(next(model.parameters()).device)
