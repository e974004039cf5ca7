import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridcodec import HybridCodecError
from hybridcodec.weightcoding import MAX_K, decode_update, describe_update, encode_update, quantize


def _deltas(seed=0):
    rng = np.random.default_rng(seed)
    sparse = rng.laplace(0, 0.002, (16, 8, 3, 3)) * (rng.random((16, 1, 1, 1)) < 0.5)
    return {0: sparse, 1: rng.laplace(0, 0.004, (3, 16, 3, 3)), 2: np.zeros(3),
            5: rng.normal(0, 0.01, 16)}


def _shapes(d):
    return {k: v.shape for k, v in d.items()}


@pytest.mark.parametrize("context", ["best", "none", "checkerboard"])
def test_roundtrip_is_exact(context):
    d, step = _deltas(), 0.002
    payload, stats = encode_update(d, step, context=context)
    out = decode_update(payload, _shapes(d))
    assert 2 not in out  # all-zero tensors are not sent
    for k in (0, 1, 5):
        expected = quantize(d[k], step).astype(np.float32) * np.float32(step)
        assert out[k].dtype == np.float32 and np.array_equal(out[k], expected)
    assert stats.bytes == len(payload)
    assert stats.channels_sent < stats.channels_total  # pruned channels of tensor 0
    info = describe_update(payload, _shapes(d))
    assert info["tensors"] == stats.tensors == 3 and info["channels_sent"] == stats.channels_sent


def test_checkerboard_context_wins_on_structured_updates():
    # an update whose non-zeros cluster in (o, i) blocks: neighbours predict each other
    rng = np.random.default_rng(1)
    blocks = np.kron(rng.random((8, 8)) < 0.3, np.ones((4, 4)))[:, :, None, None]
    d = {0: blocks * rng.laplace(0, 0.004, (32, 32, 3, 3))}
    _, stats = encode_update(d, 0.002)
    assert stats.bytes_checkerboard < stats.bytes_context_free


def test_clipping_and_bad_step():
    payload, _ = encode_update({0: np.array([1e3, -1e3, 0.0])}, 0.001)
    out = decode_update(payload, {0: (3,)})[0]
    assert np.allclose(out, [MAX_K * 0.001, -MAX_K * 0.001, 0], atol=1e-7)
    with pytest.raises(HybridCodecError):
        encode_update({0: np.ones(3)}, 0.0)


def test_mismatched_shapes_and_indices_are_refused():
    d = _deltas()
    payload, _ = encode_update(d, 0.002)
    with pytest.raises(HybridCodecError):
        decode_update(payload, {**_shapes(d), 0: (3, 8, 3, 3)})
    with pytest.raises(HybridCodecError, match="unknown parameter"):
        decode_update(payload, {1: (3, 16, 3, 3), 5: (16,)})


def test_every_truncation_is_an_error():
    d = _deltas()
    payload, _ = encode_update(d, 0.002)
    for n in range(len(payload)):
        with pytest.raises(HybridCodecError):
            decode_update(payload[:n], _shapes(d))


@settings(max_examples=200, deadline=None)
@given(pos=st.integers(0, 10_000), value=st.integers(0, 255))
def test_corruption_never_crashes(pos, value):
    d = _deltas()
    payload = bytearray(encode_update(d, 0.002)[0])
    payload[pos % len(payload)] = value
    try:
        out = decode_update(bytes(payload), _shapes(d))
    except HybridCodecError:
        return
    for k, v in out.items():
        assert v.shape == d[k].shape and np.isfinite(v).all()


def test_many_tensor_headers_in_a_short_chunk_are_refused():
    payload = bytearray(encode_update({0: np.full(4, 0.01)}, 0.002)[0])
    payload[5:7] = struct.pack(">H", 0xFFFF)  # claims 65535 tensors
    with pytest.raises(HybridCodecError):
        decode_update(bytes(payload), {0: (4,)})


def test_header_is_small():
    payload, stats = encode_update({0: np.full(4, 0.01), 1: np.full(3, 0.01)}, 0.002)
    # 7 bytes chunk header + 2 x (4 bytes tensor header + 1 byte bitmap) + word count + words
    assert len(payload) == 7 + 2 * 5 + 4 + describe_update(payload, {0: (4,), 1: (3,)})["coded_bytes"]
