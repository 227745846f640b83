"""Evaluator throughput: tac's pipeline against a straightforward per-frame reading of the spec.

Both paths score the same reconstruction of the demo clip against the same original with the
same networks and batch size, and must give identical per-sample distortions. Reported as
samples/s and as ratios measured side by side in this one run:

  straightforward  decode a frame, convert it, batch 16 pairs, run both scorers on the original
                   and on the reconstruction, resizing separately for each scorer (as the spec reads)
  tac cold         the evaluator with an empty reference cache (decode-ahead thread, one shared resize)
  tac warm         the evaluator once the original's scorer outputs are cached (every evaluation
                   after the first against the same original)

Run: `make bench` or `python benchmarks/bench_eval.py [--frames N] [--repeat R]`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tac.contest import constants as C
from tac.contest.evaluate import score_video
from tac.contest.frames import av_frame_to_rgb, rgb_to_yuv6
from tac.contest.originals import demo_originals
from tac.contest.scorer import Scorer
from tac.contest.weights import standin_weights
from tac.video.decode import decode_video
from tac.video.raw import write_raw


def straightforward(scorer: Scorer, video: Path, raw_path: Path, batch_size: int = 16):
    """The spec, read literally: per-frame decode and conversion, per-scorer preprocessing."""
    import av

    raw = np.memmap(raw_path, dtype=np.uint8, mode="r").reshape(
        -1, C.CAMERA_HEIGHT, C.CAMERA_WIDTH, 3
    )
    poses, segs = [], []

    def preprocess(batch: torch.Tensor):
        x = batch.permute(0, 1, 4, 2, 3).float()  # (B, 2, 3, H, W)
        b = x.shape[0]
        flat = x.reshape(b * 2, 3, C.CAMERA_HEIGHT, C.CAMERA_WIDTH)
        pose_in = rgb_to_yuv6(
            F.interpolate(flat, size=(384, 512), mode="bilinear", align_corners=False)
        )
        seg_in = F.interpolate(x[:, -1], size=(384, 512), mode="bilinear", align_corners=False)
        return pose_in.reshape(b, 12, 192, 256), seg_in

    def run(gt: list[torch.Tensor], comp: list[torch.Tensor]) -> None:
        g = torch.stack(gt).reshape(-1, 2, C.CAMERA_HEIGHT, C.CAMERA_WIDTH, 3)
        c = torch.stack(comp).reshape(-1, 2, C.CAMERA_HEIGHT, C.CAMERA_WIDTH, 3)
        with torch.inference_mode():
            gp, gs = preprocess(g)
            cp, cs = preprocess(c)
            pg, pc = scorer.posenet(gp), scorer.posenet(cp)
            sg, sc = scorer.segnet(gs).argmax(1), scorer.segnet(cs).argmax(1)
        poses.append((pg[:, :6] - pc[:, :6]).pow(2).mean(1))
        segs.append((sg != sc).float().mean((1, 2)))

    gt_buf, comp_buf = [], []
    with av.open(str(video)) as container:
        for i, frame in enumerate(container.decode(container.streams.video[0])):
            gt_buf.append(av_frame_to_rgb(frame))
            comp_buf.append(torch.from_numpy(np.array(raw[i])))
            if len(gt_buf) == 2 * batch_size:
                run(gt_buf, comp_buf)
                gt_buf, comp_buf = [], []
    usable = len(gt_buf) - len(gt_buf) % 2
    if usable:
        run(gt_buf[:usable], comp_buf[:usable])
    return torch.cat(poses), torch.cat(segs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40, help="demo clip length (even)")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per path (best is kept)")
    args = parser.parse_args()

    cache = tempfile.mkdtemp(prefix="tac-bench-")
    os.environ.setdefault("TAC_CACHE_DIR", cache)
    originals = demo_originals(args.frames)
    video = originals.path("0.mkv")
    scorer = Scorer(standin_weights())
    frames = decode_video(video)
    damaged = (
        frames.astype(np.int16) + np.random.default_rng(0).integers(-6, 7, frames.shape)
    ).clip(0, 255)
    raw = Path(cache) / "damaged.raw"
    write_raw(raw, damaged.astype(np.uint8))
    n = len(frames) // 2
    print(
        f"demo clip: {len(frames)} frames = {n} samples; torch threads {torch.get_num_threads()}; "
        f"weights {scorer.weights.weights_id}"
    )

    def timed(fn):
        best, out = float("inf"), None
        for _ in range(args.repeat):
            t = time.perf_counter()
            out = fn()
            best = min(best, time.perf_counter() - t)
        return best, out

    reference_dir = Path(os.environ["TAC_CACHE_DIR"]) / "reference"

    def cold():
        for f in reference_dir.glob("*"):
            f.unlink()
        s = score_video(scorer, video, raw)
        return s.pose, s.seg

    def warm():
        s = score_video(scorer, video, raw)
        return s.pose, s.seg

    t_ref, (p_ref, s_ref) = timed(lambda: straightforward(scorer, video, raw))
    t_cold, (p_cold, s_cold) = timed(cold)
    warm()  # fill the cache
    t_warm, (p_warm, s_warm) = timed(warm)

    for name, p, s in (("cold", p_cold, s_cold), ("warm", p_warm, s_warm)):
        same = torch.equal(p, p_ref) and torch.equal(s, s_ref)
        print(f"tac {name}: per-sample distortions identical to straightforward: {same}")
        if not same:
            raise SystemExit("distortions differ: the benchmark is void")
    print(f"pose {p_ref.mean().item():.8f}  seg {s_ref.mean().item():.8f}")
    print(f"{'path':<16}{'seconds':>10}{'samples/s':>12}{'ratio':>8}")
    for name, t in (("straightforward", t_ref), ("tac cold", t_cold), ("tac warm", t_warm)):
        print(f"{name:<16}{t:>10.2f}{n / t:>12.2f}{t_ref / t:>7.2f}x")


if __name__ == "__main__":
    main()
