import csv

from PIL import Image

from hybridcodec.benchmark import run_benchmark

from .conftest import make_image


def test_benchmark_writes_table_csv_and_plot(tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(2):
        Image.fromarray(make_image(48, 64, seed=i)).save(d / f"{i}.png")
    report = run_benchmark(str(d), out_dir=str(tmp_path / "res"), quick=True)
    assert "BD-rate" in report and "naive-jpeg2000" in report
    rows = list(csv.DictReader(open(tmp_path / "res" / "bench_imgs.csv")))
    codecs = {r["codec"] for r in rows}
    assert {"jpeg", "jpeg2000", "naive-jpeg", "naive-jpeg2000"} <= codecs
    assert all(r["images"] == "2" for r in rows)
    assert (tmp_path / "res" / "bench_imgs.png").stat().st_size > 1000
    assert (tmp_path / "res" / "bench_imgs_summary.csv").exists()


def test_benchmark_auto_full_series_and_enhancement_table(tmp_path, empty_weights):
    import json

    from hybridcodec.models import save_model
    from hybridcodec.networks import HybridNet, NetConfig

    net = HybridNet(NetConfig(0, 3, 8, True, (5.0, 95.0), scale=1, s2d=2))
    save_model(net, empty_weights / "f.pt", name="tiny-full", base="jpeg")
    (empty_weights / "MANIFEST.json").write_text(json.dumps(
        {"models": {"tiny-full": {"file": "f.pt"}}, "defaults": {"jpeg-full": "tiny-full"}}))
    d = tmp_path / "imgs"
    d.mkdir()
    Image.fromarray(make_image(40, 56, seed=3)).save(d / "a.png")
    report = run_benchmark(str(d), out_dir=str(tmp_path / "res"), quick=True)
    rows = list(csv.DictReader(open(tmp_path / "res" / "bench_imgs.csv")))
    auto = [r for r in rows if r["codec"] == "auto-jpeg"]
    full = [r for r in rows if r["codec"] == "full-jpeg"]
    assert auto and len(auto) == len(full)
    for a, f in zip(auto, full):  # auto keeps the better PSNR at at most the full file's size
        assert float(a["psnr"]) >= float(f["psnr"]) - 1e-6
        assert float(a["bpp"]) <= float(f["bpp"]) + 1e-9
    assert "auto-jpeg2000" not in {r["codec"] for r in rows}  # no full JPEG 2000 model here
    enh = list(csv.DictReader(open(tmp_path / "res" / "bench_imgs_enhance.csv")))
    assert [int(e["qf"]) for e in enh] == [10, 20, 30, 40]
    for e in enh:  # a zero residual: the network returns the decoded JPEG itself
        assert abs(float(e["net"]) - float(e["jpeg"])) < 1e-9
        assert abs(float(e["qf_read"]) - int(e["qf"])) < 1.0
    assert "JPEG enhancement" in report
