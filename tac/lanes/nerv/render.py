"""Drawing a nerv representation: its decoder on its latents, through the shared `lanes/draw.py`
(bicubic to 874×1164, clamp, round, batches of 4 pairs) — the one definition training's exact
evaluation and the submission's inflate both call.

Imports torch and `draw` only: submissions carry this file verbatim.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from .. import draw
from ..draw import DRAW_BATCH, upsample  # noqa: F401  (what training and the lane use)


def draw_frames(decoder, latents: torch.Tensor, batch: int = DRAW_BATCH) -> Iterator[torch.Tensor]:
    """Every frame of the video, (874, 1164, 3) uint8, in order: frame 2i and 2i+1 from pair i."""
    return draw.draw_frames(lambda pairs: decoder(latents[pairs]), len(latents), batch)
