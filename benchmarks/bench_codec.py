"""Codec-lane speed on this machine: encode and inflate frames/s per codec and preset, and the
inflate time extrapolated to the contest's 1200 frames against the 30-minute limit.

Run: `make bench` or `python benchmarks/bench_codec.py [--frames N] [--scale S]`.
Inflate is the submission's own code path (decode, the evaluator's YUV→RGB, upscale to 1164x874).
The official CPU runner has 4 cores; this machine's core count is printed with the numbers.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from tac.contest import constants as C
from tac.contest.originals import demo_originals
from tac.lanes import get_lane
from tac.lanes.codec.params import CodecParams
from tac.video.decode import decode_video

SETTINGS = [
    ("hevc", "ultrafast", 30),
    ("hevc", "medium", 30),
    ("hevc", "slow", 30),
    ("av1", "12", 40),
    ("av1", "8", 40),
    ("av1", "4", 40),
    ("h264", "ultrafast", 28),
    ("h264", "medium", 28),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40, help="demo clip length")
    parser.add_argument("--scale", type=float, default=0.5, help="working resolution fraction")
    args = parser.parse_args()
    os.environ.setdefault("TAC_CACHE_DIR", tempfile.mkdtemp(prefix="tac-bench-"))
    frames = decode_video(demo_originals(args.frames).path("0.mkv"))
    lane = get_lane("codec")
    n = len(frames)
    print(
        f"{n} demo frames at scale {args.scale} ({os.cpu_count()} cores here; the CPU runner has 4)"
    )
    print(
        f"{'codec':<6}{'preset':<11}{'crf':>4}{'bytes':>10}{'encode f/s':>12}{'inflate f/s':>13}{'1200 frames':>13}{'of limit':>10}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for codec, preset, crf in SETTINGS:
            params = CodecParams(codec=codec, preset=preset, crf=crf, scale=args.scale)
            t = time.perf_counter()
            [payload] = lane.compress(iter(frames), params, Path(tmp) / f"{codec}-{preset}")
            t_enc = time.perf_counter() - t
            t = time.perf_counter()
            count = sum(1 for _ in lane.inflate([payload], params))
            t_inf = time.perf_counter() - t
            assert count == n, (count, n)
            projected = t_inf / n * C.CONTEST_FRAMES
            share = projected / C.INFLATE_TIME_LIMIT_S
            print(
                f"{codec:<6}{preset:<11}{crf:>4}{payload.stat().st_size:>10,}{n / t_enc:>12.1f}{n / t_inf:>13.1f}"
                f"{projected / 60:>11.1f} m{share:>9.1%}"
            )


if __name__ == "__main__":
    main()
