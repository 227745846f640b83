"""Mask codecs, all behind one interface so they can be measured side by side on the same masks.

    MASK_CODECS.get(name).encode(masks, **knobs) → bytes
    MASK_CODECS.get(name).decode(blob)           → masks (N, H, W) uint8

    context   lossless: the adaptive context model + range coder of `context.py`
    lzma      lossless floor: the labels one per byte, lzma (preset 9, extreme)
    brotli    lossless floor: the same bytes, brotli (quality 11, largest window)
    av1       lossy: the labels as a grey video (class × 63 in the luma plane, flat chroma)
    hevc        through SVT-AV1 / x265 in process (PyAV); `crf` is the knob; decoded luma is
                rounded back to the nearest class

Every codec's blob carries what it needs to decode (frame count and size), so a stream decodes on
its own. Lossless codecs must round-trip bit for bit; the lossy ones report their label error.
`portable` codecs decode with what the official machine has; only they reach submissions.

Imports numpy and tac's registry at module level (relative: the masks runtime ships this file);
each codec imports its own library when used.
"""

from __future__ import annotations

import io
import lzma
import os
import struct
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ...contest.constants import SEG_CLASSES as CLASSES
from ...registry import Registry

SIZE = struct.Struct("<IHH")  # frames, height, width
GREY_STEP = 63  # class k is luma 63·k: five classes spread over 0…252


class MaskCodeError(ValueError):
    """A mask stream that cannot be decoded (truncated, another format, inconsistent)."""


@dataclass(frozen=True)
class MaskCodec:
    """A way to turn (N, H, W) uint8 labels into bytes and back."""

    name: str
    lossless: bool
    knobs: dict = field(default_factory=dict)  # knob → default (lossy codecs: crf)
    description: str = ""
    # decodable with what the official machine has (numpy, PyAV, brotli): what a submission may ship
    portable: bool = True

    def encode(self, masks: np.ndarray, **knobs) -> bytes:
        raise NotImplementedError

    def decode(self, blob: bytes) -> np.ndarray:
        raise NotImplementedError


def _check(masks: np.ndarray) -> np.ndarray:
    masks = np.asarray(masks)
    if masks.ndim != 3 or masks.dtype != np.uint8 or not masks.size:
        raise ValueError(f"masks are non-empty (frames, height, width) uint8, not {masks.dtype} {masks.shape}")  # fmt: skip
    return np.ascontiguousarray(masks)


def _size(blob: bytes, name: str) -> tuple[int, int, int]:
    if len(blob) < SIZE.size:
        raise MaskCodeError(f"{name} mask stream: truncated header")
    return SIZE.unpack_from(blob)


class ContextCodec(MaskCodec):
    """Imported when used: its range coder (`constriction`) is not on the official machine, so
    submissions' runtimes leave `context.py` out and never ship this codec's streams."""

    def encode(self, masks: np.ndarray, **knobs) -> bytes:
        from . import context

        return context.encode(_check(masks))

    def decode(self, blob: bytes) -> np.ndarray:
        from . import context

        return context.decode(blob)


class BytesCodec(MaskCodec):
    """The floor: a general-purpose compressor on the labels, one per byte (byte-aligned runs
    are what LZ matching finds best; bit-packed labels came out larger on the demo's masks)."""

    def _compress(self, data: bytes) -> bytes:
        if self.name == "lzma":
            return lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)
        import brotli

        return brotli.compress(data, quality=11, lgwin=24)

    def _decompress(self, data: bytes) -> bytes:
        if self.name == "lzma":
            return lzma.decompress(data)
        import brotli

        return brotli.decompress(data)

    def encode(self, masks: np.ndarray, **knobs) -> bytes:
        masks = _check(masks)
        return SIZE.pack(*masks.shape) + self._compress(masks.tobytes())

    def decode(self, blob: bytes) -> np.ndarray:
        n, h, w = _size(blob, self.name)
        try:
            data = self._decompress(blob[SIZE.size :])
        except Exception as exc:  # lzma.LZMAError, brotli.error: the stream is damaged
            raise MaskCodeError(f"{self.name} mask stream: {exc}") from None
        if len(data) != n * h * w:
            raise MaskCodeError(f"{self.name} mask stream: {len(data)} labels, the header says {n * h * w}")  # fmt: skip
        return np.frombuffer(data, np.uint8).reshape(n, h, w).copy()


# encoder name, options: deterministic threading, quiet, no host-specific metadata
VIDEO = {
    "av1": ("libsvtav1", {"preset": "8", "svtav1-params": "lp=1"}),
    "hevc": (
        "libx265",
        {"preset": "medium", "x265-params": "log-level=error:frame-threads=1:info=0"},
    ),  # fmt: skip
}


class VideoCodec(MaskCodec):
    def encode(self, masks: np.ndarray, crf: int | None = None, **knobs) -> bytes:
        import av

        from ...video.encode import ordinary_scheduling  # encoding happens in tac, never at inflate

        masks = _check(masks)
        if int(masks.max()) >= CLASSES:
            raise ValueError(f"{self.name} codes labels 0…{CLASSES - 1} as grey levels, not {int(masks.max())}")  # fmt: skip
        os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints a banner to stderr otherwise
        n, h, w = masks.shape
        if h % 2 or w % 2:
            raise ValueError(f"{self.name} masks need an even size, not {h}×{w}")
        encoder, options = VIDEO[self.name]
        buf = io.BytesIO()
        flat_chroma = np.full((h // 2, w), 128, np.uint8)  # both chroma planes, 4:2:0
        with ordinary_scheduling() as settle, av.open(buf, mode="w", format="matroska", options={"fflags": "+bitexact"}) as out:  # fmt: skip
            stream = out.add_stream(encoder, rate=Fraction(20, 1))
            stream.height, stream.width, stream.pix_fmt = h, w, "yuv420p"
            stream.options = {"crf": str(crf if crf is not None else self.knobs["crf"]), **options}  # fmt: skip
            stream.codec_context.flags |= av.codec.context.Flags.bitexact
            for t, mask in enumerate(masks):
                planes = np.concatenate([mask * np.uint8(GREY_STEP), flat_chroma])
                frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
                frame.pts = t
                for packet in stream.encode(frame):
                    out.mux(packet)
                if t == 0:
                    settle()  # SVT-AV1 run as root makes its threads realtime (tac.video.encode)
            for packet in stream.encode():
                out.mux(packet)
        return SIZE.pack(n, h, w) + buf.getvalue()

    def decode(self, blob: bytes) -> np.ndarray:
        import av

        n, h, w = _size(blob, self.name)
        out = np.empty((n, h, w), np.uint8)
        done = 0
        try:
            with av.open(io.BytesIO(blob[SIZE.size :]), format="matroska") as src:
                for frame in src.decode(video=0):
                    if done == n:
                        break
                    luma = frame.to_ndarray(format="yuv420p")[:h]
                    if luma.shape != (h, w):
                        raise MaskCodeError(f"{self.name} mask stream: {luma.shape[1]}×{luma.shape[0]} frames, the header says {w}×{h}")  # fmt: skip
                    out[done] = np.clip(np.rint(luma / GREY_STEP), 0, CLASSES - 1).astype(np.uint8)
                    done += 1
        except av.error.FFmpegError as exc:
            raise MaskCodeError(f"{self.name} mask stream: {exc}") from None
        if done != n:
            raise MaskCodeError(f"{self.name} mask stream: {done} frames, the header says {n}")  # fmt: skip
        return out


MASK_CODECS: Registry[MaskCodec] = Registry("mask codec")
MASK_CODECS.register("context", ContextCodec("context", True, portable=False, description="adaptive context model (left, up, up-left, up-right, previous frame) + range coding"))  # fmt: skip
MASK_CODECS.register("lzma", BytesCodec("lzma", True, description="labels one per byte, lzma preset 9e (the floor)"))  # fmt: skip
MASK_CODECS.register("brotli", BytesCodec("brotli", True, description="labels one per byte, brotli 11 (the floor)"))  # fmt: skip
MASK_CODECS.register("av1", VideoCodec("av1", False, {"crf": 50}, "grey video, SVT-AV1 preset 8"))  # fmt: skip
MASK_CODECS.register("hevc", VideoCodec("hevc", False, {"crf": 30}, "grey video, x265 medium"))
