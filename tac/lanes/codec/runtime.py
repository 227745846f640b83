"""What a codec-lane submission carries beside its archive: the inflate entry point and the
post-filter runtime, tac's own decoder and architectures, copied.

A codec-lane submission may ship a quantized post-filter: its weights are an archive member
(`filter.tacq`, counted in the archive's bytes), and the code that rebuilds and runs it sits in
the submission directory (free, per the rules) as the package `tacrt`. `tacrt` is not a second
implementation: it is a verbatim copy of the modules tac itself uses (`tac.postfilter`, the TACQ
decoder and the dequantizers), which use only relative imports so they work under another name.
What tac evaluates and what the contest machine runs are therefore the same source.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch.nn as nn

PACKAGE = "tacrt"
FILTER_MEMBER = "filter.tacq"
DEFAULT_BATCH = 4

# (source inside tac, destination inside tacrt)
_COPIED = (
    ("errors.py", "errors.py"),
    ("registry.py", "registry.py"),
    ("quant/fp4.py", "quant/fp4.py"),
    ("quant/int8.py", "quant/int8.py"),
    ("quant/tacq.py", "quant/tacq.py"),
)
_WRITTEN = {
    "__init__.py": '"""tac\'s post-filter runtime, copied by `tac submission build`."""\n',
    # tac.quant's own __init__ pulls in training-only modules; the runtime needs none of them.
    "quant/__init__.py": '"""Dequantizers and the TACQ decoder (copied from tac.quant)."""\n',
}


INFLATE_FILES = ("inflate.sh", "inflate.py")
# tac.postfilter's modules that need tac itself (checkpoints: safetensors, tac.atomic); inflate
# never imports them
_NOT_RUNTIME = {"checkpoint.py"}


def runtime_files() -> dict[str, bytes]:
    """{path inside the submission: content} of the `tacrt` package."""
    tac = resources.files("tac")
    files = {f"{PACKAGE}/{dst}": (tac / src).read_bytes() for src, dst in _COPIED}
    files.update({f"{PACKAGE}/{dst}": text.encode() for dst, text in _WRITTEN.items()})
    for entry in (tac / "postfilter").iterdir():
        if entry.name.endswith(".py") and entry.name not in _NOT_RUNTIME:
            files[f"{PACKAGE}/postfilter/{entry.name}"] = entry.read_bytes()
    return files


def inflate_files() -> dict[str, bytes]:
    """Everything a codec-lane submission ships beside its archive, by path: the entry point
    (inflate.sh, inflate.py) and the runtime it may load."""
    templates = resources.files("tac.lanes.codec") / "inflate"
    files = {name: (templates / name).read_bytes() for name in INFLATE_FILES}
    return {**files, **runtime_files()}


def filter_blob(model: nn.Module, bits: int) -> bytes:
    """The `filter.tacq` member for a deployed filter."""
    from tac.quant.packing import tacq_bytes

    return tacq_bytes(model, bits, model.config())


def load_filter_blob(blob: bytes) -> nn.Module:
    """What inflate does with `filter.tacq`, done with tac's own modules."""
    from tac.postfilter.registry import build_postfilter
    from tac.quant.tacq import decode_tacq

    config, state = decode_tacq(blob)
    model = build_postfilter(**config)
    model.load_state_dict(state, strict=True)
    return model.eval().requires_grad_(False)
