"""Pieces shared by the families: activations, size-preserving convs, input scaling, even padding.

Every conv pads by its dilation so H and W never change: filters run on any frame size
(874x1164, odd crops, 1x1) without bookkeeping, and only the half-resolution families need to
pad to even and crop back.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import TacError

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}

# Dilations cycle 1, 2, 4: the receptive field grows by 14 pixels per three layers, at the
# cost of ordinary 3x3 convs, and the cycle avoids the gridding holes of ever-growing rates.
DILATION_CYCLE = (1, 2, 4)


def make_act(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise TacError(f"unknown activation {name!r}; valid activations: {', '.join(ACTIVATIONS)}")
    # In place where torch allows it (not GELU): on CPU a fresh 64 MB feature map per
    # activation costs as much as computing it. Every activation here follows a conv or a
    # modulation whose output nothing else reads, so autograd stays correct.
    return nn.GELU() if name == "gelu" else ACTIVATIONS[name](inplace=True)


def check_positive(**values: int) -> None:
    """Size arguments arrive from JSON configs and command lines, so reject bad ones clearly."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise TacError(f"post-filter argument {name} must be a positive integer, got {value!r}")


def dilations(layers: int) -> list[int]:
    return [DILATION_CYCLE[i % len(DILATION_CYCLE)] for i in range(layers)]


def conv3x3(c_in: int, c_out: int, dilation: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=dilation, dilation=dilation, groups=groups)


def zero_init(layer: nn.Conv2d | nn.Linear) -> nn.Conv2d | nn.Linear:
    """Zero weights and bias: as a residual head this makes the filter exactly the identity."""
    nn.init.zeros_(layer.weight)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


def normalize(x: torch.Tensor) -> torch.Tensor:
    """[0, 255] → [-1, 1]: conv weights at their default init expect inputs of order one.

    The residual is *not* rescaled back by 255: corrections are a few pixel values, which is
    already order one, so the head's outputs are used as pixel offsets directly.
    """
    return x * (1 / 127.5) - 1.0


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """NHWC layout for the convs that follow (outputs inherit it).

    oneDNN's CPU convs at these channel counts run about 2x faster channels-last, and a
    few-output head several times faster (16→3 at 874x1164: ~90 ms → ~25 ms on 2 cores).
    `x + residual` keeps the caller's layout, so nothing outside the filter sees the change.
    """
    return x.contiguous(memory_format=torch.channels_last)


def pad_even(x: torch.Tensor) -> torch.Tensor:
    """Replicate-pad the bottom/right edge to even H and W (what PixelUnshuffle(2) needs).

    Replicated, not zero: a zero (mid-grey) row would be an artificial edge next to the real
    last row, and the filter's response to it would leak into the cropped output.
    """
    h, w = x.shape[-2:]
    if h % 2 == 0 and w % 2 == 0:
        return x
    return F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
