"""The settings of a training run (``training.train``): one frozen record, checked once, stored
in checkpoints and in the manifest, and the source of the training CLI's defaults (issue 24).

Issue 22 added the fast CPU path: ``precision="bf16"`` runs the forward and backward passes under
bfloat16 autocast while the weights, the optimiser state, the loss and RecCNN's residual addition
stay fp32 (``auto``, the default, uses it only where the hardware has bf16 arithmetic:
``precision.resolve_precision``); ``channels_last`` stores activations as NHWC (oneDNN's fast
layout); ``prefetch`` codes the full-resolution networks' training crops in a worker process
(``prefetch.CodedFeed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import HybridCodecError

__all__ = ["TrainConfig", "PRECISIONS", "LOSSES", "SCHEDULES"]

#: training arithmetic: fp32, bfloat16 autocast with fp32 master weights, or ``auto``: bf16
#: where the device has it in hardware, fp32 elsewhere (emulated bf16 is ~10x slower)
PRECISIONS = ("auto", "fp32", "bf16")

#: ``mse``; ``l1``; ``db``: MSE weighted per quality bin (equal weight in dB); ``l1+db``: L1 for
#: the first half of the run, then ``db``
LOSSES = ("mse", "l1", "db", "l1+db")

#: ``cosine`` decay to 5 % over the run; ``constant``; ``step``: x0.1 for the last fifth
SCHEDULES = ("cosine", "constant", "step")


@dataclass
class TrainConfig:
    """Everything a training run depends on (stored in checkpoints and the manifest)."""

    data: str
    base: str = "jpeg"
    out: str = "runs/train"
    name: str = ""
    com_width: int = 64
    rec_depth: int = 20
    rec_width: int = 64
    batch_norm: bool = True
    mode: str = "compact"  # compact: ComCNN + half resolution; full: artifact removal only
    s2d: int = 1  # full mode: RecCNN on pixel_unshuffle(x, 2) when 2
    hf_width: int = 0  # decoder-side high-frequency enhancement branch (Zhang et al. 2025)
    feature_enh: bool = False  # feature enhancement module (Zhang et al. 2025)
    deform: bool = False  # deformable residual module in ComCNN (Fu et al. 2024)
    rec_arch: str = "reccnn"  # upconv7 (waifu2x's; --init waifu2x:3), ffdnet (--init ffdnet:15)
    patch: int = 96
    batch: int = 16
    lr: float = 5e-4
    com_lr: float = 1e-4
    rounds: int = 2
    budget_s: float = 0.0
    steps: int = 2000
    com_grad: str = "aux"
    val_images: int = 3
    #: ``whole``: crops of crop_min..crop_max pixels coded whole, patches cut from the decoded
    #: crop (a pool of pool_size crops, pool_refresh re-coded per step); ``patch``: every patch
    #: coded on its own (the original pipeline)
    pipeline: str = "whole"
    crop_min: int = 256
    crop_max: int = 384
    pool_size: int = 128
    pool_refresh: int = 2
    loss: str = "mse"  # recipe.LOSSES
    schedule: str = "cosine"  # recipe.SCHEDULES
    warmup: int = 0  # linear learning-rate warm-up over the first so many steps (0: none)
    #: full-resolution mode: the low-frequency guard (``hybridcodec.lowguard``, block in pixels)
    #: in training, validation and the exported model's metadata (0: none)
    lowpass_guard: int = 0
    rate_weight: float = 0.0  # phase (b): + rate_weight * rateproxy (issue 13; needs loss db)
    ema: float = 0.0  # decay of the weight average that is validated and exported (0: none)
    val_every_s: float = 0.0  # validate every so many training seconds too (0: per phase)
    #: ``wall``: the budget counts wall-clock seconds of training steps; ``cpu``: this process's
    #: CPU seconds, so that a run niced into the background spends its budget only on work
    clock: str = "wall"
    subsampling: str = "420"
    seed: int = 0
    threads: int = 0
    device: str = "auto"
    checkpoint_every_s: float = 120.0
    sparse_density: float = 0.0  # distributed: 0 = dense all-reduce, else the sparse hook
    sparse_method: str = "topk"  # topk or sample (probability proportional to magnitude)
    log_every: int = 50
    init: str = ""  # start from this model (name or file); added modules start as identity
    #: JPEG: encoders drawn per example (one network serves files from all of them) and the
    #: decoder whose output RecCNN reads (recorded in the model as its ``input_decoder``)
    jpeg_encoders: str = "jpegli,mozjpeg,turbo"
    decoder: str = "jpegli"
    #: issue 22: ``bf16`` autocast (fp32 weights, loss and residual addition), ``fp32``, or
    #: ``auto`` (bf16 where the hardware has it)
    precision: str = "auto"
    channels_last: bool = True
    #: full-resolution networks: crops coded ahead by a worker process (0: in the loop)
    prefetch: int = 1
    #: issue 22 item 3, re-distilling a student from the winner: full mode, a bigger model of
    #: the same base (e.g. hyc-jpeg-full-v13 for the fast student) whose RecCNN output on the
    #: same decoded crops joins the target: ``(1 - w) * original + w * teacher``, which for MSE
    #: is ``(1 - w) * MSE(y, original) + w * MSE(y, teacher)`` up to a constant (Fu et al. 2024's
    #: output distillation and ground-truth passes, at once); validation stays on the original
    teacher: str = ""
    teacher_weight: float = 0.5
    extra: dict = field(default_factory=dict)

    def check(self) -> None:
        """Refuse settings that cannot train (one :class:`HybridCodecError` naming the field)."""
        if self.com_grad not in ("aux", "ste"):
            raise HybridCodecError("com_grad must be 'aux' (the paper's) or 'ste'")
        if self.patch % 2:
            raise HybridCodecError("patch size must be even")
        if self.mode not in ("compact", "full"):
            raise HybridCodecError("mode must be compact or full")
        if not 0 <= self.sparse_density <= 1 or self.sparse_method not in ("topk", "sample"):
            raise HybridCodecError("sparse density must be in [0, 1] and method topk or sample")
        if self.lowpass_guard and (self.lowpass_guard < 2 or self.mode != "full"):
            raise HybridCodecError("lowpass_guard needs full mode and a block of at least 2")
        if self.warmup < 0:
            raise HybridCodecError("warmup must be 0 or more steps")
        if self.log_every < 1:
            raise HybridCodecError("log_every must be at least 1")
        if self.clock not in ("wall", "cpu"):
            raise HybridCodecError("clock must be wall or cpu")
        if self.pipeline not in ("whole", "patch"):
            raise HybridCodecError("pipeline must be whole or patch")
        if self.loss not in LOSSES or self.schedule not in SCHEDULES:
            raise HybridCodecError(f"loss must be one of {', '.join(LOSSES)} and schedule one of "
                                   f"{', '.join(SCHEDULES)}")
        if self.rate_weight < 0 or (self.rate_weight and self.loss not in ("db", "l1+db")):
            raise HybridCodecError("rate_weight must be >= 0, and a rate term needs the db loss")
        if not (0 <= self.ema < 1):
            raise HybridCodecError("ema must be in [0, 1)")
        if self.pipeline == "whole" and not (self.patch <= self.crop_min <= self.crop_max):
            raise HybridCodecError("need patch <= crop_min <= crop_max")
        if self.precision not in PRECISIONS:
            raise HybridCodecError(f"precision must be one of {', '.join(PRECISIONS)}")
        if self.prefetch not in (0, 1):
            raise HybridCodecError("prefetch must be 0 or 1 (worker processes)")
        if self.teacher and (self.mode != "full" or not 0 < self.teacher_weight <= 1):
            raise HybridCodecError("a teacher needs full mode and 0 < teacher_weight <= 1")
