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
