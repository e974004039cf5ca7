"""Conditioning on the quantisation tables themselves against the scalar quality (issue 22, item 5).

The full-resolution JPEG networks are told one number, the IJG-equivalent quality of the
payload's luminance table (``jpeginfo.estimate_quality``). jpegli's and mozjpeg's tables are not
IJG-shaped (their chroma tables least of all), so a network could do better if it saw the
tables. In the pixel domain a file's tables are the same for every block, so a per-block step map
is a constant map: it carries exactly what a per-image vector does. This probe gives each gain
unit a table-conditioned factor (a FiLM of the tables, as quantisation-guided artifact removal,
Ehrlich et al. 2020, conditions on them):

    gain(q, T) = gain_unit(q) * exp(W_i t(T) / sqrt(192)),   W_i zero-initialised, no bias,

where ``t(T)`` is log2 of each luma / Cb / Cr step over the IJG step at the file's scalar quality
(192 values, zero for an IJG-shaped table). So the table network *starts as* the shipped scalar
network and equals it on libjpeg-turbo's files until training moves the shared weights.

Two arms are fine-tuned from the same shipped network on the *same* batches in one process (one
step of each per batch, so equal steps and equal data): ``scalar`` (today's conditioning) and
``table`` (the factor above). Batches: 64 px crops of the training photos (never the held-out
ones, never Kodak), each coded by libjpeg-turbo, mozjpeg or jpegli at QF 10-90 and read through
jpegli's decoder, as the lane's data. Both arms keep an EMA (0.999) of their weights, frozen
batch-norm statistics, Adam (200 warm-up steps) and the lane's loss (``train --loss db``: each
example's MSE over the running mean of its quality). Validation: the 8
held-out photos (256 px centre crops) coded by each encoder at QF 10 / 20 / 40 / 70 / 90, PSNR
in dB.

    python -m experiments.train.table_conditioning ../shared/data/train \
        ../shared/data/train-extra/bsd100 ../shared/data/train-extra/sunhays80 \
        --model weights/hyc-jpeg-full-v6.pt --budget 1500

Writes ``results/table_conditioning.csv`` (every validation: step, arm, encoder, QF, PSNR and the
gain over the plain decode), ``_summary.csv`` (the last validation, table minus scalar per
encoder and QF) and ``.png`` (table minus scalar against steps, per encoder).
"""
from __future__ import annotations

import contextlib
import os
import random
import time

import numpy as np
import torch
from torch import nn

from experiments.common import heldout_crops, heldout_parser, save_figure, write_csv
from hybridcodec.basecodecs import get_base
from hybridcodec.imageio import read_image
from hybridcodec.jpeginfo import STD_CHROMA, STD_LUMA, ijg_table, parse_jpeg
from hybridcodec.metrics import psnr
from hybridcodec.nn.gain import GainUnit
from hybridcodec.nn.modelfile import read_model_file
from hybridcodec.training.data import split_files
from hybridcodec.training.precision import resolve_precision
from hybridcodec.training.recipe import QualityWeights, reconstruction_loss

ENCODERS = ("turbo", "mozjpeg", "jpegli")
VAL_QUALITIES = (10, 20, 40, 70, 90)
FEATURES = 192


def table_features(data: bytes) -> np.ndarray:
    """log2(step / IJG step at the file's scalar quality) of the luma, Cb and Cr tables (192
    values in natural order; zero for libjpeg's own tables, the chroma part zero for gray)."""
    info = parse_jpeg(data)
    qi = int(round(info.quality))
    out = np.zeros(FEATURES, np.float32)
    for i, std in enumerate((STD_LUMA, STD_CHROMA, STD_CHROMA)):
        if i < info.components:
            t = info.tables[info.component_tables[i]].astype(np.float64)
            out[64 * i : 64 * (i + 1)] = np.log2(t / ijg_table(qi, std)).ravel()
    return out


class Context:
    """The table features of the batch being run (N, 192): set before each forward."""

    t: torch.Tensor | None = None


class TableGain(nn.Module):
    """A gain unit times exp(W t): W zero-initialised, so it starts as the gain unit alone."""

    def __init__(self, gain: GainUnit, ctx: Context) -> None:
        super().__init__()
        self.gain = gain
        self.proj = nn.Linear(FEATURES, gain.log_gain.shape[1], bias=False)  # IJG tables: t = 0
        nn.init.zeros_(self.proj.weight)
        self.ctx = ctx

    def forward(self, x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        g = self.gain.gains(quality) * torch.exp(self.proj(self.ctx.t.float() * FEATURES ** -0.5))
        return x * g[:, :, None, None].to(x.dtype)


def make_net(model: str, table: bool) -> tuple[nn.Module, Context]:
    """The shipped network's RecCNN (eval mode: frozen batch-norm statistics), with every gain
    unit wrapped in a :class:`TableGain` when ``table``."""
    net = read_model_file(model)[2].rec
    ctx = Context()
    if table:
        for i, g in enumerate(net.gains):
            net.gains[i] = TableGain(g, ctx)
    net.eval()
    return net, ctx


def code(codec, im: np.ndarray, qf: int) -> tuple[np.ndarray, float, np.ndarray]:
    """(jpegli's decode, the scalar quality, the table features) of ``im`` coded at ``qf``."""
    data = codec.encode(im, qf)
    return codec.decode(data, decoder="jpegli"), parse_jpeg(data).quality, table_features(data)


class Pool:
    """Coded 64 px crops of the training photos, a quarter replaced every ``refresh`` steps."""

    def __init__(self, files: list[str], size: int, patch: int, seed: int) -> None:
        self.images = [im for im in (read_image(f, rgb=True) for f in files)
                       if min(im.shape[:2]) >= patch]
        self.codecs = {e: get_base("jpeg").with_encoder(e) for e in ENCODERS}
        self.patch, self.rng = patch, random.Random(seed)
        self.items = [self.one() for _ in range(size)]

    def one(self) -> tuple:
        im = self.images[self.rng.randrange(len(self.images))]
        p = self.patch
        y = self.rng.randrange(0, im.shape[0] - p + 1)
        x = self.rng.randrange(0, im.shape[1] - p + 1)
        crop = np.ascontiguousarray(im[y : y + p, x : x + p])
        enc = self.rng.choice(ENCODERS)
        return (crop, *code(self.codecs[enc], crop, self.rng.randint(10, 90)))

    def refresh(self, share: float = 0.25) -> None:
        for i in self.rng.sample(range(len(self.items)), int(share * len(self.items))):
            self.items[i] = self.one()

    def batch(self, n: int) -> tuple[torch.Tensor, ...]:
        picks = [self.items[self.rng.randrange(len(self.items))] for _ in range(n)]
        tgt, dec, q, t = zip(*picks)

        def img(a):
            return torch.from_numpy(np.stack(a)).permute(0, 3, 1, 2).float() / 255

        return img(tgt), img(dec), torch.tensor(q, dtype=torch.float32), torch.from_numpy(np.stack(t))


class Arm:
    """One fine-tune: the network, its optimiser and an EMA of its weights."""

    def __init__(self, model: str, table: bool, lr: float, table_lr: float) -> None:
        self.name = "table" if table else "scalar"
        self.net, self.ctx = make_net(model, table)
        self.net = self.net.to(memory_format=torch.channels_last)
        film = [p for n, p in self.net.named_parameters() if ".proj." in n]
        rest = [p for n, p in self.net.named_parameters() if ".proj." not in n]
        groups = [{"params": rest, "lr": lr}] + ([{"params": film, "lr": table_lr}] if film else [])
        self.opt = torch.optim.Adam(groups)
        self.lrs = [g["lr"] for g in groups]
        self.ema = {k: v.detach().clone() for k, v in self.net.state_dict().items()}
        self.eval_net, self.eval_ctx = make_net(model, table)
        self.weights = QualityWeights(5.0, 95.0)
        self.steps = 0

    def step(self, tgt, dec, q, t, autocast) -> float:
        self.ctx.t = t
        with autocast():
            out = self.net(dec.contiguous(memory_format=torch.channels_last), q)
        # the lane's "db" loss: each example's MSE over its quality's running mean
        loss = reconstruction_loss("db", out.float(), tgt, 1.0, q.tolist(), self.weights)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        for g, lr in zip(self.opt.param_groups, self.lrs):  # a linear warm-up of 200 steps
            g["lr"] = lr * min(1.0, (self.steps + 1) / 200)
        self.opt.step()
        self.steps += 1
        d = min(0.999, (1 + self.steps) / (10 + self.steps))
        with torch.no_grad():
            for k, v in self.net.state_dict().items():
                if v.dtype.is_floating_point:
                    self.ema[k].mul_(d).add_(v, alpha=1 - d)
        return float(loss.detach())

    @torch.no_grad()
    def run(self, dec: torch.Tensor, q: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        self.eval_net.load_state_dict(self.ema)
        out = []
        for i in range(0, len(dec), 8):
            self.eval_ctx.t = t[i : i + 8]
            out.append(self.eval_net(dec[i : i + 8], q[i : i + 8]))
        return torch.cat(out)


def main() -> None:
    p = heldout_parser(__doc__, images=8)
    p.add_argument("--model", default="weights/hyc-jpeg-full-v6.pt", help="the shipped network")
    p.add_argument("--budget", type=float, default=1500, help="wall-clock seconds of training")
    p.add_argument("--val-every", type=int, default=500, help="steps between validations")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--pool", type=int, default=3000, help="coded crops held in memory")
    p.add_argument("--refresh", type=int, default=250, help="steps between pool refreshes")
    p.add_argument("--lr", type=float, default=1e-4, help="Adam's rate for the network")
    p.add_argument("--table-lr", type=float, default=1e-4, help="Adam's rate for W")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="experiments/results/table_conditioning.csv")
    a = p.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(a.seed)
    bf16 = resolve_precision("auto", torch.device("cpu")) == "bf16"

    def autocast():
        return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    train_files = split_files(os.pathsep.join(a.folders), a.val_images)[0]
    t0 = time.time()
    pool = Pool(train_files, a.pool, 64, a.seed)
    print(f"pool of {a.pool} coded crops from {len(train_files)} photos in "
          f"{time.time() - t0:.0f} s; precision {'bf16' if bf16 else 'fp32'}", flush=True)

    # the validation set: held-out crops, each encoder, each quality
    val = []
    for f, im in heldout_crops(a, 256):
        for enc in ENCODERS:
            for qf in VAL_QUALITIES:
                dec, q, t = code(pool.codecs[enc], im, qf)
                val.append((f.rsplit("/", 1)[-1], enc, qf, im, dec, q, t))
    vdec = torch.from_numpy(np.stack([v[4] for v in val])).permute(0, 3, 1, 2).float() / 255
    vq = torch.tensor([v[5] for v in val], dtype=torch.float32)
    vt = torch.from_numpy(np.stack([v[6] for v in val]))

    arms = [Arm(a.model, False, a.lr, a.table_lr), Arm(a.model, True, a.lr, a.table_lr)]
    rows: list[dict] = []

    def validate(step: int, seconds: float) -> None:
        for arm in arms:
            out = (arm.run(vdec, vq, vt).clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1)
            per = [(v[1], v[2], psnr(v[3], o.numpy()), psnr(v[3], v[4]))
                   for v, o in zip(val, out)]
            for enc in ENCODERS:
                for qf in VAL_QUALITIES:
                    r = [x for x in per if x[0] == enc and x[1] == qf]
                    rows.append({"step": step, "seconds": round(seconds, 1), "arm": arm.name,
                                 "encoder": enc, "qf": qf,
                                 "psnr_db": round(float(np.mean([x[2] for x in r])), 4),
                                 "gain_db": round(float(np.mean([x[2] - x[3] for x in r])), 4)})
        last = rows[-2 * len(ENCODERS) * len(VAL_QUALITIES):]
        for enc in ENCODERS:
            d = np.mean([r["gain_db"] for r in last if r["encoder"] == enc and r["arm"] == "table"]) \
                - np.mean([r["gain_db"] for r in last if r["encoder"] == enc and r["arm"] == "scalar"])
            g = np.mean([r["gain_db"] for r in last if r["encoder"] == enc and r["arm"] == "scalar"])
            print(f"step {step} {seconds:.0f} s {enc}: scalar gain {g:+.3f} dB, "
                  f"table - scalar {d:+.4f} dB", flush=True)

    validate(0, 0.0)
    start, step, losses = time.time(), 0, []
    while time.time() - start < a.budget:
        batch = pool.batch(a.batch)
        losses.append([arm.step(*batch, autocast) for arm in arms])
        step += 1
        if step % a.refresh == 0:
            pool.refresh()
        if step % a.val_every == 0:
            print(f"step {step} loss {np.mean(losses, 0).round(3).tolist()}", flush=True)
            losses = []
            validate(step, time.time() - start)
    if step % a.val_every:
        validate(step, time.time() - start)
    write_csv(a.out, rows)

    last = [r for r in rows if r["step"] == step]
    summary = []
    for enc in ENCODERS:
        for qf in VAL_QUALITIES:
            s, t = ([r for r in last if r["encoder"] == enc and r["qf"] == qf and r["arm"] == arm][0]
                    for arm in ("scalar", "table"))
            first = [r for r in rows if r["step"] == 0 and r["encoder"] == enc and r["qf"] == qf][0]
            summary.append({"steps": step, "encoder": enc, "qf": qf,
                            "shipped_gain_db": first["gain_db"], "scalar_gain_db": s["gain_db"],
                            "table_gain_db": t["gain_db"],
                            "table_minus_scalar_db": round(t["psnr_db"] - s["psnr_db"], 4)})
    write_csv(a.out.replace(".csv", "_summary.csv"), summary)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4))
    steps = sorted({r["step"] for r in rows})
    for enc in ENCODERS:
        diff = []
        for s in steps:
            g = {arm: np.mean([r["psnr_db"] for r in rows if r["step"] == s
                               and r["encoder"] == enc and r["arm"] == arm])
                 for arm in ("scalar", "table")}
            diff.append(g["table"] - g["scalar"])
        ax.plot(steps, diff, marker="o", label=enc)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("fine-tuning steps (each arm, the same batches)")
    ax.set_ylabel("table - scalar conditioning (dB, mean of QF 10-90)")
    ax.set_title("Conditioning on the JPEG tables vs the scalar quality\n(held-out photos)")
    ax.legend()
    save_figure(fig, a.out.replace(".csv", ".png"))


if __name__ == "__main__":
    main()
