"""Frame conversions exactly as the official evaluation does them.

`yuv420_to_rgb` is the CPU runner's decode of the original (it imitates NVDEC); `rgb_to_yuv6` is
PoseNet's input transform, in an exact no-grad form and a differentiable form that give identical
values (the official one runs under no-grad, so training needs its own).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tac.contest import constants as C


def _as_float_plane(plane: np.ndarray | torch.Tensor, width: int) -> torch.Tensor:
    """Drop row padding (line size > width) and move a uint8 plane (..., rows, line) to float32."""
    t = torch.as_tensor(np.ascontiguousarray(plane)) if isinstance(plane, np.ndarray) else plane
    return t[..., :width].to(torch.float32)


def yuv420_to_rgb(
    y: np.ndarray | torch.Tensor,
    u: np.ndarray | torch.Tensor,
    v: np.ndarray | torch.Tensor,
    width: int | None = None,
) -> torch.Tensor:
    """YUV420 planes → uint8 RGB (..., H, W, 3), batched over any leading dimensions.

    Planes may carry row padding: pass `width` and only the first `width` (or `width/2`) bytes
    of each row are used. Chroma is upsampled bilinearly (align_corners=False), limited range is
    expanded, BT.601 coefficients applied, each channel clamped to [0, 255] and rounded.
    """
    width = int(y.shape[-1]) if width is None else width
    yf = _as_float_plane(y, width)
    uf = _as_float_plane(u, width // 2)
    vf = _as_float_plane(v, width // 2)
    height = yf.shape[-2]
    lead = yf.shape[:-2]
    # interpolate wants (N, C, h, w): stack U and V as two channels of one image.
    uv = torch.stack([uf, vf], dim=-3).reshape(-1, 2, *uf.shape[-2:])
    uv = F.interpolate(uv, size=(height, width), mode="bilinear", align_corners=False)
    uv = uv.reshape(*lead, 2, height, width)
    yf = (yf - C.LUMA_OFFSET) * C.LUMA_SCALE
    uf = (uv[..., 0, :, :] - C.CHROMA_OFFSET) * C.CHROMA_SCALE
    vf = (uv[..., 1, :, :] - C.CHROMA_OFFSET) * C.CHROMA_SCALE
    r = (yf + C.R_FROM_V * vf).clamp(0, 255)
    g = (yf - C.G_FROM_U * uf - C.G_FROM_V * vf).clamp(0, 255)
    b = (yf + C.B_FROM_U * uf).clamp(0, 255)
    return torch.stack([r, g, b], dim=-1).round().to(torch.uint8)


def av_frame_planes(frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three planes of a yuv420p `av.VideoFrame`, still padded to their line sizes."""
    if frame.format.name != "yuv420p":
        raise ValueError(f"expected a yuv420p frame, got {frame.format.name}")
    h = frame.height
    planes = []
    for i, rows in enumerate((h, h // 2, h // 2)):
        p = frame.planes[i]
        planes.append(np.frombuffer(p, dtype=np.uint8).reshape(rows, p.line_size))
    return planes[0], planes[1], planes[2]


def av_frame_to_rgb(frame) -> torch.Tensor:
    """One decoded yuv420p frame → uint8 (H, W, 3), exactly as the CPU runner converts it."""
    y, u, v = av_frame_planes(frame)
    return yuv420_to_rgb(y, u, v, width=frame.width)


def _yuv6(rgb: torch.Tensor, clamp) -> torch.Tensor:
    h2, w2 = rgb.shape[-2] // 2, rgb.shape[-1] // 2
    rgb = rgb[..., :, : 2 * h2, : 2 * w2]
    r, g, b = rgb[..., 0, :, :], rgb[..., 1, :, :], rgb[..., 2, :, :]
    y = clamp(r * C.Y_FROM_R + g * C.Y_FROM_G + b * C.Y_FROM_B)
    u = clamp((b - y) / C.U_DIVISOR + 128.0)
    v = clamp((r - y) / C.V_DIVISOR + 128.0)

    def pool(p: torch.Tensor) -> torch.Tensor:
        return (
            p[..., 0::2, 0::2] + p[..., 1::2, 0::2] + p[..., 0::2, 1::2] + p[..., 1::2, 1::2]
        ) * 0.25

    phases = [y[..., 0::2, 0::2], y[..., 1::2, 0::2], y[..., 0::2, 1::2], y[..., 1::2, 1::2]]
    return torch.stack([*phases, pool(u), pool(v)], dim=-3)


@torch.no_grad()
def rgb_to_yuv6(rgb_chw: torch.Tensor) -> torch.Tensor:
    """Float RGB (..., 3, H, W) → YUV6 (..., 6, H/2, W/2): [y00, y10, y01, y11, U, V]. No grad."""
    return _yuv6(rgb_chw, lambda t: t.clamp_(0.0, 255.0))


def rgb_to_yuv6_diff(rgb_chw: torch.Tensor) -> torch.Tensor:
    """The same values as `rgb_to_yuv6`, but gradients flow (for training through PoseNet)."""
    return _yuv6(rgb_chw, lambda t: t.clamp(0.0, 255.0))


def resize_for_scorers(frames_chw: torch.Tensor) -> torch.Tensor:
    """Float (N, 3, H, W) → (N, 3, 384, 512): the bilinear resize both scorers start with."""
    return F.interpolate(
        frames_chw,
        size=(C.MODEL_INPUT_HEIGHT, C.MODEL_INPUT_WIDTH),
        mode="bilinear",
        align_corners=False,
    )
