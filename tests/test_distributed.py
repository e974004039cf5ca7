"""Data-parallel training on loopback with gloo (2 processes, tiny model, seconds)."""

import json
import os
import socket
import time

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from hybridcodec import HybridCodecError
from hybridcodec.training.distributed import SparseState
from hybridcodec.training.trainer import TrainConfig, train



def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, cfg: dict) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world),
                      RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    train(TrainConfig(**cfg))


def _spawn(cfg: dict, world: int = 2, join: bool = True):
    return mp.spawn(_worker, args=(world, _port(), cfg), nprocs=world, join=join)


def _cfg(photos, out, **kw) -> dict:
    args = dict(data=str(photos), base="jpeg", out=str(out), name="tiny", com_width=4,
                rec_depth=3, rec_width=8, batch_norm=False, patch=16, batch=4, rounds=1,
                steps=12, val_images=1, checkpoint_every_s=0.0, log_every=1, lr=2e-3,
                device="cpu")
    args.update(kw)
    return args


def _losses(out, running: bool = False) -> dict[int, float]:
    """Step losses of the log; ``running``: the log is still being written, so its last line
    may be incomplete (and the file may not exist yet)."""
    try:
        lines = open(out / "log.jsonl").read().split("\n")
    except FileNotFoundError:
        if running:
            return {}
        raise
    if running:
        lines = lines[:-1]  # only lines that have their newline are complete
    recs = [json.loads(line) for line in lines if line]
    return {r["step"]: r["loss"] for r in recs if r["event"] == "step"}


def test_two_processes_dense_match_one_process(photos, tmp_path):
    train(TrainConfig(**_cfg(photos, tmp_path / "one")))
    _spawn(_cfg(photos, tmp_path / "two"))
    one, two = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert sorted(one) == sorted(two) == list(range(1, 13))  # phases a, b, a
    for step in one:
        assert two[step] == pytest.approx(one[step], rel=1e-3)
    assert (tmp_path / "two" / "tiny.pt").exists()
    assert json.loads(open(tmp_path / "two" / "log.jsonl").readline())["processes"] == 2


def test_sparse_hook_at_one_percent_still_learns(photos, tmp_path):
    from PIL import Image, ImageFilter

    smooth = tmp_path / "smooth"  # blurred photos: JPEG's blocks are learnable in a few steps
    smooth.mkdir()
    for f in sorted(photos.iterdir()):
        Image.open(f).filter(ImageFilter.GaussianBlur(2)).save(smooth / f.name)
    out = tmp_path / "sparse"
    _spawn(_cfg(smooth, out, com_width=0, mode="full", rec_depth=4, rec_width=16, steps=60,
                lr=5e-3, sparse_density=0.01, jpeg_encoders="turbo", decoder="turbo"))
    recs = [json.loads(line) for line in open(out / "log.jsonl")]
    steps = [r for r in recs if r["event"] == "step"]
    losses = [r["loss"] for r in steps]
    assert len(losses) == 60
    assert np.mean(losses[-20:]) < 0.95 * np.mean(losses[:20])  # the training loss falls
    for r in steps:  # 4 bytes per sent entry vs 4 per entry dense: >= 20x fewer bytes
        assert r["comm_bytes_sent_per_step"] * 20 <= r["comm_bytes_dense_per_step"]


def test_killed_distributed_run_resumes(photos, tmp_path):
    out = tmp_path / "run"
    cfg = _cfg(photos, out, com_width=0, steps=400, log_every=5)
    ctx = _spawn(cfg, join=False)
    deadline = time.monotonic() + 600  # only a hang guard: a busy machine may start slowly
    while not ((out / "checkpoint.pt").exists() and len(_losses(out, running=True)) >= 2):
        assert time.monotonic() < deadline, "the distributed run made no progress in 600 s"
        assert all(p.is_alive() for p in ctx.processes), "a worker died before it was killed"
        time.sleep(0.05)
    for p in ctx.processes:
        p.kill()
    for p in ctx.processes:
        p.join()
    stopped = max(_losses(out))
    assert stopped < 400
    _spawn(cfg)
    recs = [json.loads(line) for line in open(out / "log.jsonl")]
    assert sum(r["event"] == "start" for r in recs) == 1  # resumed, not restarted
    assert recs[-1]["event"] == "done" and recs[-1]["step"] == 400


def test_sparse_state_checks_and_batch_split(photos, tmp_path):
    with pytest.raises(HybridCodecError):
        SparseState(density=0)
    with pytest.raises(HybridCodecError):
        SparseState(method="random")
    with pytest.raises(HybridCodecError, match="sparse"):
        train(TrainConfig(**_cfg(photos, tmp_path / "x", sparse_density=2.0)))


def test_packing_of_positions_and_values_is_exact():
    from hybridcodec.training.distributed import _pack, _unpack

    pos = torch.tensor([[0, 1, 32767, 32768, 65535]])
    vals = torch.tensor([[1.5, -2.25, 0.0, -1e-20, 3e30]]).to(torch.bfloat16)
    p, v = _unpack(_pack(pos, vals))
    assert torch.equal(p, pos) and torch.equal(v.view(torch.int16), vals.view(torch.int16))
