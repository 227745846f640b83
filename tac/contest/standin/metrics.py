"""How well the stand-ins see the synthetic world: measured on held-out drives, never trained on."""

from __future__ import annotations

from pathlib import Path

import torch

from tac.contest import constants as C
from tac.contest.networks import PoseNet, SegNet
from tac.contest.standin import data
from tac.contest.weights import load_state_dict_strict
from tac.video.demo import EGO_MOTION

HELD_OUT_FRAMES, HELD_OUT_PAIRS = 2, 4  # per held-out drive
HELD_OUT_RNG = 7


def held_out_frames() -> data.Frames:
    return data.render_frames(data.sample_times(data.HELD_OUT_SEEDS, HELD_OUT_FRAMES, HELD_OUT_RNG))


def held_out_pairs() -> data.Pairs:
    keys = data.sample_times(data.HELD_OUT_SEEDS, HELD_OUT_PAIRS, HELD_OUT_RNG + 1)
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
    """How much of the held-out ego-motion's variance the first six outputs explain.

    R² per moving component, and for translation (metres²) and rotation (radians²) as wholes,
    each in its physical unit, so that a component counts by how much the camera really moves
    along it (sideways translation, a fraction of a millimetre per frame, hardly counts);
    `pose_r2` is the mean of the translation and rotation R².
    """
    pairs = pairs or held_out_pairs()
    net = PoseNet()
    load_state_dict_strict(net, path, "PoseNet")
    net.eval()
    out = torch.cat([net(data.pose_input(x.float())) for x in pairs.rgb.split(8)])
    mean, std = torch.tensor(recipe["motion_mean"]), torch.tensor(recipe["motion_std"])
    pred = out[:, : C.POSE_DISTORTION_OUTPUTS].double() * std + mean  # back to metres, radians
    truth = pairs.motion.double()
    sse = ((pred - truth) ** 2).sum(0)
    sst = ((truth - truth.mean(0)) ** 2).sum(0)
    per = {
        name: round(float(1 - sse[i] / sst[i]), 4)
        for i, name in enumerate(EGO_MOTION)
        if sst[i] > 0
    }
    translation = float(1 - sse[:3].sum() / sst[:3].sum())
    rotation = float(1 - sse[3:].sum() / sst[3:].sum())
    return {
        "pose_r2": round((translation + rotation) / 2, 4),
        "pose_r2_translation": round(translation, 4),
        "pose_r2_rotation": round(rotation, 4),
        "pose_r2_per_component": per,
    }
