"""hybridcodec: classical image codecs (JPEG, JPEG 2000) wrapped in small neural networks.

Jiang et al. 2017, "An End-to-End Compression Framework Based on Convolutional Neural Networks":
ComCNN makes a compact half-resolution image, the base codec codes it, RecCNN reconstructs.

    >>> import hybridcodec
    >>> data = hybridcodec.encode(image, base="jpeg2000", bpp=0.25)
    >>> restored = hybridcodec.decode(data)

Importing this package has no side effects; the Pillow plugin registers itself only when
``hybridcodec.pillow`` is imported (or ``register_hyc()`` is called).
"""

from __future__ import annotations

__version__ = "0.2.0"

from .codec import check, decode, encode, info, version
from .enhance import enhance_jpeg, enhance_to_pil
from .errors import HybridCodecError

__all__ = ["encode", "decode", "check", "info", "version", "enhance_jpeg", "enhance_to_pil",
           "HybridCodecError", "__version__"]
