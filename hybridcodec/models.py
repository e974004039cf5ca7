"""Model files and the registry of installed models.

A model file is a ``torch.save`` of plain data (loaded with ``weights_only=True``): format tag,
name, base codec, network configuration, state dict and metadata. Its identity is its name plus
the SHA-256 of the file; a ``.hyc`` file stores both, so decoding with other weights is an error.

Registered models are also exported to ONNX (``export.py``) and listed with their hashes in the
manifest (``"onnx"``: files, network configuration, tiling geometry, parameter shapes); such a
model is described without torch, and runs under onnxruntime (``runtime.py``). ``Model.net``, the
torch network, is loaded on first use only (training, adaptation, the torch backend).

Installed models live in the ``weights/`` folder of the repository (or ``$HYBRIDCODEC_WEIGHTS``),
listed in ``weights/MANIFEST.json``. The built-in model ``baseline`` needs no file: area
downsampling by 2 and bicubic upsampling around the base codec (the naive baseline every network
must beat). Registry names never change meaning; a retrained model gets a new name.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

from .errors import HybridCodecError
from .netconfig import NetConfig

if TYPE_CHECKING:
    from .nn.networks import HybridNet

__all__ = [
    "Model",
    "BASELINE",
    "BASELINE_FULL",
    "BASELINE_FULL_JPEGLI",
    "PROFILES",
    "weights_dir",
    "networks_installed",
    "INSTALL_HINT",
    "manifest",
    "load_model",
    "get_model",
    "find_model",
    "default_model_name",
]

BASELINE = "baseline"
BASELINE_FULL = "baseline-full"  # built-in full-resolution baseline: the decoded base image as is
#: the same with jpegli's JPEG decoder (for JPEG 2000 payloads identical to ``baseline-full``)
BASELINE_FULL_JPEGLI = "baseline-full-jpegli"
_ZERO_HASH = bytes(8)


@dataclass(frozen=True)
class Model:
    """A model: its identity, base codec (or ``None`` for any), network configuration and
    metadata; ``path``: its ``.pt`` file (``None`` for the built-in baselines); ``export``: the
    manifest's ONNX block (``None`` when it has no exported form)."""

    name: str
    digest: bytes  # first 8 bytes of the file's SHA-256 (zeros for the built-in baseline)
    base: str | None
    config: NetConfig
    meta: dict
    path: str | None = None
    export: dict | None = None
    module: HybridNet | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_net(cls, name: str, net: HybridNet, base: str | None = None,
                 meta: dict | None = None) -> Model:
        """A model around an in-memory torch network (tests, experiments; runs on torch)."""
        return cls(name, bytes(8), base, net.config, meta or {}, module=net)

    @property
    def builtin(self) -> bool:
        """Whether this is a built-in baseline (no network: ``inference`` runs it in numpy)."""
        return self.path is None and self.module is None

    @property
    def net(self) -> HybridNet:
        """The torch network (eval mode), loaded on first use and shared (never modify it)."""
        if self.module is not None:
            return self.module
        if self.path is None:
            return _builtin_net(self.config)
        sha = self.sha256
        if bytes.fromhex(sha)[:8] != self.digest:
            raise HybridCodecError(f"{self.path} has changed since it was registered as "
                                   f"{self.name!r} (SHA-256 {sha[:16]}, manifest "
                                   f"{self.digest.hex()})")
        return _load_file(self.path, sha).net

    @property
    def sha256(self) -> str:
        return _file_sha(self.path) if self.path else ""

    @property
    def scale(self) -> int:
        """2: compact (half-resolution) mode; 1: full-resolution mode."""
        return self.config.scale

    @property
    def resolution(self) -> str:
        return "full" if self.config.scale == 1 else "compact"

    @property
    def has_rec(self) -> bool:
        """Whether the decoder side has a network (False: the classical baseline alone)."""
        return self.config.rec_depth > 0 or self.config.rec_arch != "reccnn"

    @property
    def decoder(self) -> str:
        """The JPEG decoder whose output this model's RecCNN reads (``turbo`` or ``jpegli``):
        the one it was trained on, ``meta["input_decoder"]`` (``turbo`` for models made before
        the choice existed). Part of the model, so decoding a file never depends on who wrote
        it."""
        return str(self.meta.get("input_decoder", "turbo"))


def weights_dir() -> Path:
    """The folder of installed models: ``$HYBRIDCODEC_WEIGHTS``, else the package
    ``hybridcodec.weights`` (the repository's ``weights/``, installed as package data by the
    wheel), found through :mod:`importlib.resources`."""
    env = os.environ.get("HYBRIDCODEC_WEIGHTS")
    if env:
        return Path(env)
    try:
        return Path(str(importlib.resources.files("hybridcodec.weights")))
    except ModuleNotFoundError:  # an installation without the package data
        return Path(__file__).resolve().parent / "weights"


#: what a user whose installation has no networks is told to do
INSTALL_HINT = ("reinstall with 'pip install --force-reinstall hybridcodec', or ask for the "
                "classical codec alone with model='baseline'")


def networks_installed() -> bool:
    """Whether :func:`weights_dir` holds a manifest (an installation without one lost its
    package data; an empty manifest is a deliberate choice of the baselines alone)."""
    return (weights_dir() / "MANIFEST.json").is_file()


def manifest() -> dict:
    """The parsed ``MANIFEST.json`` of :func:`weights_dir` (empty when there is none)."""
    path = weights_dir() / "MANIFEST.json"
    if not path.exists():
        return {"models": {}, "defaults": {}}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise HybridCodecError(f"{path} is not valid JSON: {exc}") from exc


@dataclass(frozen=True)
class _Loaded:
    name: str
    base: str | None
    net: HybridNet
    meta: dict


@functools.lru_cache(maxsize=8)
def _load_file(path: str, sha: str) -> _Loaded:
    from .nn.modelfile import read_model_file

    name, base, net, meta = read_model_file(path, _short(path))
    return _Loaded(name, base, net, meta)


@functools.lru_cache(maxsize=32)
def _file_sha_cached(path: str, mtime_ns: int, size: int) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise HybridCodecError(f"cannot read model file {path}: {exc.strerror}") from exc


#: the largest model file read (bytes): the shipped ones are under 3 MB
MAX_MODEL_BYTES = 256 << 20


def _short(path: str | os.PathLike) -> str:
    p = str(path)
    return p if len(p) <= 80 else p[:60] + "..." + p[-12:]


def _file_sha(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a model file, cached while its size and modification time stay the same;
    a bounded read of a regular file (issue 23: ``model="/dev/zero"`` read until memory ran
    out)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or "not a path"
        raise HybridCodecError(f"cannot read model file {_short(path)}: {why}") from None
    if not stat.S_ISREG(st.st_mode):
        raise HybridCodecError(f"model {_short(path)} is not a regular file")
    if st.st_size > MAX_MODEL_BYTES:
        raise HybridCodecError(f"model file {_short(path)} is {st.st_size} bytes, more than "
                               f"any model ({MAX_MODEL_BYTES} bytes)")
    return _file_sha_cached(str(Path(path).resolve()), st.st_mtime_ns, st.st_size)


def load_model(path: str | os.PathLike) -> Model:
    """Load a model file with torch (cached by content hash)."""
    p = str(Path(path).resolve())
    sha = _file_sha(p)
    obj = _load_file(p, sha)
    return Model(obj.name, bytes.fromhex(sha)[:8], obj.base, obj.net.config, obj.meta, p)


def _registered(name: str, entry: dict) -> Model:
    """A manifest entry as a model: described by its ONNX block where it has one (no torch,
    no reading of the ``.pt``: its hash is the manifest's), else loaded from the ``.pt``."""
    path = weights_dir() / entry["file"]
    block = entry.get("onnx")
    if block is None or "sha256" not in entry:
        return load_model(path)
    return Model(name, bytes.fromhex(entry["sha256"])[:8], entry.get("base"),
                 NetConfig.from_dict(block["config"]), dict(block.get("meta", {})),
                 str(path.resolve()), block)


@functools.lru_cache(maxsize=4)
def _builtin_net(config: NetConfig) -> HybridNet:
    from .nn.networks import HybridNet

    return HybridNet(config).eval()


_BUILTIN = {
    BASELINE: Model(BASELINE, _ZERO_HASH, None, NetConfig(0, 0, 0), {}),
    BASELINE_FULL: Model(BASELINE_FULL, _ZERO_HASH, None, NetConfig(0, 0, 0, scale=1), {}),
    BASELINE_FULL_JPEGLI: Model(BASELINE_FULL_JPEGLI, _ZERO_HASH, None,
                                NetConfig(0, 0, 0, scale=1), {"input_decoder": "jpegli"}),
}


def get_model(name_or_path: str) -> Model:
    """An installed model by registry name, ``baseline``/``baseline-full``, or a model file."""
    if name_or_path in _BUILTIN:
        return _BUILTIN[name_or_path]
    entry = manifest().get("models", {}).get(name_or_path)
    if entry is not None:
        return _registered(name_or_path, entry)
    if not isinstance(name_or_path, str) or not name_or_path or "\0" in name_or_path:
        raise HybridCodecError(f"model must be a registry name or a file, got {name_or_path!r:.60}")
    try:
        is_file = Path(name_or_path).is_file()
    except OSError:  # e.g. a name too long for the file system
        is_file = False
    if os.path.sep in name_or_path or name_or_path.endswith(".pt") or is_file:
        return load_model(name_or_path)
    # the built-ins and the defaults: a one-line message however many versions are installed
    registered = manifest().get("models", {})
    shown = list(dict.fromkeys([*_BUILTIN, *(n for n in manifest().get("defaults", {}).values()
                                            if n in registered)]))
    more = len([n for n in registered if n not in shown])
    names = ", ".join(shown) + (f" and {more} earlier versions" if more else "")
    raise HybridCodecError(f"model {_short(name_or_path)!r} is not installed (installed: {names})")


def find_model(name: str, digest: bytes, path: str | os.PathLike | None = None) -> Model:
    """The installed model with this identity, as stored in a file; an error names it if absent.
    ``path`` offers a model (a file, or a registry name like the encoder's ``model=``) to use
    instead of the file's; its identity must match."""
    if path is not None:  # checked even where the file's model is built in
        model = get_model(path if isinstance(path, str) else os.fspath(path))
        if (model.name, model.digest) != (name, digest):
            raise HybridCodecError(f"file needs model {name!r} with weights {digest.hex()}, "
                                   f"but {path} is {model.name!r} {model.digest.hex()}")
        return model
    if name in _BUILTIN and digest == _ZERO_HASH:
        return _BUILTIN[name]
    entry = manifest().get("models", {}).get(name)
    if entry is not None:
        model = _registered(name, entry)
        if model.digest == digest:
            return model
    raise HybridCodecError(
        f"file needs model {name!r} with weights {digest.hex()}, which is not installed"
    )


PROFILES = ("fast", "best")


def default_model_name(base: str, resolution: str = "compact", profile: str = "best") -> str:
    """The shipped default model for a base codec, codec mode (``compact`` or ``full``) and
    decoder profile (``best``: the trained network; ``fast``: its distilled student, Fu et al.
    2024). Manifest keys: ``<base>``, ``<base>-full``, plus ``-fast`` for students. A missing
    student falls back to the best model, a missing model to the built-in baseline of the mode;
    an installation with no networks at all is an error that says how to install them (issue
    23: a wheel without its weights once encoded with the baseline, silently)."""
    if profile not in PROFILES:
        raise HybridCodecError(f"profile must be fast or best, got {profile!r}")
    if not networks_installed():
        raise HybridCodecError(f"no networks are installed in {weights_dir()}: {INSTALL_HINT}")
    defaults = manifest().get("defaults", {})
    key = base if resolution == "compact" else f"{base}-full"
    if profile == "fast" and f"{key}-fast" in defaults:
        return defaults[f"{key}-fast"]
    return defaults.get(key, BASELINE if resolution == "compact" else BASELINE_FULL)
