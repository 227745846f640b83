"""Half-resolution families: PixelUnshuffle(2) folds each 2x2 block into 12 channels.

Convs then run on a quarter of the pixels, so each layer costs about a quarter and sees twice
as far; the head predicts the 12 sub-pixel residuals and PixelShuffle(2) puts them back.
Frames with odd H or W are replicate-padded to even first and cropped after.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .base import PostFilter
from .layers import (
    channels_last,
    check_positive,
    conv3x3,
    dilations,
    make_act,
    normalize,
    pad_even,
    zero_init,
)
from .registry import register_postfilter

FOLDED = 12  # 3 colour channels x a 2x2 block


class _HalfResolution(PostFilter):
    body: nn.Module

    def __init__(self, **config: object):
        super().__init__(**config)
        self.unshuffle = nn.PixelUnshuffle(2)
        self.shuffle = nn.PixelShuffle(2)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        folded = self.unshuffle(channels_last(pad_even(normalize(x))))
        r = self.shuffle(self.head(self.body(self.stem(folded))))
        return r[..., :h, :w]


@register_postfilter("pixel_shuffle")
class PixelShuffleFilter(_HalfResolution):
    """Standard's three 3x3 convs at half resolution (receptive field 14x14 full-res pixels)."""

    def __init__(self, hidden: int = 16, act: str = "relu"):
        super().__init__(hidden=hidden, act=act)
        check_positive(hidden=hidden)
        self.stem = conv3x3(FOLDED, hidden)
        self.body = nn.Sequential(make_act(act), conv3x3(hidden, hidden), make_act(act))
        self.head = zero_init(conv3x3(hidden, FOLDED))


@register_postfilter("psd")
class PixelShuffleDilatedFilter(_HalfResolution):
    """Pixel-shuffle-dilated: `layers` dilated convs (1, 2, 4, …) at half resolution; the
    default three see 38x38 full-res pixels, about the size of an HEVC coding block."""

    def __init__(self, hidden: int = 16, layers: int = 3, act: str = "relu"):
        super().__init__(hidden=hidden, layers=layers, act=act)
        check_positive(hidden=hidden, layers=layers)
        self.stem = conv3x3(FOLDED, hidden)
        body: list[nn.Module] = [make_act(act)]
        for d in dilations(layers):
            body += [conv3x3(hidden, hidden, dilation=d), make_act(act)]
        self.body = nn.Sequential(*body)
        self.head = zero_init(conv3x3(hidden, FOLDED))
