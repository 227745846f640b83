"""The original tac's `tac.architectures`: now lives in `tac.postfilter`.

Families are built by name (`build_postfilter("dilated", hidden=64)`); the classes are here too.
"""

from tac.postfilter import PostFilter, build_postfilter, list_postfilters, register_postfilter
from tac.postfilter.conditioned import FiLMFilter
from tac.postfilter.convs import (
    DepthwiseSeparableFilter,
    DilatedFilter,
    GatedDilatedFilter,
    StandardFilter,
)
from tac.postfilter.luma import LumaOnlyFilter
from tac.postfilter.shuffle import PixelShuffleDilatedFilter, PixelShuffleFilter

__all__ = [
    "DepthwiseSeparableFilter",
    "DilatedFilter",
    "FiLMFilter",
    "GatedDilatedFilter",
    "LumaOnlyFilter",
    "PixelShuffleDilatedFilter",
    "PixelShuffleFilter",
    "PostFilter",
    "StandardFilter",
    "build_postfilter",
    "list_postfilters",
    "register_postfilter",
]
