"""Inflate a codec-lane submission: for each listed NAME.ext, decode ARCHIVE_DIR/NAME.<video>,
convert to RGB exactly as the evaluator converts the original, resize to 1164x874 with the
filter named in inflate_config.json (beside this file), optionally correct the frames with the
post-filter the archive carries, and write OUTPUT_DIR/NAME.raw (uint8, N x 874 x 1164 x 3).

Copied into submissions: it runs where tac is not installed and imports nothing beyond the
standard library, torch, numpy, av and the `tacrt` package copied beside it (tac's own
post-filter code). tac imports it too (tac.lanes.codec.inflate.inflate), so what tac predicts
is what the submission produces.
"""

import json
import sys
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F

WIDTH, HEIGHT = 1164, 874
VIDEO_SUFFIXES = (".mkv", ".mp4", ".hevc", ".ivf", ".webm")
DEFAULT_CONFIG = {"upscale_filter": "bicubic", "filter": None}


def yuv420_to_rgb(frame):
    """A yuv420p av.VideoFrame → uint8 (H, W, 3), the evaluator's own conversion."""
    h, w = frame.height, frame.width
    planes = []
    for i, (rows, cols) in enumerate(((h, w), (h // 2, w // 2), (h // 2, w // 2))):
        p = frame.planes[i]
        plane = np.frombuffer(p, np.uint8).reshape(rows, p.line_size)[:, :cols]
        planes.append(torch.from_numpy(plane.copy()).float())
    y, u, v = planes
    uv = F.interpolate(torch.stack([u, v])[None], size=(h, w), mode="bilinear", align_corners=False)
    yf = (y - 16.0) * (255.0 / 219.0)
    uf = (uv[0, 0] - 128.0) * (255.0 / 224.0)
    vf = (uv[0, 1] - 128.0) * (255.0 / 224.0)
    r = (yf + 1.402 * vf).clamp(0, 255)
    g = (yf - 0.344136 * uf - 0.714136 * vf).clamp(0, 255)
    b = (yf + 1.772 * uf).clamp(0, 255)
    return torch.stack([r, g, b], dim=-1).round().to(torch.uint8)


def to_camera_size(rgb, upscale_filter="bicubic"):
    """uint8 (h, w, 3) → uint8 (874, 1164, 3); the identity when already at camera size."""
    if rgb.shape[0] == HEIGHT and rgb.shape[1] == WIDTH:
        return rgb
    x = rgb.permute(2, 0, 1)[None].float()
    corners = None if upscale_filter == "nearest" else False
    x = F.interpolate(x, size=(HEIGHT, WIDTH), mode=upscale_filter, align_corners=corners)
    return x[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8)


def decode_frames(src, upscale_filter="bicubic"):
    """Yield camera-size uint8 frames of one payload video."""
    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if frame.format.name != "yuv420p":
                frame = frame.reformat(format="yuv420p")
            yield to_camera_size(yuv420_to_rgb(frame), upscale_filter)


def load_filter(archive_dir, spec):
    """The post-filter the archive carries, rebuilt and run by the runtime copied beside this
    file: a function from decoded frames to corrected frames."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from tacrt.postfilter import build_postfilter
    from tacrt.postfilter.apply import filter_frames
    from tacrt.quant.tacq import decode_tacq

    config, state = decode_tacq((Path(archive_dir) / spec["member"]).read_bytes())
    model = build_postfilter(**config)
    model.load_state_dict(state, strict=True)
    model = model.eval().requires_grad_(False)
    return lambda frames: filter_frames(model, frames, spec["batch"])


def inflate_video(src, dst, upscale_filter="bicubic", correct=None):
    n = 0
    tmp = Path(dst).with_name(Path(dst).name + ".tmp")
    frames = decode_frames(src, upscale_filter)
    if correct is not None:
        frames = correct(frames)
    with open(tmp, "wb") as out:
        for frame in frames:
            out.write(frame.numpy().tobytes())
            n += 1
    tmp.replace(dst)
    return n


def load_config():
    path = Path(__file__).with_name("inflate_config.json")
    config = dict(DEFAULT_CONFIG)
    if path.is_file():
        config.update(json.loads(path.read_text()))
    return config


def main(archive_dir, output_dir, names_file):
    archive, output = Path(archive_dir), Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    config = load_config()
    spec = config["filter"]
    correct = load_filter(archive, spec) if spec else None
    for name in Path(names_file).read_text().split():
        stem = Path(name).stem
        sources = sorted(
            p for p in archive.iterdir() if p.stem == stem and p.suffix in VIDEO_SUFFIXES
        )
        if not sources:
            sys.exit(f"inflate: no video payload for {name} in {archive}")
        n = inflate_video(sources[0], output / f"{stem}.raw", config["upscale_filter"], correct)
        print(f"inflate: {name}: {n} frames", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: inflate.py ARCHIVE_DIR OUTPUT_DIR VIDEO_NAMES_FILE")
    main(*sys.argv[1:])
