"""Shipped filter bytes: a model's quantized weights packed compactly (never pickle).

    blob   = tac.lossless container of: b"TACQ" | u32 header length | JSON header | payload
    header = {"v": 1, "bits": 8|4, "config": {...}, "tensors": [{"name", "kind", "shape",
              "offset", "nbytes", "scale_offset", "scale_nbytes"}]}
    kinds  = "int8" (codes, float32 scale per output channel)
           | "nf4"  (codes two per byte, float16 scale per 32-weight block)
           | "f16"  (everything else: biases, norms, buffers)

The deployed float model and these bytes come from the same `layer_codes`, so unpacking gives
exactly the weights that were evaluated.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import torch
import torch.nn as nn

from tac.errors import TacError
from tac.quant.deploy import LayerCodes, layer_codes, shipped_state
from tac.quant.fake import quantized_layers

MAGIC = b"TACQ"


def _layer_names(model: nn.Module) -> dict[int, str]:
    return {id(m): name for name, m in model.named_modules()}


def pack_model(model: nn.Module, bits: int, config: dict, codec: str = "auto") -> bytes:
    """Everything needed to rebuild the deployed model, as compact bytes."""
    from tac.lossless import compress_bytes

    names = _layer_names(model)
    shipped: dict[str, LayerCodes] = {
        f"{names[id(m)]}.weight": layer_codes(m, bits) for m in quantized_layers(model)
    }
    plain = shipped_state(model, bits)
    tensors, chunks, offset = [], [], 0

    def add(data: bytes) -> tuple[int, int]:
        nonlocal offset
        chunks.append(data)
        offset += len(data)
        return offset - len(data), len(data)

    for name, value in plain.items():
        entry: dict = {"name": name, "shape": list(value.shape)}
        if name in shipped:
            c = shipped[name]
            entry["kind"] = "nf4" if c.bits == 4 else "int8"
            entry["offset"], entry["nbytes"] = add(c.codes.numpy().tobytes())
            scale = c.scale.to(torch.float16 if c.bits == 4 else torch.float32)
            entry["scale_offset"], entry["scale_nbytes"] = add(scale.numpy().tobytes())
        else:
            entry["kind"] = "f16"
            entry["offset"], entry["nbytes"] = add(
                value.detach().to(torch.float16).numpy().tobytes()
            )
        tensors.append(entry)
    header = json.dumps(
        {"v": 1, "bits": bits, "config": config, "tensors": tensors}, separators=(",", ":")
    ).encode()
    raw = MAGIC + struct.pack("<I", len(header)) + header + b"".join(chunks)
    return compress_bytes(raw, codec=codec)


def unpack_model(blob: bytes) -> tuple[dict, dict[str, torch.Tensor]]:
    """bytes → (architecture config, float state dict of the deployed model)."""
    from tac.lossless import decompress_bytes

    raw = decompress_bytes(blob)
    if raw[:4] != MAGIC:
        raise TacError("filter weights: not a tac quantized-weights blob (bad magic)")
    (n,) = struct.unpack("<I", raw[4:8])
    header = json.loads(raw[8 : 8 + n])
    if header.get("v") != 1:
        raise TacError(f"filter weights: format v{header.get('v')} is newer than this tac")
    payload = memoryview(raw)[8 + n :]
    state = {}
    for t in header["tensors"]:
        shape = tuple(t["shape"])
        data = payload[t["offset"] : t["offset"] + t["nbytes"]]
        if t["kind"] == "f16":
            state[t["name"]] = (
                torch.from_numpy(np.frombuffer(data, np.float16).copy()).float().reshape(shape)
            )
            continue
        scale_bytes = payload[t["scale_offset"] : t["scale_offset"] + t["scale_nbytes"]]
        if t["kind"] == "int8":
            codes = torch.from_numpy(np.frombuffer(data, np.int8).copy())
            scale = torch.from_numpy(np.frombuffer(scale_bytes, np.float32).copy())
            c = LayerCodes(8, codes.reshape(shape), scale, shape)
        else:
            codes = torch.from_numpy(np.frombuffer(data, np.uint8).copy())
            scale = torch.from_numpy(np.frombuffer(scale_bytes, np.float16).copy())
            c = LayerCodes(4, codes, scale, shape)
        state[t["name"]] = c.dequantize()
    return header["config"], state
