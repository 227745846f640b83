"""The codec lane's job side: frames → (downscale) → H.265 / AV1 / H.264 bitstream → frames.

Encoding and decoding run in process through PyAV. Decoding is the submission's own inflate code
(`tac.lanes.codec.inflate.inflate`), so what tac predicts is exactly what a submission produces.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tac.lanes.codec.inflate import inflate as runtime
from tac.lanes.codec.params import CodecParams
from tac.video.encode import encode_frames

PAYLOAD_SUFFIX = ".mkv"


def downscale(frame: np.ndarray | torch.Tensor, params: CodecParams) -> np.ndarray:
    """One uint8 (874, 1164, 3) frame → uint8 at the lane's working size."""
    width, height = params.size
    x = torch.as_tensor(np.asarray(frame)).permute(2, 0, 1)[None].float()
    if x.shape[-2:] == (height, width):
        return np.asarray(frame)
    if params.downscale_filter == "area":
        x = F.interpolate(x, size=(height, width), mode="area")
    else:
        mode = params.downscale_filter
        x = F.interpolate(x, size=(height, width), mode=mode, antialias=True, align_corners=False)
    return x[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()


def compress(frames: Iterable[np.ndarray], params: CodecParams, out: Path) -> list[Path]:
    """Encode `frames` into `out` (suffix .mkv); returns the payload files."""
    out = Path(out).with_suffix(PAYLOAD_SUFFIX)
    encode_frames(
        (downscale(f, params) for f in frames),
        out,
        codec=params.encoder_spec.encoder,
        crf=params.crf,
        preset=params.preset,
        pix_fmt=params.pix_fmt,
        options=params.encoder_options(),
    )
    return [out]


def inflate(payload: list[Path], params: CodecParams) -> Iterator[np.ndarray]:
    """Camera-size uint8 frames, exactly as the submission's inflate writes them."""
    for frame in runtime.decode_frames(payload[0], params.upscale_filter):
        yield frame.numpy()
