"""The nerv lane's model and payload (issue 15): shapes and configuration errors, seeded
initialisation, gradients to latents and weights, and a payload that unpacks to exactly the
quantized tensors training would evaluate, byte-reproducibly."""

import pytest
import torch

from tac.lanes.nerv import packing
from tac.lanes.nerv.model import NervConfig, NervRepresentation

TINY = NervConfig(pairs=5, latent_dim=6, grid=(3, 4), channels=(8, 8, 6), out_size=(12, 16))


def test_the_contest_config_draws_pairs_at_scorer_size():
    rep = NervRepresentation(NervConfig(pairs=2))
    with torch.no_grad():
        out = rep(torch.tensor([0, 1]))
    assert out.shape == (2, 2, 3, 384, 512)
    assert 0 <= float(out.min()) and float(out.max()) <= 255
    assert 150_000 < rep.decoder_parameters() < 400_000  # the family's size (#95: ≈ 229k)


def test_config_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"draws 12×16, not out_size 24×32"):
        NervConfig(grid=(3, 4), channels=(8, 8, 6), out_size=(24, 32))
    with pytest.raises(ValueError, match="must not grow"):
        NervConfig(grid=(3, 4), channels=(8, 16, 6), out_size=(12, 16))


def test_initialisation_is_seeded_and_training_reaches_latents_and_weights():
    a, b, c = NervRepresentation(TINY, seed=1), NervRepresentation(TINY, seed=1), NervRepresentation(TINY, seed=2)  # fmt: skip
    assert torch.equal(a(torch.arange(5)), b(torch.arange(5)))
    assert not torch.equal(a(torch.arange(5)), c(torch.arange(5)))
    a(torch.tensor([1, 3])).mean().backward()
    assert a.latents.grad[[1, 3]].abs().sum() > 0 and a.latents.grad[[0, 2, 4]].abs().sum() == 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in a.decoder.parameters())


@pytest.mark.parametrize("bits", [8, 4])
def test_the_payload_unpacks_to_exactly_the_quantized_tensors(bits):
    rep = NervRepresentation(TINY, seed=3)
    blob = packing.pack(rep.decoder, rep.latents.data, bits)
    assert packing.pack(NervRepresentation(TINY, seed=3).decoder, rep.latents.data, bits) == blob
    config, state, latents, got_bits = packing.unpack(blob)
    want_state, want_latents = packing.quantized_state(rep.decoder, rep.latents.data, bits)
    assert config == TINY and got_bits == bits
    assert state.keys() == want_state.keys()
    assert all(torch.equal(state[k], want_state[k]) for k in state)
    assert torch.equal(latents, want_latents)
    # and the quantization is close to the float model
    assert (latents - rep.latents.data).abs().max() <= (rep.latents.data.max() - rep.latents.data.min()) / 255  # fmt: skip


def test_fewer_bits_and_smooth_latents_cost_fewer_bytes():
    rep = NervRepresentation(NervConfig(pairs=64, latent_dim=16, grid=(3, 4), channels=(32, 32, 16), out_size=(12, 16)))  # fmt: skip
    z = rep.latents.data
    assert len(packing.pack(rep.decoder, z, 4)) < 0.7 * len(packing.pack(rep.decoder, z, 8))
    # latents that drift along the video are sent as differences between pairs
    drift = torch.linspace(0, 1, 64)[:, None] * torch.linspace(-2, 2, 16)[None] + 0.01 * z
    rough, smooth = packing.pack(rep.decoder, z), packing.pack(rep.decoder, drift)
    assert len(smooth) < len(rough)
    torch.testing.assert_close(packing.unpack(smooth)[2], drift, atol=4 / 255 / 2 * 1.01, rtol=0)


def test_a_damaged_payload_is_refused():
    blob = packing.pack(NervRepresentation(TINY).decoder, NervRepresentation(TINY).latents.data)
    for damaged in (b"XXXX" + blob[4:], blob[:-3], blob + b"\0"):
        with pytest.raises(ValueError):
            packing.unpack(damaged)
