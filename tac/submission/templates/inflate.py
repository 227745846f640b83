"""Inflate a video-in-archive submission: for each listed NAME.ext, decode ARCHIVE_DIR/NAME.*,
convert to RGB exactly as the evaluator converts the original, resize to 1164x874 if needed, and
write OUTPUT_DIR/NAME.raw (uint8, N x 874 x 1164 x 3).

This file is copied into submissions and runs where tac is not installed: it must import nothing
beyond torch, numpy and av. tac's tests check that its conversion equals tac.contest.frames.
"""

import sys
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F

WIDTH, HEIGHT = 1164, 874


def yuv420_to_rgb(frame):
    h, w = frame.height, frame.width
    planes = []
    for i, (rows, cols) in enumerate(((h, w), (h // 2, w // 2), (h // 2, w // 2))):
        p = frame.planes[i]
        planes.append(
            torch.from_numpy(
                np.frombuffer(p, np.uint8).reshape(rows, p.line_size)[:, :cols].copy()
            ).float()
        )
    y, u, v = planes
    uv = F.interpolate(
        torch.stack([u, v])[None], size=(h, w), mode="bilinear", align_corners=False
    )[0]
    yf = (y - 16.0) * (255.0 / 219.0)
    uf = (uv[0] - 128.0) * (255.0 / 224.0)
    vf = (uv[1] - 128.0) * (255.0 / 224.0)
    r = (yf + 1.402 * vf).clamp(0, 255)
    g = (yf - 0.344136 * uf - 0.714136 * vf).clamp(0, 255)
    b = (yf + 1.772 * uf).clamp(0, 255)
    return torch.stack([r, g, b], dim=-1).round().to(torch.uint8)


def to_camera_size(rgb):
    if rgb.shape[0] == HEIGHT and rgb.shape[1] == WIDTH:
        return rgb
    x = rgb.permute(2, 0, 1)[None].float()
    x = F.interpolate(x, size=(HEIGHT, WIDTH), mode="bilinear", align_corners=False)
    return x[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8)


def inflate_video(src: Path, dst: Path) -> int:
    n = 0
    tmp = dst.with_name(dst.name + ".tmp")
    with av.open(str(src)) as container, open(tmp, "wb") as out:
        for frame in container.decode(container.streams.video[0]):
            if frame.format.name != "yuv420p":
                frame = frame.reformat(format="yuv420p")
            out.write(to_camera_size(yuv420_to_rgb(frame)).numpy().tobytes())
            n += 1
    tmp.replace(dst)
    return n


def main(archive_dir: str, output_dir: str, names_file: str) -> None:
    archive, output = Path(archive_dir), Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    for name in Path(names_file).read_text().split():
        stem = Path(name).stem
        sources = sorted(p for p in archive.iterdir() if p.stem == stem)
        if not sources:
            sys.exit(f"inflate: no payload for {name} in {archive}")
        n = inflate_video(sources[0], output / f"{stem}.raw")
        print(f"inflate: {name}: {n} frames", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: inflate.py ARCHIVE_DIR OUTPUT_DIR VIDEO_NAMES_FILE")
    main(*sys.argv[1:])
