"""The run a new lossless codec needs before it gets an id (docs/lossless-format.md): N mutated
payloads of the codec, decoded in spawned child processes so that a crash kills a child, not the
harness. Every decode must return bytes of the declared size or raise CodecError.

    python -m tests.fuzz_codec lzma-delta 100000

Exit 0 when nothing crashed and nothing but CodecError was raised; one line per finding.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import sys
import time

import numpy as np

from tac.lossless.codecs import REGISTRY, CodecError

PER_CHILD = 2000
KINDS = ("bit flips", "byte edits", "truncation", "appended bytes", "first byte", "spliced run")


def sources() -> list[bytes]:
    """Bytes of the kinds tac ships and a few it does not: frames, samples, text, noise, zeros."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:40, 0:60].astype(np.float32)
    rgb = np.stack([128 + 100 * np.sin(x / 9), 128 + 80 * np.cos((x + y) / 12), y * 6], -1)
    words = [b"tac", b"frames", b"delta", b"lzma", b"chunk"]
    text = b" ".join(random.Random(1).choice(words) for _ in range(2000))
    samples = (np.cumsum(rng.integers(-3, 4, 4000)) * 7).astype(np.int16).tobytes()
    noise = rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()
    return [rgb.astype(np.uint8).tobytes(), text, samples, noise, bytes(5000)]


def mutate(payload: bytes, r: random.Random) -> bytes:
    b = bytearray(payload)
    kind = r.randrange(len(KINDS))
    if kind == 0:
        for _ in range(r.randint(1, 8)):
            i = r.randrange(len(b))
            b[i] ^= 1 << r.randrange(8)
    elif kind == 1:
        for _ in range(r.randint(1, 4)):
            b[r.randrange(len(b))] = r.randrange(256)
    elif kind == 2:
        del b[r.randrange(1, len(b)) :]
    elif kind == 3:
        b += bytes(r.randrange(256) for _ in range(r.randint(1, 16)))
    elif kind == 4:  # where codecs keep their parameters
        b[0] = r.randrange(256)
    else:
        i = r.randrange(len(b))
        j = min(len(b), i + r.randint(1, 64))
        b[i:j] = bytes(r.randrange(256) for _ in range(j - i))
    return bytes(b)


def child(codec_name: str, seed: int, n: int) -> list[str]:
    codec = REGISTRY[codec_name]
    levels = sorted({codec.min_level, codec.default_level, codec.max_level} - {None}) or [None]
    payloads = [(codec.compress(s, level), len(s)) for s in sources() for level in levels]
    r = random.Random(seed)
    findings = []
    for _ in range(n):
        payload, size = r.choice(payloads)
        bad = mutate(payload, r)
        try:
            if len(codec.decompress(bad, size)) != size:
                findings.append(f"seed {seed}: {codec_name} returned the wrong size")
        except CodecError:
            pass
        except Exception as exc:  # anything but CodecError escapes tac's error handling
            findings.append(f"seed {seed}: {type(exc).__name__}: {exc}")
    return findings


def main(codec_name: str, total: int) -> int:
    start = time.perf_counter()
    seeds = range(-(-total // PER_CHILD))
    failed, findings = 0, []
    ctx = mp.get_context("spawn")
    with ctx.Pool(2, maxtasksperchild=1) as pool:
        runs = [(s, pool.apply_async(child, (codec_name, s, PER_CHILD))) for s in seeds]
        for seed, run in runs:
            try:
                findings += run.get(timeout=600)
            except Exception as exc:  # a child killed by a signal never answers
                failed += 1
                findings.append(f"seed {seed}: child failed ({type(exc).__name__}: {exc})")
    for line in findings:
        print(line)
    n = len(seeds) * PER_CHILD
    print(f"{n} mutated {codec_name} payloads ({', '.join(KINDS)}) in {time.perf_counter() - start:.0f} s: "
          f"{failed} children lost, {len(findings) - failed} other findings")  # fmt: skip
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100_000))
