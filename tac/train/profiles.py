"""Named, validated training settings: `tac lossy train --profile NAME`.

Each profile is a TrainConfig minus the run-specific fields (tag, output directory); a plug-in
adds one with `PROFILES.register(name, {...})`.
"""

from __future__ import annotations

from tac.registry import Registry
from tac.train.config import TrainConfig

PROFILES: Registry[dict] = Registry("profile")
# fmt: off
# Finishes in a couple of minutes on a 2-core CPU: a few dozen steps, a fast-moving EMA, and a
# pixel-reconstruction term about as large as the scorer loss, which steadies a short run.
# (Against a trained SegNet the scorers' gradients point the way; with recon_weight 1e5 the
# filter chased pixels the SegNet does not care about and the exact metric rose, 1.0436 →
# 1.0476 on 8 demo frames at crf 34; at 1e3 it falls to 1.0258.)
PROFILES.register("smoke", dict(
    arch="standard", hidden=16, max_steps=24, lr=3e-3, loss="standard", recon_weight=1e3,
    ema_decay=0.5, swa_start=0.5, evals=1, qat=True, bits=8,
))
# The recipe that carried the codec lane in the original tac: dilated, hidden 64,
# saliency emphasis 20, a slow EMA over a long schedule. Meant for a GPU host.
PROFILES.register("proven_baseline", dict(
    arch="dilated", hidden=64, epochs=1000, lr=1e-3, loss="standard", alpha=20.0,
    recon_weight=0.05, ema_decay=0.997, swa_start=0.75, evals=20, qat=True, bits=8,
))
# The same idea at a quarter of the bytes: 4-bit NF4 weights, half-resolution dilated convs.
PROFILES.register("compact_int4", dict(
    arch="psd", hidden=32, epochs=400, lr=2e-3, loss="ste", ema_decay=0.995,
    swa_start=0.75, evals=10, qat=True, bits=4,
))
# fmt: on


def profile_config(name: str, **overrides) -> TrainConfig:
    """The profile's TrainConfig with `overrides` applied (None values are ignored)."""
    merged = {**PROFILES.get(name), **{k: v for k, v in overrides.items() if v is not None}}
    return TrainConfig.parse(**merged)
