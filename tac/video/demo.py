"""A deterministic synthetic dashcam drive, drawn procedurally with numpy.

Why: the contest footage cannot ship with the package, yet demos and tests need video that a
segmentation net and a pose net can actually "see": a road in perspective with real edges and
texture, and ego-motion between consecutive frames. Every pixel depends only on (t, seed), so a
clip is reproducible anywhere without downloading anything.

The camera is a pinhole (focal length close to the comma camera's) looking along a three-lane
road; the world is described in road coordinates (s along the road, u across it, metres).
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tac.video.encode import encode_frames

DEMO_WIDTH = 1164
DEMO_HEIGHT = 874
DEMO_FPS = 20
DEMO_FRAMES = 40  # 2 s of video

# --- camera and road geometry (metres and pixels) ---------------------------------------------
_F = 910.0  # focal length in pixels
_CX = DEMO_WIDTH / 2
_HORIZON = 380.0  # image row of the horizon at rest (camera pitched slightly down)
_CAM_H = 1.25  # camera height above the road
_LANE_W = 3.6
_LINE_HW = 0.075  # half width of a painted line
_DASH_LEN, _DASH_PERIOD = 3.0, 12.0
_EDGE_U = 1.5 * _LANE_W  # solid edge lines
_ASPHALT_U = _EDGE_U + 0.6  # asphalt shoulder beyond the edge line
_VERGE_U = _ASPHALT_U + 1.3  # gravel verge, then grass
_Z_FAR = 260.0  # props and vehicles farther than this are lost in the haze
_Z_NEAR = 0.8
_TILE = 600.0  # the roadside layout repeats every _TILE metres
_HAZE_DIST = 420.0

# --- the car hood (static, dashcam look) ------------------------------------------------------
_HOOD_TOP = 0.855 * DEMO_HEIGHT  # hood edge at the image centre
_HOOD_DROP = 55.0  # how much lower the edge sits at the image sides
_GROUND_END = int(math.ceil(_HOOD_TOP + _HOOD_DROP)) + 2  # rows below are all hood

# --- the sky panorama (things at infinity move only when the camera yaws) ----------------------
_PANO_W = 4096
_PANO_ABOVE = 420  # panorama rows above the horizon
_PANO_H = _PANO_ABOVE + 4

_Color = tuple[float, float, float]


@dataclass(frozen=True)
class _Prop:
    """A roadside object at road position (s, u); kind is 'pole', 'tree' or 'building'."""

    kind: str
    s: float
    u: float
    width: float
    height: float
    depth: float
    color: _Color
    color2: _Color


@dataclass(frozen=True)
class _Vehicle:
    """A vehicle in a lane whose distance swings smoothly around z0 (it speeds up, slows down).

    Its distance is z0 + amp * sin(omega * tau + phase): no teleporting, finite acceleration.
    """

    u: float
    z0: float
    amp: float
    omega: float
    phase: float
    width: float
    height: float
    length: float
    color: _Color
    truck: bool


@dataclass(frozen=True)
class _Scene:
    """Everything that depends on the seed only, built once and cached (arrays are read-only)."""

    speed: float
    wander: tuple[float, float, float]  # lateral wander in the lane: amplitude, omega, phase
    curve: tuple[float, float, float]  # road curvature: amplitude (1/m), omega, phase
    bob: tuple[float, float, float]  # pitch bob of the horizon: amplitude (px), omega, phase
    surge: tuple[float, float, float]  # speed variation: amplitude (m), omega, phase
    asphalt: _Color
    grass: _Color
    tex_coarse: np.ndarray  # periodic noise, 0.5 m cells
    tex_fine: np.ndarray  # periodic noise, 4 cm cells
    clouds: np.ndarray  # (_PANO_H, _PANO_W) cloud opacity
    hills: np.ndarray  # (_PANO_W,) height of distant hills above the horizon, px
    trees: np.ndarray  # (_PANO_W,) height of the distant tree line, px
    props: tuple[_Prop, ...]
    vehicles: tuple[_Vehicle, ...]


@dataclass(frozen=True)
class _Pose:
    """The ego camera at one instant: distance travelled, lane offset, heading, road shape."""

    s: float
    e: float  # lateral offset of the camera from the road centre (m, + is right)
    heading: float  # camera heading relative to the road (rad, + is right)
    curv: float  # road curvature ahead (1/m, + bends right)
    yaw: float  # camera yaw in the world, moves everything at infinity
    horizon: float  # image row of the horizon


def _periodic_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Smooth tileable noise (unit std) so that textures can repeat without seams."""
    white = rng.standard_normal(shape)
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    kernel = np.exp(-2.0 * (math.pi * sigma) ** 2 * (fx**2 + fy**2))
    smooth = np.real(np.fft.ifft2(np.fft.fft2(white) * kernel))
    smooth = (smooth - smooth.mean()) / (smooth.std() + 1e-9)
    return smooth.astype(np.float32)


def _make_clouds(rng: np.random.Generator) -> np.ndarray:
    """A few soft cumulus clouds, each a cluster of Gaussian puffs, on a tileable panorama."""
    density = np.zeros((_PANO_H, _PANO_W), np.float32)
    ys = np.arange(_PANO_H, dtype=np.float32)[:, None]
    for _ in range(int(rng.integers(6, 10))):
        cx = rng.uniform(0, _PANO_W)
        height = rng.uniform(40, _PANO_ABOVE - 60)  # px above the horizon
        scale = 0.4 + 0.9 * height / _PANO_ABOVE  # clouds high up are closer, hence bigger
        for _ in range(int(rng.integers(5, 11))):
            px = cx + rng.normal(0, 90 * scale)
            py = _PANO_ABOVE - height + rng.normal(0, 18 * scale)
            rx, ry = rng.uniform(35, 80) * scale, rng.uniform(14, 30) * scale
            x0, x1 = int(px - 3 * rx), int(px + 3 * rx) + 1
            cols = np.arange(x0, x1)
            dx = (cols - px) / rx
            puff = np.exp(-0.5 * (dx[None, :] ** 2 + ((ys - py) / ry) ** 2))
            np.add.at(density, (slice(None), cols % _PANO_W), rng.uniform(0.8, 1.6) * puff)
    return (1.0 - np.exp(-1.6 * density)).astype(np.float32)


def _skyline(rng: np.random.Generator, base: float, amp: float, rough: float) -> np.ndarray:
    """A tileable horizon profile (px above the horizon) from a few sines plus noise."""
    x = np.arange(_PANO_W) * (2 * math.pi / _PANO_W)
    prof = np.full(_PANO_W, base, np.float64)
    for k in (2, 3, 5, 8, 13):
        prof += amp / k**0.7 * np.sin(k * x + rng.uniform(0, 2 * math.pi))
    noise = _periodic_noise(rng, (1, _PANO_W), 2.0)[0]
    prof += rough * noise
    return np.maximum(prof, 0.0).astype(np.float32)


def _jitter(rng: np.random.Generator, color: _Color, amount: float) -> _Color:
    """A colour varied a little, so that a seed changes the look and props are not clones."""
    f = rng.uniform(1 - amount, 1 + amount)
    r, g, b = (min(255.0, c * f * rng.uniform(1 - amount / 2, 1 + amount / 2)) for c in color)
    return (r, g, b)


def _make_props(rng: np.random.Generator) -> tuple[_Prop, ...]:
    """Poles, trees and buildings along one tile of road, placed by the seed."""
    props: list[_Prop] = []
    # street-light poles on both sides at a regular spacing, like a real highway
    spacing = rng.uniform(28, 40)
    for side, phase in ((1.0, 0.0), (-1.0, 0.5)):
        for s in np.arange(phase * spacing, _TILE - 1, spacing):
            props.append(
                _Prop(
                    "pole",
                    float(s),
                    side * (_VERGE_U + 0.6),
                    0.22,
                    rng.uniform(7.5, 9.0),
                    0.0,
                    (120.0, 122.0, 125.0),
                    (70.0, 72.0, 75.0),
                )
            )
    # buildings in a few clusters, trees elsewhere
    s = 0.0
    while s < _TILE - 20:
        side = float(rng.choice([-1.0, 1.0]))
        if rng.random() < 0.35:
            width, depth = rng.uniform(10, 25), rng.uniform(10, 30)
            u = side * (rng.uniform(14, 26) + width / 2)
            wall = _jitter(
                rng,
                ((190.0, 170.0, 150.0), (170.0, 175.0, 185.0), (200.0, 195.0, 180.0))[
                    int(rng.integers(3))
                ],
                0.12,
            )
            props.append(
                _Prop("building", s, u, width, rng.uniform(6, 22), depth, wall, (45.0, 55.0, 70.0))
            )
            s += depth + rng.uniform(8, 25)
        else:
            for _ in range(int(rng.integers(2, 6))):
                u = side * rng.uniform(_VERGE_U + 3, 30)
                props.append(
                    _Prop(
                        "tree",
                        s + rng.uniform(-4, 4),
                        u,
                        rng.uniform(3, 6),
                        rng.uniform(5, 11),
                        0.0,
                        _jitter(rng, (50.0, 85.0, 40.0), 0.2),
                        (80.0, 60.0, 45.0),
                    )
                )
                s += rng.uniform(3, 9)
            s += rng.uniform(5, 20)
    return tuple(props)


def _make_vehicles(rng: np.random.Generator) -> tuple[_Vehicle, ...]:
    """A lead car, cars in the side lanes and maybe a slow truck, at different distances.

    Lane-mates get distance ranges that cannot overlap, so vehicles never drive through each other.
    """
    palette = (
        (200.0, 30.0, 30.0),
        (30.0, 60.0, 150.0),
        (210.0, 210.0, 215.0),
        (40.0, 40.0, 45.0),
        (150.0, 150.0, 155.0),
        (20.0, 100.0, 60.0),
    )
    specs = [
        (0.0, rng.uniform(20, 32), False),
        (-_LANE_W, rng.uniform(30, 50), False),
        (_LANE_W, rng.uniform(22, 26), bool(rng.random() < 0.6)),
        (-_LANE_W, rng.uniform(85, 110), False),
        (_LANE_W, rng.uniform(70, 100), False),
    ]
    vehicles = []
    for u, z0, truck in specs:
        omega = 2 * math.pi / rng.uniform(25, 45)
        amp = min(rng.uniform(1.5, 5.0) / omega, 14.0, z0 - 8.0)  # relative speed up to 5 m/s
        phase = rng.uniform(0, 2 * math.pi)
        if truck:
            vehicles.append(
                _Vehicle(
                    u,
                    z0,
                    amp,
                    omega,
                    phase,
                    2.5,
                    rng.uniform(3.4, 4.0),
                    12.0,
                    _jitter(rng, (225.0, 225.0, 220.0), 0.08),
                    True,
                )
            )
        else:
            color = palette[int(rng.integers(len(palette)))]
            vehicles.append(
                _Vehicle(
                    u,
                    z0,
                    amp,
                    omega,
                    phase,
                    rng.uniform(1.75, 1.95),
                    rng.uniform(1.4, 1.7),
                    4.6,
                    _jitter(rng, color, 0.1),
                    False,
                )
            )
    return tuple(vehicles)


@functools.lru_cache(maxsize=8)
def _scene(seed: int) -> _Scene:
    """Layout choices for one seed; cached so each frame only pays for drawing."""
    rng = np.random.default_rng(seed)
    two_pi = 2 * math.pi
    scene = _Scene(
        speed=float(rng.uniform(19, 26)),
        wander=(rng.uniform(0.15, 0.35), two_pi / rng.uniform(5, 9), rng.uniform(0, two_pi)),
        curve=(rng.uniform(5e-4, 1.2e-3), two_pi / rng.uniform(14, 24), rng.uniform(0, two_pi)),
        bob=(rng.uniform(0.6, 1.4), two_pi / rng.uniform(0.9, 1.6), rng.uniform(0, two_pi)),
        surge=(rng.uniform(0.5, 1.5), two_pi / rng.uniform(6, 10), rng.uniform(0, two_pi)),
        asphalt=_jitter(rng, (92.0, 93.0, 97.0), 0.08),
        grass=_jitter(rng, (78.0, 112.0, 52.0), 0.1),
        tex_coarse=_periodic_noise(rng, (256, 128), 1.5),
        tex_fine=_periodic_noise(rng, (512, 512), 0.6),
        clouds=_make_clouds(rng),
        hills=_skyline(rng, 14.0, 16.0, 1.0),
        trees=_skyline(rng, 5.0, 3.0, 2.5),
        props=_make_props(rng),
        vehicles=_make_vehicles(rng),
    )
    for arr in (scene.tex_coarse, scene.tex_fine, scene.clouds, scene.hills, scene.trees):
        arr.setflags(write=False)
    return scene


def _pose(scene: _Scene, t: int) -> _Pose:
    """Ego-motion at frame t: steady speed, gentle lane wander and slowly changing curvature."""
    tau = t / DEMO_FPS
    wa, ww, wp = scene.wander
    ka, kw, kp = scene.curve
    ba, bw, bp = scene.bob
    sa, sw, sp = scene.surge
    s = scene.speed * tau + sa * math.sin(sw * tau + sp)
    e = wa * math.sin(ww * tau + wp)
    heading = wa * ww * math.cos(ww * tau + wp) / scene.speed  # consistent with de/dt
    curv = ka * math.sin(kw * tau + kp)
    # integral of curvature over distance: how far the road (and the car with it) has turned
    road_yaw = -ka * scene.speed / kw * math.cos(kw * tau + kp)
    horizon = _HORIZON + ba * math.sin(bw * tau + bp) + 0.4 * ba * math.sin(2.7 * bw * tau)
    return _Pose(s, e, heading, curv, road_yaw + heading, horizon)


def _road_x(pose: _Pose, z: np.ndarray | float, u: float = 0.0) -> np.ndarray | float:
    """Image column of road point (distance z ahead, lateral u): the road bends with curvature."""
    x_world = u - pose.e - pose.heading * z + 0.5 * pose.curv * z * z
    return _CX + _F * x_world / z


def _ground_y(pose: _Pose, z: float) -> float:
    """Image row of the road surface at distance z."""
    return pose.horizon + _F * _CAM_H / z


# --- drawing primitives (float32 canvas, anti-aliased by exact box coverage) --------------------


def _span_cover(lo: float, hi: float, start: int, stop: int) -> np.ndarray:
    """Fraction of each pixel [i, i+1) in [start, stop) covered by the interval [lo, hi]."""
    i = np.arange(start, stop, dtype=np.float32)
    return np.clip(np.minimum(i + 1, hi) - np.maximum(i, lo), 0.0, 1.0)


def _bounds(lo: float, hi: float, size: int) -> tuple[int, int]:
    return max(int(math.floor(lo)), 0), min(int(math.ceil(hi)), size)


def _blend(region: np.ndarray, color, alpha: np.ndarray) -> None:
    """Alpha-composite a colour (or colour image) over a canvas region, in place."""
    region += (np.asarray(color, np.float32) - region) * alpha[..., None]


def _fill_rect(
    img: np.ndarray, x0: float, y0: float, x1: float, y1: float, color, alpha: float = 1.0
) -> None:
    """A solid axis-aligned rectangle with sub-pixel edges, so motion is smooth."""
    xa, xb = _bounds(x0, x1, img.shape[1])
    ya, yb = _bounds(y0, y1, img.shape[0])
    if xa >= xb or ya >= yb:
        return
    a = _span_cover(y0, y1, ya, yb)[:, None] * _span_cover(x0, x1, xa, xb)[None, :]
    _blend(img[ya:yb, xa:xb], color, a * alpha)


def _fill_quad(
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
    xa, xb = _bounds(x0, x1, img.shape[1])
    ya, yb = _bounds(min(top), max(bottom), img.shape[0])
    if xa >= xb or ya >= yb:
        return
    xc = np.arange(xa, xb, dtype=np.float32) + 0.5
    f = np.clip((xc - x0) / (x1 - x0), 0.0, 1.0)
    t_edge = (top[0] + (top[1] - top[0]) * f)[None, :]
    b_edge = (bottom[0] + (bottom[1] - bottom[0]) * f)[None, :]
    y = np.arange(ya, yb, dtype=np.float32)[:, None]
    a = np.clip(np.minimum(y + 1, b_edge) - np.maximum(y, t_edge), 0.0, 1.0)
    a *= _span_cover(x0, x1, xa, xb)[None, :]
    _blend(img[ya:yb, xa:xb], color, a * alpha)


def _fill_wall(
    img: np.ndarray, a: tuple[float, float, float], b: tuple[float, float, float], color
) -> None:
    """A vertical wall between two (x, top, bottom) edges, whichever is on the left."""
    if a[0] > b[0]:
        a, b = b, a
    _fill_quad(img, a[0], b[0], (a[1], b[1]), (a[2], b[2]), color)


def _fill_ellipse(
    img: np.ndarray, cx: float, cy: float, rx: float, ry: float, color, alpha: float = 1.0
) -> None:
    """A filled ellipse with a one-pixel soft rim."""
    xa, xb = _bounds(cx - rx - 1, cx + rx + 1, img.shape[1])
    ya, yb = _bounds(cy - ry - 1, cy + ry + 1, img.shape[0])
    if xa >= xb or ya >= yb or rx <= 0 or ry <= 0:
        return
    dx = ((np.arange(xa, xb, dtype=np.float32) + 0.5 - cx) / rx)[None, :]
    dy = ((np.arange(ya, yb, dtype=np.float32) + 0.5 - cy) / ry)[:, None]
    d = np.sqrt(dx * dx + dy * dy)
    a = np.clip((1.0 - d) * min(rx, ry) + 0.5, 0.0, 1.0)
    _blend(img[ya:yb, xa:xb], color, a * alpha)


# --- scene layers ---------------------------------------------------------------------------


def _draw_sky(img: np.ndarray, scene: _Scene, pose: _Pose) -> None:
    """Vertical gradient and clouds; at infinity, so they move only when the camera yaws."""
    rows = int(math.floor(pose.horizon)) + 2
    y = np.arange(rows, dtype=np.float32) + 0.5
    v = np.clip((pose.horizon - y) / pose.horizon, 0.0, 1.0) ** 0.6
    top, low = np.array([62, 112, 186], np.float32), np.array([190, 208, 226], np.float32)
    sky = low[None, :] + (top - low)[None, :] * v[:, None]  # (rows, 3)

    # sample the cloud panorama at a sub-pixel shift (bilinear over four shifted slices)
    pano_x0 = _F * pose.yaw  # panorama column seen by image column 0
    ix = math.floor(pano_x0)
    fx = pano_x0 - ix
    py0 = _PANO_ABOVE - pose.horizon  # panorama row of image row 0
    iy = math.floor(py0)
    fy = py0 - iy
    band = scene.clouds[iy : iy + rows + 1]
    ix %= _PANO_W
    if ix + DEMO_WIDTH + 1 <= _PANO_W:
        band = band[:, ix : ix + DEMO_WIDTH + 1]
    else:
        band = band.take(np.arange(ix, ix + DEMO_WIDTH + 1) % _PANO_W, axis=1)
    band = band[:, :-1] * (1 - fx) + band[:, 1:] * fx
    cloud = band[:-1] * (1 - fy) + band[1:] * fy
    # clouds are white with slightly grey, denser cores: sky * (1 - a) + (white - 28 a^2) * a
    clear = 1.0 - cloud
    core = 28.0 * cloud * cloud * cloud
    for c, white in enumerate((244.0, 245.0, 248.0)):
        out = img[:rows, :, c]
        np.multiply(clear, sky[:, c : c + 1], out=out)
        out += cloud * np.float32(white)
        out -= core


def _draw_skyline(img: np.ndarray, scene: _Scene, pose: _Pose) -> None:
    """Distant hills and tree line, hazy, hiding the seam between sky and ground."""
    pano_x = (np.arange(DEMO_WIDTH) + _F * pose.yaw) % _PANO_W
    for heights, color in ((scene.hills, (128, 146, 160)), (scene.trees, (72, 92, 78))):
        h = np.interp(pano_x, np.arange(_PANO_W + 1), np.append(heights, heights[0]))
        band_top = int(math.floor(pose.horizon - float(h.max()))) - 1
        ya = max(band_top, 0)
        yb = int(math.ceil(pose.horizon)) + 3
        yy = np.arange(ya, yb, dtype=np.float32)[:, None]
        a = np.clip(np.minimum(yy + 1, pose.horizon + 2.0) - np.maximum(yy, pose.horizon - h), 0, 1)
        _blend(img[ya:yb], color, a.astype(np.float32))


def _sample_texture(
    tex: np.ndarray, s: np.ndarray, u: np.ndarray, cell_s: float, cell_u: float
) -> np.ndarray:
    """Bilinear lookup of tileable noise at road coordinates (s per row, u per pixel).

    Rows are interpolated first (one s per image row), so the per-pixel work is two gathers.
    The texture width must be a power of two (the wrap is a bit mask).
    """
    ns, nu = tex.shape
    fs = s / cell_s
    i0 = np.floor(fs)
    ws = (fs - i0).astype(np.float32)[:, None]
    i0 = i0.astype(np.int64) % ns
    rows = np.empty((len(s), nu + 1), np.float32)
    rows[:, :nu] = tex[i0] * (1 - ws) + tex[(i0 + 1) % ns] * ws
    rows[:, nu] = rows[:, 0]  # wrap column for the +1 neighbour
    fu = u * np.float32(1.0 / cell_u)
    j = np.floor(fu)
    wu = fu - j
    idx = j.astype(np.int32)
    idx &= nu - 1
    idx += (np.arange(len(s), dtype=np.int32) * (nu + 1))[:, None]
    flat = rows.ravel()
    a = flat.take(idx)
    b = flat.take(idx + 1)
    b -= a
    b *= wu
    b += a
    return b


def _line_cover(d: np.ndarray, hw: float, p: np.ndarray) -> np.ndarray:
    """Exact box-filtered coverage of a line of half width hw at lateral distance d."""
    half = 0.5 * p
    return np.clip(np.minimum(d + half, hw) - np.maximum(d - half, -hw), 0.0, None) / p


def _dash_cover(s: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Fraction of a row footprint [s - q/2, s + q/2] that falls on a dash (periodic pattern)."""

    def integral(x: np.ndarray) -> np.ndarray:
        n = np.floor(x / _DASH_PERIOD)
        return n * _DASH_LEN + np.minimum(x - n * _DASH_PERIOD, _DASH_LEN)

    return (integral(s + 0.5 * q) - integral(s - 0.5 * q)) / q


def _draw_ground(img: np.ndarray, scene: _Scene, pose: _Pose) -> None:
    """Road, markings, verge and grass, textured in road coordinates so texture flows with motion."""
    r0 = int(math.floor(pose.horizon)) + 1
    r1 = _GROUND_END
    yc = np.arange(r0, r1, dtype=np.float64) + 0.5
    dy = np.maximum(yc - pose.horizon, 0.5)
    z = _F * _CAM_H / dy  # distance of each row
    s = z + pose.s  # road position of each row
    p = (z / _F).astype(np.float32)[:, None]  # metres per pixel across the road
    q = z * z / (_F * _CAM_H)  # metres per pixel along the road
    xc = _road_x(pose, z)

    x = np.arange(DEMO_WIDTH, dtype=np.float32)[None, :] + 0.5
    u = (x - xc.astype(np.float32)[:, None]) * p  # lateral position of every pixel
    au = np.abs(u)

    # surfaces: asphalt | gravel verge | grass, anti-aliased boundaries
    w_road = np.clip((_ASPHALT_U - au) / p + 0.5, 0.0, 1.0)
    w_grass = np.clip((au - _VERGE_U) / p + 0.5, 0.0, 1.0)
    w_verge = 1.0 - w_road - w_grass

    # texture cells are longer along the road (wear streaks), which also limits aliasing far away
    coarse = _sample_texture(scene.tex_coarse, s, u, 1.5, 0.4)
    fine = _sample_texture(scene.tex_fine, s, u, 0.05, 0.015)
    fine *= np.clip(2.0 - q / 0.1, 0.0, 1.0).astype(np.float32)[:, None]  # fade before aliasing

    # per-surface brightness: asphalt grain, patches and darker oil stripes mid-lane
    ul = np.mod(u + 0.5 * _LANE_W, _LANE_W) - 0.5 * _LANE_W
    asphalt_l = 1.0 + 0.05 * coarse + 0.07 * fine - 0.10 * np.exp(-((ul / 0.45) ** 2))
    grass_l = 1.0 + 0.16 * coarse + 0.14 * fine
    verge_l = 1.0 + 0.08 * coarse + 0.18 * fine

    # markings: dashed lane lines that scroll with speed, solid edge lines
    dash = _dash_cover(s, q).astype(np.float32)[:, None]
    paint = dash * _line_cover(au - 0.5 * _LANE_W, _LINE_HW, p)
    paint += _line_cover(au - _EDGE_U, _LINE_HW * 1.3, p)
    np.minimum(paint, 1.0, out=paint)

    # atmospheric haze towards the horizon; fold paint and haze into per-surface weights so the
    # colour image is assembled in a single pass per channel
    haze = (1.0 - np.exp(-z / _HAZE_DIST)).astype(np.float32)[:, None]
    keep = (1.0 - paint) * (1.0 - haze)
    weights = (
        w_road * asphalt_l * keep,
        w_grass * grass_l * keep,
        w_verge * verge_l * keep,
        paint * (1.0 - haze) * (0.9 + 0.1 * fine),
    )
    colors = (scene.asphalt, scene.grass, (150.0, 138.0, 118.0), (228.0, 228.0, 218.0))
    for c, hz in enumerate((178.0, 192.0, 206.0)):
        out = img[r0:r1, :, c]
        np.multiply(haze, hz, out=out)
        for w, col in zip(weights, colors, strict=True):
            out += w * np.float32(col[c])


def _hazed(color: _Color, z: float) -> _Color:
    """Blend a colour towards the haze the way the ground does, so objects sit in the scene."""
    h = 1.0 - math.exp(-z / _HAZE_DIST)
    return tuple(c + (hz - c) * h for c, hz in zip(color, (178.0, 192.0, 206.0), strict=True))


def _shade(color: _Color, f: float) -> _Color:
    return tuple(c * f for c in color)


def _draw_pole(img: np.ndarray, pose: _Pose, prop: _Prop, z: float) -> None:
    """A street-light pole with an arm reaching over the road."""
    xg = float(_road_x(pose, z, prop.u))
    yg = _ground_y(pose, z)
    k = _F / z
    w = prop.width * k
    ytop = yg - prop.height * k
    _fill_rect(img, xg - w / 2, ytop, xg + w / 2, yg, _hazed(prop.color, z))
    arm = -math.copysign(1.6, prop.u) * k
    x0, x1 = sorted((xg, xg + arm))
    _fill_rect(img, x0, ytop, x1, ytop + 0.6 * w, _hazed(prop.color2, z))
    lamp_x = xg + arm
    _fill_rect(
        img,
        lamp_x - 0.3 * k,
        ytop,
        lamp_x + 0.3 * k,
        ytop + 0.18 * k,
        _hazed((215.0, 215.0, 200.0), z),
    )


def _draw_tree(img: np.ndarray, pose: _Pose, prop: _Prop, z: float) -> None:
    """Trunk plus a two-tone canopy."""
    xg = float(_road_x(pose, z, prop.u))
    yg = _ground_y(pose, z)
    k = _F / z
    trunk_h = 0.35 * prop.height * k
    _fill_rect(
        img, xg - 0.18 * k, yg - trunk_h - 0.3 * k, xg + 0.18 * k, yg, _hazed(prop.color2, z)
    )
    rx, ry = 0.5 * prop.width * k, 0.36 * prop.height * k
    cy = yg - prop.height * k + ry
    _fill_ellipse(img, xg, cy, rx, ry, _hazed(_shade(prop.color, 0.75), z))
    _fill_ellipse(
        img, xg - 0.15 * rx, cy - 0.2 * ry, 0.7 * rx, 0.65 * ry, _hazed(prop.color, z), 0.9
    )


def _draw_building(img: np.ndarray, pose: _Pose, prop: _Prop, z: float) -> None:
    """A block: the side wall facing the road in perspective, then the front with windows."""
    hw = prop.width / 2
    near_u = prop.u - math.copysign(hw, prop.u)  # the wall facing the road
    z_front = max(z, _Z_NEAR)
    z_back = z + prop.depth
    if z_back <= _Z_NEAR:
        return
    xf = float(_road_x(pose, z_front, near_u))
    xb = float(_road_x(pose, z_back, near_u))
    ygf, ygb = _ground_y(pose, z_front), _ground_y(pose, z_back)
    tf, tb = ygf - prop.height * _F / z_front, ygb - prop.height * _F / z_back
    side = _hazed(_shade(prop.color, 0.72), 0.5 * (z_front + z_back))
    _fill_wall(img, (xf, tf, ygf), (xb, tb, ygb), side)
    if z < _Z_NEAR:
        return
    k = _F / z
    x0 = float(_road_x(pose, z, prop.u - hw))
    x1 = x0 + prop.width * k
    yg = _ground_y(pose, z)
    y0 = yg - prop.height * k
    xa, xb_ = _bounds(x0, x1, img.shape[1])
    ya, yb = _bounds(y0, yg, img.shape[0])
    if xa >= xb_ or ya >= yb:
        return
    # windows: a soft grid in wall coordinates that fades to its mean when it gets too small
    cell = 3.0 * k  # window pitch in px
    wx = (np.arange(xa, xb_, dtype=np.float32) + 0.5 - x0) / cell
    wy = (np.arange(ya, yb, dtype=np.float32) + 0.5 - y0) / cell
    mx = np.clip((0.3 - np.abs(wx - np.floor(wx) - 0.5)) * cell + 0.5, 0, 1)
    my = np.clip((0.25 - np.abs(wy - np.floor(wy) - 0.45)) * cell + 0.5, 0, 1)
    my *= wy < np.floor((yg - y0) / cell) - 0.3  # no windows at street level
    sharp = min(cell / 4.0, 1.0)
    win = sharp * my[:, None] * mx[None, :] + (1 - sharp) * 0.24
    a = _span_cover(y0, yg, ya, yb)[:, None] * _span_cover(x0, x1, xa, xb_)[None, :]
    region = img[ya:yb, xa:xb_]
    _blend(region, _hazed(prop.color, z), a)
    _blend(region, _hazed(prop.color2, z), a * win * 0.9)


def _draw_vehicle(img: np.ndarray, pose: _Pose, car: _Vehicle, z: float) -> None:
    """A car or truck seen from behind: shadow, visible side, body, rear window, lights."""
    k = _F / z
    xc = float(_road_x(pose, z, car.u))
    yg = _ground_y(pose, z)
    hw = car.width / 2
    # contact shadow on the road, from the rear bumper to the front
    z2 = z + car.length
    yg2 = _ground_y(pose, z2)
    _fill_rect(img, xc - 1.05 * hw * k, yg2, xc + 1.05 * hw * k, yg + 0.08 * k, (15, 15, 18), 0.55)
    # the side facing the camera axis, in perspective
    side_u = car.u + (hw if _road_x(pose, z, car.u) < _CX else -hw)
    xs_r, xs_f = float(_road_x(pose, z, side_u)), float(_road_x(pose, z2, side_u))
    body_h = car.height * (0.92 if car.truck else 0.62)
    top_r, top_f = yg - body_h * k, yg2 - body_h * _F / z2
    bot_r, bot_f = yg - 0.25 * k, yg2 - 0.25 * _F / z2
    side = _hazed(_shade(car.color, 0.7), z)
    _fill_wall(img, (xs_r, top_r, bot_r), (xs_f, top_f, bot_f), side)
    if not car.truck:  # the cabin's side windows, set in from the body side
        cab_u = side_u - math.copysign(0.17 * car.width, side_u - car.u)
        za, zb = z + 0.9, z + 3.0
        ka, kb = _F / za, _F / zb
        ya, yb = _ground_y(pose, za), _ground_y(pose, zb)
        _fill_wall(
            img,
            (float(_road_x(pose, za, cab_u)), ya - car.height * ka, ya - body_h * ka),
            (float(_road_x(pose, zb, cab_u)), yb - car.height * kb, yb - body_h * kb),
            _hazed((34, 40, 52), z),
        )
    x0, x1 = xc - hw * k, xc + hw * k
    dark = _hazed((22, 22, 25), z)
    # wheels, body, cabin
    for wx in (x0 + 0.1 * k, x1 - 0.4 * k):
        _fill_rect(img, wx, yg - 0.4 * k, wx + 0.3 * k, yg, dark)
    body = _hazed(car.color, z)
    _fill_rect(img, x0, yg - body_h * k, x1, yg - 0.22 * k, body)
    if car.truck:
        _fill_rect(img, x0, yg - body_h * k, x1, yg - (body_h - 0.08) * k, _shade(body, 0.8))
        _fill_rect(
            img,
            xc - 0.02 * k,
            yg - (body_h - 0.1) * k,
            xc + 0.02 * k,
            yg - 0.5 * k,
            _shade(body, 0.7),
        )
    else:
        inset = 0.17 * car.width * k
        _fill_rect(img, x0 + inset, yg - car.height * k, x1 - inset, yg - body_h * k + 1, body)
        _fill_rect(
            img,
            x0 + inset * 1.25,
            yg - (car.height - 0.07) * k,
            x1 - inset * 1.25,
            yg - (body_h + 0.04) * k,
            _hazed((28, 34, 46), z),
        )
    # bumper, plate, tail lights
    _fill_rect(img, x0, yg - 0.45 * k, x1, yg - 0.22 * k, _shade(body, 0.55))
    _fill_rect(
        img, xc - 0.26 * k, yg - 0.58 * k, xc + 0.26 * k, yg - 0.46 * k, _hazed((230, 230, 225), z)
    )
    light = _hazed((225, 30, 30), z)
    ly = yg - (0.95 if not car.truck else 0.75) * k
    _fill_rect(img, x0 + 0.05 * k, ly, x0 + 0.35 * k, ly + 0.16 * k, light)
    _fill_rect(img, x1 - 0.35 * k, ly, x1 - 0.05 * k, ly + 0.16 * k, light)


def _draw_objects(img: np.ndarray, scene: _Scene, pose: _Pose, t: int) -> None:
    """Props and vehicles, painted far to near so nearer things occlude farther ones."""
    items: list[tuple[float, int, object]] = []
    for i, prop in enumerate(scene.props):
        z = (prop.s - pose.s) % _TILE
        reach = prop.depth if prop.kind == "building" else 0.0
        if z > _TILE - reach - _Z_NEAR:  # a building we are driving past
            z -= _TILE
        if _Z_NEAR - reach < z < _Z_FAR:
            items.append((z, i, prop))
    tau = t / DEMO_FPS
    for i, car in enumerate(scene.vehicles):
        z = car.z0 + car.amp * math.sin(car.omega * tau + car.phase)
        items.append((z, len(scene.props) + i, car))
    items.sort(key=lambda item: (-item[0], item[1]))
    for z, _, obj in items:
        if isinstance(obj, _Vehicle):
            _draw_vehicle(img, pose, obj, z)
        elif obj.kind == "pole":
            _draw_pole(img, pose, obj, z)
        elif obj.kind == "tree":
            _draw_tree(img, pose, obj, z)
        else:
            _draw_building(img, pose, obj, z)


@functools.lru_cache(maxsize=1)
def _hood_and_vignette() -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """The static dashcam overlay: the car hood (colour and alpha) and lens vignetting."""
    x = (np.arange(DEMO_WIDTH, dtype=np.float32) + 0.5 - _CX) / _CX
    edge = _HOOD_TOP + _HOOD_DROP * x * x  # hood edge per column
    r0 = int(math.floor(_HOOD_TOP))
    y = np.arange(r0, DEMO_HEIGHT, dtype=np.float32)[:, None]
    alpha = np.clip(y + 1 - edge[None, :], 0.0, 1.0)
    depth = np.clip((y - edge[None, :]) / 80.0, 0.0, 1.0)
    base = 38.0 - 18.0 * depth + 6.0 * (1 - x * x)[None, :]
    glint = 40.0 * np.exp(-(((y - edge[None, :] - 6.0) / 4.0) ** 2)) * (1 - 0.7 * x * x)[None, :]
    color = np.stack([base + glint, base + glint * 1.05 + 1, base + glint * 1.15 + 4], axis=-1)
    yy = (np.arange(DEMO_HEIGHT, dtype=np.float32)[:, None] + 0.5 - DEMO_HEIGHT / 2) / _CX
    vignette = (1.0 - 0.22 * (x[None, :] ** 2 + yy**2))[..., None]
    out = tuple(a.astype(np.float32) for a in (color, alpha, vignette))
    for arr in out:
        arr.setflags(write=False)
    return (r0, *out)


def render_frame(t: int, seed: int = 0) -> np.ndarray:
    """Frame t of the synthetic drive as uint8 (874, 1164, 3) RGB; depends only on (t, seed)."""
    scene = _scene(int(seed))
    pose = _pose(scene, int(t))
    img = np.empty((DEMO_HEIGHT, DEMO_WIDTH, 3), np.float32)
    _draw_sky(img, scene, pose)
    _draw_ground(img, scene, pose)
    _draw_skyline(img, scene, pose)
    _draw_objects(img, scene, pose, int(t))
    img[_GROUND_END:] = 0.0  # fully under the hood; must not stay uninitialised
    r0, hood, hood_alpha, vignette = _hood_and_vignette()
    _blend(img[r0:], hood, hood_alpha)
    img *= vignette
    np.clip(img + 0.5, 0.0, 255.0, out=img)
    return img.astype(np.uint8)


def render_frames(n: int = DEMO_FRAMES, seed: int = 0) -> np.ndarray:
    """Frames 0..n-1 as uint8 (n, 874, 1164, 3); for short clips (each frame is 3 MB)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    out = np.empty((n, DEMO_HEIGHT, DEMO_WIDTH, 3), np.uint8)
    for t in range(n):
        out[t] = render_frame(t, seed)
    return out


def write_demo_clip(
    path: str | os.PathLike, n: int = DEMO_FRAMES, seed: int = 0, crf: int = 12
) -> Path:
    """Encode the drive as high-quality HEVC in Matroska, atomically and byte-reproducibly.

    The muxer's bitexact flag drops the random segment UID and version strings, and the x265
    parameters pin threading and drop the settings SEI (it names the CPU), so the same
    (n, seed, crf) gives the same bytes with the same PyAV/x265 build.
    """
    if n < 1:
        raise ValueError(f"a clip needs at least one frame, got n={n}")
    frames = (render_frame(t, seed) for t in range(n))
    return encode_frames(frames, path, codec="libx265", crf=crf, preset="medium", fps=DEMO_FPS)
