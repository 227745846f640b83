"""The original tac's `tac.training`: now lives in `tac.train`.

`Trainer` in `tac.train.trainer`, `TrainConfig` in `tac.train.config`, the EMA/SWA averages in
`tac.train.averaging`, and the whole `tac lossy train` pipeline (`train`) in
`tac.lanes.codec.filter_training` (the codec lane's train step).
"""

from tac.lanes.codec.filter_training import TrainSummary, prepare_frames, train
from tac.train.averaging import ParameterAverage
from tac.train.config import TrainConfig
from tac.train.trainer import Trainer, TrainResult

__all__ = [
    "ParameterAverage",
    "TrainConfig",
    "TrainResult",
    "TrainSummary",
    "Trainer",
    "prepare_frames",
    "train",
]
