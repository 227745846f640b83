"""The original tac's `tac.fp4_quantize`: now lives in `tac.quant.fp4`."""

from tac.quant.fp4 import BLOCK, dequantize_fp4, fp4_bytes, quantize_fp4

__all__ = ["BLOCK", "dequantize_fp4", "fp4_bytes", "quantize_fp4"]
