"""tac — Task-Aware Compression: compress video for the networks that watch it.

The public API is small on purpose; everything else is discoverable from the folder names
(`tac.contest` for scoring truth, `tac.video` for frames, `tac.lanes` for compression lanes,
`tac.submission` for contest packaging, `tac.postfilter` / `tac.train` / `tac.quant` for filters).

    from tac import Trainer, TrainConfig, build_postfilter

Names are imported lazily, so `import tac` stays light (the dashboard must not pull in torch).
"""

from importlib import import_module

__version__ = "0.1.0"

_LAZY = {
    "Trainer": "tac.train.trainer",
    "TrainConfig": "tac.train.config",
    "build_postfilter": "tac.postfilter",
    "list_postfilters": "tac.postfilter",
    "evaluate_submission": "tac.contest.evaluate",
    "Scorer": "tac.contest.scorer",
    "resolve_weights": "tac.contest.weights",
    "contest_score": "tac.contest.score",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tac' has no attribute {name!r}")
