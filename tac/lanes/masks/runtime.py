"""What a masks-lane submission carries beside its archive: the inflate entry point and
`masksrt`, a verbatim copy of the tac modules that decode the payload and draw the frames.

`masksrt` mirrors tac's layout (`masksrt/lanes/masks/{renderer,payload,codecs,pose,render,tto}.py`,
`masksrt/lanes/draw.py`, `masksrt/quant/{entropy,tensors}.py`, `masksrt/registry.py`, …), so
the modules' relative imports resolve the same way in both: the contest machine runs the very
source tac trained and scored with. `context.py` is left out: its range coder needs
`constriction`, which the official machine lacks, and the lane never ships its streams.
"""

from __future__ import annotations

from tac.lanes.base import copied_runtime

PACKAGE = "masksrt"

# paths inside tac, copied to the same paths inside masksrt
_COPIED = (
    "lanes/masks/renderer.py",
    "lanes/masks/payload.py",
    "lanes/masks/codecs.py",
    "lanes/masks/pose.py",
    "lanes/masks/render.py",
    "lanes/masks/tto.py",
    "lanes/draw.py",
    "quant/entropy.py",
    "quant/tensors.py",
    "contest/constants.py",
    "registry.py",
    "errors.py",
)
# the packages' own __init__ files import the lane and training machinery: not copied
_WRITTEN = {
    "__init__.py": '"""tac\'s masks runtime, copied by `tac submission build`."""\n',
    "lanes/__init__.py": "",
    "lanes/masks/__init__.py": "",
    "quant/__init__.py": "",
    "contest/__init__.py": "",
}


def inflate_files() -> dict[str, bytes]:
    """{path inside the submission: content}: inflate.sh, inflate.py and `masksrt`."""
    return copied_runtime("tac.lanes.masks", PACKAGE, _COPIED, _WRITTEN)
