"""Refinement after training: small changes to the best representation, each kept only when the
exact round trip says the score drops. ("polish", because the decoder's dilated convs already
carry the name refine.)

    offsets   the two heads' biases — one offset per colour channel of each frame of the pair,
              before the sigmoid — tuned with everything else frozen. Zero bytes: the biases ship
              anyway; it corrects a colour or brightness bias the long schedule left behind.
    latents   per-pair latent nudges with the decoder frozen: each pair's code moves towards what
              the scorers want of that pair alone. The latents ship anyway; the rate term keeps
              their entropy (and so their bytes) in check, and the round trip counts them exactly.

Both minimise the training objective (the same chain, targets and rate term), with Adam and no
schedule, from the best representation so far; the round trip decides.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from tac.lanes.nerv.model import NervRepresentation

STAGES = ("offsets", "latents")


def stage_parameters(rep: NervRepresentation, stage: str) -> list[torch.nn.Parameter]:
    if stage == "offsets":
        return [head.bias for head in rep.decoder.heads]
    if stage == "latents":
        return [rep.latents]
    raise ValueError(f"no polish stage {stage!r}; known: {', '.join(STAGES)}")


@dataclass
class Decision:
    """One stage's outcome, as the checkpoint's card records it."""

    stage: str
    steps: int
    before: float
    after: float
    kept: bool

    def describe(self) -> str:
        verdict = "kept" if self.kept else "not kept"
        return f"polish {self.stage}: exact score {self.before:.4f} → {self.after:.4f}, {verdict}"


def polish(
    rep: NervRepresentation,
    best,
    objective,
    round_trip,
    steps: int,
    lr: float,
    batch: int,
    device: str = "cpu",
    seed: int = 0,
    log: Callable[[str], None] = print,
):
    """Run every stage on `rep` (whose exact evaluation is `best`); returns the representation
    and evaluation to keep and the decisions, one per stage."""
    pairs = rep.decoder.config.pairs
    decisions = []
    for stage in STAGES:
        trial = copy.deepcopy(rep).to(device).train().requires_grad_(False)
        params = stage_parameters(trial, stage)
        for p in params:
            p.requires_grad_(True)
        opt = torch.optim.Adam(params, lr=lr)
        gen = torch.Generator().manual_seed(seed)
        for _ in range(steps):
            idx = torch.randperm(pairs, generator=gen)[:batch].to(device)
            loss, _, _ = objective(trial, idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        trial.eval().requires_grad_(False)
        ev = round_trip(trial, best.step, event=f"polish:{stage}")
        decision = Decision(stage, steps, best.score, ev.score, ev.score < best.score)
        decisions.append(decision)
        log(decision.describe())
        if decision.kept:
            rep, best = trial, ev
    return rep, best, [asdict(d) for d in decisions]
