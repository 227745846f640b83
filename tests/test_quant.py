"""Quantization: exact round trips, STE and LSQ gradients, 4-bit packing byte counts."""

import torch
import torch.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st

from tac.quant import (
    LSQ,
    FakeQuant,
    dequantize_fp4,
    dequantize_per_channel,
    disable_qat,
    enable_qat,
    fp4_bytes,
    quantize_fp4,
    quantize_per_channel,
)
from tac.quant.fp4 import NF4


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 8), st.integers(1, 40), st.integers(0, 10_000))
def test_int8_round_trip_error_is_at_most_half_a_step(c_out, k, seed):
    w = torch.randn(c_out, k, generator=torch.Generator().manual_seed(seed)) * 0.1
    q, scale = quantize_per_channel(w)
    assert q.dtype == torch.int8 and scale.shape == (c_out,)
    assert int(q.abs().max()) <= 127
    back = dequantize_per_channel(q, scale)
    assert torch.all((back - w).abs() <= scale[:, None] / 2 + 1e-7)


def test_zero_weights_stay_exactly_zero():
    for quant in (lambda w: dequantize_per_channel(*quantize_per_channel(w)),
                  lambda w: dequantize_fp4(*quantize_fp4(w), tuple(w.shape))):  # fmt: skip
        assert torch.equal(quant(torch.zeros(3, 4, 3, 3)), torch.zeros(3, 4, 3, 3))


def test_fake_quant_matches_real_quantization_and_passes_gradients_straight():
    w = (torch.randn(4, 3, 3, 3) * 0.2).requires_grad_(True)
    fq = FakeQuant(8)(w)
    assert torch.allclose(fq, dequantize_per_channel(*quantize_per_channel(w)))
    fq.sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))  # straight-through


def test_lsq_step_sizes_receive_gradients_and_change():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3)
    enable_qat(conv, bits=8, lsq=True)
    lsq = conv.parametrizations.weight[0]
    assert isinstance(lsq, LSQ)
    before = lsq.step.detach().clone()
    opt = torch.optim.SGD(conv.parameters(), lr=0.1)
    x, target = torch.randn(2, 3, 8, 8), torch.randn(2, 4, 6, 6)
    loss = (conv(x) - target).pow(2).mean()
    loss.backward()
    assert lsq.step.grad is not None and lsq.step.grad.abs().sum() > 0
    opt.step()
    assert not torch.equal(lsq.step.detach(), before)


def test_enable_and_disable_qat_keep_latent_weights():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 3, 3))
    latent = net[0].weight.detach().clone()
    enable_qat(net)
    quantized = net[0].weight.detach().clone()
    assert not torch.equal(quantized, latent)  # the forward sees quantized weights
    assert torch.allclose(quantized, latent, atol=float(latent.abs().max()) / 127)
    disable_qat(net)
    assert torch.equal(net[0].weight.detach(), latent)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 300), st.integers(0, 10_000))
def test_fp4_round_trip_lands_on_the_codebook(numel, seed):
    w = torch.randn(numel, generator=torch.Generator().manual_seed(seed))
    packed, scale = quantize_fp4(w)
    assert packed.dtype == torch.uint8 and scale.dtype == torch.float16
    assert packed.numel() + 2 * scale.numel() == fp4_bytes(numel)  # exact byte count
    back = dequantize_fp4(packed, scale, (numel,))
    # every value is a codebook level times its block's scale, and the nearest one
    s = scale.float().repeat_interleave(32)[:numel]
    levels = NF4[None, :] * s[:, None]
    nearest = levels.gather(1, (w[:, None] / s[:, None] - NF4).abs().argmin(1, keepdim=True))[:, 0]
    assert torch.allclose(back, nearest)


def test_fp4_packs_two_codes_per_byte():
    w = torch.zeros(64)
    w[0], w[1] = 1.0, -1.0  # codes 15 and 0 in the first byte
    packed, scale = quantize_fp4(w)
    assert packed.numel() == 32 and scale.numel() == 2
    assert int(packed[0]) == 15 | (0 << 4)
    assert fp4_bytes(64) == 32 + 4 and fp4_bytes(33) == 32 + 4
