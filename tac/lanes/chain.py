"""The evaluation chain, for lanes whose payload is drawn by a network (nerv, masks): the
differentiable path training follows, and the exact round trip that keeps it honest.

    differentiable   network pairs (B, 2, 3, h, w) → bicubic to 874×1164 → clamp + straight-through
                     round → the scorers' own resize and YUV6 → distortion against targets
                     computed once from the originals (`Chain`)
    exact            every frame drawn as the submission's inflate draws it (`tac.lanes.draw`),
                     scored with the exact evaluator's own functions against the cached ground
                     truth, the archive zipped for real (`evaluate_drawn`)

A lane brings its network, its payload and its rate estimate; the chain is the same for all.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from tac.contest import constants as C
from tac.contest.reference import reference_outputs
from tac.contest.score import contest_score, rate
from tac.contest.scorer import Scorer, distortions, official_mean
from tac.errors import TacError
from tac.lanes.draw import upsample
from tac.quant.rate import entropy_bits
from tac.quant.tensors import dequantize_tensor, qmax, quantize_tensor, scale_shape
from tac.submission.archive import write_deterministic_zip
from tac.train.losses import ScorerView, scorer_loss, scorer_view, uint8_roundtrip
from tac.video.decode import iter_pair_batches


def shipped(t: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Exactly `value` forward, the identity backward (to `t`): straight-through QAT."""
    return value + (t - t.detach())


def qat_state(module: torch.nn.Module, bits: int) -> dict[str, torch.Tensor]:
    """The module's parameters at the values its payload will hold (`tac.quant.tensors`),
    gradients straight through: for `torch.func.functional_call`."""
    return {
        name: shipped(p, dequantize_tensor(*quantize_tensor(p, bits)).to(p))
        for name, p in module.named_parameters()
    }


def weight_bytes(module: torch.nn.Module, bits: int) -> torch.Tensor:
    """The module's entropy-coded weight bytes, as a differentiable function of its weights:
    the soft-histogram entropy (`tac.quant.rate`) of each tensor in its own integer units."""
    top = qmax(bits)
    total = torch.zeros((), device=next(module.parameters()).device)
    for p in module.parameters():
        _, scale = quantize_tensor(p, bits)
        total = total + entropy_bits(p / scale.float().to(p.device).view(scale_shape(p)), -top, top)
    return total / 8


def camera_frames(pairs: torch.Tensor) -> torch.Tensor:
    """Network pairs → what inflate writes, as float (B, 2, 3, 874, 1164), rounding straight-through."""
    return uint8_roundtrip(upsample(pairs))


def on_device(net: torch.nn.Module, device) -> torch.nn.Module:
    """A frozen scorer network on the training device (a copy when the exact scorer's axis is
    another device: a GPU host trains on CUDA and scores on the runner's axis)."""
    return net if next(net.parameters()).device == torch.device(device) else copy.deepcopy(net).to(device)  # fmt: skip


def _float_pairs(pairs_u8: torch.Tensor, device) -> torch.Tensor:
    return pairs_u8.to(device).permute(0, 1, 4, 2, 3).float()


@torch.no_grad()
def targets(posenet, segnet, pairs_u8: torch.Tensor, device, batch: int = 4) -> ScorerView:
    """What the scorers see on the original pairs (P, 2, 874, 1164, 3) uint8, computed once."""
    views = [scorer_view(posenet, segnet, _float_pairs(c, device)) for c in pairs_u8.split(batch)]
    return ScorerView.cat(views)


def rows(view: ScorerView, idx: torch.Tensor) -> ScorerView:
    return ScorerView(view.features[idx], view.pose[idx], view.seg_logits[idx])


@dataclass
class Chain:
    """The scorers on the training device and their view of the originals: the distortion of
    drawn pairs, differentiably."""

    posenet: torch.nn.Module
    segnet: torch.nn.Module
    target: ScorerView

    @classmethod
    def of(cls, pairs_u8: torch.Tensor, scorer: Scorer, device="cpu") -> Chain:
        posenet, segnet = (on_device(n.eval().requires_grad_(False), device) for n in (scorer.posenet, scorer.segnet))  # fmt: skip
        return cls(posenet, segnet, targets(posenet, segnet, pairs_u8, device))

    def distortion(self, pairs: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """100·seg surrogate + √(10·pose MSE) of float pairs (B, 2, 3, h, w) drawn for `idx`."""
        view = scorer_view(self.posenet, self.segnet, camera_frames(pairs))
        return scorer_loss(view, rows(self.target, idx))


@dataclass
class Evaluation:
    """The archive round trip's numbers: what the exact evaluator would report."""

    step: int
    seg: float
    pose: float
    archive_bytes: int
    score: float
    payload_sha256: str = ""

    @property
    def distortion(self) -> float:
        return C.SEG_WEIGHT * self.seg + math.sqrt(C.POSE_WEIGHT * self.pose)


@dataclass
class TrainResult:
    """What a drawing lane's training leaves: the kept checkpoint and its exact evaluations."""

    checkpoint: Path
    best: Evaluation
    history: list[Evaluation] = field(default_factory=list)
    steps_per_s: float = 0.0


def warmup_cosine(opt: torch.optim.Optimizer, steps: int, warmup: float) -> torch.optim.lr_scheduler.LambdaLR:  # fmt: skip
    """Linear warm-up over `warmup` of the steps, then cosine decay to zero."""
    warm = max(1, round(warmup * steps))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


class Telemetry:
    """`telemetry.jsonl` in a training run's directory: one JSON object a line, started afresh."""

    def __init__(self, out_dir: Path):
        self.path = Path(out_dir) / "telemetry.jsonl"
        self.path.unlink(missing_ok=True)

    def __call__(self, entry: dict) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(entry) + "\n")


def archive_bytes(members: dict[str, bytes]) -> int:
    """The size of the archive.zip holding `members` (zipped for real, deterministically)."""
    with tempfile.TemporaryDirectory() as tmp:
        return write_deterministic_zip(members, Path(tmp) / "a.zip").stat().st_size


def evaluate_drawn(frames: Iterable[torch.Tensor], members: dict[str, bytes], video: Path, original_bytes: int, scorer: Scorer, step: int = 0) -> Evaluation:  # fmt: skip
    """Score frames drawn as inflate draws them, like `evaluate_submission`, with the archive
    of `members` as the bytes."""
    ref = reference_outputs(scorer, video)
    poses, segs, done = [], [], 0
    for batch in iter_pair_batches(frames, C.DEFAULT_BATCH_SIZE):
        comp = scorer.outputs(batch)
        pose, seg = distortions(ref.slice(done, done + len(comp)), comp)
        poses.append(pose)
        segs.append(seg)
        done += len(comp)
    pose_d, seg_d = official_mean(poses), official_mean(segs)
    size = archive_bytes(members)
    digest = hashlib.sha256(b"".join(members[k] for k in sorted(members))).hexdigest()
    return Evaluation(step, seg_d, pose_d, size, contest_score(seg_d, pose_d, rate(size, original_bytes)), digest)  # fmt: skip


def one_video(originals) -> str:
    """The name of the one original: the lanes that represent a video by a network represent
    exactly one."""
    if len(originals.video_names) != 1:
        raise TacError(
            f"this lane represents one video; {originals.names_file} lists "
            f"{len(originals.video_names)} — list one name per run"
        )
    return originals.video_names[0]


def pair_count(originals) -> int:
    """The one original's frame pairs, counted from its packets (nothing decoded)."""
    from tac.video.decode import count_frames

    name = one_video(originals)
    pairs = count_frames(originals.path(name)) // C.SEQ_LEN
    if pairs < 1:
        raise TacError(f"{originals.path(name)}: fewer than two frames")
    return pairs


def video_pairs(originals) -> tuple[str, torch.Tensor]:
    """The one original's name and frames as uint8 pairs (P, 2, 874, 1164, 3)."""
    import numpy as np

    from tac.video.decode import decode_video

    name = one_video(originals)
    frames = decode_video(originals.path(name))
    pairs = len(frames) // C.SEQ_LEN
    if pairs < 1:
        raise TacError(f"{originals.path(name)}: fewer than two frames")
    return name, torch.from_numpy(np.ascontiguousarray(frames[: 2 * pairs])).view(pairs, 2, *frames.shape[1:])  # fmt: skip
