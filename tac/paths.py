"""Where tac keeps what it builds once and reuses: demo clip, stand-in weights, scorer caches."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def cache_dir(*parts: str) -> Path:
    """The user cache directory (`TAC_CACHE_DIR` overrides), created on demand."""
    root = os.environ.get("TAC_CACHE_DIR") or platformdirs.user_cache_dir("tac")
    path = Path(root, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
