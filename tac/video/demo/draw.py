"""Anti-aliased drawing primitives on a float32 RGB canvas (exact box-filter coverage).

They know nothing about the scene: sub-pixel rectangles, perspective quads and ellipses, so that
slow motion stays smooth instead of jumping a pixel at a time. A canvas may also carry a label
map: whatever a primitive covers by at least half takes the class being painted, which is how
the renderer draws its ground truth beside the picture at no extra geometry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class Canvas:
    """The picture being painted, and optionally its class per pixel.

    `label` is the class of whatever is painted next; layers set it before painting an object.
    """

    rgb: np.ndarray  # float32 (H, W, 3)
    labels: np.ndarray | None = None  # uint8 (H, W), or None when no ground truth is wanted
    label: int = 0

    @property
    def shape(self) -> tuple[int, ...]:
        return self.rgb.shape

    def paint(self, ys: slice, xs: slice, color, alpha: np.ndarray, label: bool = True) -> None:
        """Composite `color` over the region with per-pixel `alpha`; label what it mostly covers."""
        blend(self.rgb[ys, xs], color, alpha)
        if label and self.labels is not None:
            self.labels[ys, xs][alpha >= 0.5] = self.label


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
    img: Canvas,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    color,
    alpha: float = 1.0,
    label: bool = True,
) -> None:
    """A solid axis-aligned rectangle with sub-pixel edges, so motion is smooth."""
    xa, xb = bounds(x0, x1, img.shape[1])
    ya, yb = bounds(y0, y1, img.shape[0])
    if xa >= xb or ya >= yb:
        return
    a = span_cover(y0, y1, ya, yb)[:, None] * span_cover(x0, x1, xa, xb)[None, :]
    img.paint(slice(ya, yb), slice(xa, xb), color, a * alpha, label)


def fill_quad(
    img: Canvas,
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
    img.paint(slice(ya, yb), slice(xa, xb), color, a * alpha)


def fill_wall(
    img: Canvas, a: tuple[float, float, float], b: tuple[float, float, float], color
) -> None:
    """A vertical wall between two (x, top, bottom) edges, whichever is on the left."""
    if a[0] > b[0]:
        a, b = b, a
    fill_quad(img, a[0], b[0], (a[1], b[1]), (a[2], b[2]), color)


def fill_ellipse(
    img: Canvas, cx: float, cy: float, rx: float, ry: float, color, alpha: float = 1.0
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
    img.paint(slice(ya, yb), slice(xa, xb), color, a * alpha)
