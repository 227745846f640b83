"""Losses that backpropagate through the frozen scorers.

Every path a training step takes mirrors the evaluation: the filter's output is clamped and
rounded to uint8 (straight-through), resized exactly as the contest resizes, turned into YUV6
by the differentiable twin of the official transform, and scored. Targets come from the
original frames once, without gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from tac.contest import constants as C
from tac.contest.frames import resize_for_scorers, rgb_to_yuv6_diff
from tac.quant.fake import round_ste

POSE_EPS = 1e-6  # keeps √(10·pose) differentiable at pose = 0


def uint8_roundtrip(x: torch.Tensor) -> torch.Tensor:
    """What storing frames as uint8 does: clamp to [0, 255], round (gradient straight through)."""
    return round_ste(x.clamp(0.0, 255.0))


@dataclass
class ScorerView:
    """What the scorers see in a batch of pairs: vision features, pose head, SegNet logits."""

    features: torch.Tensor  # (B, 2048) PoseNet backbone output
    pose: torch.Tensor  # (B, 12)
    seg_logits: torch.Tensor  # (B, 5, 384, 512)

    def rows(self, start: int, stop: int) -> ScorerView:
        return ScorerView(
            self.features[start:stop], self.pose[start:stop], self.seg_logits[start:stop]
        )

    @staticmethod
    def cat(views: list[ScorerView]) -> ScorerView:
        return ScorerView(
            torch.cat([v.features for v in views]),
            torch.cat([v.pose for v in views]),
            torch.cat([v.seg_logits for v in views]),
        )


def scorer_view(posenet, segnet, pairs: torch.Tensor) -> ScorerView:
    """Float pairs (B, 2, 3, H, W) in [0, 255] → ScorerView, differentiably."""
    b = pairs.shape[0]
    small = resize_for_scorers(pairs.reshape(b * C.SEQ_LEN, 3, *pairs.shape[-2:]))
    yuv = rgb_to_yuv6_diff(small).reshape(
        b, C.POSE_IN_CHANNELS, C.MODEL_INPUT_HEIGHT // 2, C.MODEL_INPUT_WIDTH // 2
    )
    features = posenet.vision((yuv - posenet._mean) / posenet._std)
    pose = posenet.hydra(posenet.summarizer(features))["pose"]
    seg = segnet(small.reshape(b, C.SEQ_LEN, 3, *small.shape[-2:])[:, -1])
    return ScorerView(features, pose, seg)


def pose_mse(view: ScorerView, target: ScorerView) -> torch.Tensor:
    k = C.POSE_DISTORTION_OUTPUTS
    return (view.pose[:, :k] - target.pose[:, :k]).pow(2).mean()


def seg_soft_disagreement(view: ScorerView, target: ScorerView) -> torch.Tensor:
    """1 − Σ p·q: the probability that two class draws disagree (smooth stand-in for argmax ≠)."""
    p = target.seg_logits.softmax(dim=1)
    q = view.seg_logits.softmax(dim=1)
    return (1.0 - (p * q).sum(dim=1)).mean()


def seg_hard_ste(view: ScorerView, target: ScorerView) -> torch.Tensor:
    """Value: the exact fraction of flipped argmax pixels. Gradient: cross-entropy's."""
    labels = target.seg_logits.argmax(dim=1)
    hard = (view.seg_logits.argmax(dim=1) != labels).float().mean()
    surrogate = F.cross_entropy(view.seg_logits, labels)
    return surrogate + (hard - surrogate).detach()


def scorer_loss(view: ScorerView, target: ScorerView, kind: str = "standard") -> torch.Tensor:
    """100·seg + √(10·pose + ε), with seg soft (`standard`) or hard-with-STE (`ste`)."""
    seg = seg_soft_disagreement(view, target) if kind == "standard" else seg_hard_ste(view, target)
    return C.SEG_WEIGHT * seg + torch.sqrt(C.POSE_WEIGHT * pose_mse(view, target) + POSE_EPS)


def feature_matching(view: ScorerView, target: ScorerView) -> torch.Tensor:
    """PoseNet backbone features, relative MSE (scale-free across weights)."""
    return (view.features - target.features).pow(2).mean() / (target.features.pow(2).mean() + 1e-8)


def saliency_reconstruction(
    out: torch.Tensor, gt: torch.Tensor, saliency: torch.Tensor | None, alpha: float
) -> torch.Tensor:
    """Pixel MSE weighted by 1 + α·saliency (saliency in [0, 1], broadcast to the frames)."""
    err = (out - gt).pow(2) / 255.0**2
    if saliency is None or alpha == 0:
        return err.mean()
    weight = 1.0 + alpha * saliency
    while weight.ndim < err.ndim:
        weight = weight.unsqueeze(-3)  # (…, H, W) → (…, 1, H, W): same weight for R, G, B
    return (weight * err).mean() / weight.mean()


@torch.no_grad()
def exact_distortion(view: ScorerView, target: ScorerView) -> tuple[float, float]:
    """The contest's own numbers on one batch: (pose MSE, fraction of flipped SegNet pixels)."""
    pose = pose_mse(view, target).item()
    seg = (view.seg_logits.argmax(1) != target.seg_logits.argmax(1)).float().mean().item()
    return pose, seg
