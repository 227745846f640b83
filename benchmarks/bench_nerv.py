"""The nerv lane so far (issue 15): its payload's entropy coders side by side, payload bytes per
bit width, and the decoder's inflate speed on the CPU, in one run.

Coders (tac.quant.entropy: store, lzma, brotli 11, zstd 22, order-0 range coding with
`constriction`), each on every tensor separately, then summed; "best" takes the smallest per
tensor, which is what the payload ships. Inputs:

  segnet   trained weights: the shipped stand-in SegNet's conv weights, int8 per output channel
           (the nerv decoder is not trained yet; these are the closest trained weights at hand)
  decoder  the nerv decoder at the contest config, freshly initialised (untrained), int8
  latents  600 × 28 latents that drift along the video plus noise (synthetic), uint8, as
           differences between pairs

Inflate: decoder forward passes on the CPU (torch threads as given), batches of 4 pairs at
384×512, frames/s and the projection for the contest's 1200 frames (the step from the scorer size
to the camera size and the writing of frames are not counted yet).

Not measured yet, because the lane has no trainer yet: training steps/s and the rate–distortion
table against the codec lane.

Run: `make bench` or `python benchmarks/bench_nerv.py [--threads N]`.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from safetensors.torch import load_file

from tac.contest.weights import standin_weights
from tac.lanes.nerv import packing
from tac.lanes.nerv.model import NervConfig, NervRepresentation
from tac.quant import entropy


def coder_table(name: str, tensors: list[np.ndarray]) -> None:
    totals = dict.fromkeys(entropy.CODERS, 0)
    best = 0
    for t in tensors:
        streams = entropy.encode_all(t)
        for coder, stream in streams.items():
            totals[coder] += len(stream)
        best += min(len(s) for s in streams.values())
    values = sum(t.size for t in tensors)
    cells = "  ".join(f"{c} {totals[c]:>9,}" for c in entropy.CODERS)
    print(f"  {name:8s} {values:>9,} values  {cells}  best {best:>9,}  ({8 * best / values:.2f} bits/value)")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    seg = load_file(str(standin_weights().segnet_path))
    seg_codes = [
        packing.quantize_tensor(t.float(), 8)[0].numpy()
        for name, t in seg.items()
        if name.endswith("weight") and t.ndim == 4
    ]
    rep = NervRepresentation(NervConfig())
    dec_codes = [packing.quantize_tensor(t, 8)[0].numpy() for t in rep.decoder.state_dict().values()]  # fmt: skip
    gen = torch.Generator().manual_seed(0)
    drift = torch.cumsum(0.05 * torch.randn(600, 28, generator=gen), 0)
    lat = packing.quantize_latents(drift + 0.01 * torch.randn(600, 28, generator=gen))[0]
    lat_delta = torch.diff(lat, dim=0, prepend=torch.zeros_like(lat[:1])).numpy()

    print("entropy coders, bytes (headers included), one stream per tensor:")
    coder_table("segnet", seg_codes)
    coder_table("decoder", dec_codes)
    coder_table("latents", [lat_delta])

    print("\nnerv payload at the contest config (untrained decoder, the drifting latents):")
    for bits in (8, 4):
        start = time.perf_counter()
        blob = packing.pack(rep.decoder, drift, bits)
        packed_s = time.perf_counter() - start
        print(f"  {bits}-bit: {len(blob):,} bytes (decoder {rep.decoder_parameters():,} params, "
              f"latents {drift.numel():,}), packed in {packed_s:.2f} s")  # fmt: skip

    print(f"\ninflate on the CPU ({args.threads} threads), batches of 4 pairs at 384×512:")
    rep.eval()
    with torch.no_grad():
        rep(torch.arange(4))  # warm-up
        start, pairs = time.perf_counter(), 0
        for first in range(0, 32, 4):
            rep(torch.arange(first, first + 4))
            pairs += 4
        spent = time.perf_counter() - start
    fps = 2 * pairs / spent
    print(f"  {fps:.1f} frames/s; 1200 frames ≈ {1200 / fps:.0f} s (the contest allows 1800 s on its runner)")  # fmt: skip


if __name__ == "__main__":
    main()
