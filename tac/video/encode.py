"""PyAV encoding of RGB frames into a video file, in process (no ffmpeg binary)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tac import atomic
from tac.contest import constants as C

# Encoder-specific switches that keep a run quiet and its output reproducible.
QUIET_OPTIONS = {
    "libx265": {"x265-params": "log-level=error"},
    "libsvtav1": {"svtav1-params": "lp=1"},
    "libx264": {},
}


def encode_frames(
    frames: Iterable[np.ndarray],
    path: str | os.PathLike,
    codec: str = "libx265",
    crf: int = 18,
    preset: str = "fast",
    fps: int = C.FPS,
    pix_fmt: str = "yuv420p",
    options: dict[str, str] | None = None,
) -> Path:
    """Encode uint8 (H, W, 3) RGB frames into a Matroska file, atomically."""
    path = Path(path)
    opts = {"crf": str(crf), "preset": preset, **QUIET_OPTIONS.get(codec, {}), **(options or {})}
    with atomic.atomic_writer(path, "wb") as f:
        with av.open(f, mode="w", format="matroska") as container:
            stream = None
            for frame in frames:
                frame = np.ascontiguousarray(frame)
                if stream is None:
                    stream = container.add_stream(codec, rate=Fraction(fps, 1))
                    stream.height, stream.width = frame.shape[:2]
                    stream.pix_fmt = pix_fmt
                    stream.options = opts
                vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
                for packet in stream.encode(vf):
                    container.mux(packet)
            if stream is not None:
                for packet in stream.encode():
                    container.mux(packet)
    return path
