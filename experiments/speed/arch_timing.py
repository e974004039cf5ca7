"""Time candidate ComCNN/RecCNN sizes on this machine: one training step (batch 16 of 96x96
patches, forward+backward of RecCNN) and one Kodak-sized inference (768x512), per thread count.

Run: python -m experiments.speed.arch_timing  -> experiments/results/arch_timing.csv
"""
import csv, time
from pathlib import Path
import torch
from hybridcodec.nn.networks import HybridNet, NetConfig, macs_per_pixel

CONFIGS = [(64, 20, 64), (64, 10, 48), (64, 8, 32), (64, 6, 32), (64, 10, 32)]
rows = []
for threads in (1, 2):
    torch.set_num_threads(threads)
    for cw, d, w in CONFIGS:
        net = HybridNet(NetConfig(cw, d, w, True, (5.0, 95.0)))
        opt = torch.optim.Adam(net.rec.parameters())
        x = torch.rand(16, 3, 48, 48); q = torch.full((16,), 30.0); y = torch.rand(16, 3, 96, 96)
        def step():
            opt.zero_grad(); loss = ((net.rec(x, q) - y) ** 2).mean(); loss.backward(); opt.step()
        step(); t = time.perf_counter(); [step() for _ in range(3)]; ts = (time.perf_counter() - t) / 3
        net.eval(); big = torch.rand(1, 3, 256, 384)
        with torch.no_grad():
            net.rec(big, q[:1]); t = time.perf_counter(); net.rec(big, q[:1]); ti = time.perf_counter() - t
        m = macs_per_pixel(net.config)
        rows.append(dict(threads=threads, com_width=cw, rec_depth=d, rec_width=w,
                         rec_macs_per_px=round(m["reccnn"]), train_step_s=round(ts, 3), kodak_infer_s=round(ti, 3)))
        print(rows[-1], flush=True)
out = Path(__file__).resolve().parents[1] / "results" / "arch_timing.csv"
with open(out, "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=list(rows[0])); w.writeheader(); w.writerows(rows)
