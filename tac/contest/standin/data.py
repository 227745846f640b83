"""Training and held-out data for the stand-in scorers, rendered from the synthetic world.

Frames come at scorer resolution (the bilinear resize both scorers start with), labels are the
renderer's classes brought to that resolution the same way (per-class coverage resized
bilinearly, then the majority class), and pose targets are the exact ego-motion of each pair.
Drives use seeds far from the demo clip's (0) and the tests' small seeds, so nothing the
stand-ins are judged on was seen in training.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from tac.contest.frames import resize_for_scorers, rgb_to_yuv6_diff
from tac.video.demo import CLASSES, EGO_MOTION, ego_motion, render_frame, render_labeled
from tac.video.demo.world import DEMO_HEIGHT, DEMO_WIDTH, FOCAL

SEG_TRAIN_SEEDS = range(10_000, 10_024)
# Many drives with few pairs each: a drive's speed is nearly constant, so with few drives a
# PoseNet can name the drive by its look and recall its speed instead of measuring motion.
POSE_TRAIN_SEEDS = range(10_000, 10_160)
HELD_OUT_SEEDS = range(20_000, 20_016)
PITCH, YAW = EGO_MOTION.index("pitch rad"), EGO_MOTION.index("yaw rad")
DRIVE_FRAMES = 1200  # draw times over a contest-length minute of each drive


@dataclass
class Frames:
    """Frames at scorer size with their ground truth."""

    rgb: torch.Tensor  # uint8 (N, 3, 384, 512)
    labels: torch.Tensor  # int64 (N, 384, 512)


@dataclass
class Pairs:
    """Consecutive frames at scorer size and the ego-motion between them."""

    rgb: torch.Tensor  # uint8 (N, 2, 3, 384, 512)
    motion: torch.Tensor  # float32 (N, 6)


def _to_scorer_size(rgb: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float()
    return resize_for_scorers(x)[0].round().clamp(0, 255).to(torch.uint8)


def _labels_to_scorer_size(labels: np.ndarray) -> torch.Tensor:
    onehot = F.one_hot(torch.from_numpy(labels).long(), len(CLASSES)).permute(2, 0, 1)[None]
    return resize_for_scorers(onehot.float())[0].argmax(0)


def _labeled(key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    rgb, labels = render_labeled(key[1], key[0])
    return _to_scorer_size(rgb), _labels_to_scorer_size(labels)


def _pair(key: tuple[int, int]) -> tuple[torch.Tensor, np.ndarray]:
    seed, t = key
    rgb = torch.stack([_to_scorer_size(render_frame(t + dt, seed)) for dt in (0, 1)])
    return rgb, ego_motion(t, seed)


def sample_times(seeds: range, per_drive: int, rng_seed: int) -> list[tuple[int, int]]:
    """(seed, t) keys: `per_drive` distinct times spread at random over each drive."""
    rng = np.random.default_rng(rng_seed)
    return [
        (seed, int(t))
        for seed in seeds
        for t in np.sort(rng.choice(DRIVE_FRAMES - 1, per_drive, replace=False))
    ]


def _pool(workers: int) -> ProcessPoolExecutor:
    # spawn, not fork: a process that has run torch holds OpenMP threads a forked child deadlocks on
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def render_frames(keys: list[tuple[int, int]], workers: int = 2) -> Frames:
    with _pool(workers) as pool:
        out = list(pool.map(_labeled, keys, chunksize=8))
    return Frames(torch.stack([r for r, _ in out]), torch.stack([lab for _, lab in out]))


def render_pairs(keys: list[tuple[int, int]], workers: int = 2) -> Pairs:
    with _pool(workers) as pool:
        out = list(pool.map(_pair, keys, chunksize=8))
    motion = torch.from_numpy(np.stack([m for _, m in out])).float()
    return Pairs(torch.stack([r for r, _ in out]), motion)


def degrade(x: torch.Tensor, gen: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Random mild damage on float frames (B, ..., 3, H, W), one draw per item of the batch.

    Real scorers learned from camera footage that was already compressed; trained on pristine
    renders alone, the stand-ins would be brittle to any codec. A fraction `p` of the items is
    resampled through a random smaller size (blur, lost detail) and gets a little noise; the
    frames of one item (both frames of a pair) share the draw, as a codec treats them alike.
    """
    out = x.clone()
    h, w = x.shape[-2:]
    for i in range(x.shape[0]):
        if float(torch.rand((), generator=gen)) >= p:
            continue
        f = 0.35 + 0.65 * float(torch.rand((), generator=gen))
        sigma = 3.0 * float(torch.rand((), generator=gen))
        item = x[i].reshape(-1, 3, h, w)
        small = F.interpolate(item, size=(round(h * f), round(w * f)), mode="bilinear")
        item = F.interpolate(small, size=(h, w), mode="bilinear")
        item = item + sigma * torch.randn(item.shape, generator=gen)
        out[i] = item.reshape(x[i].shape)
    return out.clamp_(0, 255)


def rotate_camera(
    pairs: torch.Tensor, motion: torch.Tensor, gen: torch.Generator, sigma_px: float, p: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn the camera a little between the two frames of a fraction `p` of the pairs.

    The synthetic drive is smooth: its pitch and yaw move the picture by well under a pixel
    from one frame to the next, too little for a network trained from scratch to find. A small
    extra rotation between the frames shifts the whole second frame (by `sigma_px` camera pixels
    on average, a road's shake) and adds exactly that rotation to the pair's pitch and yaw, so
    PoseNet learns to measure global motion and the true, smaller one comes with it. `pairs`:
    float (B, 2, 3, H, W) at scorer size; returns the pairs and their motion (B, 6).
    """
    pairs, motion = pairs.clone(), motion.clone()
    h, w = pairs.shape[-2:]
    for i in range(pairs.shape[0]):
        if float(torch.rand((), generator=gen)) >= p:
            continue
        dx, dy = (sigma_px * torch.randn(2, generator=gen)).tolist()  # camera pixels
        # content moves by (dx, dy): sample each output pixel from (x - dx, y - dy)
        theta = torch.tensor([[1.0, 0.0, -2 * dx / DEMO_WIDTH], [0.0, 1.0, -2 * dy / DEMO_HEIGHT]])
        grid = F.affine_grid(theta[None], (1, 3, h, w), align_corners=False)
        pairs[i, 1] = F.grid_sample(
            pairs[i, 1][None], grid, mode="bilinear", padding_mode="border", align_corners=False
        )[0]
        motion[i, PITCH] += dy / FOCAL  # the picture moves down as the nose rises
        motion[i, YAW] -= dx / FOCAL  # and left as the camera turns right
    return pairs, motion


def pose_input(pairs_rgb: torch.Tensor) -> torch.Tensor:
    """float (B, 2, 3, H, W) → PoseNet's (B, 12, H/2, W/2), as the evaluator builds it."""
    yuv = rgb_to_yuv6_diff(pairs_rgb)
    return yuv.reshape(yuv.shape[0], -1, *yuv.shape[-2:])
