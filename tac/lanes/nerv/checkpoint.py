"""nerv checkpoints: the float representation (safetensors) + a JSON card, never pickled.

    nerv.safetensors   latents and decoder weights, float32 (the EMA that scored best)
    nerv.json          {"v", "lane": "nerv", "config", "train", "best", "video", "polished"}:
                       the decoder's shape, how it was trained, the exact round trip's numbers
                       for these weights, the video they represent (name, frame count, bytes)
                       and the refinement after training (each stage's scores, kept or not)

Floats, not the payload: a warm start fine-tunes from them (another bit width, another rate
weight), and packing them again gives the very payload that was scored (packing is
deterministic). Not part of what submissions carry.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from tac.checkpoints import read_checkpoint, write_checkpoint
from tac.errors import TacError
from tac.lanes.nerv.model import NervConfig, NervRepresentation


def save_checkpoint(path: Path, rep: NervRepresentation, train_config, best, video: dict, polished: list[dict] | None = None) -> Path:  # fmt: skip
    card = {
        "v": 1,
        "lane": "nerv",
        "config": json.loads(rep.decoder.config.to_json()),
        "train": train_config.model_dump(),
        "best": asdict(best),
        "video": video,
        "polished": polished or [],
    }
    return write_checkpoint(path, rep, card)


def load_checkpoint(path: str | Path) -> tuple[NervRepresentation, dict]:
    """The representation (float, eval mode) and its card; one clear line if anything is off."""
    state, card = read_checkpoint(path, "a nerv checkpoint", lane="nerv")
    try:
        rep = NervRepresentation(NervConfig.from_dict(card["config"]))
        rep.load_state_dict(state, strict=True)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise TacError(f"{path}: weights do not match the card's config ({str(exc).splitlines()[0][:120]})") from None  # fmt: skip
    return rep.eval().requires_grad_(False), card
