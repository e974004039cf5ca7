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
    assert {"jpeg", "jpeg2000", "naive-jpeg", "naive-jpeg2000", "jpegli", "mozjpeg",
            "jpeg+jpegli-dec", "jpegli+jpegli-dec"} <= codecs  # the classical peers, same run
    summary = list(csv.DictReader(open(tmp_path / "res" / "bench_imgs_summary.csv")))
    refs = {r["reference"] for r in summary if r["test"] == "naive-jpeg"}
    assert refs == {"jpeg", "jpeg+jpegli-dec", "jpegli", "jpegli+jpegli-dec", "mozjpeg"}
    assert all(r["images"] == "2" for r in rows)
    assert (tmp_path / "res" / "bench_imgs.png").stat().st_size > 1000
    assert (tmp_path / "res" / "bench_imgs_summary.csv").exists()


def test_benchmark_auto_full_series_and_enhancement_table(tmp_path, empty_weights):
    import json

    from hybridcodec.nn.modelfile import save_model
    from hybridcodec.nn.networks import HybridNet, NetConfig

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
    assert [int(e["qf"]) for e in enh] == [10, 20, 30, 40, 50, 70, 90]
    for e in enh:  # a zero residual: the network returns the decoded JPEG itself
        assert abs(float(e["net"]) - float(e["jpeg"])) < 1e-9  # the model reads turbo's decode
        assert float(e["jpegli_dec"]) != float(e["jpeg"])  # jpegli's decoder beside it
        assert abs(float(e["qf_read"]) - int(e["qf"])) < 1.0
    assert "JPEG enhancement" in report


def test_best_profile_series_repeat_the_fast_decision_exactly(tmp_path, empty_weights):
    """With students installed, auto-best/full-best re-make the auto decision with the teachers
    on the same codestreams. Here each student is a copy of its teacher, so the derived series
    must equal the measured ones (PSNR exactly, sizes up to the longer model name)."""
    import json

    import torch

    from hybridcodec.nn.modelfile import save_model
    from hybridcodec.nn.networks import HybridNet, NetConfig

    torch.manual_seed(0)
    nets = {"c": HybridNet(NetConfig(4, 3, 8, True, (5.0, 95.0))),
            "f": HybridNet(NetConfig(0, 3, 8, True, (5.0, 95.0), scale=1, s2d=2))}
    models = {}
    for key, net in nets.items():
        with torch.no_grad():
            net.rec.tail.weight.normal_(0, 0.02)
        for name in (key, f"{key}-fast"):
            save_model(net, empty_weights / f"{name}.pt", name=name, base="jpeg")
            models[name] = {"file": f"{name}.pt"}
    (empty_weights / "MANIFEST.json").write_text(json.dumps(
        {"models": models, "defaults": {"jpeg": "c", "jpeg-fast": "c-fast", "jpeg-full": "f",
                                        "jpeg-full-fast": "f-fast"}}))
    d = tmp_path / "imgs"
    d.mkdir()
    Image.fromarray(make_image(40, 56, seed=3)).save(d / "a.png")
    report = run_benchmark(str(d), out_dir=str(tmp_path / "res"), quick=True)
    rows = list(csv.DictReader(open(tmp_path / "res" / "bench_imgs.csv")))
    by = {}
    for r in rows:
        by.setdefault(r["codec"], []).append(r)
    for fast, best in (("auto-jpeg", "auto-best-jpeg"), ("full-jpeg", "full-best-jpeg"),
                       ("fast-jpeg", "hybrid-jpeg")):
        assert len(by[fast]) == len(by[best]) > 0
        for a, b in zip(by[fast], by[best]):
            assert abs(float(a["psnr"]) - float(b["psnr"])) < 1e-3, (fast, a, b)
            assert 0 <= float(a["bpp"]) - float(b["bpp"]) < 8 * 10 / (40 * 56), (fast, a, b)
    summary = {(r["test"], r["reference"]) for r in
               csv.DictReader(open(tmp_path / "res" / "bench_imgs_summary.csv"))}
    assert ("auto-jpeg", "auto-best-jpeg") in summary and "c-fast" in report


def test_effort_section_reports_bd_rate_and_seconds_per_effort(tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(2):
        Image.fromarray(make_image(48, 64, seed=i)).save(d / f"{i}.png")
    report = run_benchmark(str(d), out_dir=str(tmp_path / "res"), efforts=(2,),
                           effort_images=1, effort_bpp=(2.0, 3.0, 4.5, 6.0), rd=False)
    assert "Encode effort" in report
    rows = list(csv.DictReader(open(tmp_path / "res" / "bench_imgs_effort.csv")))
    assert {(r["base"], r["effort"]) for r in rows} == {
        (b, e) for b in ("jpeg", "jpeg2000") for e in ("1", "2")}
    for r in rows:
        assert r["images"] == "1" and r["encodes"] == "4" and float(r["encode_seconds_per_mp"]) > 0
        if r["effort"] == "1":
            assert float(r["bd_rate_percent_vs_effort1"]) == 0.0
    assert not (tmp_path / "res" / "bench_imgs.csv").exists()  # --no-rd: the section only


def test_bench_cli_refuses_bad_efforts(tmp_path):
    import subprocess
    import sys

    for bad in ("1,x", "0,5"):
        r = subprocess.run([sys.executable, "-m", "hybridcodec", "bench", str(tmp_path),
                            "--efforts", bad, "--no-rd"], capture_output=True, text=True)
        assert r.returncode == 2 and r.stderr.count("\n") <= 2, r.stderr
