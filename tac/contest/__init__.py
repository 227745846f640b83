"""The official task: constants, frame conversions, scorer networks, weights, evaluator, score.

The single source of scoring truth; every other part of tac imports from here.
"""

from tac.contest.constants import CAMERA_HEIGHT, CAMERA_WIDTH, FRAME_BYTES, SEQ_LEN
from tac.contest.score import contest_score, format_results_block, rate, sensitivity

__all__ = [
    "CAMERA_HEIGHT",
    "CAMERA_WIDTH",
    "FRAME_BYTES",
    "SEQ_LEN",
    "contest_score",
    "format_results_block",
    "rate",
    "sensitivity",
]
