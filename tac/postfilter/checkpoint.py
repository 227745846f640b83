"""Filter checkpoints: safetensors weights + a JSON card, written atomically, never pickled.

Not part of the runtime submissions carry (it needs tac and safetensors): `tac.lanes.codec.runtime`
leaves it out of the copy.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from tac.checkpoints import read_checkpoint, write_checkpoint
from tac.errors import TacError
from tac.postfilter.apply import filter_frames


def save_checkpoint(path: Path, model: nn.Module, arch: dict, config, metrics: dict) -> Path:
    """`path` (.safetensors) holds the deployed weights; `path.with_suffix('.json')` the card."""
    return write_checkpoint(path, model, {"v": 1, "arch": arch, "train": config.model_dump(), "metrics": metrics})  # fmt: skip


def load_checkpoint(path: str | Path) -> tuple[nn.Module, dict]:
    """Rebuild the filter from its card and load the weights strictly."""
    from tac.postfilter.registry import build_postfilter

    state, card = read_checkpoint(path)
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
