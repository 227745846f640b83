"""The original tac's `tac.losses`: now lives in `tac.train.losses`."""

from tac.train.losses import (
    ScorerView,
    exact_distortion,
    feature_matching,
    pose_mse,
    saliency_reconstruction,
    scorer_loss,
    scorer_view,
    seg_hard_ste,
    seg_soft_disagreement,
    uint8_roundtrip,
)

__all__ = [
    "ScorerView",
    "exact_distortion",
    "feature_matching",
    "pose_mse",
    "saliency_reconstruction",
    "scorer_loss",
    "scorer_view",
    "seg_hard_ste",
    "seg_soft_disagreement",
    "uint8_roundtrip",
]
