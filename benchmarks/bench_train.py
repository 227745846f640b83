"""Post-filter speed per family: training steps/s through the scorers, and inflate-with-filter
frames/s with the time extrapolated to the contest's 1200 frames.

Run: `make bench` or `python benchmarks/bench_train.py [--hidden 16] [--steps 3] [--device cpu|cuda]`.
A training step is one sample (two 1164x874 frames): filter, uint8 round trip, both scorers,
backward, optimizer. Inflate is the submission's own code path: decode an HEVC crf 30 half-scale
payload, upscale, and apply the int8 filter rebuilt from its shipped `filter.tacq` bytes, in
batches of 4 on the CPU; the first row is the same inflate without a filter, measured in the
same run. The CPU runner has 4 cores; this machine's count is printed, and the 4-core figure is
a linear extrapolation (an estimate, not a measurement).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch

from tac.contest import constants as C
from tac.contest.originals import demo_originals
from tac.contest.weights import build_scorers, standin_weights
from tac.lanes import get_lane
from tac.lanes.codec.inflate.inflate import decode_frames
from tac.lanes.codec.params import CodecParams
from tac.lanes.codec.runtime import filter_blob, load_filter_blob
from tac.postfilter import build_postfilter, list_postfilters
from tac.postfilter.apply import filter_frames
from tac.quant.deploy import deployed_copy
from tac.train.config import TrainConfig
from tac.train.trainer import Trainer
from tac.video.decode import decode_video


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per family")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--frames", type=int, default=16, help="frames inflated per family")
    args = parser.parse_args()
    os.environ.setdefault("TAC_CACHE_DIR", tempfile.mkdtemp(prefix="tac-bench-"))
    frames = decode_video(demo_originals().path("0.mkv"))
    pairs = torch.from_numpy(frames[:8].reshape(4, 2, C.CAMERA_HEIGHT, C.CAMERA_WIDTH, 3))
    posenet, segnet = build_scorers(standin_weights(), args.device)
    cores = os.cpu_count() or 1
    name = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {cores} cores"
    print(f"device: {name}; hidden {args.hidden}; training batch 1 sample (2 frames)")
    print(
        f"{'family':<22}{'params':>8}{'train steps/s':>15}{'inflate f/s':>13}{'1200 f here':>13}{'1200 f @4 cores':>17}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        payload = _payload(frames, tmp)
        rate = _inflate_rate(payload, None, args.frames)
        here = C.CONTEST_FRAMES / rate
        print(
            f"{'(no filter)':<22}{0:>8}{'':>15}{rate:>13.1f}{here / 60:>11.1f} m{here * cores / 4 / 60:>15.1f} m"
        )
        for family in list_postfilters():
            torch.manual_seed(0)
            model = build_postfilter(family, hidden=args.hidden)
            config = TrainConfig(
                arch=family, hidden=args.hidden, max_steps=args.steps + 1, evals=1, ema_decay=0.9,
                tag=family, out_dir=tmp, progress=False,
            )  # fmt: skip
            trainer = Trainer(model, config, device=args.device)
            trainer.fit(
                pairs[:1].repeat(args.steps + 1, 1, 1, 1, 1),
                pairs[:1].repeat(args.steps + 1, 1, 1, 1, 1),
                posenet,
                segnet,
            )
            # fit also runs two exact evaluations; time the steps from its telemetry instead
            steps = _step_times(os.path.join(tmp, f"{family}.telemetry.jsonl"))
            train_rate = 1.0 / np.median(steps) if steps else float("nan")
            deployed = deployed_copy(trainer.model, 8).cpu()
            shipped = load_filter_blob(filter_blob(deployed, 8))
            inflate_rate = _inflate_rate(payload, shipped, args.frames)
            here = C.CONTEST_FRAMES / inflate_rate
            print(
                f"{family:<22}{deployed.param_count():>8,}{train_rate:>15.2f}{inflate_rate:>13.1f}"
                f"{here / 60:>11.1f} m{here * cores / 4 / 60:>15.1f} m"
            )


def _payload(frames: np.ndarray, tmp: str):
    params = CodecParams(codec="hevc", crf=30, scale=0.5)
    [path] = get_lane("codec").compress(iter(frames), params, os.path.join(tmp, "0"))
    return path


def _inflate_rate(payload, model, limit: int) -> float:
    """Frames/s of decode + upscale (+ filter), as the submission's inflate runs them."""
    import itertools

    t = time.perf_counter()
    decoded = itertools.islice(decode_frames(payload), limit)
    out = decoded if model is None else filter_frames(model, decoded, 4)
    n = sum(1 for _ in out)
    return n / (time.perf_counter() - t)


def _step_times(path: str) -> list[float]:
    import json

    times = [json.loads(line)["t"] for line in open(path) if '"event": "step"' in line]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


if __name__ == "__main__":
    main()
