"""Full-resolution residual CNNs: standard, dilated, gated-dilated and depthwise-separable.

All four share one shape: stem conv 3→hidden, a body at `hidden` channels, a zeroed head
hidden→3 whose output is the residual in pixel units.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import PostFilter
from .layers import (
    channels_last,
    check_positive,
    conv3x3,
    dilations,
    make_act,
    normalize,
    zero_init,
)
from .registry import register_postfilter


class _ResidualCNN(PostFilter):
    """stem → body → head on the normalised frame; families differ only in their body."""

    body: nn.Module

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(channels_last(normalize(x)))))


@register_postfilter("standard")
class StandardFilter(_ResidualCNN):
    """Three 3x3 convs (receptive field 7x7): the baseline the other families are judged against."""

    def __init__(self, hidden: int = 16, act: str = "relu"):
        super().__init__(hidden=hidden, act=act)
        check_positive(hidden=hidden)
        self.stem = conv3x3(3, hidden)
        self.body = nn.Sequential(make_act(act), conv3x3(hidden, hidden), make_act(act))
        self.head = zero_init(conv3x3(hidden, 3))


@register_postfilter("dilated")
class DilatedFilter(_ResidualCNN):
    """Standard with `layers` middle convs dilated 1, 2, 4, …: codec artefacts (blocking,
    ringing) span coding blocks of 8-64 pixels, wider than a 7x7 field sees, and dilation widens the
    field at the price of an ordinary 3x3 conv (19x19 with the default three layers)."""

    def __init__(self, hidden: int = 16, layers: int = 3, act: str = "relu"):
        super().__init__(hidden=hidden, layers=layers, act=act)
        check_positive(hidden=hidden, layers=layers)
        self.stem = conv3x3(3, hidden)
        body: list[nn.Module] = [make_act(act)]
        for d in dilations(layers):
            body += [conv3x3(hidden, hidden, dilation=d), make_act(act)]
        self.body = nn.Sequential(*body)
        self.head = zero_init(conv3x3(hidden, 3))


class GatedConv(nn.Module):
    """Gated linear unit (Dauphin et al. 2017): one conv gives (a, b), the output a·sigmoid(b)
    lets each feature be switched off per pixel, e.g. on flat sky where a correction would only
    add noise. Cheaper than WaveNet's tanh(a)·sigmoid(b) (one fused kernel, no tanh) and, being
    linear in a, it passes gradients without saturating."""

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.conv = conv3x3(channels, 2 * channels, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.glu(self.conv(x), dim=1)


@register_postfilter("gated_dilated")
class GatedDilatedFilter(_ResidualCNN):
    """Dilated with gated activations in the body (twice the body's MACs of `dilated`)."""

    def __init__(self, hidden: int = 16, layers: int = 3, act: str = "relu"):
        super().__init__(hidden=hidden, layers=layers, act=act)
        check_positive(hidden=hidden, layers=layers)
        self.stem = conv3x3(3, hidden)
        self.body = nn.Sequential(make_act(act), *(GatedConv(hidden, d) for d in dilations(layers)))
        self.head = zero_init(conv3x3(hidden, 3))


@register_postfilter("depthwise_separable")
class DepthwiseSeparableFilter(_ResidualCNN):
    """Blocks of depthwise 3x3 + pointwise 1x1: about 1/6 of a full 3x3 conv's weights at
    hidden 16, so more layers (a wider field) fit in the same byte budget. The stem stays a
    full 3x3 conv (3 input channels make it cheap) and the head is a zeroed pointwise conv."""

    def __init__(self, hidden: int = 16, layers: int = 2, act: str = "relu"):
        super().__init__(hidden=hidden, layers=layers, act=act)
        check_positive(hidden=hidden, layers=layers)
        self.stem = conv3x3(3, hidden)
        body: list[nn.Module] = [make_act(act)]
        for _ in range(layers):
            body += [
                conv3x3(hidden, hidden, groups=hidden),
                nn.Conv2d(hidden, hidden, 1),
                make_act(act),
            ]
        self.body = nn.Sequential(*body)
        self.head = zero_init(nn.Conv2d(hidden, 3, 1))
