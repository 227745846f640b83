"""What the shared evaluation chain (`tac.lanes.chain`) costs, for the cost models of every lane
that trains through it. numpy-free constants: the search side imports them without torch.

A training step sends each pair through the lane's network and then through both frozen scorers
at camera size, forward and back; the scorers dominate, so these hold for any small network.
"""

from __future__ import annotations

CPU_S_PER_PAIR_STEP = 2.2  # measured: 2 CPU cores, 384×512 output, batch 8 (bench_nerv: 18 s/step)
CUDA_S_PER_PAIR_STEP = 0.01  # assumed, not measured (no GPU lent yet)
ROUND_TRIP_S_PER_FRAME = 0.13  # an exact round trip: draw at camera size + both scorers, CPU axis
UPSAMPLE_S_PER_FRAME = 0.015  # `draw`: bicubic to 874×1164, round, write (bench_nerv, 2 cores)


def s_per_pair_step(device: str) -> float:
    """Seconds one pair costs in one training step on `device` ("cpu" or "cuda")."""
    return CUDA_S_PER_PAIR_STEP if device == "cuda" else CPU_S_PER_PAIR_STEP
