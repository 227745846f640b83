"""The masks + renderer lane (issue 16), in one run: its mask codecs side by side on the same
masks, the pose side channel, the renderer's training and inflate, test-time optimisation, and
the demo clip's rate–distortion table against the nerv and codec lanes.

  masks        SegNet's classes on the second frame of every pair of the demo clip, 384×512
               (the exact evaluation's ground truth, so stand-in scorers here)
  codecs       bytes per mask, label error (the fraction of pixels decoded to another class:
               what a renderer reproducing the decoded masks would pay in seg distortion, roughly),
               encode and decode masks/s, and the decode time projected to the contest's 600
               masks; lossy codecs at a ladder of crf values
  pose         the side channel's bytes and worst error per bit width, on the demo's targets
  training     renderer steps/s at the smoke and contest shapes on this machine's device (CPU
               here; CUDA where a device is lent: --device cuda)
  inflate      frames/s at the contest shape (384×512) per width, the 1200-frame projection, and
               the lane's cost model's prediction beside it
  TTO          the test-time optimisation stage on a trained renderer: exact score before and
               after, the probe's bytes and agreement with SegNet, kept or not
  rate–distortion  exact scores on one demo clip: masks (lossy and lossless masks), nerv (smoke)
               and the codec lane's HEVC ladder, at the bytes each lands on

Run: `make bench` or `python benchmarks/bench_masks.py [--frames 120] [--rd-frames 16]`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from tac.contest import constants as C
from tac.contest.originals import demo_originals
from tac.contest.scorer import Scorer
from tac.contest.weights import resolve_weights
from tac.lanes import get_lane
from tac.lanes.chain import Chain, Evaluation, evaluate_drawn, qat_state, video_pairs
from tac.lanes.masks import payload, pose
from tac.lanes.masks.codecs import MASK_CODECS
from tac.lanes.masks.masks import pose_targets, video_masks
from tac.lanes.masks.profiles import MASKS_PROFILES, MasksSettings
from tac.lanes.masks.render import draw_frames
from tac.lanes.masks.renderer import Renderer, RendererConfig
from tac.lanes.masks.space import MasksParams, MasksTable
from tac.lanes.masks.train import train
from tac.lanes.masks.tto_fit import tto_stage
from tac.lanes.nerv.profiles import NERV_PROFILES, NervSettings
from tac.lanes.nerv.train import train as train_nerv

LADDERS = {"av1": (30, 40, 50, 60), "hevc": (20, 30, 40)}


def timed(fn, *args, **kw):
    start = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - start


def codec_table(masks: np.ndarray) -> None:
    n = len(masks)
    print(f"\n{'codec':8s} {'crf':>4s} {'bytes/mask':>11s} {'label error':>12s} {'enc masks/s':>12s} {'dec masks/s':>12s} {'600 masks dec':>14s}")  # fmt: skip
    rows = [(name, None) for name in ("context", "lzma", "brotli")]
    rows += [(name, crf) for name, ladder in LADDERS.items() for crf in ladder]
    for name, crf in rows:
        codec = MASK_CODECS.get(name)
        blob, enc_s = timed(codec.encode, masks, **({"crf": crf} if crf is not None else {}))
        back, dec_s = timed(codec.decode, blob)
        error = float((back != masks).mean())
        ship = "" if codec.portable else "  (not shipped: constriction)"
        print(f"{name:8s} {crf if crf is not None else '-':>4} {len(blob) / n:>11,.0f} {error:>12.5f} "
              f"{n / enc_s:>12.1f} {n / dec_s:>12.1f} {600 * dec_s / n:>12.1f} s{ship}")  # fmt: skip


def pose_table(targets: np.ndarray) -> None:
    n = len(targets)
    print(f"\npose side channel ({n} pairs × {targets.shape[1]} targets):")
    for bits in (6, 8, 10, 12):
        blob = pose.encode(targets, bits)
        worst = float(np.abs(pose.decode(blob) - targets).max())
        print(f"  {bits:2d} bits: {len(blob):>6,} bytes ({len(blob) / n:.1f} per pair), worst error {worst:.2e}")  # fmt: skip


def step_s(
    scorer: Scorer, device: str, config: RendererConfig, batch: int, steps: int = 3
) -> float:
    """Seconds per training step (median after a warm-up): `batch` pairs through the renderer
    (QAT) and the shared chain, forward and back."""
    gen = torch.Generator().manual_seed(0)
    pairs = torch.randint(0, 256, (max(batch, 4), 2, 874, 1164, 3), generator=gen, dtype=torch.uint8)  # fmt: skip
    chain = Chain.of(pairs, scorer, device)
    renderer = Renderer(config).to(device)
    opt = torch.optim.AdamW(renderer.parameters(), 1e-3)
    masks = torch.randint(0, 5, (batch, *config.out_size), generator=gen).to(device)
    poses = torch.randn(batch, 6, generator=gen).to(device)
    idx = torch.arange(batch, device=device)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        drawn = torch.func.functional_call(renderer, qat_state(renderer, 8), (masks, poses))
        loss = chain.distortion(drawn, idx)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))


def training_table(scorer: Scorer, device: str) -> None:
    print(f"\nrenderer training on {device} (renderer with QAT + the shared chain at camera size, forward and back):")  # fmt: skip
    for name, batch in (("smoke", 2), ("contest", 2), ("contest", 8)):
        profile = MASKS_PROFILES.get(name)
        config, _ = MasksSettings(width=12 if name == "smoke" else 24).training(profile)
        spent = step_s(scorer, device, config, batch)
        print(f"  {name:8s} {config.out_size[0]}×{config.out_size[1]} w{config.width} batch {batch}: {spent:.2f} s/step "
              f"({spent / batch:.2f} s per pair-step; an epoch of 600 pairs ≈ {600 / batch * spent:,.0f} s)")  # fmt: skip


def inflate_table(masks: np.ndarray, targets: np.ndarray) -> None:
    print("\ninflate at the contest shape (384×512 renderer, 4 pairs a batch, camera-size uint8 frames):")  # fmt: skip
    m = torch.from_numpy(masks[:8].astype(np.int64))
    p = torch.from_numpy(targets[:8])
    predicted = MasksTable.from_params([MasksParams(width=w) for w in (16, 24)]).inflate_s(C.CONTEST_FRAMES)  # fmt: skip
    for width, model_s in zip((16, 24), predicted, strict=True):
        contest = Renderer(RendererConfig(width=width)).eval()
        next(draw_frames(contest, m, p))  # warm-up
        frames, spent = timed(lambda r=contest: sum(1 for _ in draw_frames(r, m, p)))
        projected = C.CONTEST_FRAMES * spent / frames
        print(f"  width {width} ({contest.parameter_count():,} params): {frames / spent:.1f} frames/s; 1200 frames ≈ "
              f"{projected:.0f} s here ({projected / C.INFLATE_TIME_LIMIT_S:.0%} of the 1800 s limit); cost model {model_s:.0f} s")  # fmt: skip


def masks_point(demo, scorer: Scorer, work: Path, settings: MasksSettings, steps: int) -> dict:
    config, tc = settings.training(MASKS_PROFILES.get("smoke"), steps=steps)
    result, spent = timed(train, config, tc, demo, scorer, work, log=lambda m: None)
    first, best = result.history[0], result.best
    print(f"  {settings.short()}: exact score {first.score:.3f} → {best.score:.3f} (seg {best.seg:.4f}, pose {best.pose:.5f}), "  # fmt: skip
          f"{best.archive_bytes:,} bytes; {result.steps_per_s:.2f} steps/s, {spent:.0f} s with round trips")  # fmt: skip
    return {"what": settings.short(), "bytes": best.archive_bytes, "score": best.score, "seg": best.seg, "pose": best.pose, "tc": tc, "dir": work, "best": best}  # fmt: skip


def tto_measurement(demo, scorer: Scorer, point: dict) -> None:
    blob = (point["dir"] / payload.MEMBER).read_bytes()
    video = demo.path(demo.video_names[0])

    def score(b: bytes) -> Evaluation:
        shipped, m, p = payload.load(b)
        return evaluate_drawn(draw_frames(shipped, m, p), {payload.MEMBER: b}, video, demo.total_bytes, scorer)  # fmt: skip

    print(f"\ntest-time optimisation on {point['what']} (exact round trips; kept only if lower):")
    for steps, lr in ((8, 1e-3), (32, 1e-3), (32, 1e-2)):
        tc = point["tc"].model_copy(update={"tto_steps": steps, "tto_lr": lr, "probe_steps": 400})
        _, _, d = tto_stage(blob, point["best"], tc, scorer, score, log=lambda m: None)
        print(f"  {steps:3d} steps at lr {lr:g}: {d['before']:.4f} → {d['after']:.4f} (seg {d['seg_before']:.5f} → {d['seg_after']:.5f}; "  # fmt: skip
              f"probe {d['probe_bytes']:,} bytes, {d['probe_agreement']:.1%} agreement with SegNet; {d['seconds']:.0f} s) {'kept' if d['kept'] else 'not kept'}")  # fmt: skip


def codec_points(demo, scorer: Scorer, work: Path, crfs=(51, 46, 40, 34), scale: float = 0.45) -> list[dict]:  # fmt: skip
    from tac.contest.evaluate import evaluate_submission
    from tac.lanes.codec.params import CodecParams
    from tac.submission.build import build_submission

    points = []
    for crf in crfs:
        params = CodecParams(codec="hevc", preset="medium", crf=crf, scale=scale)
        sub = build_submission(get_lane("codec"), params, demo, work / f"hevc{crf}", log=lambda m: None)  # fmt: skip
        r = evaluate_submission(sub, demo, scorer, out_dir=work / f"hevc{crf}-eval")
        points.append({"what": f"codec hevc crf {crf} scale {scale}", "bytes": r.archive_bytes, "score": r.score, "seg": r.seg, "pose": r.pose})  # fmt: skip
    return points


def rd_table(scorer: Scorer, frames: int, steps: int) -> None:
    demo = demo_originals(frames=frames)
    _, pairs = video_pairs(demo)
    work = Path(tempfile.mkdtemp(prefix="bench-masks-"))
    print(f"\nrate–distortion on the {frames}-frame demo clip, exact scores, smoke profiles ({steps} steps):")  # fmt: skip
    points = [
        masks_point(
            demo, scorer, work / "av1", MasksSettings(codec="av1", crf=40, width=12), steps
        ),
        masks_point(demo, scorer, work / "brotli", MasksSettings(codec="brotli", width=12), steps),
    ]
    nerv = NervSettings(latent_dim=8, width=16)
    config, tc = nerv.training(len(pairs), NERV_PROFILES.get("smoke"), steps=steps)
    result = train_nerv(config, tc, demo, scorer, work / "nerv", log=lambda m: None)
    points.append({"what": nerv.short(), "bytes": result.best.archive_bytes, "score": result.best.score, "seg": result.best.seg, "pose": result.best.pose})  # fmt: skip
    points += codec_points(demo, scorer, work)
    print(f"\n  {'what':40s} {'bytes':>9s} {'100·seg':>8s} {'√10pose':>8s} {'score':>8s}")
    for p in sorted(points, key=lambda p: p["bytes"]):
        print(f"  {p['what']:40s} {p['bytes']:>9,} {100 * p['seg']:>8.3f} {np.sqrt(10 * p['pose']):>8.3f} {p['score']:>8.3f}")  # fmt: skip
    tto_measurement(demo, scorer, points[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=120, help="demo clip length for the codec tables (frames; masks are half)")  # fmt: skip
    ap.add_argument("--rd-frames", type=int, default=16, help="demo clip length the lanes train on")
    ap.add_argument("--steps", type=int, default=40, help="smoke training steps per trained point")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="where the training rates are measured")  # fmt: skip
    args = ap.parse_args()
    os.environ.setdefault("TAC_CACHE_DIR", tempfile.mkdtemp(prefix="tac-bench-"))
    weights = resolve_weights()
    scorer = Scorer(weights)
    demo = demo_originals(frames=args.frames)
    video = demo.path(demo.video_names[0])
    masks, spent = timed(video_masks, scorer, video)
    shares = np.bincount(masks.ravel(), minlength=C.SEG_CLASSES) / masks.size
    print(
        f"{len(masks)} masks of {masks.shape[1]}×{masks.shape[2]} from the {args.frames}-frame demo clip in {spent:.0f} s "  # fmt: skip
        f"({os.cpu_count()} cores, torch {torch.__version__}; scorers {weights.describe()})"
    )
    print("class shares: " + ", ".join(f"{k}: {s:.1%}" for k, s in enumerate(shares)))
    codec_table(masks)
    targets = pose_targets(scorer, video)
    pose_table(targets)
    training_table(Scorer(weights, device=args.device), args.device)
    inflate_table(masks, targets)
    rd_table(scorer, args.rd_frames, args.steps)


if __name__ == "__main__":
    main()
