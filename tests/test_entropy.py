"""Entropy coding of quantized tensors: every coder round-trips, the smallest wins, bytes are
deterministic, and a damaged stream is one clear error."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tac.quant import entropy

symbols = st.one_of(
    arrays(np.int8, st.integers(0, 3000)),
    arrays(np.int16, st.integers(0, 300)),
    arrays(np.int64, st.integers(0, 200), elements=st.integers(-32768, 32767)),
)


@settings(max_examples=60, deadline=None)
@given(symbols)
def test_every_coder_round_trips_exactly(x):
    streams = entropy.encode_all(x)
    assert set(streams) == set(entropy.CODERS)
    for coder, stream in streams.items():
        assert entropy.coder_of(stream) == coder
        np.testing.assert_array_equal(entropy.decode(stream), x.astype(np.int64))
    assert entropy.encode(x) == min(streams.values(), key=len)


def test_range_coding_reaches_the_order0_entropy_on_laplacian_weights():
    rng = np.random.default_rng(0)
    x = np.clip(np.round(rng.laplace(0, 10, 100_000)), -127, 127).astype(np.int8)
    streams = entropy.encode_all(x)
    p = np.bincount(x.astype(np.int64) + 128) / x.size
    bound = -(p[p > 0] * np.log2(p[p > 0])).sum() * x.size / 8
    assert len(streams["range"]) < bound * 1.005 + 300  # within 0.5 % plus its histogram
    assert len(streams["range"]) < min(len(streams[c]) for c in ("lzma", "brotli", "zstd"))
    assert entropy.coder_of(entropy.encode(x)) == "range"
    assert entropy.encode(x) == entropy.encode(x.copy())  # deterministic


def test_a_constant_tensor_costs_a_few_bytes():
    stream = entropy.encode(np.full(10_000, -3, np.int8))
    assert len(stream) < 12
    np.testing.assert_array_equal(entropy.decode(stream), np.full(10_000, -3))


def test_bad_input_and_damaged_streams_are_clear_errors():
    with pytest.raises(ValueError, match="integer symbols"):
        entropy.encode(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match=r"\[-32768, 32767\]"):
        entropy.encode(np.array([40_000]))
    stream = entropy.encode_all(np.arange(-50, 50))["range"]
    for damaged in (b"", stream[:3], b"\x09" + stream[1:], stream[:8], stream[:-1]):
        with pytest.raises(entropy.EntropyError):
            entropy.decode(damaged)
    brotli_stream = entropy.encode_all(np.arange(100, dtype=np.int8))["brotli"]
    with pytest.raises(entropy.EntropyError, match="brotli"):
        entropy.decode(brotli_stream[:-2])
