"""The original tac's `tac.evaluate`: now lives in `tac.contest.evaluate`.

The score formula and its sensitivities come from `tac.contest.score`.
"""

from tac.contest.evaluate import (
    VideoScores,
    evaluate_submission,
    format_report,
    run_inflate,
    score_raw,
    score_video,
)
from tac.contest.score import Sensitivity, contest_score, rate, score_terms, sensitivity

__all__ = [
    "Sensitivity",
    "VideoScores",
    "contest_score",
    "evaluate_submission",
    "format_report",
    "rate",
    "run_inflate",
    "score_raw",
    "score_terms",
    "score_video",
    "sensitivity",
]
