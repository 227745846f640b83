"""Overfitting the representation to one video, through the frozen scorers.

Each step draws a batch of pairs and follows the evaluation chain differentiably:

    decoder (QAT: weights and latents at their shipped values, gradients straight through)
      → bicubic up to the camera size → clamp + straight-through round (what a .raw stores)
      → the scorers' own resize and YUV6 (tac.train.losses.scorer_view)
      → 100·seg surrogate + √(10·pose MSE) + rate weight · 25 · (estimated payload bytes) / original bytes

against targets computed once from the originals. The rate term is the score's own: the
entropy of the quantized weights and latents (`tac.quant.rate`) in bytes, weighed as the score
weighs archive bytes (`rate_weight` 1.0), so training trades distortion against bytes at the
score's exchange rate. AdamW with a larger learning rate for the latents, warm-up and cosine
decay, gradient clipping and an EMA of everything.

Every `eval_every` steps the EMA goes through the real archive round trip — quantize, pack,
zip, unpack, draw the camera-size frames exactly as the submission's inflate draws them, score
them with the exact evaluator's own functions against the original video — and the best score
is kept. That score is the one `tac submission build` reproduces from the checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch.func import functional_call

from tac.contest import constants as C
from tac.contest.originals import Originals
from tac.contest.scorer import Scorer
from tac.errors import TacError
from tac.lanes.chain import (
    Chain,
    Evaluation,
    Telemetry,
    TrainResult,
    evaluate_drawn,
    qat_state,
    shipped,
    video_pairs,
    warmup_cosine,
    weight_bytes,
)
from tac.lanes.nerv import packing, render
from tac.lanes.nerv.checkpoint import load_checkpoint, save_checkpoint
from tac.lanes.nerv.model import NervConfig, NervRepresentation
from tac.lanes.nerv.profiles import NervTrainConfig
from tac.quant.rate import entropy_bits
from tac.train.averaging import ParameterAverage
from tac.video.decode import count_frames

PAYLOAD_MEMBER = "nerv.bin"  # the archive's only member


# --- what the payload will hold, differentiably -----------------------------------------------


def qat_forward(rep: NervRepresentation, idx: torch.Tensor, bits: int) -> torch.Tensor:
    """Draw pairs `idx` with the weights and latents at the values the payload will hold."""
    state = qat_state(rep.decoder, bits)
    codes, low, step = packing.quantize_latents(rep.latents)
    latents = shipped(rep.latents, packing.dequantize_latents(codes, low, step).to(rep.latents))
    return functional_call(rep.decoder, state, (latents[idx],))


def estimated_bytes(rep: NervRepresentation, bits: int) -> torch.Tensor:
    """The payload's entropy-coded bytes as a differentiable function of weights and latents."""
    _, low, step = packing.quantize_latents(rep.latents)
    z = (rep.latents - low.float().to(rep.latents)) / step.float().to(rep.latents)
    latents = entropy_bits(torch.diff(z, dim=0), -packing.LATENT_LEVELS, packing.LATENT_LEVELS)
    return weight_bytes(rep.decoder, bits) + latents / 8


# --- the exact round trip ---------------------------------------------------------------------


def score_payload(blob: bytes, video: Path, original_bytes: int, scorer: Scorer, step: int = 0) -> Evaluation:  # fmt: skip
    """Unpack, draw every frame as inflate does, and score like `evaluate_submission`."""
    decoder, latents = packing.load(blob)
    return evaluate_drawn(render.draw_frames(decoder, latents), {PAYLOAD_MEMBER: blob}, video, original_bytes, scorer, step)  # fmt: skip


# --- training ---------------------------------------------------------------------------------


@dataclass
class NervTrainResult(TrainResult):
    polished: list[dict] = field(default_factory=list)  # polish.Decision per stage


def _shape(c: NervConfig) -> str:
    return f"{c.pairs}-pair, latent {c.latent_dim}, channels {'/'.join(map(str, c.channels))}, {c.out_size[0]}×{c.out_size[1]}"  # fmt: skip


@dataclass
class Objective:
    """The training loss of a batch of pairs: the evaluation chain against the cached targets
    (`tac.lanes.chain`), plus the rate term at the score's exchange rate. Training and
    refinement both minimise it."""

    chain: Chain
    byte_weight: float
    bits: int

    @classmethod
    def of(cls, pairs_u8: torch.Tensor, scorer: Scorer, bits: int, rate_weight: float, original_bytes: int, device="cpu") -> Objective:  # fmt: skip
        """The objective for a video's pairs: the scorers on `device`, targets computed once."""
        return cls(Chain.of(pairs_u8, scorer, device), rate_weight * C.RATE_WEIGHT / original_bytes, bits)  # fmt: skip

    def __call__(self, rep: NervRepresentation, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        """(loss, distortion, estimated payload bytes) for pairs `idx` (on the training device)."""
        distortion = self.chain.distortion(qat_forward(rep, idx, self.bits), idx)
        est = estimated_bytes(rep, self.bits)
        return distortion + self.byte_weight * est, distortion, est


@dataclass
class RoundTrip:
    """The exact archive round trip of a representation, recorded in the telemetry."""

    video: Path
    original_bytes: int
    scorer: Scorer
    bits: int
    record: Callable[[dict], None]

    def __call__(self, rep: NervRepresentation, step: int, event: str = "exact") -> Evaluation:
        blob = packing.pack(rep.decoder, rep.latents.detach(), self.bits)
        ev = score_payload(blob, self.video, self.original_bytes, self.scorer, step)
        self.record({"event": event, **asdict(ev)})
        return ev


def train(
    config: NervConfig,
    tc: NervTrainConfig,
    originals: Originals,
    scorer: Scorer,
    out_dir: Path,
    log: Callable[[str], None] = print,
    init_from: Path | None = None,
    device: str = "cpu",
    rung: Callable[..., None] | None = None,
) -> NervTrainResult:
    """Fit a representation of the one original video; writes `out_dir/nerv.safetensors` (the
    best exactly-scored EMA, float, with its evaluation) and `out_dir/telemetry.jsonl`.

    With `rung` (a job's `JobContext.rung`), the EMA behind each exact evaluation is kept as
    `out_dir/rungs/step-NNNNNN.safetensors` and reported, then the final checkpoint: the loop
    judges the job on them and warm-starts children from them."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name, pairs_u8 = video_pairs(originals)
    video = originals.path(name)
    if config.pairs != len(pairs_u8):
        raise TacError(f"config draws {config.pairs} pairs, {video} has {len(pairs_u8)}")
    objective = Objective.of(pairs_u8, scorer, tc.bits, tc.rate_weight, originals.total_bytes, device)  # fmt: skip
    rep = NervRepresentation(config, seed=tc.seed)
    if init_from is not None:
        warm, card = load_checkpoint(init_from)
        if warm.decoder.config != config:
            raise TacError(f"{init_from}: a {_shape(warm.decoder.config)} representation, not {_shape(config)}; a warm start keeps the shape (change bits or rate_weight instead)")  # fmt: skip
        rep.load_state_dict(warm.state_dict())
        log(f"warm start from {init_from} (its best: score {card['best']['score']:.4f})")
    rep.to(device)
    opt = torch.optim.AdamW(
        [
            {"params": rep.decoder.parameters(), "lr": tc.lr},
            {"params": [rep.latents], "lr": tc.lr * tc.latent_lr_scale, "weight_decay": 0.0},
        ],
        weight_decay=tc.weight_decay,
    )
    sched = warmup_cosine(opt, tc.steps, tc.warmup)
    ema = ParameterAverage(rep, tc.ema_decay)
    gen = torch.Generator().manual_seed(tc.seed)
    record = Telemetry(out_dir)
    ckpt = out_dir / "nerv.safetensors"
    video_info = {
        "name": name,
        "frames": count_frames(video),
        "original_bytes": originals.total_bytes,
    }

    round_trip = RoundTrip(video, originals.total_bytes, scorer, tc.bits, record)

    def report(ev: Evaluation) -> None:
        if rung is not None:
            path = out_dir / "rungs" / f"step-{ev.step:06d}.safetensors"
            path.parent.mkdir(exist_ok=True)
            save_checkpoint(path, ema.model, tc, ev, video_info)
            rung(ev.step, tc.steps, ev, path)

    best = round_trip(ema.model, 0)
    history = [best]
    save_checkpoint(ckpt, ema.model, tc, best, video_info)
    report(best)
    log(f"nerv step 0: exact score {best.score:.4f} (seg {best.seg:.6f}, pose {best.pose:.6f}, {best.archive_bytes:,} bytes)")  # fmt: skip
    start = time.monotonic()
    for step in range(1, tc.steps + 1):
        rep.train()
        idx = torch.randperm(config.pairs, generator=gen)[: tc.batch]
        loss, distortion, est = objective(rep, idx.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(rep.parameters(), tc.clip)
        opt.step()
        sched.step()
        ema.update(rep)
        if step % tc.log_every == 0 or step == tc.steps:
            record({"event": "step", "step": step, "loss": loss.item(), "distortion": distortion.item(), "est_bytes": est.item(), "lr": sched.get_last_lr()[0], "s": time.monotonic() - start})  # fmt: skip
        if step % tc.eval_every == 0 or step == tc.steps:
            ev = round_trip(ema.model, step)
            history.append(ev)
            report(ev)
            kept = ev.score < best.score
            if kept:
                best = ev
                save_checkpoint(ckpt, ema.model, tc, best, video_info)
            log(f"nerv step {step}/{tc.steps}: loss {loss.item():.4f}, exact score {ev.score:.4f} "
                f"(seg {ev.seg:.6f}, pose {ev.pose:.6f}, {ev.archive_bytes:,} bytes)"
                f"{' kept' if kept else ''}, {time.monotonic() - start:.0f} s")  # fmt: skip
    steps_per_s = tc.steps / max(time.monotonic() - start, 1e-9)
    polished = []
    if tc.polish_steps:
        from tac.lanes.nerv.polish import polish

        kept_rep, _ = load_checkpoint(ckpt)
        kept_rep, best, polished = polish(
            kept_rep, best, objective, round_trip, tc.polish_steps, tc.polish_lr or tc.lr,
            tc.batch, device=device, seed=tc.seed, log=log,
        )  # fmt: skip
        save_checkpoint(ckpt, kept_rep, tc, best, video_info, polished)
    if rung is not None:
        rung(tc.steps, tc.steps, best, ckpt, final=True)
    return NervTrainResult(ckpt, best, history, steps_per_s, polished)
