"""Training and encode-time fine-tuning (needs ``pip install 'hybridcodec[train]'``): the
trainer, its data, validation and recipe, the rate proxy, distillation, distributed training and
the adaptation of Lam & Zare (2019). ``config`` (the options) and ``prefetch`` (the coded crops)
import no torch, so that the CLI can check options before torch loads."""
