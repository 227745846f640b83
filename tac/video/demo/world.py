"""The world of the synthetic drive: geometry, the seeded layout and the moving camera.

The camera is a pinhole (focal length close to the comma camera's) looking along a three-lane
road; the world is described in road coordinates (s along the road, u across it, metres).
Everything here depends only on the seed (the layout, cached) or on (t, seed) (the pose).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

# the contest video's frame size and rate (re-exported by tac.video.demo)
DEMO_WIDTH = 1164
DEMO_HEIGHT = 874
DEMO_FPS = 20

# --- camera and road geometry (metres and pixels) ---------------------------------------------
FOCAL = 910.0  # focal length in pixels
CX = DEMO_WIDTH / 2
HORIZON = 380.0  # image row of the horizon at rest (camera pitched slightly down)
CAM_H = 1.25  # camera height above the road
LANE_W = 3.6
LINE_HW = 0.075  # half width of a painted line
DASH_LEN, DASH_PERIOD = 3.0, 12.0
EDGE_U = 1.5 * LANE_W  # solid edge lines
ASPHALT_U = EDGE_U + 0.6  # asphalt shoulder beyond the edge line
VERGE_U = ASPHALT_U + 1.3  # gravel verge, then grass
Z_FAR = 260.0  # props and vehicles farther than this are lost in the haze
Z_NEAR = 0.8
TILE = 600.0  # the roadside layout repeats every TILE metres
HAZE_DIST = 420.0

# --- the car hood (static, dashcam look) ------------------------------------------------------
HOOD_TOP = 0.855 * DEMO_HEIGHT  # hood edge at the image centre
HOOD_DROP = 55.0  # how much lower the edge sits at the image sides
GROUND_END = int(math.ceil(HOOD_TOP + HOOD_DROP)) + 2  # rows below are all hood

# --- the sky panorama (things at infinity move only when the camera yaws) ----------------------
PANO_W = 4096
PANO_ABOVE = 420  # panorama rows above the horizon
PANO_H = PANO_ABOVE + 4

Color = tuple[float, float, float]


@dataclass(frozen=True)
class Prop:
    """A roadside object at road position (s, u); kind is 'pole', 'tree' or 'building'."""

    kind: str
    s: float
    u: float
    width: float
    height: float
    depth: float
    color: Color
    color2: Color


@dataclass(frozen=True)
class Vehicle:
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
    color: Color
    truck: bool


@dataclass(frozen=True)
class Scene:
    """Everything that depends on the seed only, built once and cached (arrays are read-only)."""

    speed: float
    wander: tuple[float, float, float]  # lateral wander in the lane: amplitude, omega, phase
    curve: tuple[float, float, float]  # road curvature: amplitude (1/m), omega, phase
    bob: tuple[float, float, float]  # pitch bob of the horizon: amplitude (px), omega, phase
    surge: tuple[float, float, float]  # speed variation: amplitude (m), omega, phase
    asphalt: Color
    grass: Color
    tex_coarse: np.ndarray  # periodic noise, 0.5 m cells
    tex_fine: np.ndarray  # periodic noise, 4 cm cells
    clouds: np.ndarray  # (PANO_H, PANO_W) cloud opacity
    hills: np.ndarray  # (PANO_W,) height of distant hills above the horizon, px
    trees: np.ndarray  # (PANO_W,) height of the distant tree line, px
    props: tuple[Prop, ...]
    vehicles: tuple[Vehicle, ...]


@dataclass(frozen=True)
class Pose:
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
    density = np.zeros((PANO_H, PANO_W), np.float32)
    ys = np.arange(PANO_H, dtype=np.float32)[:, None]
    for _ in range(int(rng.integers(6, 10))):
        cx = rng.uniform(0, PANO_W)
        height = rng.uniform(40, PANO_ABOVE - 60)  # px above the horizon
        scale = 0.4 + 0.9 * height / PANO_ABOVE  # clouds high up are closer, hence bigger
        for _ in range(int(rng.integers(5, 11))):
            px = cx + rng.normal(0, 90 * scale)
            py = PANO_ABOVE - height + rng.normal(0, 18 * scale)
            rx, ry = rng.uniform(35, 80) * scale, rng.uniform(14, 30) * scale
            x0, x1 = int(px - 3 * rx), int(px + 3 * rx) + 1
            cols = np.arange(x0, x1)
            dx = (cols - px) / rx
            puff = np.exp(-0.5 * (dx[None, :] ** 2 + ((ys - py) / ry) ** 2))
            np.add.at(density, (slice(None), cols % PANO_W), rng.uniform(0.8, 1.6) * puff)
    return (1.0 - np.exp(-1.6 * density)).astype(np.float32)


def _skyline(rng: np.random.Generator, base: float, amp: float, rough: float) -> np.ndarray:
    """A tileable horizon profile (px above the horizon) from a few sines plus noise."""
    x = np.arange(PANO_W) * (2 * math.pi / PANO_W)
    prof = np.full(PANO_W, base, np.float64)
    for k in (2, 3, 5, 8, 13):
        prof += amp / k**0.7 * np.sin(k * x + rng.uniform(0, 2 * math.pi))
    noise = _periodic_noise(rng, (1, PANO_W), 2.0)[0]
    prof += rough * noise
    return np.maximum(prof, 0.0).astype(np.float32)


def _jitter(rng: np.random.Generator, color: Color, amount: float) -> Color:
    """A colour varied a little, so that a seed changes the look and props are not clones."""
    f = rng.uniform(1 - amount, 1 + amount)
    r, g, b = (min(255.0, c * f * rng.uniform(1 - amount / 2, 1 + amount / 2)) for c in color)
    return (r, g, b)


def _make_props(rng: np.random.Generator) -> tuple[Prop, ...]:
    """Poles, trees and buildings along one tile of road, placed by the seed."""
    props: list[Prop] = []
    # street-light poles on both sides at a regular spacing, like a real highway
    spacing = rng.uniform(28, 40)
    for side, phase in ((1.0, 0.0), (-1.0, 0.5)):
        for s in np.arange(phase * spacing, TILE - 1, spacing):
            props.append(
                Prop(
                    "pole",
                    float(s),
                    side * (VERGE_U + 0.6),
                    0.22,
                    rng.uniform(7.5, 9.0),
                    0.0,
                    (120.0, 122.0, 125.0),
                    (70.0, 72.0, 75.0),
                )
            )
    # buildings in a few clusters, trees elsewhere
    s = 0.0
    while s < TILE - 20:
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
                Prop("building", s, u, width, rng.uniform(6, 22), depth, wall, (45.0, 55.0, 70.0))
            )
            s += depth + rng.uniform(8, 25)
        else:
            for _ in range(int(rng.integers(2, 6))):
                u = side * rng.uniform(VERGE_U + 3, 30)
                props.append(
                    Prop(
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


def _make_vehicles(rng: np.random.Generator) -> tuple[Vehicle, ...]:
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
        (-LANE_W, rng.uniform(30, 50), False),
        (LANE_W, rng.uniform(22, 26), bool(rng.random() < 0.6)),
        (-LANE_W, rng.uniform(85, 110), False),
        (LANE_W, rng.uniform(70, 100), False),
    ]
    vehicles = []
    for u, z0, truck in specs:
        omega = 2 * math.pi / rng.uniform(25, 45)
        amp = min(rng.uniform(1.5, 5.0) / omega, 14.0, z0 - 8.0)  # relative speed up to 5 m/s
        phase = rng.uniform(0, 2 * math.pi)
        if truck:
            vehicles.append(
                Vehicle(
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
                Vehicle(
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
def build_scene(seed: int) -> Scene:
    """Layout choices for one seed; cached so each frame only pays for drawing."""
    rng = np.random.default_rng(seed)
    two_pi = 2 * math.pi
    scene = Scene(
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


def camera_pose(scene: Scene, t: int) -> Pose:
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
    horizon = HORIZON + ba * math.sin(bw * tau + bp) + 0.4 * ba * math.sin(2.7 * bw * tau)
    return Pose(s, e, heading, curv, road_yaw + heading, horizon)


def road_x(pose: Pose, z: np.ndarray | float, u: float = 0.0) -> np.ndarray | float:
    """Image column of road point (distance z ahead, lateral u): the road bends with curvature."""
    x_world = u - pose.e - pose.heading * z + 0.5 * pose.curv * z * z
    return CX + FOCAL * x_world / z


def ground_y(pose: Pose, z: float) -> float:
    """Image row of the road surface at distance z."""
    return pose.horizon + FOCAL * CAM_H / z
