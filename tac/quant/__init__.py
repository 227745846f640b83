"""Quantization: int8 per-channel, fake quantization (STE) and LSQ for QAT, 4-bit NF4 blocks."""

from tac.quant.fake import LSQ, FakeQuant, disable_qat, enable_qat, round_ste
from tac.quant.fp4 import dequantize_fp4, fp4_bytes, quantize_fp4
from tac.quant.int8 import dequantize_per_channel, quantize_per_channel

__all__ = [
    "LSQ",
    "FakeQuant",
    "dequantize_fp4",
    "dequantize_per_channel",
    "disable_qat",
    "enable_qat",
    "fp4_bytes",
    "quantize_fp4",
    "quantize_per_channel",
    "round_ste",
]
