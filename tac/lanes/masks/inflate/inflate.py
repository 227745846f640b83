"""Inflate a masks-lane submission: unpack the renderer, the coded masks and the pose side channel
from ARCHIVE_DIR/masks.bin, decode the masks and poses, draw every pair at the renderer's size,
upsample to 1164x874 (bicubic), round, and write OUTPUT_DIR/NAME.raw (uint8, N x 874 x 1164 x 3)
for the one listed video.

Copied into submissions: it runs where tac is not installed, with the standard library, torch,
numpy and the `masksrt` package copied beside it (tac's own renderer, payload, codecs, pose and
drawing modules, verbatim). inflate_config.json beside it says the member and the frame count.
"""

import json
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from masksrt.lanes import draw  # noqa: E402
from masksrt.lanes.masks import payload, render  # noqa: E402


def main(archive_dir, output_dir, names_file):
    config = json.loads((HERE / "inflate_config.json").read_text())
    names = Path(names_file).read_text().split()
    if len(names) != 1:
        sys.exit(f"inflate: a masks archive draws one video, {names_file} lists {len(names)}")
    # "auto": CUDA where the machine has it (the T4 runner), else the CPU, whose frames are the
    # ones tac scored bit for bit
    device = "cuda" if config.get("device") == "auto" and torch.cuda.is_available() else "cpu"
    print(f"inflate: drawing on {device}", flush=True)
    renderer, masks, poses = payload.load((Path(archive_dir) / config["member"]).read_bytes(), device=device)  # fmt: skip
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    frames = draw.write_raw(
        render.draw_frames(renderer, masks, poses, config["batch"]),
        output / f"{Path(names[0]).stem}.raw",
        config["frames"],
    )
    print(f"inflate: {names[0]}: {frames} frames", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: inflate.py ARCHIVE_DIR OUTPUT_DIR VIDEO_NAMES_FILE")
    main(*sys.argv[1:])
