"""YUV420→RGB against a plain per-pixel reading of the spec; YUV6 exact vs differentiable."""

import av
import numpy as np
import pytest
import torch

from tac.contest.frames import av_frame_to_rgb, rgb_to_yuv6, rgb_to_yuv6_diff, yuv420_to_rgb

f32 = np.float32


def bilinear_2x_reference(plane: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Per-pixel bilinear upsampling with align_corners=False, written from its definition."""
    h, w = plane.shape
    out = np.empty((out_h, out_w), dtype=f32)
    for i in range(out_h):
        sy = max((i + 0.5) * h / out_h - 0.5, 0.0)
        y0 = int(np.floor(sy))
        y1 = min(y0 + 1, h - 1)
        ly = sy - y0
        for j in range(out_w):
            sx = max((j + 0.5) * w / out_w - 0.5, 0.0)
            x0 = int(np.floor(sx))
            x1 = min(x0 + 1, w - 1)
            lx = sx - x0
            top = (1 - lx) * plane[y0, x0] + lx * plane[y0, x1]
            bottom = (1 - lx) * plane[y1, x0] + lx * plane[y1, x1]
            out[i, j] = f32((1 - ly) * top + ly * bottom)
    return out


def spec_reference(y: np.ndarray, u: np.ndarray, v: np.ndarray, width: int) -> np.ndarray:
    """contest-spec.md, 'Decoding the original on the CPU runner', one pixel at a time."""
    y = y[:, :width].astype(f32)
    u = u[:, : width // 2].astype(f32)
    v = v[:, : width // 2].astype(f32)
    h = y.shape[0]
    uu, vv = bilinear_2x_reference(u, h, width), bilinear_2x_reference(v, h, width)
    out = np.empty((h, width, 3), dtype=np.uint8)
    for i in range(h):
        for j in range(width):
            yp = (y[i, j] - f32(16)) * f32(255 / 219)
            up = (uu[i, j] - f32(128)) * f32(255 / 224)
            vp = (vv[i, j] - f32(128)) * f32(255 / 224)
            r = yp + f32(1.402) * vp
            g = yp - f32(0.344136) * up - f32(0.714136) * vp
            b = yp + f32(1.772) * up
            out[i, j] = [np.round(np.clip(c, 0, 255)) for c in (r, g, b)]
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_yuv420_to_rgb_matches_per_pixel_spec_with_padded_rows(seed):
    rng = np.random.default_rng(seed)
    h, w, pad = 10, 14, 18  # line sizes larger than the width, as decoders produce
    y = rng.integers(0, 256, (h, w + pad), dtype=np.uint8)
    u = rng.integers(0, 256, (h // 2, w // 2 + pad // 2), dtype=np.uint8)
    v = rng.integers(0, 256, (h // 2, w // 2 + pad // 2), dtype=np.uint8)
    got = yuv420_to_rgb(y, u, v, width=w).numpy()
    assert got.shape == (h, w, 3) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, spec_reference(y, u, v, w))


def test_yuv420_to_rgb_batched_equals_one_by_one():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 256, (3, 8, 12), dtype=np.uint8)
    u = rng.integers(0, 256, (3, 4, 6), dtype=np.uint8)
    v = rng.integers(0, 256, (3, 4, 6), dtype=np.uint8)
    batched = yuv420_to_rgb(y, u, v)
    for i in range(3):
        assert torch.equal(batched[i], yuv420_to_rgb(y[i], u[i], v[i]))


def test_av_frame_conversion_reads_padded_planes():
    rng = np.random.default_rng(3)
    frame = av.VideoFrame(1164, 874, "yuv420p")
    assert frame.planes[0].line_size >= 1164
    for plane in frame.planes:
        plane.update(rng.integers(0, 256, plane.buffer_size, dtype=np.uint8).tobytes())
    got = av_frame_to_rgb(frame)
    y = np.frombuffer(frame.planes[0], np.uint8).reshape(874, -1)
    u = np.frombuffer(frame.planes[1], np.uint8).reshape(437, -1)
    v = np.frombuffer(frame.planes[2], np.uint8).reshape(437, -1)
    expected = yuv420_to_rgb(y[:, :1164].copy(), u[:, :582].copy(), v[:, :582].copy())
    assert got.shape == (874, 1164, 3)
    assert torch.equal(got, expected)


def test_yuv6_layout_and_exact_equals_differentiable():
    torch.manual_seed(0)
    rgb = torch.rand(2, 3, 3, 384, 512) * 300 - 20  # out of range on purpose: clamps must agree
    exact = rgb_to_yuv6(rgb.clone())
    diff = rgb_to_yuv6_diff(rgb.clone())
    assert exact.shape == (2, 3, 6, 192, 256)
    assert torch.equal(exact, diff)
    # channel order [y00, y10, y01, y11, U, V]
    r, g, b = rgb[0, 0, 0], rgb[0, 0, 1], rgb[0, 0, 2]
    y = (r * 0.299 + g * 0.587 + b * 0.114).clamp(0, 255)
    assert torch.equal(exact[0, 0, 1], y[1::2, 0::2])
    assert torch.equal(exact[0, 0, 2], y[0::2, 1::2])


def test_yuv6_differentiable_has_gradients_and_exact_has_none():
    rgb = (torch.rand(1, 3, 8, 8) * 200 + 20).requires_grad_(True)
    out = rgb_to_yuv6_diff(rgb)
    out.square().sum().backward()
    assert rgb.grad is not None and rgb.grad.abs().sum() > 0
    assert torch.count_nonzero(rgb.grad) == rgb.numel()
    assert not rgb_to_yuv6(rgb).requires_grad


def test_yuv6_crops_odd_sizes_to_even():
    assert rgb_to_yuv6(torch.rand(3, 7, 9) * 255).shape == (6, 3, 4)
