"""The nerv lane on this machine, in one run: training throughput, what trained representations
cost in bytes (coder by coder), inflate speed with the contest projection, and a
rate–distortion table on the demo clip against the codec lane at matched archive sizes.

  training     steps/s and s/epoch at the smoke shape (the demo's pairs) and at the contest
               shape (384×512 output, batch 8, 600 pairs an epoch), on the CPU here and on CUDA
               where torch sees a GPU
  representations
               the smoke profile trained on the demo clip at a few widths (polish included):
               exact score, archive bytes, and the byte prior (`NervTable.prior_bytes`, parameter
               counts × the entropy per value) beside the real bytes
  coders       store, lzma, brotli 11, zstd 22 and order-0 range coding (`constriction`) on the
               trained tensors, each stream separately, then summed; "best" is what ships (the
               payload takes the smallest portable coder per stream)
  inflate      the shipped path at the contest shape: decoder → bicubic to 874×1164 → uint8, 4
               pairs a batch, frames/s and the 1200-frame projection on this machine's cores
  rate–distortion
               every trained representation beside the codec lane (HEVC at the closest archive
               size the crf ladder reaches), both scored exactly on the same clip and stand-ins

Numbers are this machine's (2 cores); the contest runner has 4. Run: `make bench` or
`python benchmarks/bench_nerv.py [--frames 40] [--widths 8,16] [--steps 40]`.
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
from tac.contest.evaluate import evaluate_submission
from tac.contest.originals import demo_originals
from tac.contest.scorer import Scorer
from tac.contest.weights import resolve_weights
from tac.lanes import get_lane
from tac.lanes.codec.params import CodecParams
from tac.lanes.nerv import packing, render
from tac.lanes.nerv.checkpoint import load_checkpoint
from tac.lanes.nerv.model import NervRepresentation
from tac.lanes.nerv.profiles import NERV_PROFILES, NervSettings
from tac.lanes.nerv.space import NervParams, NervTable, payload_prior
from tac.lanes.nerv.train import Objective, train, video_pairs
from tac.quant import entropy
from tac.submission.build import build_submission


def step_rate(profile: str, scorer: Scorer, device: str, batch: int, steps: int = 3) -> float:
    """Seconds per training step (after one warm-up) at a profile's shape, `batch` pairs."""
    config, _ = NervSettings().training(max(batch, 8), NERV_PROFILES.get(profile))
    gen = torch.Generator().manual_seed(0)
    pairs = torch.randint(0, 256, (max(batch, 8), 2, 874, 1164, 3), generator=gen, dtype=torch.uint8)  # fmt: skip
    objective = Objective.of(pairs, scorer, 8, 1.0, 10**7, device)
    rep = NervRepresentation(config).to(device)
    opt = torch.optim.AdamW(rep.parameters(), 1e-3)
    idx = torch.arange(batch, device=device)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        loss, _, _ = objective(rep, idx)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))


def training_table(scorer: Scorer, demo_pairs: int) -> None:
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print("training throughput (one step: decoder, camera-size chain, both scorers, backward):")
    print(f"  {'device':6s} {'shape':8s} {'batch':>5s} {'s/step':>8s} {'steps/s':>8s} {'s/epoch':>10s}  epoch")  # fmt: skip
    for device in devices:
        for profile, batch, pairs in (("smoke", 2, demo_pairs), ("contest", 2, 600), ("contest", 8, 600)):  # fmt: skip
            if device == "cpu" and batch == 8:
                s = step_rate(profile, scorer, device, batch, steps=1)
            else:
                s = step_rate(profile, scorer, device, batch)
            epoch = pairs / batch * s
            print(f"  {device:6s} {profile:8s} {batch:>5d} {s:>8.2f} {1 / s:>8.2f} {epoch:>10,.0f}  {pairs} pairs")  # fmt: skip
    if "cuda" not in devices:
        print("  (no CUDA device here: contest-scale training is a GPU host's job; run this there)")


def entropy_per_value(decoder, latents, bits: int) -> tuple[float, float]:
    """Bits per coded value of the shipped streams: weights, latents (best portable coder)."""
    w_bytes = w_values = 0
    for t in decoder.state_dict().values():
        codes = packing.quantize_tensor(t, bits)[0].numpy()
        w_bytes += len(entropy.encode(codes, entropy.PORTABLE))
        w_values += codes.size
    lat = packing.quantize_latents(latents)[0]
    delta = torch.diff(lat, dim=0, prepend=torch.zeros_like(lat[:1])).numpy()
    l_bytes = min(len(entropy.encode(x, entropy.PORTABLE)) for x in (lat.numpy(), delta))
    return 8 * w_bytes / w_values, 8 * l_bytes / lat.numel()


def coder_table(name: str, tensors: list[np.ndarray]) -> None:
    totals = dict.fromkeys(entropy.CODERS, 0)
    best = 0
    for t in tensors:
        streams = entropy.encode_all(t)
        for coder, stream in streams.items():
            totals[coder] += len(stream)
        best += min(len(s) for s in streams.values())
    values = sum(t.size for t in tensors)
    cells = "  ".join(f"{c} {totals[c]:>8,}" for c in entropy.CODERS)
    print(f"  {name:18s} {values:>8,} values  {cells}  best {best:>8,} ({8 * best / values:.2f} bits/value)")  # fmt: skip


def inflate_rate(width: int, latent_dim: int, threads: int, pairs: int = 8) -> float:
    """Frames/s of the shipped draw at the contest shape (decoder, bicubic up, uint8)."""
    config, _ = NervSettings(latent_dim=latent_dim, width=width).training(pairs, NERV_PROFILES.get("contest"))  # fmt: skip
    rep = NervRepresentation(config).eval()
    torch.set_num_threads(threads)
    next(render.draw_frames(rep.decoder, rep.latents.detach()[: render.DRAW_BATCH]))  # warm-up
    start = time.perf_counter()
    frames = sum(1 for _ in render.draw_frames(rep.decoder, rep.latents.detach()))
    return frames / (time.perf_counter() - start)


def codec_points(demo, scorer: Scorer, work: Path, crfs: list[int], scale: float) -> list[dict]:
    lane = get_lane("codec")
    points = []
    for crf in crfs:
        params = CodecParams(codec="hevc", preset="medium", crf=crf, scale=scale)
        sub = build_submission(lane, params, demo, work / f"hevc{crf}", log=lambda m: None)
        r = evaluate_submission(sub, demo, scorer, out_dir=work / f"hevc{crf}-eval")
        points.append({"what": f"hevc crf {crf} scale {scale}", "bytes": r.archive_bytes, "score": r.score, "seg": r.seg, "pose": r.pose})  # fmt: skip
    return points


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=40, help="demo clip length (frames)")
    ap.add_argument("--widths", default="8,16", help="decoder widths to train (comma-separated)")
    ap.add_argument("--latent-dim", type=int, default=8)
    ap.add_argument("--steps", type=int, default=40, help="smoke training steps per width")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    os.environ.setdefault("TAC_CACHE_DIR", tempfile.mkdtemp(prefix="tac-bench-"))
    torch.set_num_threads(args.threads)
    weights = resolve_weights()
    scorer = Scorer(weights)
    demo = demo_originals(frames=args.frames)
    _, pairs = video_pairs(demo)
    print(f"{os.cpu_count()} cores here, torch {torch.__version__}, {args.threads} threads; scorers {weights.describe()}\n")  # fmt: skip

    training_table(scorer, len(pairs))

    work = Path(tempfile.mkdtemp(prefix="bench-nerv-"))
    widths = [int(w) for w in args.widths.split(",")]
    runs = []
    print(f"\nsmoke representations of the {args.frames}-frame demo clip ({len(pairs)} pairs, latent {args.latent_dim}, {args.steps} steps):")  # fmt: skip
    for width in widths:
        settings = NervSettings(latent_dim=args.latent_dim, width=width, steps=args.steps)
        config, tc = settings.training(len(pairs), NERV_PROFILES.get("smoke"))
        start = time.perf_counter()
        result = train(config, tc, demo, scorer, work / f"w{width}", log=lambda m: None)
        spent = time.perf_counter() - start
        rep, card = load_checkpoint(result.checkpoint)
        w_bits, l_bits = entropy_per_value(rep.decoder, rep.latents, 8)
        w4_bits, _ = entropy_per_value(rep.decoder, rep.latents, 4)
        first = result.history[0]
        polished = ", ".join(f"{d['stage']} {d['before']:.3f} → {d['after']:.3f} {'kept' if d['kept'] else 'dropped'}" for d in result.polished)  # fmt: skip
        print(f"  width {width:3d}: {rep.decoder_parameters():>7,} params, exact score {first.score:.3f} → {result.best.score:.3f} "  # fmt: skip
              f"(seg {result.best.seg:.4f}, pose {result.best.pose:.5f}), {result.best.archive_bytes:,} bytes; "
              f"{result.steps_per_s:.2f} steps/s, {spent:.0f} s with round trips; polish: {polished}")  # fmt: skip
        print(f"             coded weights {w_bits:.2f} bits/value at 8 bits ({w4_bits:.2f} at 4), latents {l_bits:.2f} bits/value")  # fmt: skip
        runs.append({"what": f"nerv w{width} z{args.latent_dim}", "bytes": result.best.archive_bytes, "score": result.best.score, "seg": result.best.seg, "pose": result.best.pose, "rep": rep, "width": width})  # fmt: skip

    print("\nthe byte prior at the contest shape (parameter counts × measured entropy per value):")
    table = NervTable.from_params([NervParams(latent_dim=28, width=w, bits=b) for w in (24, 36, 48) for b in (8, 4)])  # fmt: skip
    for i, prior in enumerate(table.prior_bytes(C.CONTEST_FRAMES)):
        print(f"  width {table.width[i]:3d} {table.bits[i]}-bit: {table.decoder_parameters()[i]:>8,} params → ≈ {prior:>9,.0f} bytes")  # fmt: skip
    for run in runs:  # the same prior at the smoke shape, against the real archive
        prior = float(payload_prior(run["rep"].decoder_parameters(), len(pairs) * args.latent_dim, 8))  # fmt: skip
        print(f"  smoke width {run['width']}: prior ≈ {prior:,.0f} bytes, real {run['bytes']:,} ({run['bytes'] / prior - 1:+.0%})")  # fmt: skip

    print("\nentropy coders on the trained representations (bytes, one stream per tensor):")
    for run in runs:
        rep = run["rep"]
        coder_table(f"{run['what']} weights", [packing.quantize_tensor(t, 8)[0].numpy() for t in rep.decoder.state_dict().values()])  # fmt: skip
        lat = packing.quantize_latents(rep.latents)[0]
        coder_table(f"{run['what']} latents", [torch.diff(lat, dim=0, prepend=torch.zeros_like(lat[:1])).numpy()])  # fmt: skip

    print(f"\ninflate at the contest shape ({args.threads} threads, 4 pairs a batch, camera-size uint8 frames):")  # fmt: skip
    for width in (24, 36):
        fps = inflate_rate(width, 28, args.threads)
        projected = C.CONTEST_FRAMES / fps
        print(f"  width {width}: {fps:.2f} frames/s; 1200 frames ≈ {projected:.0f} s here ({projected / C.INFLATE_TIME_LIMIT_S:.0%} of the 1800 s limit)")  # fmt: skip

    print("\nrate–distortion on the demo clip, exact scores (nerv smoke vs the codec lane):")
    codec = codec_points(demo, scorer, work, crfs=[51, 46, 40, 34, 28], scale=0.45)
    print(f"  {'what':28s} {'bytes':>9s} {'100·seg':>8s} {'√10pose':>8s} {'score':>8s}")
    for nerv in runs:
        match = min(codec, key=lambda p: abs(np.log(p["bytes"] / nerv["bytes"])))
        for p in (nerv, match):
            print(f"  {p['what']:28s} {p['bytes']:>9,} {100 * p['seg']:>8.3f} {np.sqrt(10 * p['pose']):>8.3f} {p['score']:>8.3f}")  # fmt: skip
    print("  codec ladder: " + ", ".join(f"crf {p['what'].split()[2]} {p['bytes']:,} B → {p['score']:.2f}" for p in codec))  # fmt: skip


if __name__ == "__main__":
    main()
