"""Lossless mask coding: an adaptive context model driving a range coder (`constriction`).

Each label is coded with a categorical distribution chosen by its context — the labels to its
left, above, above-left and above-right in its own frame, and at the same place in the previous
frame (5⁵ = 3,125 contexts; outside the picture counts as class 0). Each context's distribution
is adaptive: it starts uniform and learns from every label coded in that context, identically in
the encoder and the decoder, so nothing but the labels' code is stored.

Vectorised along a wavefront. Pixel (r, c) of frame f is coded at step 2r + c + f: its left,
upper and upper-right neighbours lie on earlier wavefronts of the same frame, and the previous
frame reached the same pixel one step before. So a step codes every pixel of every frame it
touches at once (one `constriction` call, one count update), and the decoder, stepping the same
way, always has the context it needs: ≈ 2·H + W + N calls for N frames of H × W instead of N·H·W.

    blob = b"MCX1" | u32 frames | u16 height | u16 width | u8 classes | u32 words (range code)

Imports numpy and constriction, which the official machine lacks: submissions never carry it.
"""

from __future__ import annotations

import struct

import numpy as np

from .codecs import MaskCodeError

MAGIC = b"MCX1"
HEADER = struct.Struct("<4sIHHB")
NEIGHBOURS = 5  # left, up, up-left, up-right, previous frame
GAIN = 24  # counts an observed label adds (the prior is 1 per class): how fast contexts adapt


def _wavefronts(height: int, width: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(rows, cols) of each wavefront w = 2r + c of one frame, in order."""
    fronts = []
    for w in range(2 * (height - 1) + width):
        rows = np.arange(max(0, -(-(w - width + 1) // 2)), min(height - 1, w // 2) + 1)
        fronts.append((rows, w - 2 * rows))
    return fronts


def _steps(frames: int, height: int, width: int):
    """Per step: flat indices into the (frames, height, width) volume, in coding order."""
    fronts = _wavefronts(height, width)
    flat = [r * width + c for r, c in fronts]
    plane = height * width
    for t in range(len(fronts) + frames - 1):
        parts = [f * plane + flat[t - f] for f in range(max(0, t - len(fronts) + 1), min(frames, t + 1))]  # fmt: skip
        yield np.concatenate(parts)


def _contexts(padded: np.ndarray, idx: np.ndarray, height: int, width: int, classes: int) -> np.ndarray:  # fmt: skip
    """Context ids of the pixels `idx` (flat in the unpadded volume), read from `padded`:
    the volume with one empty frame in front and a border of zeros (one row above, one column
    on each side)."""
    plane = height * width
    f, rem = np.divmod(idx, plane)
    r, c = np.divmod(rem, width)
    f, r, c = f + 1, r + 1, c + 1  # padded coordinates
    ctx = padded[f, r, c - 1].astype(np.int64)
    for nf, nr, nc in ((f, r - 1, c), (f, r - 1, c - 1), (f, r - 1, c + 1), (f - 1, r, c)):
        ctx = ctx * classes + padded[nf, nr, nc]
    return ctx


def _family():
    import constriction

    return constriction.stream.model.Categorical(perfect=False)


def _probabilities(counts: np.ndarray, ctx: np.ndarray) -> np.ndarray:
    rows = counts[ctx].astype(np.float64)
    return rows / rows.sum(axis=1, keepdims=True)  # the same floats on both sides, bit for bit


def encode(masks: np.ndarray, classes: int = 5) -> bytes:
    """(N, H, W) uint8 labels in [0, classes) → the coded stream."""
    import constriction

    masks = np.asarray(masks)
    if masks.ndim != 3 or masks.dtype != np.uint8:
        raise ValueError(f"masks are (frames, height, width) uint8, not {masks.dtype} {masks.shape}")  # fmt: skip
    if not 2 <= classes <= 255 or (masks.size and int(masks.max()) >= classes):
        raise ValueError(f"labels must lie in [0, {classes})")
    n, h, w = masks.shape
    padded = np.zeros((n + 1, h + 1, w + 2), np.uint8)
    padded[1:, 1:, 1:-1] = masks
    counts = np.ones((classes**NEIGHBOURS, classes), np.int64)
    labels = masks.reshape(-1)
    family, encoder = _family(), constriction.stream.queue.RangeEncoder()
    if masks.size:
        for idx in _steps(n, h, w):
            ctx = _contexts(padded, idx, h, w, classes)
            symbols = labels[idx]
            encoder.encode(symbols.astype(np.int32), family, _probabilities(counts, ctx))
            np.add.at(counts, (ctx, symbols), GAIN)
    words = encoder.get_compressed().astype("<u4")
    return HEADER.pack(MAGIC, n, h, w, classes) + struct.pack("<I", len(words)) + words.tobytes()


def decode(blob: bytes) -> np.ndarray:
    """The coded stream → the (N, H, W) uint8 labels it was made from."""
    import constriction

    if len(blob) < HEADER.size + 4:
        raise MaskCodeError("mask stream: truncated header")
    magic, n, h, w, classes = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise MaskCodeError("not a context-coded mask stream (bad magic)")
    (m,) = struct.unpack_from("<I", blob, HEADER.size)
    start = HEADER.size + 4
    if len(blob) != start + 4 * m:
        raise MaskCodeError(f"mask stream: {len(blob) - start} code bytes, the header says {4 * m}")  # fmt: skip
    if classes < 2 or (n and (h < 1 or w < 1)):
        raise MaskCodeError(f"mask stream: {n}×{h}×{w} masks of {classes} classes")
    words = np.frombuffer(blob, dtype="<u4", offset=start, count=m).astype(np.uint32)
    padded = np.zeros((n + 1, h + 1, w + 2), np.uint8)
    counts = np.ones((classes**NEIGHBOURS, classes), np.int64)
    family, decoder = _family(), constriction.stream.queue.RangeDecoder(words)
    view = padded[1:, 1:, 1:-1]
    plane = h * w
    if n * plane:
        for idx in _steps(n, h, w):
            ctx = _contexts(padded, idx, h, w, classes)
            symbols = np.asarray(decoder.decode(family, _probabilities(counts, ctx)), np.int64)
            if symbols.size and int(symbols.max()) >= classes:
                raise MaskCodeError("mask stream: a label outside the classes")
            f, rem = np.divmod(idx, plane)
            view[f, rem // w, rem % w] = symbols
            np.add.at(counts, (ctx, symbols), GAIN)
    return np.ascontiguousarray(view)
