"""Filter checkpoints: safetensors weights + a JSON card, written atomically, never pickled.

Not part of the runtime submissions carry (it needs tac and safetensors): `tac.lanes.codec.runtime`
leaves it out of the copy.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn as nn
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from tac import atomic
from tac.errors import TacError
from tac.postfilter.apply import filter_frames


def save_checkpoint(path: Path, model: nn.Module, arch: dict, config, metrics: dict) -> Path:
    """`path` (.safetensors) holds the deployed weights; `path.with_suffix('.json')` the card."""
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    atomic.write_bytes(path, save(state))
    card = {"v": 1, "arch": arch, "train": config.model_dump(), "metrics": metrics}
    atomic.write_json(Path(path).with_suffix(".json"), card)
    return Path(path)


def load_checkpoint(path: str | Path) -> tuple[nn.Module, dict]:
    """Rebuild the filter from its card and load the weights strictly."""
    from tac.postfilter.registry import build_postfilter

    path = Path(path)
    card_path = path.with_suffix(".json")
    if not path.is_file() or not card_path.is_file():
        raise TacError(f"{path}: checkpoint needs both {path.name} and {card_path.name}")
    try:
        card = json.loads(card_path.read_text())
        state = load_file(str(path))
    except (json.JSONDecodeError, SafetensorError, OSError) as exc:
        raise TacError(f"{path}: unreadable checkpoint ({exc})") from None
    model = build_postfilter(**card["arch"])
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise TacError(
            f"{path}: weights do not match {card['arch']} ({str(exc).splitlines()[0][:120]})"
        ) from None
    return model.eval().requires_grad_(False), card


def apply_filter(model: nn.Module, frames, batch: int = 4):
    """Filter uint8 frames (N, H, W, 3) in batches on the CPU, exactly as a submission's inflate
    does (it is the same code); yields uint8 numpy frames."""
    import numpy as np

    tensors = (torch.from_numpy(np.asarray(f)) for f in frames)
    for y in filter_frames(model, tensors, batch):
        yield y.numpy()
