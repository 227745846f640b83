"""Drawing the masks lane's frames: the renderer on the decoded masks and poses, through the
shared `lanes/draw.py` (bicubic to 874×1164, clamp, round, batches of 4 pairs) — the one
definition training's exact evaluation, the lane's inflate and the submission's inflate call.

Imports torch and `draw` only: submissions carry this file verbatim.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from .. import draw
from ..draw import DRAW_BATCH


def draw_frames(renderer, masks: torch.Tensor, poses: torch.Tensor, batch: int = DRAW_BATCH) -> Iterator[torch.Tensor]:  # fmt: skip
    """Every frame of the video, (874, 1164, 3) uint8, in order: frames 2i and 2i+1 from pair i."""
    return draw.draw_frames(lambda pairs: renderer(masks[pairs], poses[pairs]), len(masks), batch)
