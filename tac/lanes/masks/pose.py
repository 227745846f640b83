"""The pose side channel: the PoseNet targets of every pair, quantized and entropy-coded.

    blob = b"PSC1" | u32 pairs | u8 dims | u8 bits | f32 low × dims | f32 step × dims | stream

Each dimension is quantized uniformly between its minimum and maximum to `bits` bits (the step
is stored, so decoding is exact arithmetic on stored numbers), then sent as differences between
consecutive pairs — ego-motion changes slowly along a drive — through `tac.quant.entropy` (the
smallest portable coder). The error this adds to the pose distortion is at most (step/2)² per
dimension, which `max_error` reports.
"""

from __future__ import annotations

import struct

import numpy as np

from ...quant import entropy  # relative: the masks runtime ships this file

MAGIC = b"PSC1"
HEADER = struct.Struct("<4sIBB")


def _grid(pose: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    low = pose.min(axis=0).astype(np.float32)
    step = ((pose.max(axis=0) - low) / (2**bits - 1)).astype(np.float32)
    return low, np.maximum(step, np.float32(1e-12))


def encode(pose: np.ndarray, bits: int = 10, coders=entropy.PORTABLE) -> bytes:
    """(pairs, dims) float → the side channel's bytes."""
    pose = np.asarray(pose, np.float64)
    if pose.ndim != 2 or not len(pose) or not 1 <= bits <= 16:
        raise ValueError(f"pose targets are (pairs, dims) with 1–16 bits, not {pose.shape} at {bits}")  # fmt: skip
    low, step = _grid(pose, bits)
    codes = np.clip(np.rint((pose - low) / step), 0, 2**bits - 1).astype(np.int64)
    deltas = np.diff(codes, axis=0, prepend=np.zeros_like(codes[:1]))
    head = HEADER.pack(MAGIC, len(pose), pose.shape[1], bits)
    return head + low.astype("<f4").tobytes() + step.astype("<f4").tobytes() + entropy.encode(deltas.T.copy(), coders)  # fmt: skip


def decode(blob: bytes) -> np.ndarray:
    """The side channel's bytes → (pairs, dims) float32 targets."""
    magic, pairs, dims, bits = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise ValueError("not a pose side channel (bad magic)")
    pos = HEADER.size
    low = np.frombuffer(blob, "<f4", dims, pos).astype(np.float64)
    step = np.frombuffer(blob, "<f4", dims, pos + 4 * dims).astype(np.float64)
    deltas = entropy.decode(blob[pos + 8 * dims :]).reshape(dims, pairs).T
    return (low + np.cumsum(deltas, axis=0) * step).astype(np.float32)


def max_error(pose: np.ndarray, bits: int) -> float:
    """The largest absolute error quantization can add to any target."""
    _, step = _grid(np.asarray(pose, np.float64), bits)
    return float(step.max() / 2)
