"""How well the stand-ins see the synthetic world: measured on held-out drives, never trained on."""

from __future__ import annotations

from pathlib import Path

import torch

from tac.contest import constants as C
from tac.contest.networks import PoseNet, SegNet
from tac.contest.standin import data
from tac.contest.weights import load_state_dict_strict
from tac.video.demo import EGO_MOTION

HELD_OUT_PER_DRIVE = 8  # frames (and pairs) per held-out drive
HELD_OUT_RNG = 7


def held_out_frames() -> data.Frames:
    return data.render_frames(
        data.sample_times(data.HELD_OUT_SEEDS, HELD_OUT_PER_DRIVE, HELD_OUT_RNG)
    )


def held_out_pairs() -> data.Pairs:
    keys = data.sample_times(data.HELD_OUT_SEEDS, 4 * HELD_OUT_PER_DRIVE, HELD_OUT_RNG + 1)
    return data.render_pairs(keys)


@torch.no_grad()
def seg_accuracy(path: Path, frames: data.Frames | None = None) -> float:
    """Fraction of held-out pixels whose argmax class is the renderer's label."""
    frames = frames or held_out_frames()
    net = SegNet()
    load_state_dict_strict(net, path, "SegNet")
    net.eval()
    hits = sum(
        int((net(x.float()).argmax(1) == y).sum())
        for x, y in zip(frames.rgb.split(4), frames.labels.split(4), strict=True)
    )
    return round(hits / frames.labels.numel(), 5)


@torch.no_grad()
def pose_r2(path: Path, recipe: dict, pairs: data.Pairs | None = None) -> dict:
    """R² of the first six outputs against the true ego-motion (in the trained units), per moving
    component and pooled (1 − Σ squared error / Σ variance, components weighted equally)."""
    pairs = pairs or held_out_pairs()
    net = PoseNet()
    load_state_dict_strict(net, path, "PoseNet")
    net.eval()
    out = torch.cat([net(data.pose_input(x.float())) for x in pairs.rgb.split(8)])
    pred = out[:, : C.POSE_DISTORTION_OUTPUTS]
    mean, std = torch.tensor(recipe["motion_mean"]), torch.tensor(recipe["motion_std"])
    truth = (pairs.motion - mean) / std
    moving = truth.var(0) > 1e-12
    sse = ((pred - truth) ** 2).sum(0)
    sst = ((truth - truth.mean(0)) ** 2).sum(0)
    per = {
        name: round(float(1 - sse[i] / sst[i]), 4) for i, name in enumerate(EGO_MOTION) if moving[i]
    }
    pooled = float(1 - (sse[moving] / sst[moving]).mean())
    return {"pose_r2": round(pooled, 4), "pose_r2_per_component": per}
