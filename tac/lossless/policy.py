"""How `tac lossless` chooses a codec per chunk: the `auto` and `exhaustive` policies.

`exhaustive` compresses every chunk with every codec at its strongest and keeps the smallest
payload, `store` winning ties, so incompressible data costs nothing but the chunk header. `auto`
(the default) is fast: cheap statistics and a sample of the chunk pick one or two codecs, which
then run at fast levels (`shortlist`); bench_lossless.py measures both against what `auto` was
when issue 18 was filed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import Executor

import numpy as np

from tac.errors import TacError
from tac.lossless.codecs import BY_ID, REGISTRY, RETIRED, Codec, max_stored_size, order0_entropy

AUTO = "auto"
EXHAUSTIVE = "exhaustive"
POLICIES = (AUTO, EXHAUSTIVE)
CHOICES: tuple[str, ...] = (*POLICIES, *(c.name for c in BY_ID.values()))
SAMPLE_WINDOWS, SAMPLE_WINDOW = 8, 16 * 1024
SAMPLE_MARGIN = 0.01  # a codec whose sample is within 1 % of the best runs on the whole chunk
NOISE_BITS = 7.9  # order-0 entropy (bits per byte) above which a sample is taken for noise


def resolve(codec: str, level: int | None) -> tuple[list[Codec], int | None]:
    """The codecs a policy tries and the level to use, or a TacError for bad user input."""
    if codec in POLICIES:
        if level is not None:
            raise TacError(
                f"--level applies to one codec; {codec} uses each codec's strongest level"
            )
        return list(BY_ID.values()), None  # id order
    retired = dict(RETIRED.values())
    if codec in retired:
        why = retired[codec]
        raise TacError(
            f"codec {codec} is no longer written: {why}; choose one of {', '.join(CHOICES)}"
        )
    if codec not in REGISTRY:
        raise TacError(f"unknown codec {codec!r}; choose one of {', '.join(CHOICES)}")
    chosen = REGISTRY.get(codec)
    return [chosen], chosen.check_level(level)


def sample_of(data: bytes) -> bytes:
    """Eight windows spread over the chunk, 16 KiB each or a 64th of a smaller chunk (an eighth
    of it in all); a chunk under 16 KiB is its own sample."""
    if len(data) < SAMPLE_WINDOW:
        return data
    window, step = min(SAMPLE_WINDOW, len(data) // 64), len(data) // SAMPLE_WINDOWS
    return b"".join(data[i * step : i * step + window] for i in range(SAMPLE_WINDOWS))


def shortlist(data: bytes, codecs: list[Codec], pool: Executor | None = None) -> list[Codec]:
    """`auto`: the codecs worth running on the whole chunk, at their `auto_level`: those whose
    sample came within SAMPLE_MARGIN of the best. Bytes that look like noise on cheap statistics
    (an encoded video, compressed weights) go straight to the fastest coder: on them every codec
    lands within a fraction of a percent of the raw size (bench_lossless.py, video)."""
    codecs = [c for c in codecs if c.in_auto]
    sample = sample_of(data)
    if order0_entropy(np.frombuffer(sample, np.uint8)) > NOISE_BITS:
        return [REGISTRY.get("zstd")]
    run = pool.map if pool is not None else map
    sizes = list(run(lambda c: len(c.compress(sample, c.auto_level)), codecs))
    best = min(sizes)
    return [c for c, n in zip(codecs, sizes, strict=True) if n <= best * (1 + SAMPLE_MARGIN)]


def compress_chunk(
    data: bytes,
    codecs: Iterable[Codec],
    level: int | None,
    pool: Executor | None = None,
    sampled: bool = False,
) -> tuple[Codec, bytes]:
    """The smallest payload among `codecs` (`store` wins ties and is the fallback); `sampled`:
    among those a sample of the chunk shortlists, each at its fast `auto_level` (the `auto`
    policy).

    With one codec its payload is used even if larger than the input (the user asked for it),
    unless it exceeds the format's bound; then the chunk is stored.
    """
    codecs = list(codecs)
    choosing = len(codecs) > 1  # a policy picks among codecs: store wins when nothing gains
    if sampled:
        codecs = shortlist(data, codecs, pool)

    def attempt(codec: Codec) -> bytes | None:
        payload = codec.compress(data, codec.auto_level if sampled else level)
        return payload if len(payload) <= max_stored_size(len(data)) else None

    if pool is not None and len(codecs) > 1:
        payloads = list(pool.map(attempt, codecs))
    else:
        payloads = [attempt(c) for c in codecs]
    store = REGISTRY.get("store")
    best: tuple[Codec, bytes] | None = None
    for codec, payload in sorted(zip(codecs, payloads, strict=True), key=lambda cp: cp[0].id):
        if payload is not None and (best is None or len(payload) < len(best[1])):
            best = (codec, payload)
    if best is None:
        return store, bytes(data)
    if choosing and len(best[1]) >= len(data):
        return store, bytes(data)
    return best


def default_workers() -> int:
    """Threads for `auto`: the libraries release the GIL while compressing."""
    return max(1, min(len(REGISTRY), os.cpu_count() or 1))
