"""What a nerv-lane submission carries beside its archive: the inflate entry point and `nervrt`,
a verbatim copy of the tac modules that rebuild and draw the representation.

`nervrt` mirrors tac's own layout (`nervrt/lanes/nerv/{model,packing,render}.py`,
`nervrt/lanes/draw.py`, `nervrt/quant/{entropy,tensors}.py`), so the modules' relative imports resolve the same way in both:
the contest machine runs the very source tac trained and scored with. The copied modules
import only the standard library, numpy and torch (and a coder's library when a stream names
brotli, zstd or range coding).
"""

from __future__ import annotations

from tac.lanes.base import copied_runtime

PACKAGE = "nervrt"
MEMBER = "nerv.bin"

# paths inside tac, copied to the same paths inside nervrt
_COPIED = (
    "lanes/nerv/model.py",
    "lanes/nerv/packing.py",
    "lanes/nerv/render.py",
    "lanes/draw.py",
    "quant/entropy.py",
    "quant/tensors.py",
)
# the packages' own __init__ files import the lane and training machinery: not copied
_WRITTEN = {
    "__init__.py": '"""tac\'s nerv runtime, copied by `tac submission build`."""\n',
    "lanes/__init__.py": "",
    "lanes/nerv/__init__.py": "",
    "quant/__init__.py": "",
}


def inflate_files() -> dict[str, bytes]:
    """{path inside the submission: content}: inflate.sh, inflate.py and `nervrt`."""
    return copied_runtime("tac.lanes.nerv", PACKAGE, _COPIED, _WRITTEN)
