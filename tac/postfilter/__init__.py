"""Post-filters: tiny residual CNNs that correct decoded frames toward what the scorers saw.

    pf = build_postfilter("psd", hidden=16)     # exactly the identity until trained
    y = pf(frames).clamp(0, 255).round()        # frames: float (B, 3, H, W) in [0, 255]
    build_postfilter(**pf.config())             # same architecture, from a JSON-able dict

`list_postfilters()` names the families; `register_postfilter(name)` adds one.
"""

# Importing the family modules registers them.
from . import conditioned, convs, luma, shuffle  # noqa: F401
from .base import PostFilter
from .registry import build_postfilter, list_postfilters, register_postfilter

__all__ = ["PostFilter", "build_postfilter", "list_postfilters", "register_postfilter"]
