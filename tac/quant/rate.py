"""A differentiable estimate of what entropy coding will charge for quantized values.

    bits(x) = n · H(p),  p = the histogram of x over integer bins, each value split between its
                         two nearest bins in proportion to its distance (linear interpolation)

The histogram is what an order-0 coder (`tac.quant.entropy`'s range coder) pays for: its
entropy is the bytes to within a few percent. Splitting a value between two bins makes the
count a smooth function of the value, so training can move weights toward bins that are
already crowded and lower the bytes, which is what the score's rate term asks. Costs O(n).
"""

from __future__ import annotations

import torch


def soft_histogram(x: torch.Tensor, low: int, high: int) -> torch.Tensor:
    """Counts of the continuous codes `x` over integer bins low..high (x clamped into range)."""
    x = x.reshape(-1).clamp(low, high)
    floor = x.detach().floor().clamp(max=high - 1) if high > low else x.detach().floor()
    frac = x - floor  # in [0, 1]: the share of the upper bin
    idx = (floor - low).long()
    counts = torch.zeros(high - low + 2, dtype=x.dtype, device=x.device)
    counts = counts.index_add(0, idx, 1.0 - frac).index_add(0, idx + 1, frac)
    return counts[: high - low + 1]


def entropy_bits(x: torch.Tensor, low: int, high: int) -> torch.Tensor:
    """Estimated bits to code the continuous codes `x` with an order-0 model of their histogram."""
    counts = soft_histogram(x, low, high)
    p = counts / counts.sum().clamp_min(1e-12)
    return -(counts * torch.log2(p.clamp_min(1e-12))).sum()
