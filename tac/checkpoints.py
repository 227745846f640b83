"""Checkpoints on disk: safetensors weights + a JSON card beside them, never pickled.

    path.safetensors   the tensors (float, CPU, contiguous)
    path.json          the card: what the weights are and how they were made

Written atomically (temp file, fsync, rename), read back with one clear line for anything
missing or unreadable. The post-filter, nerv and masks checkpoints are all this pair; each
module says what its card holds and rebuilds its own network from it.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from tac import atomic
from tac.errors import TacError


def write_checkpoint(path: str | Path, module: torch.nn.Module, card: dict) -> Path:
    """The module's state at `path` and its card at `path.with_suffix('.json')`."""
    state = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
    atomic.write_bytes(path, save(state))
    atomic.write_json(Path(path).with_suffix(".json"), card)
    return Path(path)


def read_checkpoint(path: str | Path, what: str = "checkpoint", lane: str | None = None) -> tuple[dict[str, torch.Tensor], dict]:  # fmt: skip
    """(tensors, card) of the checkpoint at `path`; `what` names it in errors. With `lane`, a
    card written by another lane (or by none) is refused."""
    path = Path(path)
    card_path = path.with_suffix(".json")
    if not path.is_file() or not card_path.is_file():
        raise TacError(f"{path}: {what} needs both {path.name} and {card_path.name}")
    try:
        card = json.loads(card_path.read_text())
        state = load_file(str(path))
    except (json.JSONDecodeError, SafetensorError, OSError) as exc:
        raise TacError(f"{path}: unreadable checkpoint ({exc})") from None
    if lane is not None and (not isinstance(card, dict) or card.get("lane") != lane):
        raise TacError(f"{card_path}: not a {lane} checkpoint card (lane {card.get('lane') if isinstance(card, dict) else None!r})")  # fmt: skip
    return state, card
