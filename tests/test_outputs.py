"""Outputs go where they should and model paths are bounded reads (issue 23, items 4 and 5)."""

import os
import stat

import pytest

import hybridcodec
from hybridcodec import HybridCodecError, standard
from hybridcodec.imageio import atomic_write, write_image

from .conftest import make_image
from .test_cli import png, run  # noqa: F401 - the fixture


@pytest.mark.parametrize("name", ["y.webp", "b.png", "noext"])
def test_compress_refuses_output_names_it_does_not_write(png, tmp_path, name):  # noqa: F811
    out = tmp_path / name
    out.write_bytes(b"precious")
    r = run("compress", png, out, "--force", "--quality", "50")
    assert r.returncode == 2
    msg = r.stderr.decode().strip()
    assert ".hyc" in msg and ".jpg" in msg and ".j2k" in msg and len(msg.splitlines()) == 1
    assert out.read_bytes() == b"precious"


def test_container_and_extension_must_agree():
    assert standard.check_output_name("a.JPG") == "jpeg"
    assert standard.check_output_name("-", "j2k") == "j2k"
    with pytest.raises(HybridCodecError, match="cannot be written as .jp2"):
        standard.check_output_name("a.jp2", "jpeg")


def test_a_fifo_is_written_into_and_a_special_file_never_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    pid = os.fork()
    if pid == 0:  # the reader
        with open(fifo, "rb") as fh:
            data = fh.read()
        os._exit(0 if data == b"hello" else 1)
    atomic_write(fifo, b"hello", force=True)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0 and stat.S_ISFIFO(os.stat(fifo).st_mode)
    atomic_write("/dev/null", b"x")  # a stream: written into, no --force needed
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    with pytest.raises(HybridCodecError, match="cannot write /dev/full"):
        write_image("/dev/full", make_image(8, 8), force=True)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_decompress_into_dev_full_fails_and_leaves_it_a_device(png, tmp_path):  # noqa: F811
    hyc = tmp_path / "x.hyc"
    assert run("compress", png, hyc, "--quality", "50").returncode == 0
    r = run("decompress", hyc, "/dev/full", "--force")
    assert r.returncode == 2 and "internal error" not in r.stderr.decode()
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_decoded_images_go_only_to_image_formats(tmp_path):
    with pytest.raises(HybridCodecError, match="decoded images are written as .png"):
        write_image(tmp_path / "a.hyc", make_image(8, 8))


@pytest.mark.parametrize("bad", ["/dev/zero", "x" * 10000, "PNG", "", "a\0b"])
def test_model_paths_are_bounded_reads_with_one_line_errors(tmp_path, bad):
    if bad == "PNG":
        bad = str(tmp_path / "m.pt")
        write_image(tmp_path / "m.png", make_image(8, 8))
        os.replace(tmp_path / "m.png", bad)
    img = make_image(16, 16)
    jpg = hybridcodec.encode(img, base="jpeg", quality=50, mode="full", model="baseline-full")
    calls = [lambda: hybridcodec.encode(img, base="jpeg", quality=50, model=bad),
             lambda: hybridcodec.decode(jpg, model=bad),
             lambda: hybridcodec.enhance_jpeg(jpg, model=bad)]
    for call in calls:
        with pytest.raises(HybridCodecError) as err:
            call()
        msg = str(err.value)
        assert "\n" not in msg and len(msg) < 600 and "internal error" not in msg


def _jpeg_with(img, **kw) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=95, **kw)
    return buf.getvalue()


def test_compress_and_enhance_read_a_phone_photo_the_same_way_upright(tmp_path):
    """Issue 23: compress ignored EXIF orientation where enhance applied it."""
    from PIL import Image

    from hybridcodec.imageio import read_image

    img = make_image(32, 48, seed=2)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to show
    data = _jpeg_with(img, exif=exif.tobytes())
    upright = read_image(data)
    assert upright.shape == (48, 32, 3)
    assert hybridcodec.enhance_jpeg(data).shape == upright.shape
    res = hybridcodec.encode(upright, base="jpeg", quality=60)
    assert hybridcodec.decode(res).shape == (48, 32, 3)


def test_cmyk_is_refused_by_every_reader(tmp_path):
    from PIL import Image

    from hybridcodec.imageio import from_pil, read_image

    cmyk = Image.new("CMYK", (16, 16), (10, 20, 30, 40))
    path = tmp_path / "c.jpg"
    cmyk.save(path, format="JPEG")
    for call in (lambda: read_image(path), lambda: from_pil(cmyk),
                 lambda: hybridcodec.enhance_jpeg(path.read_bytes())):
        with pytest.raises(HybridCodecError, match="CMYK"):
            call()
    r = run("compress", path, tmp_path / "c.hyc")
    assert r.returncode == 2 and b"CMYK" in r.stderr


@pytest.mark.parametrize("suffix", [".jpg", ".jp2"])
def test_icc_and_exif_are_carried_into_standard_outputs(tmp_path, suffix):
    """Issue 23: compress dropped the ICC profile (enhance kept it); cjpeg keeps both."""
    from PIL import Image, ImageCms

    img = make_image(32, 48, seed=3)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "HybridCam"  # Make
    src = tmp_path / "in.jpg"
    src.write_bytes(_jpeg_with(img, icc_profile=icc, exif=exif.tobytes()))
    out = tmp_path / f"out{suffix}"
    r = run("compress", src, out, "--quality", "60" if suffix == ".jpg" else "32")
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    with Image.open(out, formats=["JPEG" if suffix == ".jpg" else "JPEG2000"]) as im:
        assert im.size == (32, 48)  # upright: the rotation applied once
        if suffix == ".jpg":
            assert im.info.get("icc_profile") == icc
            assert im.getexif().get(0x010F) == "HybridCam"
            assert im.getexif().get(0x0112, 1) == 1
    if suffix == ".jp2":  # Pillow reads no ICC from JP2: the colr box of method 2 itself
        colr = data.index(b"colr")
        size = int.from_bytes(data[colr - 4 : colr], "big")
        assert data[colr + 4] == 2 and data[colr + 7 : colr - 4 + size] == icc
        assert b"JpgTiffExif->JP2" in data and b"HybridCam" in data
    assert hybridcodec.decode(out.read_bytes()).shape == (48, 32, 3)  # still a hybrid file


def test_stale_temporary_files_of_a_killed_writer_are_removed(tmp_path):
    """What a writer killed mid-write leaves (its hidden temporary file) is removed once the
    output is complete; other files that look alike are not."""
    from hybridcodec.imageio import atomic_write, remove_stale_temps

    out = tmp_path / "a.hyc"
    stale = tmp_path / ".a.hyc.0123456789ab.tmp"
    stale.write_bytes(b"half")
    keep = [tmp_path / ".a.hyc.notatoken.tmp", tmp_path / ".b.hyc.0123456789ab.tmp"]
    for k in keep:
        k.write_bytes(b"x")
    atomic_write(out, b"whole")
    assert remove_stale_temps(out) == 1
    assert not stale.exists() and all(k.exists() for k in keep) and out.read_bytes() == b"whole"
