"""The TACQ weights format: a quantized filter as bytes, and back to a float state dict.

    blob   = b"TACQ" | u32 header length (little-endian) | JSON header | payload
    header = {"v": 1, "bits": 8|4, "config": {...}, "tensors": [{"name", "kind", "shape",
              "offset", "nbytes", "scale_offset", "scale_nbytes"}]}
    kinds  = "int8" (codes, float32 scale per output channel)
           | "nf4"  (codes two per byte, float16 scale per 32-weight block)
           | "f16"  (everything else: biases, norms, buffers)

This module is also the decoder submissions ship: it imports nothing from tac beyond its own
package (relative imports), so `tac.lanes.codec.runtime` can copy it verbatim next to inflate.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import torch

from ..errors import TacError
from .fp4 import dequantize_fp4
from .int8 import dequantize_per_channel

MAGIC = b"TACQ"
VERSION = 1


def encode_tacq(bits: int, config: dict, tensors: list[tuple[dict, list[bytes]]]) -> bytes:
    """Assemble a blob from `(entry, chunks)` pairs; fills each entry's offsets and sizes.

    An entry is {"name", "kind", "shape"}; its chunks are the data (and, for int8 and nf4, the
    scales) in that order.
    """
    entries, payload, offset = [], [], 0
    for entry, chunks in tensors:
        entry = dict(entry)
        for key, data in zip(("", "scale_"), chunks, strict=False):
            entry[f"{key}offset"], entry[f"{key}nbytes"] = offset, len(data)
            payload.append(data)
            offset += len(data)
        entries.append(entry)
    header = json.dumps(
        {"v": VERSION, "bits": bits, "config": config, "tensors": entries}, separators=(",", ":")
    ).encode()
    return MAGIC + struct.pack("<I", len(header)) + header + b"".join(payload)


def decode_tacq(raw: bytes) -> tuple[dict, dict[str, torch.Tensor]]:
    """blob → (architecture config, float32 state dict of the deployed model)."""
    if raw[:4] != MAGIC or len(raw) < 8:
        raise TacError("filter weights: not a tac quantized-weights blob (bad magic)")
    (n,) = struct.unpack("<I", raw[4:8])
    try:
        header = json.loads(raw[8 : 8 + n])
    except ValueError:
        raise TacError("filter weights: the header is not valid JSON (truncated blob?)") from None
    if header.get("v") != VERSION:
        raise TacError(f"filter weights: format v{header.get('v')} is not v{VERSION}")
    payload = memoryview(raw)[8 + n :]
    state = {}
    for t in header["tensors"]:
        shape = tuple(t["shape"])
        if t["offset"] + t["nbytes"] > len(payload):
            raise TacError(f"filter weights: {t['name']} runs past the end (truncated blob)")
        data = payload[t["offset"] : t["offset"] + t["nbytes"]]
        if t["kind"] == "f16":
            values = torch.from_numpy(np.frombuffer(data, np.float16).astype(np.float32))
            state[t["name"]] = values.reshape(shape)
            continue
        scale = payload[t["scale_offset"] : t["scale_offset"] + t["scale_nbytes"]]
        if t["kind"] == "int8":
            codes = torch.from_numpy(np.frombuffer(data, np.int8).copy()).reshape(shape)
            step = torch.from_numpy(np.frombuffer(scale, np.float32).copy())
            state[t["name"]] = dequantize_per_channel(codes, step)
        elif t["kind"] == "nf4":
            codes = torch.from_numpy(np.frombuffer(data, np.uint8).copy())
            step = torch.from_numpy(np.frombuffer(scale, np.float16).copy())
            state[t["name"]] = dequantize_fp4(codes, step, shape)
        else:
            raise TacError(f"filter weights: unknown tensor kind {t['kind']!r}")
    return header["config"], state
