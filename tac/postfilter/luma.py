"""A luma-only residual: one output channel, added equally to R, G and B.

Adding the same d to R, G and B changes BT.601 luma by exactly d (0.299 + 0.587 + 0.114 = 1)
and leaves Cb and Cr (scaled B-Y and R-Y) untouched, so this *is* a correction along the
luma direction. Both scorers lean on luma (SegNet's edges, PoseNet's YUV input, where chroma
is subsampled anyway), and one input and one output channel cut the stem and head weights to
a third.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .base import PostFilter
from .layers import (
    channels_last,
    check_positive,
    conv3x3,
    make_act,
    normalize,
    zero_init,
)
from .registry import register_postfilter

BT601 = (0.299, 0.587, 0.114)


def luma(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB → (B, 1, H, W) BT.601 luma, same range."""
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return BT601[0] * r + BT601[1] * g + BT601[2] * b


@register_postfilter("luma_only")
class LumaOnlyFilter(PostFilter):
    """Standard's three convs from luma to a luma residual; `rgb_input=True` lets the stem see
    colour (e.g. to tell road from sky) while the output stays luma-only."""

    def __init__(self, hidden: int = 16, act: str = "relu", rgb_input: bool = False):
        super().__init__(hidden=hidden, act=act, rgb_input=rgb_input)
        check_positive(hidden=hidden)
        self.rgb_input = bool(rgb_input)
        self.stem = conv3x3(3 if self.rgb_input else 1, hidden)
        self.body = nn.Sequential(make_act(act), conv3x3(hidden, hidden), make_act(act))
        self.head = zero_init(conv3x3(hidden, 1))

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        inp = normalize(x if self.rgb_input else luma(x))
        # Layout set after the stem: with one input channel, conv does not pick channels-last.
        return self.head(self.body(channels_last(self.stem(inp)))).expand(-1, 3, -1, -1)
