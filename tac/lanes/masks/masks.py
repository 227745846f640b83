"""What the masks + renderer lane starts from: the SegNet classes of the second frame of every
pair at scorer resolution, and the PoseNet targets of every pair.

Both are exactly the ground-truth half of the exact evaluation (`tac.contest.reference`), so they
are computed once per (video, weights, torch, …) and cached with it: the lane's masks are the very
labels the evaluator compares against, and asking for them again costs a file read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tac.contest import constants as C


def video_masks(scorer, video: Path) -> np.ndarray:
    """(pairs, 384, 512) uint8: SegNet's argmax on the second frame of every pair."""
    from tac.contest.reference import reference_outputs

    return reference_outputs(scorer, Path(video)).seg.numpy()


def pose_targets(scorer, video: Path) -> np.ndarray:
    """(pairs, 6) float32: the PoseNet outputs the pose distortion compares, per pair."""
    from tac.contest.reference import reference_outputs

    return reference_outputs(scorer, Path(video)).pose[:, : C.POSE_DISTORTION_OUTPUTS].numpy()
