"""The contract every post-filter family keeps: frames in, corrected frames out, identity at init.

A post-filter sees decoded frames as float (B, 3, H, W) tensors in [0, 255] and returns
`x + residual(x)`, unclamped: callers clamp and round once, at the very end, so that training
keeps gradients where a clamp would cut them.

Identity at init is a guarantee, not a tendency: the layer that produces the residual (`head`)
starts with all-zero weights and bias, so the residual is exactly 0.0 and `x + 0.0 == x` bit for
bit. A freshly built filter therefore never makes a submission worse before it is trained.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn as nn

# The layers whose weights ship quantized (the same set as `tac.quant.fake.quantized_layers`).
QUANTIZED = (nn.Conv2d, nn.Linear)


class PostFilter(nn.Module):
    """Base class: subclasses build `stem` (first layer), `head` (zeroed) and `residual()`."""

    family: ClassVar[str] = ""  # set by @register_postfilter
    is_identity_at_init: ClassVar[bool] = True  # `head` is zero-initialised in every family

    stem: nn.Module  # the first layer that sees the frame
    head: nn.Module  # the layer that produces the residual; zero at init

    def __init__(self, **config: Any):
        super().__init__()
        # Subclasses pass every constructor argument here, so config() can rebuild them exactly.
        self._config = dict(config)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.residual(x)

    def config(self) -> dict[str, Any]:
        """JSON-able; `build_postfilter(**m.config())` rebuilds the same architecture."""
        return {"name": self.family, **self._config}

    def is_identity(self) -> bool:
        """True while `head` is all zeros, i.e. the module returns its input unchanged."""
        return all(not bool(p.any()) for p in self.head.parameters())

    def param_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def packed_bytes(self, bits: int = 8) -> int:
        """Quantized payload in bytes as tac.quant ships it (before lossless compression).

        For every conv/linear layer with C_out output channels and n weights:
            8-bit: n int8 codes + 4 * C_out (a float32 scale per output channel)
            4-bit: ceil(n / 32) * 32 / 2 packed NF4 codes + 2 per 32-weight block (fp16 scale)
            other: ceil(n * bits / 8) + 2 * C_out (an fp16 scale per output channel)
          + 2 * bias.numel()                  biases as fp16
        and 2 bytes per element for any parameter outside such layers (fp16). The container
        header is not counted.
        """
        from ..quant.fp4 import fp4_bytes

        total = 0
        counted: set[int] = set()
        for layer in self.modules():
            if not isinstance(layer, QUANTIZED):
                continue
            # Read shapes from the latent tensors so a QAT parametrization is not evaluated.
            for p in layer.parameters():
                counted.add(id(p))
            weight = _latent_weight(layer)
            if bits == 8:
                total += weight.numel() + 4 * weight.shape[0]
            elif bits == 4:
                total += fp4_bytes(weight.numel())
            else:
                total += math.ceil(weight.numel() * bits / 8) + 2 * weight.shape[0]
            if layer.bias is not None:
                total += 2 * layer.bias.numel()
        total += sum(2 * p.numel() for p in self.parameters() if id(p) not in counted)
        return total


def _latent_weight(layer: nn.Module) -> torch.Tensor:
    parametrizations = getattr(layer, "parametrizations", None)
    if parametrizations is not None and "weight" in parametrizations:
        return parametrizations["weight"].original
    return layer.weight
