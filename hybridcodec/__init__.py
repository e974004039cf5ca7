"""hybridcodec: classical image codecs (JPEG, JPEG 2000) wrapped in small neural networks.

Jiang et al. 2017, "An End-to-End Compression Framework Based on Convolutional Neural Networks":
ComCNN makes a compact half-resolution image, the base codec codes it, RecCNN reconstructs.

    >>> import hybridcodec
    >>> data = hybridcodec.encode(image, base="jpeg2000", bpp=0.25)
    >>> restored = hybridcodec.decode(data)
    >>> opts = hybridcodec.EncodeOptions(base="jpeg", quality=40)  # checked once, reusable
    >>> data = hybridcodec.encode(image, options=opts)

Importing this package has no side effects; the Pillow plugin registers itself only when
``hybridcodec.pillow`` is imported (or ``register_hyc()`` is called). The functions are loaded
on first use (PEP 562), so that importing the package, or running ``hybridcodec --help``, does
not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import HybridCodecError

__version__ = "0.3.0"

__all__ = ["encode", "decode", "check", "info", "version", "enhance_jpeg", "enhance_to_pil",
           "encode_many", "decode_many", "enhance_many", "EncodeOptions", "AdaptConfig", "HybridCodecError",
           "__version__"]

_LAZY = {"encode": "codec", "decode": "codec", "check": "codec", "info": "codec",
         "version": "codec", "enhance_jpeg": "enhance", "enhance_to_pil": "enhance",
         "encode_many": "batch", "decode_many": "batch", "enhance_many": "batch",
         "EncodeOptions": "options",
         "AdaptConfig": "adaptconfig"}

if TYPE_CHECKING:
    from .adaptconfig import AdaptConfig
    from .batch import decode_many, encode_many, enhance_many
    from .codec import check, decode, encode, info, version
    from .enhance import enhance_jpeg, enhance_to_pil
    from .options import EncodeOptions


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
