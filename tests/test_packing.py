"""Shipped filter bytes: pack → unpack gives exactly the deployed weights; sizes are honest."""

import pytest
import torch

from tac.errors import TacError
from tac.postfilter import build_postfilter
from tac.quant import enable_qat
from tac.quant.deploy import deployed_copy
from tac.quant.packing import pack_model, unpack_model


def trained_like(name="dilated", hidden=16, qat=True, lsq=False, bits=8):
    torch.manual_seed(0)
    model = build_postfilter(name, hidden=hidden)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)  # leave the identity, as training does
    if qat:
        enable_qat(model, bits=bits, lsq=lsq)
    return model


@pytest.mark.parametrize("bits, lsq", [(8, False), (8, True), (4, False)])
def test_pack_unpack_gives_exactly_the_deployed_model(bits, lsq):
    model = trained_like(bits=bits, lsq=lsq)
    deployed = deployed_copy(model, bits)
    config, state = unpack_model(pack_model(model, bits, model.config()))
    assert config == model.config()
    rebuilt = build_postfilter(**config)
    rebuilt.load_state_dict(state, strict=True)
    for k, v in deployed.state_dict().items():
        assert torch.equal(rebuilt.state_dict()[k], v), k
    x = torch.rand(1, 3, 20, 30) * 255
    with torch.no_grad():
        assert torch.equal(rebuilt(x), deployed(x))


def test_deployed_model_matches_the_qat_forward():
    model = trained_like(qat=True)
    x = torch.rand(1, 3, 16, 24) * 255
    with torch.no_grad():
        qat_out = model(x)
        dep_out = deployed_copy(model, 8)(x)
    # same integer weights; only the float16 rounding of biases differs
    assert torch.allclose(qat_out, dep_out, atol=0.05)


def test_four_bit_ships_fewer_bytes_than_eight():
    m8, m4 = trained_like(hidden=64, bits=8), trained_like(hidden=64, bits=4)
    b8, b4 = len(pack_model(m8, 8, m8.config())), len(pack_model(m4, 4, m4.config()))
    assert b4 < b8 < m8.param_count() * 4  # far below float32


def test_corrupt_blob_is_a_clear_error():
    model = trained_like()
    blob = bytearray(pack_model(model, 8, model.config()))
    blob[len(blob) // 2] ^= 0xFF
    with pytest.raises(TacError):
        unpack_model(bytes(blob))
