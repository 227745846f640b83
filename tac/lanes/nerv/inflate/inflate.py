"""Inflate a nerv-lane submission: unpack the decoder and the latents from ARCHIVE_DIR/nerv.bin,
draw every pair at the decoder's size, upsample to 1164x874 (bicubic), round, and write
OUTPUT_DIR/NAME.raw (uint8, N x 874 x 1164 x 3) for the one listed video.

Copied into submissions: it runs where tac is not installed, with the standard library, torch,
numpy and the `nervrt` package copied beside it (tac's own model, packing, entropy and render
modules, verbatim). inflate_config.json beside it says the member and the frame count.
"""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from nervrt.lanes import draw  # noqa: E402
from nervrt.lanes.nerv import packing, render  # noqa: E402


def main(archive_dir, output_dir, names_file):
    config = json.loads((HERE / "inflate_config.json").read_text())
    names = Path(names_file).read_text().split()
    if len(names) != 1:
        sys.exit(f"inflate: a nerv archive draws one video, {names_file} lists {len(names)}")
    decoder, latents = packing.load((Path(archive_dir) / config["member"]).read_bytes())
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    frames = draw.write_raw(
        render.draw_frames(decoder, latents, config["batch"]),
        output / f"{Path(names[0]).stem}.raw",
        config["frames"],
    )
    print(f"inflate: {names[0]}: {frames} frames", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: inflate.py ARCHIVE_DIR OUTPUT_DIR VIDEO_NAMES_FILE")
    main(*sys.argv[1:])
