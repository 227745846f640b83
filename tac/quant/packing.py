"""Shipped filter bytes: a model's quantized weights packed compactly (never pickle).

    pack_model  = tac.lossless container of the TACQ blob (format: `tac.quant.tacq`)
    tacq_bytes  = the bare TACQ blob, which submissions carry as a zip member

The deployed float model and these bytes come from the same `layer_codes`, so unpacking gives
exactly the weights that were evaluated.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from tac.quant.deploy import LayerCodes, layer_codes, shipped_state
from tac.quant.fake import quantized_layers
from tac.quant.tacq import decode_tacq, encode_tacq


def tacq_bytes(model: nn.Module, bits: int, config: dict) -> bytes:
    """Everything needed to rebuild the deployed model, as a TACQ blob."""
    names = {id(m): name for name, m in model.named_modules()}
    shipped: dict[str, LayerCodes] = {
        f"{names[id(m)]}.weight": layer_codes(m, bits) for m in quantized_layers(model)
    }
    tensors = []
    for name, value in shipped_state(model, bits).items():
        entry: dict = {"name": name, "shape": list(value.shape)}
        if name in shipped:
            c = shipped[name]
            entry["kind"] = "nf4" if c.bits == 4 else "int8"
            scale = c.scale.to(torch.float16 if c.bits == 4 else torch.float32)
            chunks = [c.codes.numpy().tobytes(), scale.numpy().tobytes()]
        else:
            entry["kind"] = "f16"
            chunks = [value.detach().to(torch.float16).numpy().tobytes()]
        tensors.append((entry, chunks))
    return encode_tacq(bits, config, tensors)


def pack_model(model: nn.Module, bits: int, config: dict, codec: str = "exhaustive") -> bytes:
    """The TACQ blob inside a tac.lossless container (the smallest codec per chunk: shipped
    bytes count against the rate, and a post-filter's blob is small)."""
    from tac.lossless import compress_bytes

    return compress_bytes(tacq_bytes(model, bits, config), codec=codec)


def unpack_model(blob: bytes) -> tuple[dict, dict[str, torch.Tensor]]:
    """bytes → (architecture config, float state dict of the deployed model)."""
    from tac.lossless import decompress_bytes

    return decode_tacq(decompress_bytes(blob))
