"""The size of a ComCNN/RecCNN pair (``NetConfig``): plain data, no torch, so that a model's
shape is known to code that only runs its exported form (``runtime``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["NetConfig", "UPCONV7_WIDTHS", "macs_per_pixel"]

#: hidden widths of waifu2x's upconv_7 (``nn.waifu2x.Upconv7``), fixed by its published weights
UPCONV7_WIDTHS = (16, 32, 64, 128, 128, 256)


@dataclass(frozen=True)
class NetConfig:
    """Sizes of a ComCNN/RecCNN pair. ``com_width == 0`` or ``rec_depth == 0`` means the
    classical baseline alone (area downsampling / bicubic upsampling) for that side."""

    com_width: int = 64
    rec_depth: int = 20
    rec_width: int = 64
    batch_norm: bool = True
    anchors: tuple[float, ...] = field(default_factory=tuple)
    scale: int = 2  # 2: compact (half-resolution) mode; 1: full-resolution mode
    s2d: int = 1  # RecCNN's residual branch on pixel_unshuffle(x, s2d) (1: plain)
    hf_width: int = 0  # decoder-side high-frequency enhancement branch width (0: none)
    feature_enh: bool = False  # feature enhancement module in the middle of RecCNN
    deform: bool = False  # deformable residual module in ComCNN (Fu et al. 2024)
    #: ``reccnn``; ``upconv7``: waifu2x's 2x network (``waifu2x.Upconv7``; compact mode, its
    #: fixed sizes replace rec_depth/rec_width/s2d); ``ffdnet``: FFDNet's denoiser
    #: (``ffdnet.FFDNetRec``; full resolution, s2d 2, no batch norm, the image not a residual)
    rec_arch: str = "reccnn"

    def __post_init__(self) -> None:
        if self.scale not in (1, 2):
            raise ValueError("scale must be 1 (full resolution) or 2 (compact)")
        if self.rec_arch not in ("reccnn", "upconv7", "ffdnet"):
            raise ValueError("rec_arch must be reccnn, upconv7 or ffdnet")
        if self.rec_arch == "upconv7" and self.scale != 2:
            raise ValueError("upconv7 is a 2x network: compact mode only")
        if self.rec_arch == "ffdnet" and (self.scale != 1 or self.s2d != 2):
            raise ValueError("ffdnet is a full-resolution network on the 2x2 space-to-depth image")
        if self.s2d not in (1, 2):
            raise ValueError("s2d must be 1 or 2")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["anchors"] = list(self.anchors)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> NetConfig:
        keys = ("com_width", "rec_depth", "rec_width", "batch_norm", "scale", "s2d", "hf_width",
                "feature_enh", "deform", "rec_arch")
        known = {k: d[k] for k in keys if k in d}
        return cls(anchors=tuple(float(a) for a in d.get("anchors", ())), **known)


def macs_per_pixel(config: NetConfig) -> dict[str, float]:
    """Multiply-accumulates per full-resolution pixel of each network (convolutions only)."""
    c, d, w = config.com_width, config.rec_depth, config.rec_width
    com = 0.0 if c == 0 or config.scale == 1 else 9 * 3 * c + 9 * c * c / 4 + 9 * c * 3 / 4
    if com and config.deform:  # offsets, deformable taps (+ bilinear sampling), output conv
        com += (9 * c * 18 + 9 * c * c + 4 * 9 * c + 9 * c * c) / 4
    if config.rec_arch == "upconv7":  # at compact resolution: 4 output pixels per input pixel
        ch = (3, *UPCONV7_WIDTHS)
        conv = sum(9 * a * b for a, b in zip(ch[:-1], ch[1:]))
        return {"comcnn": com, "reccnn": (conv + 16 * ch[-1] * 3) / 4}
    p = 3 * config.s2d ** 2
    head = p + 1 if config.rec_arch == "ffdnet" else p  # FFDNet's noise-level plane
    rec = 0.0 if d == 0 else 9 * (head * w + (d - 2) * w * w + w * p) / config.s2d ** 2
    if d and config.feature_enh:
        mid = max(w // 4, 4)
        rec += (2 * w * mid + 49 * 2) / config.s2d ** 2
    if d and config.hf_width:
        rec += 9 * (3 * config.hf_width + config.hf_width ** 2 + config.hf_width * 3)
    return {"comcnn": com, "reccnn": rec}
