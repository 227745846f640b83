"""The DistortionNet: what PoseNet and SegNet see in a batch of frame pairs, and how far apart.

Scoring splits into two halves so the original's half can be computed once and reused:
`Scorer.outputs(pairs)` gives what the networks see (pose head, SegNet argmax), and
`distortions(gt, comp)` compares two such views per sample, exactly as the official code does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch

from tac.contest import constants as C
from tac.contest.frames import resize_for_scorers, rgb_to_yuv6
from tac.contest.weights import ScorerWeights, build_scorers


@dataclass
class ScorerOutputs:
    """What the scorers see in B samples: pose head (B, 12) float32, SegNet classes (B, 384, 512) uint8."""

    pose: torch.Tensor
    seg: torch.Tensor

    def __len__(self) -> int:
        return int(self.pose.shape[0])

    @staticmethod
    def cat(parts: list[ScorerOutputs]) -> ScorerOutputs:
        if not parts:
            return ScorerOutputs(
                torch.zeros(0, C.POSE_OUTPUTS),
                torch.zeros(0, C.MODEL_INPUT_HEIGHT, C.MODEL_INPUT_WIDTH, dtype=torch.uint8),
            )
        return ScorerOutputs(torch.cat([p.pose for p in parts]), torch.cat([p.seg for p in parts]))

    def slice(self, start: int, stop: int) -> ScorerOutputs:
        return ScorerOutputs(self.pose[start:stop], self.seg[start:stop])


class Scorer:
    """Both frozen networks on one device, ready to score uint8 pairs (B, 2, 874, 1164, 3)."""

    def __init__(self, weights: ScorerWeights, device: str | torch.device = "cpu"):
        self.weights = weights
        self.device = torch.device(device)
        if self.device.type == "cuda":
            # TF32 convolutions are not what either official runner computes (T4: fp32).
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False
        self._nets: tuple[torch.nn.Module, torch.nn.Module] | None = None
        self._building = threading.Lock()  # `load` may run in a thread: one build, never two

    def _networks(self) -> tuple[torch.nn.Module, torch.nn.Module]:
        # Built on first use: a submission that fails its checks never pays for loading weights.
        if self._nets is None:
            with self._building:
                if self._nets is None:
                    # Never as inference tensors (first use may be inside `outputs`): training
                    # backpropagates through these same modules.
                    with torch.inference_mode(False):
                        self._nets = build_scorers(self.weights, self.device)
        return self._nets

    def load(self) -> None:
        """Build both networks now, if not yet built: a job does it in a thread while its
        inflate runs, so scoring starts at once; a caller that needs them meanwhile waits."""
        self._networks()

    @property
    def posenet(self) -> torch.nn.Module:
        return self._networks()[0]

    @property
    def segnet(self) -> torch.nn.Module:
        return self._networks()[1]

    @torch.inference_mode()
    def outputs(self, pairs: torch.Tensor | np.ndarray) -> ScorerOutputs:
        pairs = torch.as_tensor(pairs)
        if pairs.ndim != 5 or tuple(pairs.shape[1:]) != (
            C.SEQ_LEN,
            C.CAMERA_HEIGHT,
            C.CAMERA_WIDTH,
            3,
        ):
            raise ValueError(f"expected uint8 pairs (B, 2, 874, 1164, 3), got {tuple(pairs.shape)}")
        b = pairs.shape[0]
        x = pairs.to(self.device).permute(0, 1, 4, 2, 3).float()  # (B, 2, 3, H, W)
        # One resize serves both networks: SegNet's input is the resized second frame.
        small = resize_for_scorers(x.reshape(b * C.SEQ_LEN, 3, C.CAMERA_HEIGHT, C.CAMERA_WIDTH))
        yuv = rgb_to_yuv6(small).reshape(
            b, C.POSE_IN_CHANNELS, C.MODEL_INPUT_HEIGHT // 2, C.MODEL_INPUT_WIDTH // 2
        )
        pose = self.posenet(yuv).float()
        seg_in = small.reshape(b, C.SEQ_LEN, 3, C.MODEL_INPUT_HEIGHT, C.MODEL_INPUT_WIDTH)[:, -1]
        seg = self.segnet(seg_in).argmax(dim=1).to(torch.uint8)
        return ScorerOutputs(pose.cpu(), seg.cpu())


def distortions(gt: ScorerOutputs, comp: ScorerOutputs) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample (pose, seg) float32 distortions, as the official `compute_distortion` computes them."""
    k = C.POSE_DISTORTION_OUTPUTS
    pose = (gt.pose[..., :k] - comp.pose[..., :k]).pow(2).mean(dim=1)
    seg = (gt.seg != comp.seg).float().mean(dim=(1, 2))
    return pose, seg


def official_mean(per_video: list[torch.Tensor], batch_size: int = C.DEFAULT_BATCH_SIZE) -> float:
    """Mean over samples, summed the way the official evaluator sums (so the 8th decimal agrees).

    It adds float32 per-batch sums into a float32 accumulator, batches restarting at each video.
    """
    total = torch.zeros([], dtype=torch.float32)
    count = 0
    for values in per_video:
        for chunk in values.to(torch.float32).split(batch_size):
            total += chunk.sum()
            count += chunk.numel()
    if count == 0:
        raise ValueError("no samples to average")
    return (total / torch.tensor(float(count), dtype=torch.float32)).item()
