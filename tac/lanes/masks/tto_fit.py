"""Fitting the masks lane's test-time optimisation (`tto.py`) and the measurement that decides
whether it ships.

    samples   the shipped renderer's second frames, and those of copies whose second head is
              perturbed (noise at a few levels × each weight tensor's spread), each labelled with
              SegNet's reading of the camera-size frame exactly as inflate draws it
    probe     fitted to those labels with its weights at their shipped (quantized) values
    decision  the payload with the TTO section goes through the exact round trip (unpack, decode,
              refine, draw, score, bytes included); it is kept only if it scores lower

Runs on the CPU runner axis, where the exact round trips run.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.func import functional_call

from tac.contest import constants as C
from tac.lanes import draw
from tac.lanes.chain import Evaluation, qat_state
from tac.lanes.masks import payload
from tac.lanes.masks.tto import Probe, ProbeConfig

NOISE_LEVELS = (0.0, 0.5, 1.0)  # × each second-head tensor's standard deviation


@torch.no_grad()
def probe_samples(renderer, masks: torch.Tensor, poses: torch.Tensor, scorer, levels=NOISE_LEVELS, seed: int = 0):  # fmt: skip
    """(frames (S, 3, h, w) float, labels (S, h, w) long) for `probe`'s fitting."""
    gen = torch.Generator().manual_seed(seed)
    h, w = renderer.config.out_size
    stride = (C.MODEL_INPUT_HEIGHT // h, C.MODEL_INPUT_WIDTH // w)
    frames, labels = [], []
    for level in levels:
        copy_ = copy.deepcopy(renderer)
        for p in copy_.second.parameters():
            p.add_(level * p.std() * torch.randn(p.shape, generator=gen))
        for first in range(0, len(masks), draw.DRAW_BATCH):
            s = slice(first, min(first + draw.DRAW_BATCH, len(masks)))
            drawn = copy_(masks[s], poses[s])
            frames.append(drawn[:, 1])
            seen = scorer.outputs(draw.to_uint8(draw.upsample(drawn))).seg
            labels.append(seen[:, :: stride[0], :: stride[1]].long())
    return torch.cat(frames), torch.cat(labels)


def fit_probe(frames: torch.Tensor, labels: torch.Tensor, config: ProbeConfig, bits: int, steps: int, lr: float = 1e-2, batch: int = 4, seed: int = 0) -> tuple[Probe, float]:  # fmt: skip
    """The probe fitted to (frames, labels) at its shipped weights; and how often its shipped
    form agrees with the labels."""
    torch.manual_seed(seed)
    probe = Probe(config)
    opt = torch.optim.Adam(probe.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(len(frames), (min(batch, len(frames)),), generator=gen)
        logits = functional_call(probe, qat_state(probe, bits), (frames[idx],))
        loss = F.cross_entropy(logits, labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        shipped = {k: v.detach() for k, v in qat_state(probe, bits).items()}
        agree = (functional_call(probe, shipped, (frames,)).argmax(1) == labels).float().mean()
    return probe.eval(), float(agree)


def fit_tto(blob: bytes, tc, scorer) -> tuple[bytes, float]:
    """(the TTO section for payload `blob`, the shipped probe's agreement with SegNet), as
    `tc` (a `MasksTrainConfig`) sets it. Seeded: the same inputs give the same bytes."""
    renderer, masks, poses = payload.load(blob, refine=False)
    frames, labels = probe_samples(renderer, masks, poses, scorer, seed=tc.seed)
    probe, agreement = fit_probe(frames, labels, ProbeConfig(width=tc.probe_width), tc.bits, tc.probe_steps, seed=tc.seed)  # fmt: skip
    return payload.tto_section(payload.TTO(probe, tc.tto_steps, tc.tto_lr), tc.bits), agreement


def tto_stage(blob: bytes, best: Evaluation, tc, scorer, score: Callable[[bytes], Evaluation], log) -> tuple[bytes, Evaluation, dict]:  # fmt: skip
    """(payload, its evaluation, the decision) after trying TTO on `blob` (the best payload,
    scored `best`): the TTO payload when its exact score is lower, `blob` otherwise."""
    start = time.monotonic()
    section, agreement = fit_tto(blob, tc, scorer)
    ev = score(blob + section)
    kept = ev.score < best.score
    decision = {
        "before": best.score, "after": ev.score, "kept": kept, "steps": tc.tto_steps, "lr": tc.tto_lr,
        "probe_bytes": len(section), "probe_agreement": agreement,
        "seg_before": best.seg, "seg_after": ev.seg, "seconds": time.monotonic() - start,
    }  # fmt: skip
    log(f"test-time optimisation: exact score {best.score:.4f} → {ev.score:.4f} (seg {best.seg:.6f} → {ev.seg:.6f}, "
        f"probe {len(section):,} bytes agreeing {agreement:.1%} with SegNet){' kept' if kept else ': not kept'}")  # fmt: skip
    return (blob + section, ev, decision) if kept else (blob, best, decision)
