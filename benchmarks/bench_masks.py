"""The masks + renderer lane so far (issue 16): its mask codecs side by side on the same masks,
and the pose side channel, in one run.

  masks        SegNet's classes on the second frame of every pair of the demo clip, 384×512
               (the exact evaluation's ground truth, so stand-in scorers here)
  codecs       bytes per mask, label error (the fraction of pixels decoded to another class:
               what a renderer reproducing the decoded masks would pay in seg distortion, roughly),
               encode and decode masks/s, and the decode time projected to the contest's 600
               masks; lossy codecs at a ladder of crf values
  pose         the side channel's bytes and worst error per bit width, on the demo's targets
  renderer     a small renderer trained on the demo clip at 96×128 (CPU): steps/s and the exact
               score before and after; inflate frames/s at the contest shape (384×512, width
               24) with the 1200-frame projection

Not measured yet, because they are not built: test-time optimisation, the lane in the loop, and
the rate–distortion table of masks vs nerv vs codec.

Run: `make bench` or `python benchmarks/bench_masks.py [--frames 120]`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from tac.contest import constants as C
from tac.contest.originals import demo_originals
from tac.contest.scorer import Scorer
from tac.contest.weights import resolve_weights
from tac.lanes.masks import pose
from tac.lanes.masks.codecs import MASK_CODECS
from tac.lanes.masks.masks import pose_targets, video_masks
from tac.lanes.masks.renderer import Renderer, RendererConfig
from tac.lanes.masks.train import MasksTrainConfig, train

LADDERS = {"av1": (30, 40, 50, 60), "hevc": (20, 30, 40)}


def timed(fn, *args, **kw):
    start = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=120, help="demo clip length (frames; masks are half)")  # fmt: skip
    ap.add_argument("--train-frames", type=int, default=16, help="demo frames the renderer trains on")  # fmt: skip
    ap.add_argument("--steps", type=int, default=24, help="renderer training steps")
    args = ap.parse_args()
    os.environ.setdefault("TAC_CACHE_DIR", tempfile.mkdtemp(prefix="tac-bench-"))
    weights = resolve_weights()
    scorer = Scorer(weights)
    demo = demo_originals(frames=args.frames)
    video = demo.path(demo.video_names[0])
    masks, spent = timed(video_masks, scorer, video)
    n = len(masks)
    shares = np.bincount(masks.ravel(), minlength=C.SEG_CLASSES) / masks.size
    print(
        f"{n} masks of {masks.shape[1]}×{masks.shape[2]} from the {args.frames}-frame demo clip in {spent:.0f} s "  # fmt: skip
        f"({os.cpu_count()} cores; scorers {weights.describe()})"
    )
    print("class shares: " + ", ".join(f"{k}: {s:.1%}" for k, s in enumerate(shares)))

    print(f"\n{'codec':8s} {'crf':>4s} {'bytes/mask':>11s} {'label error':>12s} {'enc masks/s':>12s} {'dec masks/s':>12s} {'600 masks dec':>14s}")  # fmt: skip
    rows = [(name, None) for name in ("context", "lzma", "brotli")]
    rows += [(name, crf) for name, ladder in LADDERS.items() for crf in ladder]
    for name, crf in rows:
        codec = MASK_CODECS.get(name)
        blob, enc_s = timed(codec.encode, masks, **({"crf": crf} if crf is not None else {}))
        back, dec_s = timed(codec.decode, blob)
        error = float((back != masks).mean())
        print(f"{name:8s} {crf if crf is not None else '-':>4} {len(blob) / n:>11,.0f} {error:>12.5f} "
              f"{n / enc_s:>12.1f} {n / dec_s:>12.1f} {600 * dec_s / n:>12.1f} s")  # fmt: skip

    targets = pose_targets(scorer, video)
    print(f"\npose side channel ({n} pairs × {targets.shape[1]} targets):")
    for bits in (6, 8, 10, 12):
        blob = pose.encode(targets, bits)
        worst = float(np.abs(pose.decode(blob) - targets).max())
        print(f"  {bits:2d} bits: {len(blob):>6,} bytes ({len(blob) / n:.1f} per pair), worst error {worst:.2e}")  # fmt: skip

    small = demo_originals(frames=args.train_frames)
    config = RendererConfig(width=12, embed=6, out_size=(96, 128))
    tc = MasksTrainConfig(steps=args.steps, eval_every=args.steps, lr=1e-2)
    with tempfile.TemporaryDirectory() as tmp:
        result, spent = timed(train, config, tc, small, scorer, tmp, log=lambda m: None)
    first, best = result.history[0], result.best
    print(f"\nrenderer at 96×128, width 12 ({Renderer(config).parameter_count():,} params), {args.steps} steps on {args.train_frames} demo frames:")  # fmt: skip
    print(f"  {result.steps_per_s:.2f} steps/s (batch {tc.batch}); exact score {first.score:.3f} → {best.score:.3f} "
          f"(seg {best.seg:.4f}, pose {best.pose:.5f}, {best.archive_bytes:,} bytes) in {spent:.0f} s with round trips")  # fmt: skip

    import torch

    from tac.lanes import draw

    contest = Renderer(RendererConfig()).eval()
    m = torch.from_numpy(masks[:8].astype(np.int64))
    p = torch.from_numpy(targets[:8])
    next(draw.draw_frames(lambda s: contest(m[s], p[s]), draw.DRAW_BATCH))  # warm-up
    frames, spent = timed(lambda: sum(1 for _ in draw.draw_frames(lambda s: contest(m[s], p[s]), len(m))))  # fmt: skip
    fps = frames / spent
    print(f"  inflate at 384×512, width 24 ({contest.parameter_count():,} params): {fps:.1f} frames/s; "
          f"1200 frames ≈ {C.CONTEST_FRAMES / fps:.0f} s here (the limit is 1800 s)")  # fmt: skip


if __name__ == "__main__":
    main()
