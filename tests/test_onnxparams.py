"""Weight-updates applied to the exported networks without the ``onnx`` package (issue 25,
item 3: a file with an update decodes within 1.2x the time of one without; importing ``onnx``
alone took 0.5-0.9 s per cold process)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hybridcodec import HybridCodecError, runtime
from hybridcodec.inference import parameter_names
from hybridcodec.models import get_model
from hybridcodec.onnxparams import float_initializers, with_inputs

GOLDEN = Path(__file__).parent / "golden"


def _rec(name: str):
    m = get_model(name)
    e = m.export["rec"]
    path = os.path.join(os.path.dirname(m.path), e["file"])
    return m, path, e["sha256"], runtime._read_checked(path, e["sha256"])


def test_the_reader_agrees_with_the_onnx_package():
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    _, _, _, data = _rec("hyc-jpeg-full-fast-v3")
    ours = float_initializers(data)
    theirs = {t.name: numpy_helper.to_array(t) for t in onnx.load_from_string(data).graph.initializer
              if t.data_type == 1}
    assert ours.keys() == theirs.keys() and len(ours) > 10
    assert all(np.array_equal(ours[k], theirs[k]) for k in ours)
    chosen = list(ours)[-3:]
    patched = onnx.load_from_string(with_inputs(data, chosen))
    onnx.checker.check_model(patched)  # still a valid model ...
    inputs = {i.name: i for i in patched.graph.input}
    assert list(inputs) == ["x", "q", *chosen]  # ... whose graph inputs add those initializers
    for k in chosen:  # with their type and shape
        tt = inputs[k].type.tensor_type
        assert tt.elem_type == 1 and [d.dim_value for d in tt.shape.dim] == list(ours[k].shape)
    got = {t.name: numpy_helper.to_array(t) for t in patched.graph.initializer}
    assert got.keys() == ours.keys() and all(np.array_equal(got[k], ours[k]) for k in ours)
    with pytest.raises(HybridCodecError, match="no float initializer"):
        with_inputs(data, ["nope"])
    with pytest.raises(HybridCodecError, match="malformed"):
        float_initializers(data[: len(data) // 2])


def test_an_update_session_computes_what_the_onnx_package_would():
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    m, path, sha, data = _rec("hyc-jpeg-full-fast-v3")
    names = parameter_names(m)
    base = float_initializers(data)
    rng = np.random.default_rng(0)
    deltas = {i: rng.normal(0, 0.01, base[n].shape) for i, n in enumerate(names)}
    proto = onnx.load_from_string(data)
    inits = {t.name: t for t in proto.graph.initializer}
    for i, d in deltas.items():
        t = inits[names[i]]
        t.CopyFrom(numpy_helper.from_array((base[names[i]] + d).astype(np.float32), t.name))
    x = rng.random((1, 3, 32, 48)).astype(np.float32)
    ref = runtime.run(runtime.make_session(proto.SerializeToString(), 1), x, 50.0)
    sess, feeds = runtime.session_with_update(path, sha, names, deltas)
    ours = runtime.run(sess, x, 50.0, feeds)
    plain = runtime.run(runtime.session(path, sha), x, 50.0)
    assert np.allclose(ref, ours, atol=1e-5) and not np.allclose(ours, plain, atol=1e-3)
    # the session is shared by every update of the same tensors: a second update is fed, not
    # built, and leaves the first's results and the plain session's untouched
    other = {i: -d for i, d in deltas.items()}
    sess2, feeds2 = runtime.session_with_update(path, sha, names, other)
    assert sess2 is sess
    assert not np.allclose(runtime.run(sess, x, 50.0, feeds2), ours, atol=1e-3)
    assert np.array_equal(runtime.run(sess, x, 50.0, feeds), ours)
    assert np.array_equal(runtime.run(runtime.session(path, sha), x, 50.0), plain)


def test_decoding_a_file_with_an_update_imports_neither_onnx_nor_torch():
    code = ("import sys, hybridcodec; from pathlib import Path; "
            f"hybridcodec.decode(Path({str(GOLDEN / 'v3-jpeg-full-update.hyc')!r}).read_bytes()); "
            "print('onnx' in sys.modules, 'torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False"]
