"""The scene layers of the synthetic drive, each painted onto the float32 canvas in turn.

The sky and skyline (at infinity), the textured ground with its markings, the roadside objects
and vehicles (far to near), and the static dashcam overlay (hood and vignette).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from tac.video.demo.draw import (
    Canvas,
    bounds,
    fill_ellipse,
    fill_rect,
    fill_wall,
    span_cover,
)
from tac.video.demo.truth import LANE_MARKING, OTHER, ROAD, SKY, VEHICLE
from tac.video.demo.world import (
    ASPHALT_U,
    CAM_H,
    CX,
    DASH_LEN,
    DASH_PERIOD,
    DEMO_FPS,
    DEMO_HEIGHT,
    DEMO_WIDTH,
    EDGE_U,
    FOCAL,
    GROUND_END,
    HAZE_DIST,
    HOOD_DROP,
    HOOD_TOP,
    LANE_W,
    LINE_HW,
    PANO_ABOVE,
    PANO_W,
    TILE,
    VERGE_U,
    Z_FAR,
    Z_NEAR,
    Color,
    Pose,
    Prop,
    Scene,
    Vehicle,
    ground_y,
    road_x,
)


def draw_sky(img: Canvas, scene: Scene, pose: Pose) -> None:
    """Vertical gradient and clouds; at infinity, so they move only when the camera yaws."""
    rows = int(math.floor(pose.horizon)) + 2
    y = np.arange(rows, dtype=np.float32) + 0.5
    v = np.clip((pose.horizon - y) / pose.horizon, 0.0, 1.0) ** 0.6
    top, low = np.array([62, 112, 186], np.float32), np.array([190, 208, 226], np.float32)
    sky = low[None, :] + (top - low)[None, :] * v[:, None]  # (rows, 3)

    # sample the cloud panorama at a sub-pixel shift (bilinear over four shifted slices)
    pano_x0 = FOCAL * pose.yaw  # panorama column seen by image column 0
    ix = math.floor(pano_x0)
    fx = pano_x0 - ix
    py0 = PANO_ABOVE - pose.horizon  # panorama row of image row 0
    iy = math.floor(py0)
    fy = py0 - iy
    band = scene.clouds[iy : iy + rows + 1]
    ix %= PANO_W
    if ix + DEMO_WIDTH + 1 <= PANO_W:
        band = band[:, ix : ix + DEMO_WIDTH + 1]
    else:
        band = band.take(np.arange(ix, ix + DEMO_WIDTH + 1) % PANO_W, axis=1)
    band = band[:, :-1] * (1 - fx) + band[:, 1:] * fx
    cloud = band[:-1] * (1 - fy) + band[1:] * fy
    # clouds are white with slightly grey, denser cores: sky * (1 - a) + (white - 28 a^2) * a
    clear = 1.0 - cloud
    core = 28.0 * cloud * cloud * cloud
    for c, white in enumerate((244.0, 245.0, 248.0)):
        out = img.rgb[:rows, :, c]
        np.multiply(clear, sky[:, c : c + 1], out=out)
        out += cloud * np.float32(white)
        out -= core
    if img.labels is not None:
        img.labels[:rows] = SKY


def draw_skyline(img: Canvas, scene: Scene, pose: Pose) -> None:
    """Distant hills and tree line, hazy, hiding the seam between sky and ground."""
    pano_x = (np.arange(DEMO_WIDTH) + FOCAL * pose.yaw) % PANO_W
    img.label = OTHER
    for heights, color in ((scene.hills, (128, 146, 160)), (scene.trees, (72, 92, 78))):
        h = np.interp(pano_x, np.arange(PANO_W + 1), np.append(heights, heights[0]))
        band_top = int(math.floor(pose.horizon - float(h.max()))) - 1
        ya = max(band_top, 0)
        yb = int(math.ceil(pose.horizon)) + 3
        yy = np.arange(ya, yb, dtype=np.float32)[:, None]
        a = np.clip(np.minimum(yy + 1, pose.horizon + 2.0) - np.maximum(yy, pose.horizon - h), 0, 1)
        img.paint(slice(ya, yb), slice(None), color, a.astype(np.float32))


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
        n = np.floor(x / DASH_PERIOD)
        return n * DASH_LEN + np.minimum(x - n * DASH_PERIOD, DASH_LEN)

    return (integral(s + 0.5 * q) - integral(s - 0.5 * q)) / q


def draw_ground(img: Canvas, scene: Scene, pose: Pose) -> None:
    """Road, markings, verge and grass, textured in road coordinates so texture flows with motion."""
    r0 = int(math.floor(pose.horizon)) + 1
    r1 = GROUND_END
    yc = np.arange(r0, r1, dtype=np.float64) + 0.5
    dy = np.maximum(yc - pose.horizon, 0.5)
    z = FOCAL * CAM_H / dy  # distance of each row
    s = z + pose.s  # road position of each row
    p = (z / FOCAL).astype(np.float32)[:, None]  # metres per pixel across the road
    q = z * z / (FOCAL * CAM_H)  # metres per pixel along the road
    xc = road_x(pose, z)

    x = np.arange(DEMO_WIDTH, dtype=np.float32)[None, :] + 0.5
    u = (x - xc.astype(np.float32)[:, None]) * p  # lateral position of every pixel
    au = np.abs(u)

    # surfaces: asphalt | gravel verge | grass, anti-aliased boundaries
    w_road = np.clip((ASPHALT_U - au) / p + 0.5, 0.0, 1.0)
    w_grass = np.clip((au - VERGE_U) / p + 0.5, 0.0, 1.0)
    w_verge = 1.0 - w_road - w_grass

    # texture cells are longer along the road (wear streaks), which also limits aliasing far away
    coarse = _sample_texture(scene.tex_coarse, s, u, 1.5, 0.4)
    fine = _sample_texture(scene.tex_fine, s, u, 0.05, 0.015)
    fine *= np.clip(2.0 - q / 0.1, 0.0, 1.0).astype(np.float32)[:, None]  # fade before aliasing

    # per-surface brightness: asphalt grain, patches and darker oil stripes mid-lane
    ul = np.mod(u + 0.5 * LANE_W, LANE_W) - 0.5 * LANE_W
    asphalt_l = 1.0 + 0.05 * coarse + 0.07 * fine - 0.10 * np.exp(-((ul / 0.45) ** 2))
    grass_l = 1.0 + 0.16 * coarse + 0.14 * fine
    verge_l = 1.0 + 0.08 * coarse + 0.18 * fine

    # markings: dashed lane lines that scroll with speed, solid edge lines
    dash = _dash_cover(s, q).astype(np.float32)[:, None]
    paint = dash * _line_cover(au - 0.5 * LANE_W, LINE_HW, p)
    paint += _line_cover(au - EDGE_U, LINE_HW * 1.3, p)
    np.minimum(paint, 1.0, out=paint)

    # atmospheric haze towards the horizon; fold paint and haze into per-surface weights so the
    # colour image is assembled in a single pass per channel
    haze = (1.0 - np.exp(-z / HAZE_DIST)).astype(np.float32)[:, None]
    keep = (1.0 - paint) * (1.0 - haze)
    weights = (
        w_road * asphalt_l * keep,
        w_grass * grass_l * keep,
        w_verge * verge_l * keep,
        paint * (1.0 - haze) * (0.9 + 0.1 * fine),
    )
    colors = (scene.asphalt, scene.grass, (150.0, 138.0, 118.0), (228.0, 228.0, 218.0))
    for c, hz in enumerate((178.0, 192.0, 206.0)):
        out = img.rgb[r0:r1, :, c]
        np.multiply(haze, hz, out=out)
        for w, col in zip(weights, colors, strict=True):
            out += w * np.float32(col[c])
    if img.labels is not None:  # each pixel takes the surface covering most of it
        cover = np.stack([w_road * (1.0 - paint), paint, (w_grass + w_verge) * (1.0 - paint)])
        img.labels[r0:r1] = np.array([ROAD, LANE_MARKING, OTHER], np.uint8)[cover.argmax(0)]


def _hazed(color: Color, z: float) -> Color:
    """Blend a colour towards the haze the way the ground does, so objects sit in the scene."""
    h = 1.0 - math.exp(-z / HAZE_DIST)
    return tuple(c + (hz - c) * h for c, hz in zip(color, (178.0, 192.0, 206.0), strict=True))


def _shade(color: Color, f: float) -> Color:
    return tuple(c * f for c in color)


def _draw_pole(img: Canvas, pose: Pose, prop: Prop, z: float) -> None:
    """A street-light pole with an arm reaching over the road."""
    xg = float(road_x(pose, z, prop.u))
    yg = ground_y(pose, z)
    k = FOCAL / z
    w = prop.width * k
    ytop = yg - prop.height * k
    fill_rect(img, xg - w / 2, ytop, xg + w / 2, yg, _hazed(prop.color, z))
    arm = -math.copysign(1.6, prop.u) * k
    x0, x1 = sorted((xg, xg + arm))
    fill_rect(img, x0, ytop, x1, ytop + 0.6 * w, _hazed(prop.color2, z))
    lamp_x = xg + arm
    fill_rect(
        img,
        lamp_x - 0.3 * k,
        ytop,
        lamp_x + 0.3 * k,
        ytop + 0.18 * k,
        _hazed((215.0, 215.0, 200.0), z),
    )


def _draw_tree(img: Canvas, pose: Pose, prop: Prop, z: float) -> None:
    """Trunk plus a two-tone canopy."""
    xg = float(road_x(pose, z, prop.u))
    yg = ground_y(pose, z)
    k = FOCAL / z
    trunk_h = 0.35 * prop.height * k
    fill_rect(img, xg - 0.18 * k, yg - trunk_h - 0.3 * k, xg + 0.18 * k, yg, _hazed(prop.color2, z))
    rx, ry = 0.5 * prop.width * k, 0.36 * prop.height * k
    cy = yg - prop.height * k + ry
    fill_ellipse(img, xg, cy, rx, ry, _hazed(_shade(prop.color, 0.75), z))
    fill_ellipse(
        img, xg - 0.15 * rx, cy - 0.2 * ry, 0.7 * rx, 0.65 * ry, _hazed(prop.color, z), 0.9
    )


def _draw_building(img: Canvas, pose: Pose, prop: Prop, z: float) -> None:
    """A block: the side wall facing the road in perspective, then the front with windows."""
    hw = prop.width / 2
    near_u = prop.u - math.copysign(hw, prop.u)  # the wall facing the road
    z_front = max(z, Z_NEAR)
    z_back = z + prop.depth
    if z_back <= Z_NEAR:
        return
    xf = float(road_x(pose, z_front, near_u))
    xb = float(road_x(pose, z_back, near_u))
    ygf, ygb = ground_y(pose, z_front), ground_y(pose, z_back)
    tf, tb = ygf - prop.height * FOCAL / z_front, ygb - prop.height * FOCAL / z_back
    side = _hazed(_shade(prop.color, 0.72), 0.5 * (z_front + z_back))
    fill_wall(img, (xf, tf, ygf), (xb, tb, ygb), side)
    if z < Z_NEAR:
        return
    k = FOCAL / z
    x0 = float(road_x(pose, z, prop.u - hw))
    x1 = x0 + prop.width * k
    yg = ground_y(pose, z)
    y0 = yg - prop.height * k
    xa, xb_ = bounds(x0, x1, img.shape[1])
    ya, yb = bounds(y0, yg, img.shape[0])
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
    a = span_cover(y0, yg, ya, yb)[:, None] * span_cover(x0, x1, xa, xb_)[None, :]
    ys, xs = slice(ya, yb), slice(xa, xb_)
    img.paint(ys, xs, _hazed(prop.color, z), a)
    img.paint(ys, xs, _hazed(prop.color2, z), a * win * 0.9)


def _draw_vehicle(img: Canvas, pose: Pose, car: Vehicle, z: float) -> None:
    """A car or truck seen from behind: shadow, visible side, body, rear window, lights."""
    k = FOCAL / z
    xc = float(road_x(pose, z, car.u))
    yg = ground_y(pose, z)
    hw = car.width / 2
    # contact shadow on the road, from the rear bumper to the front
    z2 = z + car.length
    yg2 = ground_y(pose, z2)
    shadow = (xc - 1.05 * hw * k, yg2, xc + 1.05 * hw * k, yg + 0.08 * k)
    fill_rect(img, *shadow, (15, 15, 18), 0.55, label=False)  # road stays road under it
    # the side facing the camera axis, in perspective
    side_u = car.u + (hw if road_x(pose, z, car.u) < CX else -hw)
    xs_r, xs_f = float(road_x(pose, z, side_u)), float(road_x(pose, z2, side_u))
    body_h = car.height * (0.92 if car.truck else 0.62)
    top_r, top_f = yg - body_h * k, yg2 - body_h * FOCAL / z2
    bot_r, bot_f = yg - 0.25 * k, yg2 - 0.25 * FOCAL / z2
    side = _hazed(_shade(car.color, 0.7), z)
    fill_wall(img, (xs_r, top_r, bot_r), (xs_f, top_f, bot_f), side)
    if not car.truck:  # the cabin's side windows, set in from the body side
        cab_u = side_u - math.copysign(0.17 * car.width, side_u - car.u)
        za, zb = z + 0.9, z + 3.0
        ka, kb = FOCAL / za, FOCAL / zb
        ya, yb = ground_y(pose, za), ground_y(pose, zb)
        fill_wall(
            img,
            (float(road_x(pose, za, cab_u)), ya - car.height * ka, ya - body_h * ka),
            (float(road_x(pose, zb, cab_u)), yb - car.height * kb, yb - body_h * kb),
            _hazed((34, 40, 52), z),
        )
    x0, x1 = xc - hw * k, xc + hw * k
    dark = _hazed((22, 22, 25), z)
    # wheels, body, cabin
    for wx in (x0 + 0.1 * k, x1 - 0.4 * k):
        fill_rect(img, wx, yg - 0.4 * k, wx + 0.3 * k, yg, dark)
    body = _hazed(car.color, z)
    fill_rect(img, x0, yg - body_h * k, x1, yg - 0.22 * k, body)
    if car.truck:
        fill_rect(img, x0, yg - body_h * k, x1, yg - (body_h - 0.08) * k, _shade(body, 0.8))
        fill_rect(
            img,
            xc - 0.02 * k,
            yg - (body_h - 0.1) * k,
            xc + 0.02 * k,
            yg - 0.5 * k,
            _shade(body, 0.7),
        )
    else:
        inset = 0.17 * car.width * k
        fill_rect(img, x0 + inset, yg - car.height * k, x1 - inset, yg - body_h * k + 1, body)
        fill_rect(
            img,
            x0 + inset * 1.25,
            yg - (car.height - 0.07) * k,
            x1 - inset * 1.25,
            yg - (body_h + 0.04) * k,
            _hazed((28, 34, 46), z),
        )
    # bumper, plate, tail lights
    fill_rect(img, x0, yg - 0.45 * k, x1, yg - 0.22 * k, _shade(body, 0.55))
    fill_rect(
        img, xc - 0.26 * k, yg - 0.58 * k, xc + 0.26 * k, yg - 0.46 * k, _hazed((230, 230, 225), z)
    )
    light = _hazed((225, 30, 30), z)
    ly = yg - (0.95 if not car.truck else 0.75) * k
    fill_rect(img, x0 + 0.05 * k, ly, x0 + 0.35 * k, ly + 0.16 * k, light)
    fill_rect(img, x1 - 0.35 * k, ly, x1 - 0.05 * k, ly + 0.16 * k, light)


def draw_objects(img: Canvas, scene: Scene, pose: Pose, t: int) -> None:
    """Props and vehicles, painted far to near so nearer things occlude farther ones."""
    items: list[tuple[float, int, object]] = []
    for i, prop in enumerate(scene.props):
        z = (prop.s - pose.s) % TILE
        reach = prop.depth if prop.kind == "building" else 0.0
        if z > TILE - reach - Z_NEAR:  # a building we are driving past
            z -= TILE
        if Z_NEAR - reach < z < Z_FAR:
            items.append((z, i, prop))
    tau = t / DEMO_FPS
    for i, car in enumerate(scene.vehicles):
        z = car.z0 + car.amp * math.sin(car.omega * tau + car.phase)
        items.append((z, len(scene.props) + i, car))
    items.sort(key=lambda item: (-item[0], item[1]))
    for z, _, obj in items:
        img.label = VEHICLE if isinstance(obj, Vehicle) else OTHER
        if isinstance(obj, Vehicle):
            _draw_vehicle(img, pose, obj, z)
        elif obj.kind == "pole":
            _draw_pole(img, pose, obj, z)
        elif obj.kind == "tree":
            _draw_tree(img, pose, obj, z)
        else:
            _draw_building(img, pose, obj, z)


@functools.lru_cache(maxsize=1)
def hood_and_vignette() -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """The static dashcam overlay: the car hood (colour and alpha) and lens vignetting."""
    x = (np.arange(DEMO_WIDTH, dtype=np.float32) + 0.5 - CX) / CX
    edge = HOOD_TOP + HOOD_DROP * x * x  # hood edge per column
    r0 = int(math.floor(HOOD_TOP))
    y = np.arange(r0, DEMO_HEIGHT, dtype=np.float32)[:, None]
    alpha = np.clip(y + 1 - edge[None, :], 0.0, 1.0)
    depth = np.clip((y - edge[None, :]) / 80.0, 0.0, 1.0)
    base = 38.0 - 18.0 * depth + 6.0 * (1 - x * x)[None, :]
    glint = 40.0 * np.exp(-(((y - edge[None, :] - 6.0) / 4.0) ** 2)) * (1 - 0.7 * x * x)[None, :]
    color = np.stack([base + glint, base + glint * 1.05 + 1, base + glint * 1.15 + 4], axis=-1)
    yy = (np.arange(DEMO_HEIGHT, dtype=np.float32)[:, None] + 0.5 - DEMO_HEIGHT / 2) / CX
    vignette = (1.0 - 0.22 * (x[None, :] ** 2 + yy**2))[..., None]
    out = tuple(a.astype(np.float32) for a in (color, alpha, vignette))
    for arr in out:
        arr.setflags(write=False)
    return (r0, *out)
