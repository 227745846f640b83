"""Decoding, .raw files, pairing into samples, and the decode-ahead thread."""

import numpy as np
import pytest
import torch

from tac.errors import TacError
from tac.video.decode import count_frames, iter_frames, iter_pair_batches, prefetch
from tac.video.encode import encode_frames
from tac.video.raw import raw_frame_count, read_raw, write_raw


def test_raw_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 874, 1164, 3), dtype=np.uint8)
    assert write_raw(tmp_path / "x.raw", iter(frames)) == 3
    back = read_raw(tmp_path / "x.raw")
    assert back.shape == (3, 874, 1164, 3) and np.array_equal(back, frames)
    assert not list(tmp_path.glob(".*tmp"))  # no temp file left behind


def test_raw_of_partial_frame_is_a_clear_error(tmp_path):
    (tmp_path / "bad.raw").write_bytes(b"\0" * (874 * 1164 * 3 + 5))
    with pytest.raises(TacError, match="not a whole number"):
        raw_frame_count(tmp_path / "bad.raw")


def test_pairs_drop_a_trailing_odd_frame_and_batch():
    frames = [torch.full((2, 3, 3), i, dtype=torch.uint8) for i in range(7)]
    batches = list(iter_pair_batches(frames, batch_size=2))
    assert [b.shape[0] for b in batches] == [2, 1]
    assert batches[0][1, 0, 0, 0, 0] == 2 and batches[0][1, 1, 0, 0, 0] == 3
    assert batches[1][0, 1, 0, 0, 0] == 5  # frame 6 was dropped


def test_prefetch_keeps_order_and_reraises():
    assert list(prefetch(iter(range(50)), depth=3)) == list(range(50))

    def broken():
        yield 1
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        list(prefetch(broken()))


def test_prefetch_stops_its_thread_when_abandoned():
    import threading

    gen = prefetch(iter(range(10_000)), depth=2)
    next(gen)
    gen.close()
    assert not any(t.name == "tac-prefetch" and t.is_alive() for t in threading.enumerate())


def test_encode_decode_counts_and_sizes(tmp_path):
    frames = [np.full((64, 96, 3), 16 * i, dtype=np.uint8) for i in range(5)]
    path = encode_frames(frames, tmp_path / "v.mkv", crf=10)
    assert count_frames(path) == 5
    decoded = list(iter_frames(path))
    assert len(decoded) == 5 and decoded[0].shape == (64, 96, 3)
    assert abs(int(decoded[3].float().mean()) - 48) <= 2


def test_encode_is_byte_reproducible(tmp_path):
    frames = [
        np.random.default_rng(i).integers(0, 256, (64, 96, 3), dtype=np.uint8) for i in range(4)
    ]
    a = encode_frames(frames, tmp_path / "a.mkv").read_bytes()
    b = encode_frames(frames, tmp_path / "b.mkv").read_bytes()
    assert a == b


def test_missing_and_corrupt_videos_are_clear_errors(tmp_path):
    with pytest.raises(TacError, match="not found"):
        list(iter_frames(tmp_path / "nope.mkv"))
    (tmp_path / "junk.mkv").write_bytes(b"definitely not matroska" * 10)
    with pytest.raises(TacError, match="junk.mkv"):
        list(iter_frames(tmp_path / "junk.mkv"))


def test_demo_clip_has_forty_frames(demo):
    assert count_frames(demo.path("0.mkv")) == 40


SCHEDULING = """
import os, sys
from fractions import Fraction
import av, numpy as np
from tac.video.encode import _thread_policies, encode_frames
frames = [np.full((64, 64, 3), 90, np.uint8)] * 3
if sys.argv[1] == "raw":  # PyAV alone, as tac encoded before
    with av.open(sys.argv[2], "w", format="matroska") as c:
        s = c.add_stream("libsvtav1", rate=Fraction(20, 1))
        s.width = s.height = 64
        s.pix_fmt, s.options = "yuv420p", {"crf": "40", "preset": "12", "svtav1-params": "lp=1"}
        for t, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv420p")
            vf.pts = t
            for p in s.encode(vf):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
else:
    encode_frames(iter(frames), sys.argv[2], codec="libsvtav1", crf=40, preset="12")
realtime = sorted({p for p in _thread_policies().values() if p in (os.SCHED_FIFO, os.SCHED_RR)})
print(os.sched_getscheduler(0), realtime)
"""


def test_an_av1_encode_leaves_no_thread_realtime(tmp_path):
    """SVT-AV1 run as root makes the encoding thread (and its own) SCHED_FIFO 99, which every
    process started afterwards inherits and which starves the host (a job's supervisor missed
    its budget lease by seconds): tac's encoder puts ordinary scheduling back."""
    import os
    import subprocess
    import sys

    def run(mode: str) -> str:
        out = subprocess.run([sys.executable, "-c", SCHEDULING, mode, str(tmp_path / f"{mode}.mkv")],
                             capture_output=True, text=True, timeout=120, env={**os.environ, "SVT_LOG": "1"})  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout.strip()

    if os.geteuid() == 0:  # only root may raise its priority: the defect shows here
        assert run("raw") == f"{os.SCHED_FIFO} [{os.SCHED_FIFO}]"
    assert run("tac") == f"{os.SCHED_OTHER} []"
