"""The original tac's `tac.scorer`: now lives in `tac.contest.scorer` and `tac.contest.weights`.

The score formula itself is `tac.contest.score.contest_score` (see the `tac.evaluate` shim).
"""

from tac.contest.scorer import Scorer, ScorerOutputs, distortions, official_mean
from tac.contest.weights import ScorerWeights, build_scorers, resolve_weights, standin_weights

__all__ = [
    "Scorer",
    "ScorerOutputs",
    "ScorerWeights",
    "build_scorers",
    "distortions",
    "official_mean",
    "resolve_weights",
    "standin_weights",
]
