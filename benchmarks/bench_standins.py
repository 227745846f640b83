"""Stand-in scorers, old against new, side by side in one run on the demo clip.

  old  the official architectures with random weights, BatchNorm statistics measured on noisy
       synthetic frames and the SegNet head scaled to a trained network's confidence (what tac
       shipped before the stand-ins were trained; rebuilt here from its seed)
  new  tac's stand-ins now: SegNet trained on the synthetic world's classes (shipped, see
       tac/contest/standin/recipe.json); PoseNet still the seeded one (not trained yet, issue 14)

For each: how well its SegNet sees held-out drives (pixel accuracy against the renderer's
labels), the two distortion terms of the challenge's
baseline_fast recipe (x265 crf 30, 45 % scale, bicubic up) and their ratio, and both terms as
damage grows (scale 0.75 → 0.5 → 0.25 at crf 30; crf 20 → 30 → 40 at 45 % scale). Every
archive is built once and scored by both.

Run: `make bench` or `python benchmarks/bench_standins.py [--frames N]`.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file

from tac.contest.evaluate import evaluate_submission
from tac.contest.networks import PoseNet, SegNet, calibrate_batchnorm
from tac.contest.originals import demo_originals
from tac.contest.scorer import Scorer
from tac.contest.standin import metrics
from tac.contest.weights import ScorerWeights, standin_weights
from tac.hashing import sha256_file
from tac.lanes import get_lane
from tac.lanes.codec.params import CodecParams
from tac.submission.build import build_submission

BASELINE_FAST = CodecParams(codec="hevc", crf=30, preset="fast", scale=0.45)
SCALES = (0.75, 0.5, 0.25)
CRFS = (20, 30, 40)

# --- the old stand-ins, as tac made them before they were trained ------------------------------
OLD_SCENE_OFFSET = 1000  # a different drive than the demo clip's
OLD_NOISE = 60.0  # grey levels of seeded noise on the calibration frames
OLD_SEG_LOGIT_STD = 8.0


@torch.no_grad()
def old_standins(folder: Path, seed: int = 0) -> ScorerWeights:
    from tac.contest.frames import resize_for_scorers, rgb_to_yuv6
    from tac.video.demo import render_frame

    torch.manual_seed(seed)
    posenet, segnet = PoseNet(), SegNet()
    gen = torch.Generator().manual_seed(seed)
    times = range(0, 48, 6)
    frames = torch.stack(
        [
            torch.from_numpy(render_frame(t + dt, OLD_SCENE_OFFSET + seed))
            for t in times
            for dt in (0, 1)
        ]
    )
    frames = frames.permute(0, 3, 1, 2).float()
    frames = (frames + torch.randn(frames.shape, generator=gen) * OLD_NOISE).clamp(0, 255)
    small = resize_for_scorers(frames)
    calibrate_batchnorm(posenet, rgb_to_yuv6(small).reshape(len(times), 12, 192, 256).split(4))
    calibrate_batchnorm(segnet, small[1::2].split(4))
    head = segnet.segmentation_head[0]
    gain = OLD_SEG_LOGIT_STD / float(segnet(small[1::2]).std())
    head.weight.mul_(gain)
    head.bias.mul_(gain)
    paths = folder / "old-posenet.safetensors", folder / "old-segnet.safetensors"
    for net, path in zip((posenet, segnet), paths, strict=True):
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return ScorerWeights(*paths, *(sha256_file(p) for p in paths), "stand-in", seed)


# --- the comparison ----------------------------------------------------------------------------


def terms(result) -> tuple[float, float]:
    return 100 * result.seg, math.sqrt(10 * result.pose)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=40, help="demo clip length (default 40)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    originals = demo_originals(frames=args.frames)
    settings = {"baseline_fast": BASELINE_FAST}
    settings |= {f"scale {s}": BASELINE_FAST.model_copy(update={"scale": s}) for s in SCALES}
    settings |= {f"crf {c}": BASELINE_FAST.model_copy(update={"crf": c}) for c in CRFS}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        weights = {"old": old_standins(work), "new": standin_weights()}
        frames = metrics.held_out_frames()
        print(f"held-out drives: {len(frames.rgb)} frames")
        for name, w in weights.items():
            acc = metrics.seg_accuracy(w.segnet_path, frames)
            print(f"  {name}: SegNet pixel accuracy {acc:.3f}   ({w.weights_id})")
        subs = {
            label: build_submission(get_lane("codec"), p, originals, work / label.replace(" ", "_"))
            for label, p in settings.items()
        }
        scorers = {name: Scorer(w) for name, w in weights.items()}
        print(f"\ndemo clip, {args.frames} frames: 100·seg and √(10·pose), old | new")
        rows = {}
        for label, sub in subs.items():
            rows[label] = {n: terms(evaluate_submission(sub, originals, s)) for n, s in scorers.items()}  # fmt: skip
            (old_seg, old_pose), (new_seg, new_pose) = rows[label]["old"], rows[label]["new"]
            print(
                f"  {label:14s} old {old_seg:8.4f} {old_pose:8.4f} | new {new_seg:8.4f} {new_pose:8.4f}"
            )
        for name in scorers:
            seg, pose = rows["baseline_fast"][name]
            print(f"baseline_fast {name}: 100·seg / √(10·pose) = {seg / pose:.2f}")
        for name in scorers:
            for sweep in (
                [f"scale {s}" for s in SCALES],
                [f"crf {c}" for c in CRFS],
            ):
                rising = all(
                    values == sorted(values) and values[0] < values[-1]
                    for values in ([rows[k][name][t] for k in sweep] for t in (0, 1))
                )
                print(f"{name}: both terms rise along {' → '.join(sweep)}: {rising}")


if __name__ == "__main__":
    main()
