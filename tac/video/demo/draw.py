"""Anti-aliased drawing primitives on a float32 RGB canvas (exact box-filter coverage).

They know nothing about the scene: sub-pixel rectangles, perspective quads and ellipses, so that
slow motion stays smooth instead of jumping a pixel at a time.
"""

from __future__ import annotations

import math

import numpy as np


def span_cover(lo: float, hi: float, start: int, stop: int) -> np.ndarray:
    """Fraction of each pixel [i, i+1) in [start, stop) covered by the interval [lo, hi]."""
    i = np.arange(start, stop, dtype=np.float32)
    return np.clip(np.minimum(i + 1, hi) - np.maximum(i, lo), 0.0, 1.0)


def bounds(lo: float, hi: float, size: int) -> tuple[int, int]:
    return max(int(math.floor(lo)), 0), min(int(math.ceil(hi)), size)


def blend(region: np.ndarray, color, alpha: np.ndarray) -> None:
    """Alpha-composite a colour (or colour image) over a canvas region, in place."""
    region += (np.asarray(color, np.float32) - region) * alpha[..., None]


def fill_rect(
    img: np.ndarray, x0: float, y0: float, x1: float, y1: float, color, alpha: float = 1.0
) -> None:
    """A solid axis-aligned rectangle with sub-pixel edges, so motion is smooth."""
    xa, xb = bounds(x0, x1, img.shape[1])
    ya, yb = bounds(y0, y1, img.shape[0])
    if xa >= xb or ya >= yb:
        return
    a = span_cover(y0, y1, ya, yb)[:, None] * span_cover(x0, x1, xa, xb)[None, :]
    blend(img[ya:yb, xa:xb], color, a * alpha)


def fill_quad(
    img: np.ndarray,
    x0: float,
    x1: float,
    top: tuple[float, float],
    bottom: tuple[float, float],
    color,
    alpha: float = 1.0,
) -> None:
    """A quad with vertical sides at x0 < x1 and straight top/bottom edges (a wall in perspective)."""
    if x1 - x0 < 1e-3:
        return
    xa, xb = bounds(x0, x1, img.shape[1])
    ya, yb = bounds(min(top), max(bottom), img.shape[0])
    if xa >= xb or ya >= yb:
        return
    xc = np.arange(xa, xb, dtype=np.float32) + 0.5
    f = np.clip((xc - x0) / (x1 - x0), 0.0, 1.0)
    t_edge = (top[0] + (top[1] - top[0]) * f)[None, :]
    b_edge = (bottom[0] + (bottom[1] - bottom[0]) * f)[None, :]
    y = np.arange(ya, yb, dtype=np.float32)[:, None]
    a = np.clip(np.minimum(y + 1, b_edge) - np.maximum(y, t_edge), 0.0, 1.0)
    a *= span_cover(x0, x1, xa, xb)[None, :]
    blend(img[ya:yb, xa:xb], color, a * alpha)


def fill_wall(
    img: np.ndarray, a: tuple[float, float, float], b: tuple[float, float, float], color
) -> None:
    """A vertical wall between two (x, top, bottom) edges, whichever is on the left."""
    if a[0] > b[0]:
        a, b = b, a
    fill_quad(img, a[0], b[0], (a[1], b[1]), (a[2], b[2]), color)


def fill_ellipse(
    img: np.ndarray, cx: float, cy: float, rx: float, ry: float, color, alpha: float = 1.0
) -> None:
    """A filled ellipse with a one-pixel soft rim."""
    xa, xb = bounds(cx - rx - 1, cx + rx + 1, img.shape[1])
    ya, yb = bounds(cy - ry - 1, cy + ry + 1, img.shape[0])
    if xa >= xb or ya >= yb or rx <= 0 or ry <= 0:
        return
    dx = ((np.arange(xa, xb, dtype=np.float32) + 0.5 - cx) / rx)[None, :]
    dy = ((np.arange(ya, yb, dtype=np.float32) + 0.5 - cy) / ry)[:, None]
    d = np.sqrt(dx * dx + dy * dy)
    a = np.clip((1.0 - d) * min(rx, ry) + 0.5, 0.0, 1.0)
    blend(img[ya:yb, xa:xb], color, a * alpha)
