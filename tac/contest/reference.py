"""What the scorers see in an original video, computed once and reused.

Every evaluation against the same original recomputes the same numbers on its ground-truth half.
Caching that half (keyed by everything that could change a bit of it: the video's sha256, the
weights, the device type, torch's version and the batch size) halves the network work of every
later evaluation and skips decoding the original at all, while giving identical results.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from tac import atomic
from tac.contest import constants as C
from tac.contest.scorer import Scorer, ScorerOutputs
from tac.hashing import sha256_file
from tac.paths import cache_dir
from tac.video.decode import iter_frames, iter_pair_batches, prefetch

Progress = Callable[[int], None]  # called with the number of samples just scored


def reference_key(video: Path, scorer: Scorer, batch_size: int) -> str:
    import av
    import segmentation_models_pytorch
    import timm

    import tac

    # Everything that can move a bit of the networks' outputs: the inputs, the code and
    # libraries, and how the kernels run (thread count and CPU instruction set change sums).
    parts = [
        sha256_file(video),
        scorer.weights.posenet_sha256,
        scorer.weights.segnet_sha256,
        str(scorer.device) if scorer.device.type != "cpu" else "cpu",
        torch.cuda.get_device_name(scorer.device) if scorer.device.type == "cuda" else "",
        str(torch.get_num_threads()),
        torch.backends.cpu.get_cpu_capability(),
        torch.__version__,
        timm.__version__,
        segmentation_models_pytorch.__version__,
        av.__version__,
        tac.__version__,
        _source_digest(),
        str(batch_size),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _source_digest() -> str:
    """tac's own conversion and network code: a change to either invalidates the cache."""
    from tac.contest import frames, networks, scorer

    h = hashlib.sha256()
    for module in (frames, networks, scorer):
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()


def original_batches(
    video: Path, batch_size: int, max_samples: int | None = None
) -> Iterator[torch.Tensor]:
    """Decoded pairs of the original, batched, decoding one batch ahead in a thread."""
    max_frames = None if max_samples is None else max_samples * C.SEQ_LEN
    return prefetch(iter_pair_batches(iter_frames(video, max_frames), batch_size), depth=2)


def reference_outputs(
    scorer: Scorer,
    video: Path,
    batch_size: int = C.DEFAULT_BATCH_SIZE,
    max_samples: int | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> ScorerOutputs:
    """Scorer outputs for every sample of the original (or the first `max_samples`)."""
    path = (
        cache_dir("reference") / f"{reference_key(video, scorer, batch_size)}.safetensors"
        if use_cache
        else None
    )
    if path is not None and path.is_file():
        try:
            cached = load_file(str(path))
            out = ScorerOutputs(cached["pose"], cached["seg"])
            if progress:
                progress(len(out) if max_samples is None else min(len(out), max_samples))
            return out if max_samples is None else out.slice(0, max_samples)
        except (SafetensorError, KeyError, OSError):
            path.unlink(missing_ok=True)  # a damaged cache entry is recomputed, never trusted
    parts = []
    for batch in original_batches(video, batch_size, max_samples):
        parts.append(scorer.outputs(batch))
        if progress:
            progress(len(parts[-1]))
    out = ScorerOutputs.cat(parts)
    if path is not None and max_samples is None and len(out):
        atomic.write_bytes(path, save({"pose": out.pose.contiguous(), "seg": out.seg.contiguous()}))
    return out
