"""The original tac's `tac.quantization`: now lives in `tac.quant`.

4-bit blocks have their own shim, `tac.fp4_quantize`.
"""

from tac.quant import (
    LSQ,
    FakeQuant,
    dequantize_per_channel,
    disable_qat,
    enable_qat,
    quantize_per_channel,
    round_ste,
)

__all__ = [
    "LSQ",
    "FakeQuant",
    "dequantize_per_channel",
    "disable_qat",
    "enable_qat",
    "quantize_per_channel",
    "round_ste",
]
