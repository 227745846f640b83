"""Post-filter families: identity at init, trainability, any frame size, configs, byte estimates."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn as nn

from tac.errors import TacError
from tac.postfilter import PostFilter, build_postfilter, list_postfilters, register_postfilter
from tac.postfilter.registry import postfilter_arguments

FAMILIES = list_postfilters()
EXPECTED = {
    "standard",
    "dilated",
    "gated_dilated",
    "pixel_shuffle",
    "psd",
    "depthwise_separable",
    "luma_only",
    "film",
}


def frames(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 255


def trained(name: str, **kw) -> PostFilter:
    """A filter whose head (and FiLM MLP) is no longer zero: stands in for a trained one."""
    torch.manual_seed(1)
    pf = build_postfilter(name, **kw)
    with torch.no_grad():
        for p in pf.head.parameters():
            p.normal_(0, 0.1)
        for m in pf.modules():
            if isinstance(m, nn.Linear):
                m.weight.normal_(0, 0.3)
    return pf


def test_there_are_exactly_eight_families():
    assert len(FAMILIES) == 8 and set(FAMILIES) == EXPECTED


@pytest.mark.parametrize("name", FAMILIES)
def test_identity_at_init_is_bit_exact(name):
    pf = build_postfilter(name)
    x = frames(2, 3, 37, 53)
    with torch.no_grad():
        y = pf(x)
    assert torch.equal(y, x)
    assert pf.is_identity() and type(pf).is_identity_at_init


def test_identity_at_init_on_a_full_contest_frame():
    x = frames(1, 3, 874, 1164)
    with torch.no_grad():
        y = build_postfilter("psd")(x)  # half resolution: 874/2 = 437 is odd again
    assert torch.equal(y, x)


@pytest.mark.parametrize("name", FAMILIES)
def test_a_nonzero_head_changes_the_output_and_trains_the_stem(name):
    pf = trained(name)
    assert not pf.is_identity()
    x = frames(2, 3, 37, 53)
    y = pf(x)
    assert y.shape == x.shape
    assert not torch.equal(y, x)
    (y - x).square().mean().backward()
    grad = pf.stem.weight.grad
    assert grad is not None and bool(grad.abs().sum() > 0)


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("shape", [(1, 3, 1, 1), (1, 3, 5, 8), (3, 3, 17, 6)])
def test_output_shape_equals_input_shape(name, shape):
    with torch.no_grad():
        y = trained(name)(frames(*shape))
    assert y.shape == shape and bool(torch.isfinite(y).all())


@pytest.mark.parametrize("name", FAMILIES)
def test_config_round_trips_through_json(name):
    for pf in (build_postfilter(name), build_postfilter(name, hidden=8)):
        config = json.loads(json.dumps(pf.config()))
        assert config["name"] == name
        assert set(config) - {"name"} == set(postfilter_arguments(name))
        twin = build_postfilter(**config)
        assert type(twin) is type(pf) and twin.config() == pf.config()
        shapes = [(n, p.shape) for n, p in pf.named_parameters()]
        assert [(n, p.shape) for n, p in twin.named_parameters()] == shapes
    assert build_postfilter(name, hidden=8).param_count() < build_postfilter(name).param_count()


@pytest.mark.parametrize("name", FAMILIES)
def test_param_count_and_packed_bytes(name):
    pf = build_postfilter(name)
    assert pf.param_count() == sum(p.numel() for p in pf.parameters())
    assert pf.packed_bytes(4) < pf.packed_bytes(8) < pf.packed_bytes(16)


def test_packed_bytes_follows_the_documented_formula():
    pf = build_postfilter("standard", hidden=16)
    # 8-bit: int8 codes + a float32 scale per output channel + fp16 biases, per conv
    stem = 3 * 16 * 9 + 4 * 16 + 2 * 16
    mid = 16 * 16 * 9 + 4 * 16 + 2 * 16
    head = 16 * 3 * 9 + 4 * 3 + 2 * 3
    assert pf.packed_bytes(8) == stem + mid + head

    # 4-bit: NF4 codes two per byte in blocks of 32, an fp16 scale per block, fp16 biases
    def nf4(n):
        blocks = math.ceil(n / 32)
        return blocks * 16 + 2 * blocks

    expected4 = nf4(3 * 16 * 9) + nf4(16 * 16 * 9) + nf4(16 * 3 * 9) + 2 * (16 + 16 + 3)
    assert pf.packed_bytes(4) == expected4


def test_luma_only_moves_r_g_b_together():
    x = frames(1, 3, 9, 11)
    with torch.no_grad():
        d = trained("luma_only").residual(x)
    assert bool(d.abs().sum() > 0)
    assert torch.equal(d[:, 0], d[:, 1]) and torch.equal(d[:, 1], d[:, 2])


def test_film_pair_aware_sees_the_partner_frame():
    a, b = frames(1, 3, 9, 11, seed=1), frames(1, 3, 9, 11, seed=2)
    ab, a_dark = torch.cat([a, b]), torch.cat([a, b * 0.5])  # same frame 0, other partner
    with torch.no_grad():
        assert torch.equal(build_postfilter("film", pair_aware=True)(ab), ab)  # neutral at init
        aware, plain = trained("film", pair_aware=True), trained("film")
        assert float((aware(ab)[0] - aware(a_dark)[0]).abs().max()) > 1e-3
        assert torch.allclose(plain(ab)[0], plain(a_dark)[0], atol=1e-4)
    with pytest.raises(ValueError, match="even batch"):
        aware(a)


def _one_line_error(call, *needles: str) -> None:
    with pytest.raises(TacError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message


def test_unknown_name_lists_the_valid_names():
    _one_line_error(lambda: build_postfilter("unet"), "unet", *FAMILIES)


def test_unknown_argument_lists_the_valid_arguments():
    _one_line_error(
        lambda: build_postfilter("dilated", width=3), "width", "hidden", "layers", "act"
    )


def test_bad_argument_values_are_tac_errors():
    _one_line_error(lambda: build_postfilter("standard", act="tanh"), "tanh", "relu", "gelu")
    _one_line_error(lambda: build_postfilter("standard", hidden=0), "hidden")


def test_register_postfilter_adds_a_buildable_family():
    @register_postfilter("_test_zero")
    class Zero(PostFilter):
        def __init__(self, hidden: int = 4):
            super().__init__(hidden=hidden)
            self.stem = self.head = nn.Conv2d(3, 3, 1)

        def residual(self, x: torch.Tensor) -> torch.Tensor:
            return torch.zeros_like(x)

    try:
        assert "_test_zero" in list_postfilters()
        assert build_postfilter("_test_zero", hidden=2).config() == {
            "name": "_test_zero",
            "hidden": 2,
        }
    finally:
        from tac.postfilter import registry

        registry.FAMILIES.unregister("_test_zero")
