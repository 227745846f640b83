""".raw files: headerless uint8 RGB frames (N, 874, 1164, 3), what inflate.sh must produce."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from tac import atomic
from tac.contest import constants as C
from tac.errors import TacError


def raw_frame_count(
    path: str | os.PathLike, width: int = C.CAMERA_WIDTH, height: int = C.CAMERA_HEIGHT
) -> int:
    """Frames in a .raw file; a size that is not a whole number of frames is an error."""
    path = Path(path)
    if not path.is_file():
        raise TacError(f"{path}: raw frames file not found")
    size = path.stat().st_size
    frame_bytes = width * height * 3
    if size % frame_bytes:
        raise TacError(
            f"{path}: {size:,} bytes is not a whole number of {width}x{height} RGB frames "
            f"({frame_bytes:,} bytes each); inflate must write uint8 (N, {height}, {width}, 3)"
        )
    return size // frame_bytes


def read_raw(
    path: str | os.PathLike, width: int = C.CAMERA_WIDTH, height: int = C.CAMERA_HEIGHT
) -> np.ndarray:
    """Memory-map a .raw file as read-only uint8 (N, H, W, 3); nothing is read until used."""
    n = raw_frame_count(path, width, height)
    if n == 0:
        return np.zeros((0, height, width, 3), dtype=np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r", shape=(n, height, width, 3))


def write_raw(path: str | os.PathLike, frames: Iterable[np.ndarray]) -> int:
    """Stream frames into a .raw file atomically; returns the number of frames written."""
    n = 0
    with atomic.atomic_writer(path, "wb") as f:
        for frame in frames:
            arr = np.asarray(frame)
            if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[-1] != 3:
                raise ValueError(f"expected uint8 (H, W, 3) frames, got {arr.dtype} {arr.shape}")
            f.write(np.ascontiguousarray(arr).tobytes())
            n += 1
    return n
