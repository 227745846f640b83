"""The contest score, its report, and what moves it at a given point.

score = 100·seg + √(10·pose) + 25·rate,   rate = archive bytes / original bytes
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tac.contest import constants as C


def rate(archive_bytes: int, original_bytes: int) -> float:
    return archive_bytes / original_bytes


def contest_score(seg: float, pose: float, rate: float) -> float:
    return C.SEG_WEIGHT * seg + math.sqrt(C.POSE_WEIGHT * pose) + C.RATE_WEIGHT * rate


def score_terms(seg: float, pose: float, rate: float) -> dict[str, float]:
    """The three additive terms, for 'where does my score come from'."""
    return {
        "seg": C.SEG_WEIGHT * seg,
        "pose": math.sqrt(C.POSE_WEIGHT * pose),
        "rate": C.RATE_WEIGHT * rate,
    }


@dataclass(frozen=True)
class Sensitivity:
    """Marginal score of each quantity at one operating point, and exchange rates between them."""

    per_byte: float  # score per archive byte
    per_seg: float  # score per unit of seg distortion
    per_pose: float  # score per unit of pose distortion (inf at pose = 0)
    per_seg_pixel: float  # one flipped SegNet pixel over the whole sample set
    bytes_per_seg_pixel: float  # archive bytes worth one flipped SegNet pixel
    bytes_per_pose_unit: float  # archive bytes worth one unit of pose distortion
    pose_per_seg: float  # pose units worth one unit of seg

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def sensitivity(
    pose: float, archive_bytes: int, original_bytes: int, n_samples: int
) -> Sensitivity:
    """∂score/∂x at the point (seg does not enter: its term is linear)."""
    per_byte = C.RATE_WEIGHT / original_bytes
    per_seg = C.SEG_WEIGHT
    # d/dp sqrt(10 p) = 10 / (2 sqrt(10 p)); at p = 0 the first pose error is infinitely expensive.
    per_pose = math.inf if pose <= 0 else C.POSE_WEIGHT / (2.0 * math.sqrt(C.POSE_WEIGHT * pose))
    pixels = n_samples * C.MODEL_INPUT_HEIGHT * C.MODEL_INPUT_WIDTH
    per_seg_pixel = per_seg / pixels
    return Sensitivity(
        per_byte=per_byte,
        per_seg=per_seg,
        per_pose=per_pose,
        per_seg_pixel=per_seg_pixel,
        bytes_per_seg_pixel=per_seg_pixel / per_byte,
        bytes_per_pose_unit=per_pose / per_byte,
        pose_per_seg=per_seg / per_pose if per_pose else math.inf,
    )


def format_results_block(
    n_samples: int, pose: float, seg: float, archive_bytes: int, original_bytes: int
) -> str:
    """The official report's result block, byte for byte."""
    r = rate(archive_bytes, original_bytes)
    score = contest_score(seg, pose, r)
    return "\n".join(
        [
            f"=== Evaluation results over {n_samples} samples ===",
            f"  Average PoseNet Distortion: {pose:.8f}",
            f"  Average SegNet Distortion: {seg:.8f}",
            f"  Submission file size: {archive_bytes:,} bytes",
            f"  Original uncompressed size: {original_bytes:,} bytes",
            f"  Compression Rate: {r:.8f}",
            f"  Final score: 100*segnet_dist + √(10*posenet_dist) + 25*rate = {score:.2f}",
        ]
    )
