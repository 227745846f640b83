"""Training the renderer through the frozen scorers, from exactly what inflate will have.

    masks  SegNet's classes of every pair's second frame, at the renderer's size, coded with the
           chosen mask codec and decoded again (a lossy codec's errors are what the renderer
           sees at inflate, so it trains on them)
    poses  the PoseNet targets, through the pose side channel and back
    step   renderer (QAT: weights at their shipped values, gradients straight through)
             → the shared evaluation chain (`tac.lanes.chain`: bicubic to camera size, rounding,
               the scorers' own preprocessing) → 100·seg surrogate + √(10·pose MSE)
             + rate weight · 25 · (estimated renderer bytes) / original bytes

The mask and pose bytes are fixed by the codec settings, so only the renderer's bytes have a
gradient; the exact round trip counts all of them. Every `eval_every` steps the EMA goes through
the real archive round trip (pack, zip, unpack, decode the masks and poses, draw every frame as
inflate draws it, score with the exact evaluator's functions) and the best is kept. Then, if the
configuration asks for it, the test-time optimisation stage (`tto_fit.py`): a probe fitted and
shipped with the best payload only if the exact round trip, inflate's refinement included, scores
lower.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch.func import functional_call

from tac import atomic
from tac.checkpoints import read_checkpoint, write_checkpoint
from tac.contest import constants as C
from tac.contest.scorer import Scorer
from tac.errors import TacError
from tac.lanes.chain import (
    Chain,
    Evaluation,
    Telemetry,
    TrainResult,
    evaluate_drawn,
    qat_state,
    video_pairs,
    warmup_cosine,
    weight_bytes,
)
from tac.lanes.masks import payload
from tac.lanes.masks import pose as pose_channel
from tac.lanes.masks.codecs import MASK_CODECS
from tac.lanes.masks.masks import pose_targets, video_masks
from tac.lanes.masks.profiles import MasksTrainConfig
from tac.lanes.masks.render import draw_frames
from tac.lanes.masks.renderer import Renderer, RendererConfig
from tac.lanes.masks.tto_fit import tto_stage
from tac.train.averaging import ParameterAverage
from tac.video.decode import count_frames


def scaled_masks(masks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Masks at the scorers' size → every k-th label down to `size` (nearest; k must divide)."""
    h, w = masks.shape[1:]
    if h % size[0] or w % size[1]:
        raise TacError(f"a renderer of {size[0]}×{size[1]} cannot take masks of {h}×{w}: the size must divide it")  # fmt: skip
    return np.ascontiguousarray(masks[:, :: h // size[0], :: w // size[1]])


def side_streams(masks: np.ndarray, poses: np.ndarray, tc: MasksTrainConfig) -> tuple[bytes, bytes]:
    """The coded masks and poses: what the payload carries beside the renderer."""
    knobs = {"crf": tc.crf} if tc.crf is not None else {}
    return MASK_CODECS.get(tc.codec).encode(masks, **knobs), pose_channel.encode(poses, tc.pose_bits)  # fmt: skip


def warm_start(renderer: Renderer, path: Path, log: Callable[[str], None]) -> None:
    """Load a masks checkpoint's weights into `renderer`, which must have its shape."""
    state, card = read_checkpoint(path, "a masks checkpoint", lane="masks")
    warm, want = RendererConfig.from_dict(card["config"]), renderer.config
    if warm != want:
        raise TacError(f"{path}: a width-{warm.width} {warm.out_size[0]}×{warm.out_size[1]} renderer, not width {want.width} at {want.out_size[0]}×{want.out_size[1]}; a warm start keeps the shape (change codec, crf, bits, pose_bits or rate_weight instead)")  # fmt: skip
    renderer.load_state_dict(state, strict=True)
    log(f"warm start from {path} (its best: score {card['best']['score']:.4f})")


def train(
    config: RendererConfig,
    tc: MasksTrainConfig,
    originals,
    scorer: Scorer,
    out_dir: Path,
    log: Callable[[str], None] = print,
    device: str = "cpu",
    init_from: Path | None = None,
) -> TrainResult:
    """Fit a renderer to the one original video; writes `out_dir/renderer.safetensors` (the best
    exactly-scored EMA, float) with its card, the payload it scored (`masks.bin`) and telemetry.
    `init_from`: a masks checkpoint of the same renderer shape to start from (a warm start may
    change the codecs, bits, rate weight and schedule)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name, pairs_u8 = video_pairs(originals)
    video = originals.path(name)
    masks = scaled_masks(video_masks(scorer, video), config.out_size)
    mask_stream, pose_stream = side_streams(masks, pose_targets(scorer, video), tc)
    # train on what inflate will decode
    seen_masks = torch.from_numpy(MASK_CODECS.get(tc.codec).decode(mask_stream).astype(np.int64)).to(device)  # fmt: skip
    seen_poses = torch.from_numpy(pose_channel.decode(pose_stream)).to(device)
    log(f"masks: {tc.codec} {len(mask_stream):,} bytes, {float((seen_masks.cpu().numpy() != masks).mean()):.4%} labels changed; poses {len(pose_stream):,} bytes")  # fmt: skip
    chain = Chain.of(pairs_u8, scorer, device)
    torch.manual_seed(tc.seed)
    renderer = Renderer(config)
    if init_from is not None:
        warm_start(renderer, Path(init_from), log)
    renderer = renderer.to(device)
    opt = torch.optim.AdamW(renderer.parameters(), lr=tc.lr, weight_decay=0.0)
    sched = warmup_cosine(opt, tc.steps, tc.warmup)
    ema = ParameterAverage(renderer, tc.ema_decay)
    byte_weight = tc.rate_weight * C.RATE_WEIGHT / originals.total_bytes
    gen = torch.Generator().manual_seed(tc.seed)
    record = Telemetry(out_dir)
    ckpt = out_dir / "renderer.safetensors"

    def score(blob: bytes, step: int, event: str = "exact") -> Evaluation:
        """The exact round trip of a payload: unpack, decode, (refine,) draw as inflate draws, score."""
        shipped, m, p = payload.load(blob)
        ev = evaluate_drawn(draw_frames(shipped, m, p), {payload.MEMBER: blob}, video, originals.total_bytes, scorer, step)  # fmt: skip
        record({"event": event, **asdict(ev)})
        return ev

    def round_trip(model: Renderer, step: int) -> tuple[Evaluation, bytes]:
        blob = payload.pack(model, tc.bits, tc.codec, mask_stream, pose_stream)
        return score(blob, step), blob

    def card(ev: Evaluation, **extra) -> dict:
        return {"v": 1, "lane": "masks", "config": json.loads(config.to_json()), "train": tc.model_dump(), "best": asdict(ev), "video": {"name": name, "frames": count_frames(video), "original_bytes": originals.total_bytes}, **extra}  # fmt: skip

    def keep(model: Renderer, ev: Evaluation, blob: bytes) -> None:
        atomic.write_bytes(out_dir / payload.MEMBER, blob)
        write_checkpoint(ckpt, model, card(ev))

    best, blob = round_trip(ema.model, 0)
    keep(ema.model, best, blob)
    history = [best]
    log(f"renderer step 0: exact score {best.score:.4f} (seg {best.seg:.6f}, pose {best.pose:.6f}, {best.archive_bytes:,} bytes)")  # fmt: skip
    start = time.monotonic()
    for step in range(1, tc.steps + 1):
        renderer.train()
        idx = torch.randperm(len(pairs_u8), generator=gen)[: tc.batch].to(device)
        drawn = functional_call(renderer, qat_state(renderer, tc.bits), (seen_masks[idx], seen_poses[idx]))  # fmt: skip
        distortion = chain.distortion(drawn, idx)
        est = weight_bytes(renderer, tc.bits)
        loss = distortion + byte_weight * est
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(renderer.parameters(), tc.clip)
        opt.step()
        sched.step()
        ema.update(renderer)
        record({"event": "step", "step": step, "loss": loss.item(), "distortion": distortion.item(), "est_bytes": est.item()})  # fmt: skip
        if step % tc.eval_every == 0 or step == tc.steps:
            ev, blob = round_trip(ema.model, step)
            history.append(ev)
            kept = ev.score < best.score
            if kept:
                best = ev
                keep(ema.model, best, blob)
            log(f"renderer step {step}/{tc.steps}: loss {loss.item():.4f}, exact score {ev.score:.4f} "
                f"(seg {ev.seg:.6f}, pose {ev.pose:.6f}, {ev.archive_bytes:,} bytes){' kept' if kept else ''}")  # fmt: skip
    steps_per_s = tc.steps / max(time.monotonic() - start, 1e-9)
    if tc.tto_steps:  # test-time optimisation: shipped only if the exact score says so
        blob, best, decision = tto_stage((out_dir / payload.MEMBER).read_bytes(), best, tc, scorer, lambda b: score(b, tc.steps, "exact:tto"), log)  # fmt: skip
        atomic.write_bytes(out_dir / payload.MEMBER, blob)
        atomic.write_json(ckpt.with_suffix(".json"), card(best, tto=decision))
    return TrainResult(ckpt, best, history, steps_per_s)
