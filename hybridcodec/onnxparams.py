"""The float initializers of an exported network, read straight from the ONNX protobuf (issue 25,
item 3): decoding a file with a weight-update needs the base values of the parameters it changes,
and importing the ``onnx`` package for them costs 0.5-0.9 s per cold process, more than the
decode itself on a Kodak-size image (a file with an update must decode within 1.2x of one
without). Only files whose SHA-256 the manifest vouches for are read (``runtime._read_checked``),
so this is a reader of our own exports, not of arbitrary input; anything unexpected is an error,
never a guess.

Protobuf wire format: each field is a varint key ``(number << 3) | wire type`` (0 varint,
1 64-bit, 2 length-delimited, 5 32-bit). ONNX: ``ModelProto.graph`` = 7, ``GraphProto.initializer``
= 5, ``TensorProto`` dims = 1, data_type = 2 (1 = float32), float_data = 4, name = 8,
raw_data = 9 (little-endian); ``GraphProto.input`` = 11 (``ValueInfoProto``), which
``with_inputs`` appends to make the changed initializers overridable at run time.
"""

from __future__ import annotations

import numpy as np

from .errors import HybridCodecError

__all__ = ["float_initializers", "with_inputs"]

_FLOAT = 1


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise HybridCodecError("malformed ONNX file (varint)")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes, start: int = 0, end: int | None = None):
    """(field number, wire type, value, offset) of each field of the message in
    ``buf[start:end]``; value is an int for varints, else the field's bytes, found at
    ``buf[offset:offset + len(value)]``."""
    end = len(buf) if end is None else end
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, wire, value, pos
        elif wire in (1, 2, 5):
            if wire == 2:
                n, pos = _varint(buf, pos)
            else:
                n = 8 if wire == 1 else 4
            if pos + n > end:
                raise HybridCodecError("malformed ONNX file (length)")
            yield number, wire, (pos, n), pos
            pos += n
        else:
            raise HybridCodecError(f"malformed ONNX file (wire type {wire})")


def _tensor(buf: bytes, start: int, end: int):
    """(name, shape, float32 values or None, offset of the raw little-endian data or -1)."""
    name, dims, dtype, raw, floats = "", [], 0, None, []
    for number, wire, value, _ in _fields(buf, start, end):
        if number == 1 and wire == 0:
            dims.append(int(value))
        elif number == 1 and wire == 2:  # packed dims
            p, stop = value[0], value[0] + value[1]
            while p < stop:
                d, p = _varint(buf, p)
                dims.append(d)
        elif number == 2 and wire == 0:
            dtype = int(value)
        elif number == 8 and wire == 2:
            name = buf[value[0] : value[0] + value[1]].decode("utf-8")
        elif number == 9 and wire == 2:
            raw = value
        elif number == 4 and wire in (2, 5):  # float_data, packed or not
            floats.append(np.frombuffer(buf[value[0] : value[0] + value[1]], "<f4"))
    if dtype != _FLOAT:
        return name, dims, None, -1
    size = int(np.prod(dims)) if dims else 1
    if raw is not None:
        data, offset = np.frombuffer(buf[raw[0] : raw[0] + raw[1]], "<f4"), raw[0]
    else:
        data, offset = (np.concatenate(floats) if floats else np.zeros(0, "<f4")), -1
    if data.size != size:
        raise HybridCodecError(f"malformed ONNX file (initializer {name!r} has {data.size} "
                               f"values for shape {dims})")
    return name, dims, data.reshape(dims).astype(np.float32), offset


def _initializers(model_bytes: bytes):
    graphs = [v for n, w, v, _ in _fields(model_bytes) if n == 7 and w == 2]
    if len(graphs) != 1:
        raise HybridCodecError("malformed ONNX file (no graph)")
    g0, gn = graphs[0]
    for number, wire, value, _ in _fields(model_bytes, g0, g0 + gn):
        if number == 5 and wire == 2:
            name, dims, arr, offset = _tensor(model_bytes, value[0], value[0] + value[1])
            if arr is not None:
                yield name, arr, offset


def float_initializers(model_bytes: bytes) -> dict[str, np.ndarray]:
    """Every float32 initializer of the graph, by name."""
    return {name: arr for name, arr, _ in _initializers(model_bytes)}


def _key(number: int, wire: int) -> bytes:
    return _put_varint((number << 3) | wire)


def _put_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _message(number: int, payload: bytes) -> bytes:
    return _key(number, 2) + _put_varint(len(payload)) + payload


def _value_info(name: str, shape: tuple[int, ...]) -> bytes:
    """``ValueInfoProto`` of a float32 tensor: name = 1, type = 2 (``TypeProto.tensor_type`` = 1:
    elem_type = 1, shape = 2 of ``Dimension``s = 1 with dim_value = 1)."""
    dims = b"".join(_message(1, _key(1, 0) + _put_varint(int(d))) for d in shape)
    tensor = _key(1, 0) + _put_varint(_FLOAT) + _message(2, dims)
    return _message(1, name.encode("utf-8")) + _message(2, _message(1, tensor))


def with_inputs(model_bytes: bytes, names: list[str]) -> bytes:
    """The model with the named float32 initializers also listed as graph inputs
    (``GraphProto.input`` = 11): onnxruntime then takes them as *overridable initializers*, so
    one session runs the network with any values fed to ``run`` (a weight-update) and with the
    file's own when none are fed."""
    shapes = {name: arr.shape for name, arr, _ in _initializers(model_bytes)}
    missing = [n for n in names if n not in shapes]
    if missing:
        raise HybridCodecError(f"the exported network has no float initializer {missing[0]!r}")
    extra = b"".join(_message(11, _value_info(n, shapes[n])) for n in names)
    pos = 0
    while pos < len(model_bytes):
        start = pos
        key, pos = _varint(model_bytes, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _varint(model_bytes, pos)
            continue
        if wire == 2:
            n, pos = _varint(model_bytes, pos)
        elif wire in (1, 5):
            n = 8 if wire == 1 else 4
        else:
            raise HybridCodecError(f"malformed ONNX file (wire type {wire})")
        if number == 7 and wire == 2:
            graph = model_bytes[pos : pos + n] + extra
            return model_bytes[:start] + _message(7, graph) + model_bytes[pos + n :]
        pos += n
    raise HybridCodecError("malformed ONNX file (no graph)")
