"""PyAV encoding of RGB frames into a video file, in process (no ffmpeg binary).

Output is byte-reproducible for the same frames, settings and PyAV build: the muxer's bitexact
flag drops Matroska's random segment UID and version strings, and encoder parameters pin
threading and drop x265's settings SEI (it names the host CPU).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tac import atomic
from tac.contest import constants as C

# Per encoder: quiet logs, deterministic threading, no host-specific metadata in the stream.
ENCODER_OPTIONS = {
    "libx265": {"x265-params": "log-level=error:frame-threads=1:info=0"},
    "libsvtav1": {"svtav1-params": "lp=1"},
    "libx264": {"threads": "1"},
}


_REALTIME = tuple(getattr(os, name) for name in ("SCHED_FIFO", "SCHED_RR") if hasattr(os, name))


def _thread_policies() -> dict[int, int]:
    """{thread id: scheduling policy} of this process (Linux; empty elsewhere)."""
    policies = {}
    with contextlib.suppress(OSError):
        for tid in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError):
                policies[int(tid)] = os.sched_getscheduler(int(tid))
    return policies


def _drop_realtime(before: dict[int, int]) -> None:
    """Put back to ordinary scheduling every thread an encoder made realtime.

    SVT-AV1 run as root switches the thread that opens it, and the worker threads it starts, to
    SCHED_FIFO 99: an encode then starves everything else on the host (a job's supervisor and
    its budget lease included), and every process started afterwards inherits it. Lowering a
    thread's policy needs no privilege; threads that were realtime before are left alone."""
    for tid, policy in _thread_policies().items():
        if policy in _REALTIME and before.get(tid) not in _REALTIME:
            with contextlib.suppress(OSError):
                os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))


@contextlib.contextmanager
def ordinary_scheduling():
    """Around an encoder: yields `settle`, to call once the encoder has opened (and started
    its threads); on the way out every thread it made realtime is put back again."""
    before = _thread_policies()
    try:
        yield lambda: _drop_realtime(before)
    finally:
        _drop_realtime(before)


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
    """Encode uint8 (H, W, 3) RGB frames into a Matroska file, atomically and reproducibly."""
    path = Path(path)
    os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints a banner to stderr unless told not to
    opts = {"crf": str(crf), "preset": preset, **ENCODER_OPTIONS.get(codec, {}), **(options or {})}
    with atomic.atomic_writer(path, "wb") as f, ordinary_scheduling() as settle:
        with av.open(f, mode="w", format="matroska", options={"fflags": "+bitexact"}) as container:
            stream = None
            for t, frame in enumerate(frames):
                frame = np.ascontiguousarray(frame)
                if stream is None:
                    stream = container.add_stream(codec, rate=Fraction(fps, 1))
                    stream.height, stream.width = frame.shape[:2]
                    stream.pix_fmt = pix_fmt
                    stream.options = opts
                    stream.codec_context.flags |= av.codec.context.Flags.bitexact
                vf = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(format=pix_fmt)
                vf.pts = t
                for packet in stream.encode(vf):
                    container.mux(packet)
                if t == 0:  # the encoder opened (and started its threads) on the first frame
                    settle()
            if stream is None:
                raise ValueError(f"{path}: no frames to encode")
            for packet in stream.encode():
                container.mux(packet)
    return path
