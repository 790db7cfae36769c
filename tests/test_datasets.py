import gzip
import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from skdae import datasets
from skdae.datasets import DataFileError, load_mnist, read_idx


def _shared_data():
    """The team's MNIST folder: $SKDAE_DATA (CI sets it) or ../shared/data."""
    for folder in (os.environ.get("SKDAE_DATA"), Path(__file__).parents[2] / "shared" / "data"):
        if folder and (Path(folder) / "mnist" / "t10k-images-idx3-ubyte.gz").is_file():
            return Path(folder)
    return None


SHARED = _shared_data()
needs_shared_mnist = pytest.mark.skipif(SHARED is None, reason="no MNIST folder here")


def _idx_bytes(array, magic):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """A small MNIST look-alike (4 train, 2 test images of 28x28) and its spec."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    spec = {}
    for prefix, n in (("train", 4), ("t10k", 2)):
        for name, magic, array in (
            (f"{prefix}-images-idx3-ubyte", 2051, rng.integers(0, 256, (n, 28, 28))),
            (f"{prefix}-labels-idx1-ubyte", 2049, rng.integers(0, 10, n)),
        ):
            content = _idx_bytes(array, magic)
            (folder / f"{name}.gz").write_bytes(gzip.compress(content))
            spec[name] = (magic, array.shape, hashlib.md5(content).hexdigest())
    monkeypatch.setattr(datasets, "MNIST_FILES", spec)
    return tmp_path


def test_load_fake_mnist_scales_to_unit_interval(fake_mnist):
    bunch = load_mnist(fake_mnist, subset="all")
    assert bunch.data.shape == (6, 784)
    assert bunch.data.dtype == np.float32
    assert 0 <= bunch.data.min() and bunch.data.max() <= 1
    assert bunch.images.shape == (6, 28, 28)
    assert bunch.target.dtype == np.int64
    X, y = load_mnist(fake_mnist, subset="test", return_X_y=True)
    assert X.shape == (2, 784) and y.shape == (2,)


def test_data_home_falls_back_to_the_environment(fake_mnist, monkeypatch):
    monkeypatch.setenv("SKDAE_DATA", str(fake_mnist))
    assert load_mnist(subset="train", return_X_y=True)[0].shape == (4, 784)


def test_uncompressed_files_are_read_too(fake_mnist):
    gz = fake_mnist / "mnist" / "t10k-labels-idx1-ubyte.gz"
    (fake_mnist / "mnist" / "t10k-labels-idx1-ubyte").write_bytes(gzip.decompress(gz.read_bytes()))
    gz.unlink()
    assert load_mnist(fake_mnist, subset="test").target.shape == (2,)


def test_missing_files_name_the_folder_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"not found in .*mnist.*download=True"):
        load_mnist(tmp_path)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b[: len(b) // 2], "cannot be decompressed"),  # truncated download
        (lambda b: b"not gzip at all", "cannot be decompressed"),
        (
            lambda b: gzip.compress(gzip.decompress(b)[:-10]),
            "truncated: 1574 bytes decompressed, expected 1584",
        ),
        (lambda b: gzip.compress(gzip.decompress(b) + b"\0"), "longer than its header says"),
        (
            lambda b: gzip.compress(
                gzip.decompress(b)[:4] + b"\0\0\0\x03" + gzip.decompress(b)[8:]
            ),
            r"shape \(3, 28, 28\) \(magic 2051\); expected \(2, 28, 28\)",
        ),
        (
            lambda b: gzip.compress(gzip.decompress(b)[:-1] + b"\x07"),
            "damaged: MD5 of its content",
        ),
        (lambda b: gzip.compress(b"\x12\x34" + gzip.decompress(b)[2:]), "not an IDX file"),
    ],
)
def test_damaged_files_are_refused_with_what_is_wrong(fake_mnist, damage, message):
    path = fake_mnist / "mnist" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DataFileError, match=message):
        load_mnist(fake_mnist, subset="test")
    with pytest.raises(DataFileError, match="t10k-images"):
        load_mnist(fake_mnist, subset="all")  # never half a data set


def test_download_fetches_verifies_and_renames(fake_mnist, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(fake_mnist / "mnist", mirror)
    home = tmp_path / "home"
    bunch = load_mnist(home, subset="all", download=True, mirrors=[mirror.as_uri() + "/"])
    assert bunch.data.shape == (6, 784)
    assert sorted(p.name for p in (home / "mnist").iterdir()) == sorted(
        p.name for p in mirror.iterdir()
    )


def test_download_of_a_damaged_file_leaves_nothing_behind(fake_mnist, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(fake_mnist / "mnist", mirror)
    bad = mirror / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-8])
    home = tmp_path / "home"
    with pytest.raises(DataFileError, match="could not download train-labels"):
        load_mnist(home, download=True, mirrors=["file:///nonexistent/", mirror.as_uri() + "/"])
    assert sorted(p.name for p in (home / "mnist").iterdir()) == ["train-images-idx3-ubyte.gz"]


def test_read_idx_without_expectations_reads_any_shape(tmp_path):
    path = tmp_path / "cube.idx"
    path.write_bytes(_idx_bytes(np.arange(24).reshape(2, 3, 4), 0x0803))
    assert read_idx(path).shape == (2, 3, 4)


def test_unknown_subset_is_rejected(fake_mnist):
    with pytest.raises(ValueError, match="subset must be one of"):
        load_mnist(fake_mnist, subset="validation")


@needs_shared_mnist
def test_real_mnist_test_set():
    X, y = load_mnist(SHARED, subset="test", return_X_y=True)
    assert X.shape == (10000, 784)
    assert np.bincount(y).tolist()[:3] == [980, 1135, 1032]
    assert X.max() == 1.0 and X.min() == 0.0


@needs_shared_mnist
def test_damaged_copy_of_real_mnist_is_refused(tmp_path):
    shutil.copytree(SHARED / "mnist", tmp_path / "mnist")
    path = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(path.read_bytes()))
    content[100] = (content[100] + 1) % 10
    path.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(DataFileError, match="MD5"):
        load_mnist(tmp_path, subset="test")
