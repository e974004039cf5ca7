"""The DeepCABAC-style weight-update coder (format 3): exact round trips, zeros found cheaply,
bit estimates that match, per-tensor steps, and corrupt chunks that never crash."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridcodec import HybridCodecError, nnccoding
from hybridcodec.weightcoding import decode_update, describe_update, encode_update

SHAPES = {0: (16, 8, 3, 3), 1: (16,), 2: (3, 16, 3, 3), 3: (3,), 4: (8, 8, 1, 1)}


def _values(seed=0):
    rng = np.random.default_rng(seed)
    w = np.rint(rng.laplace(0, 1.5, SHAPES[0])) * (rng.random((16, 1, 1, 1)) < 0.5)
    w *= rng.random((16, 8, 1, 1)) < 0.5  # whole kernels at zero
    big = np.rint(rng.laplace(0, 40, SHAPES[2]))  # long Exp-Golomb remainders
    return {0: w.astype(np.int64), 1: np.rint(rng.normal(0, 3, 16)).astype(np.int64),
            2: big.astype(np.int64), 4: np.rint(rng.normal(0, 1, SHAPES[4])).astype(np.int64)}


def _codes():
    return {0: nnccoding.step_code(0.002), 1: nnccoding.step_code(0.01),
            2: nnccoding.step_code(1e-4), 4: nnccoding.step_code(0.05)}


def test_roundtrip_is_exact_with_a_step_per_tensor():
    values, codes = _values(), _codes()
    payload = nnccoding.encode(values, codes, len(SHAPES))
    out = decode_update(payload, SHAPES)  # the chunk's version byte picks the decoder
    assert sorted(out) == [0, 1, 2, 4]
    for k, v in values.items():
        expected = v.astype(np.float32) * np.float32(nnccoding.code_step(codes[k]))
        assert out[k].dtype == np.float32 and np.array_equal(out[k], expected)
    info = describe_update(payload, SHAPES)
    assert info["version"] == 3 and info["tensors"] == 4
    assert info["parameters"] == sum(int(np.prod(SHAPES[k])) for k in values)
    assert info["steps"][2] == pytest.approx(1e-4, rel=0.05)


def test_step_codes_are_eighth_octaves():
    for step in (1.0, 3e-3, 1e-7):
        assert nnccoding.code_step(nnccoding.step_code(step)) == pytest.approx(step, rel=0.05)
    with pytest.raises(HybridCodecError):
        nnccoding.step_code(0.0)


def test_the_estimate_is_what_the_coder_spends():
    values, codes = _values(1), _codes()
    payload = nnccoding.encode(values, codes, len(SHAPES))
    coded = describe_update(payload, SHAPES)["coded_bytes"]
    estimate = nnccoding.estimate_bits([values[k] for k in sorted(values)]) / 8
    assert abs(coded - estimate) <= 8 + 0.02 * estimate


def test_zero_channels_and_kernels_cost_little():
    rng = np.random.default_rng(2)
    dense = np.rint(rng.laplace(0, 2, (32, 32, 3, 3))).astype(np.int64)
    sparse = dense * (rng.random((32, 1, 1, 1)) < 0.25) * (rng.random((32, 32, 1, 1)) < 0.25)
    nz = lambda v: int((v != 0).sum())  # noqa: E731
    b_dense = nnccoding.estimate_bits([dense]) / nz(dense)
    b_sparse = nnccoding.estimate_bits([sparse]) / nz(sparse)
    assert b_sparse < 1.3 * b_dense  # the zeros around the non-zeros are nearly free


def test_fewer_bytes_than_the_former_coder_on_the_same_values():
    rng = np.random.default_rng(3)
    deltas = {0: rng.laplace(0, 0.003, SHAPES[0]) * (rng.random((16, 1, 1, 1)) < 0.6),
              1: rng.normal(0, 0.02, 16), 3: rng.normal(0, 0.01, 3)}
    v2, _ = encode_update(deltas, 0.003)
    code = nnccoding.step_code(0.003)
    values = {k: nnccoding.quantize(d, nnccoding.code_step(code)) for k, d in deltas.items()}
    v3 = nnccoding.encode(values, {k: code for k in values}, len(SHAPES))
    assert len(v3) < len(v2)


def test_all_zero_tensors_are_left_out_and_an_empty_chunk_is_refused():
    payload = nnccoding.encode({0: np.zeros(SHAPES[0], np.int64), 1: np.ones(16, np.int64)},
                               {0: 60, 1: 60}, len(SHAPES))
    assert sorted(decode_update(payload, SHAPES)) == [1]
    empty = nnccoding.encode({0: np.zeros(SHAPES[0], np.int64)}, {0: 60}, len(SHAPES))
    with pytest.raises(HybridCodecError):
        decode_update(empty, SHAPES)


def test_mismatched_models_are_refused():
    payload = nnccoding.encode(_values(), _codes(), len(SHAPES))
    with pytest.raises(HybridCodecError):
        decode_update(payload, {k: SHAPES[k] for k in range(2)})  # fewer parameters
    with pytest.raises(HybridCodecError):
        decode_update(payload, {**SHAPES, 7: (3,)})  # not indexed 0..P-1
    with pytest.raises(HybridCodecError):
        nnccoding.encode({9: np.ones(3, np.int64)}, {9: 60}, len(SHAPES))


def test_every_truncation_is_an_error():
    payload = nnccoding.encode(_values(), _codes(), len(SHAPES))
    for n in range(len(payload)):
        with pytest.raises(HybridCodecError):
            decode_update(payload[:n], SHAPES)


@settings(max_examples=150, deadline=None)
@given(pos=st.integers(0, 10_000), value=st.integers(0, 255))
def test_corruption_never_crashes(pos, value):
    payload = bytearray(nnccoding.encode(_values(), _codes(), len(SHAPES)))
    payload[pos % len(payload)] = value
    try:
        out = decode_update(bytes(payload), SHAPES)
    except HybridCodecError:
        return
    for k, v in out.items():
        assert v.shape == SHAPES[k] and np.isfinite(v).all()
