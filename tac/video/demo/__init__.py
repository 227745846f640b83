"""A deterministic synthetic dashcam drive, drawn procedurally with numpy.

Why: the contest footage cannot ship with the package, yet demos and tests need video that a
segmentation net and a pose net can actually "see": a road in perspective with real edges and
texture, and ego-motion between consecutive frames. Every pixel depends only on (t, seed), so a
clip is reproducible anywhere without downloading anything.

``world`` holds the geometry, seeded layout and camera motion, ``draw`` the anti-aliased
primitives and ``layers`` the scene layers painted with them; this module is the public API.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tac.video.demo.draw import Canvas
from tac.video.demo.layers import (
    draw_ground,
    draw_objects,
    draw_sky,
    draw_skyline,
    hood_and_vignette,
)
from tac.video.demo.truth import CLASSES, EGO_MOTION, OTHER, ego_motion
from tac.video.demo.world import (
    DEMO_FPS,
    DEMO_HEIGHT,
    DEMO_WIDTH,
    GROUND_END,
    build_scene,
    camera_pose,
)
from tac.video.encode import encode_frames

__all__ = [
    "CLASSES",
    "DEMO_FPS",
    "DEMO_FRAMES",
    "DEMO_HEIGHT",
    "DEMO_WIDTH",
    "EGO_MOTION",
    "ego_motion",
    "render_frame",
    "render_labeled",
    "render_frames",
    "write_demo_clip",
]

DEMO_FRAMES = 40  # 2 s of video


def render_frame(t: int, seed: int = 0) -> np.ndarray:
    """Frame t of the synthetic drive as uint8 (874, 1164, 3) RGB; depends only on (t, seed)."""
    return _render(t, seed, with_labels=False)[0]


def render_labeled(t: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Frame t and its ground truth: RGB uint8 (874, 1164, 3) and a class per pixel, uint8
    (874, 1164), indices into `CLASSES`. The picture is exactly `render_frame(t, seed)`."""
    rgb, labels = _render(t, seed, with_labels=True)
    assert labels is not None
    return rgb, labels


def _render(t: int, seed: int, with_labels: bool) -> tuple[np.ndarray, np.ndarray | None]:
    scene = build_scene(int(seed))
    pose = camera_pose(scene, int(t))
    labels = np.full((DEMO_HEIGHT, DEMO_WIDTH), OTHER, np.uint8) if with_labels else None
    canvas = Canvas(np.empty((DEMO_HEIGHT, DEMO_WIDTH, 3), np.float32), labels)
    draw_sky(canvas, scene, pose)
    draw_ground(canvas, scene, pose)
    draw_skyline(canvas, scene, pose)
    draw_objects(canvas, scene, pose, int(t))
    img = canvas.rgb
    img[GROUND_END:] = 0.0  # fully under the hood; must not stay uninitialised
    if labels is not None:
        labels[GROUND_END:] = OTHER
    r0, hood, hood_alpha, vignette = hood_and_vignette()
    canvas.label = OTHER  # the ego car's own hood
    canvas.paint(slice(r0, None), slice(None), hood, hood_alpha)
    img *= vignette
    np.clip(img + 0.5, 0.0, 255.0, out=img)
    return img.astype(np.uint8), labels


def render_frames(n: int = DEMO_FRAMES, seed: int = 0) -> np.ndarray:
    """Frames 0..n-1 as uint8 (n, 874, 1164, 3); for short clips (each frame is 3 MB)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    out = np.empty((n, DEMO_HEIGHT, DEMO_WIDTH, 3), np.uint8)
    for t in range(n):
        out[t] = render_frame(t, seed)
    return out


def write_demo_clip(
    path: str | os.PathLike, n: int = DEMO_FRAMES, seed: int = 0, crf: int = 12
) -> Path:
    """Encode the drive as high-quality HEVC in Matroska, atomically and byte-reproducibly.

    The muxer's bitexact flag drops the random segment UID and version strings, and the x265
    parameters pin threading and drop the settings SEI (it names the CPU), so the same
    (n, seed, crf) gives the same bytes with the same PyAV/x265 build.
    """
    if n < 1:
        raise ValueError(f"a clip needs at least one frame, got n={n}")
    frames = (render_frame(t, seed) for t in range(n))
    return encode_frames(frames, path, codec="libx265", crf=crf, preset="medium", fps=DEMO_FPS)
