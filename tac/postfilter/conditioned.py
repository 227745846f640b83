"""FiLM: the filter adapts to each frame through per-channel scale and shift of its features.

One set of weights must serve night and day, tunnels and open road. Cheap global statistics
of the frame (per-channel mean and std) tell it which, and a tiny MLP turns them into
`h·(1 + γ) + β` for the hidden features (Perez et al. 2018). The MLP's last layer starts at
zero, so γ = β = 0 and the modulation is neutral at init.
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

STATS = 6  # mean and std of R, G, B


def frame_stats(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) in [0, 255] → (B, 6): per-channel mean and std, in units of 255.

    Detached: the statistics only select a mode, and the std's gradient is undefined (NaN) on
    a flat frame.
    """
    x = x.detach() * (1 / 255)
    std, mean = torch.std_mean(x, dim=(2, 3), correction=0)
    return torch.cat([mean, std], dim=1)


def with_partner(stats: torch.Tensor) -> torch.Tensor:
    """Append each frame's pair partner's statistics (frames 2k and 2k+1 form a pair).

    That is the layout of `pairs.reshape(2·B, 3, H, W)` for the scorers' (B, 2, …) pairs, and
    PoseNet judges the motion between the two, so each frame is filtered knowing its partner.
    """
    b = stats.shape[0]
    if b % 2:
        raise ValueError(f"pair_aware post-filter needs an even batch of frame pairs, got {b}")
    partner = stats.reshape(b // 2, 2, -1).flip(1).reshape(b, -1)
    return torch.cat([stats, partner], dim=1)


class FiLM(nn.Module):
    """Maps a conditioning vector to (γ, β) for each of `sites` feature maps of `channels`."""

    def __init__(self, cond: int, channels: int, sites: int, width: int):
        super().__init__()
        self.channels, self.sites = channels, sites
        self.mlp = nn.Sequential(
            nn.Linear(cond, width), nn.ReLU(), zero_init(nn.Linear(width, 2 * channels * sites))
        )

    def forward(self, cond: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        out = self.mlp(cond).reshape(cond.shape[0], self.sites, 2, self.channels, 1, 1)
        return [(out[:, i, 0], out[:, i, 1]) for i in range(self.sites)]


def modulate(h: torch.Tensor, gamma_beta: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    gamma, beta = gamma_beta
    return h * (1 + gamma) + beta


@register_postfilter("film")
class FiLMFilter(PostFilter):
    """Standard's three convs with FiLM after each hidden conv (before the activation)."""

    def __init__(self, hidden: int = 16, act: str = "relu", pair_aware: bool = False):
        super().__init__(hidden=hidden, act=act, pair_aware=pair_aware)
        check_positive(hidden=hidden)
        self.pair_aware = bool(pair_aware)
        self.stem = conv3x3(3, hidden)
        self.act1 = make_act(act)
        self.mid = conv3x3(hidden, hidden)
        self.act2 = make_act(act)
        self.head = zero_init(conv3x3(hidden, 3))
        cond = 2 * STATS if self.pair_aware else STATS
        self.film = FiLM(cond, hidden, sites=2, width=hidden)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        stats = frame_stats(x)
        first, second = self.film(with_partner(stats) if self.pair_aware else stats)
        h = self.act1(modulate(self.stem(channels_last(normalize(x))), first))
        h = self.act2(modulate(self.mid(h), second))
        return self.head(h)
