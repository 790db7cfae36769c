"""Data sets: ``load_mnist`` reads (and, on request, downloads) MNIST's IDX files;
``read_table`` reads rows from a ``.npy`` or ``.csv`` file; ``load_train_test``
gives the command line's data sets split into training and test rows."""

import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch
from tqdm.auto import tqdm

# Mirrors that serve the four files under their standard names, tried in order.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

# name -> (IDX magic number, shape, MD5 of the decompressed content)
MNIST_FILES = {
    "train-images-idx3-ubyte": (2051, (60000, 28, 28), "6bbc9ace898e44ae57da46a324031adb"),
    "train-labels-idx1-ubyte": (2049, (60000,), "a25bea736e30d166cdddb491f175f624"),
    "t10k-images-idx3-ubyte": (2051, (10000, 28, 28), "2646ac647ad5339dbf082846283269ea"),
    "t10k-labels-idx1-ubyte": (2049, (10000,), "27ae3e4e09519cfbb04c329615203637"),
}

_SUBSETS = {"train": ("train",), "test": ("t10k",), "all": ("train", "t10k")}


class DataFileError(ValueError):
    """A data file is damaged, truncated or not what it claims to be.

    A ``ValueError``. Delete the file and download it again.

    See Also
    --------
    load_mnist : Raises it for a damaged MNIST file.
    read_idx : Raises it for a file that is not the IDX file it should be.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skdae.datasets import DataFileError, read_idx
    >>> path = Path(tempfile.mkdtemp()) / "empty-idx1-ubyte"
    >>> _ = path.write_bytes(b"")
    >>> try:
    ...     read_idx(path)
    ... except DataFileError as error:
    ...     print(str(error).split(": ", 1)[1])
    0 bytes, no IDX header.
    """


def get_data_home(data_home=None):
    """Return the folder skdae reads data sets from.

    ``data_home`` when given, else the ``SKDAE_DATA`` environment variable,
    else ``~/skdae_data``. MNIST lives in its ``mnist/`` subfolder.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to use; None: ``SKDAE_DATA``, else ``~/skdae_data``.

    Returns
    -------
    data_home : pathlib.Path
        The folder, with ``~`` expanded; it may not exist yet.

    See Also
    --------
    load_mnist : Reads MNIST from the ``mnist/`` subfolder of this folder.

    Examples
    --------
    >>> from skdae.datasets import get_data_home
    >>> get_data_home("/data").as_posix()
    '/data'
    """
    if data_home is None:
        data_home = os.environ.get("SKDAE_DATA", Path("~") / "skdae_data")
    return Path(data_home).expanduser()


def _find(folder, name):
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def read_idx(path, expected=None, compressed=None):
    """Read one IDX file, verifying it against ``expected``.

    Parameters
    ----------
    path : path-like
        The file, gzip-compressed or not.
    expected : tuple (magic, shape, md5) or None
        The magic number, shape and MD5 of the decompressed content it must have.
    compressed : bool or None
        Whether the file is gzip-compressed; None decides by a ``.gz`` suffix.

    Returns
    -------
    array : ndarray of uint8
        The array the file holds, in its shape.

    Raises
    ------
    DataFileError
        When the file cannot be decompressed, is truncated, is not an IDX
        file of unsigned bytes, or differs from ``expected``.

    See Also
    --------
    load_mnist : Reads MNIST's four IDX files with this function.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skdae.datasets import read_idx
    >>> path = Path(tempfile.mkdtemp()) / "three-idx1-ubyte"
    >>> _ = path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> read_idx(path)
    array([7, 8, 9], dtype=uint8)
    """
    path = Path(path)
    if compressed is None:
        compressed = path.suffix == ".gz"
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as f:
            content = f.read()
    except (OSError, EOFError) as exc:  # BadGzipFile is an OSError
        raise DataFileError(f"{path} is damaged: it cannot be decompressed ({exc}).") from None
    if len(content) < 4:
        raise DataFileError(f"{path} is truncated: {len(content)} bytes, no IDX header.")
    magic = int.from_bytes(content[:4], "big")
    n_dims = content[3]
    if content[:3] != b"\x00\x00\x08" or not 1 <= n_dims <= 4:
        raise DataFileError(
            f"{path} is not an IDX file of unsigned bytes (magic number {magic:#010x})."
        )
    header = 4 + 4 * n_dims
    if len(content) < header:
        raise DataFileError(f"{path} is truncated inside its header.")
    shape = tuple(int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims))
    if expected is not None:
        expected_magic, expected_shape, expected_md5 = expected
        if magic != expected_magic or shape != expected_shape:
            raise DataFileError(
                f"{path} holds an array of shape {shape} (magic {magic}); expected "
                f"{expected_shape} (magic {expected_magic})."
            )
    n_bytes = header + int(np.prod(shape))
    if len(content) != n_bytes:
        state = "truncated" if len(content) < n_bytes else "longer than its header says"
        raise DataFileError(
            f"{path} is {state}: {len(content)} bytes decompressed, expected {n_bytes}."
        )
    if expected is not None:
        md5 = hashlib.md5(content).hexdigest()
        if md5 != expected_md5:
            raise DataFileError(
                f"{path} is damaged: MD5 of its content is {md5}, expected {expected_md5}."
            )
    return np.frombuffer(content, dtype=np.uint8, offset=header).reshape(shape)


def _download(name, folder, mirrors):
    """Fetch ``name.gz`` into ``folder``: a temporary file, renamed once verified."""

    folder.mkdir(parents=True, exist_ok=True)
    errors = []
    for mirror in mirrors:
        url = f"{mirror}{name}.gz"
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".gz.part")
        try:
            with urllib.request.urlopen(url, timeout=60) as response, os.fdopen(fd, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=f"{name}.gz") as bar:
                    while chunk := response.read(1 << 16):
                        out.write(chunk)
                        bar.update(len(chunk))
            read_idx(tmp, MNIST_FILES[name], compressed=True)
            final = folder / f"{name}.gz"
            os.replace(tmp, final)
            return final
        except (OSError, urllib.error.URLError, DataFileError) as exc:
            errors.append(f"{url}: {exc}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise DataFileError(f"could not download {name}.gz:\n  " + "\n  ".join(errors))


def load_mnist(
    data_home=None, *, subset="train", return_X_y=False, download=False, mirrors=MNIST_MIRRORS
):
    """Load MNIST's handwritten digits from the standard IDX files.

    Every file is verified (IDX magic number, shape, size and the MD5 of its
    decompressed content) before anything is returned.

    Parameters
    ----------
    data_home : path-like, default=None
        Folder holding ``mnist/`` (the four ``*-ubyte.gz`` files, gzip or not).
        None: the ``SKDAE_DATA`` environment variable, else ``~/skdae_data``.
    subset : {"train", "test", "all"}, default="train"
        The 60,000 training images, the 10,000 test images, or both (train
        first).
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch.
    download : bool, default=False
        Fetch missing files from ``mirrors`` into ``data_home/mnist``.
    mirrors : sequence of str
        URL prefixes tried in order.

    Returns
    -------
    data : Bunch
        ``data`` (n, 784) float32 in [0, 1], ``target`` (n,) int64 labels,
        ``images`` (n, 28, 28) float32, ``DESCR``. ``(data, target)`` when
        ``return_X_y``.

    See Also
    --------
    get_data_home : The folder the files are read from.
    sklearn.datasets.load_digits : Smaller digits (8 x 8) that ship with scikit-learn.

    Examples
    --------
    >>> from skdae.datasets import load_mnist
    >>> X, y = load_mnist(subset="test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, X.dtype, y[:5]  # doctest: +SKIP
    ((10000, 784), dtype('float32'), array([7, 2, 1, 0, 4]))
    """
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {sorted(_SUBSETS)}, got {subset!r}.")
    folder = get_data_home(data_home) / "mnist"
    images, labels = [], []
    for prefix in _SUBSETS[subset]:
        arrays = []
        for kind in ("images-idx3", "labels-idx1"):
            name = f"{prefix}-{kind}-ubyte"
            path = _find(folder, name)
            if path is None:
                if not download:
                    raise FileNotFoundError(
                        f"MNIST file {name}.gz not found in {folder}. Put the four standard "
                        "IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                        "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) there, point "
                        "data_home or SKDAE_DATA at the folder that holds mnist/, or pass "
                        "download=True."
                    )
                path = _download(name, folder, mirrors)
            arrays.append(read_idx(path, MNIST_FILES[name]))
        images.append(arrays[0])
        labels.append(arrays[1])
    pixels = np.concatenate(images).astype(np.float32) / np.float32(255)
    target = np.concatenate(labels).astype(np.int64)
    X = pixels.reshape(len(pixels), -1)
    if return_X_y:
        return X, target
    return Bunch(
        data=X,
        target=target,
        images=pixels,
        feature_names=[f"pixel_{r}_{c}" for r in range(28) for c in range(28)],
        DESCR=(
            "MNIST handwritten digits: 28x28 grey levels scaled to [0, 1], labels 0-9; "
            f"subset={subset!r}, read from {folder}."
        ),
    )


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_table(path, label_column=None):
    r"""Read rows of numbers, and optionally a column of labels, from a file.

    Parameters
    ----------
    path : path-like
        A ``.npy`` file of a 2-D array, or a ``.csv`` file of numbers that may
        start with a header row (detected: a field that is not a number).
    label_column : str, default=None
        A header name or a 0-based column index: that column is returned as
        the labels and left out of the features.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The rows, without the label column.
    y : ndarray of shape (n_samples,) or None
        Integers when every label is a whole number, floats for other numbers,
        else strings; None without ``label_column``.

    Raises
    ------
    ValueError
        When the file is not a table of numbers, ``label_column`` is not one of
        its columns, or a value is NaN or infinite.

    See Also
    --------
    load_train_test : Reads a file with it, then splits the rows.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skdae.datasets import read_table
    >>> path = Path(tempfile.mkdtemp()) / "rows.csv"
    >>> _ = path.write_text("a,b,kind\n0.5,1.0,2\n0.25,0.0,1\n")
    >>> X, y = read_table(path, label_column="kind")
    >>> X.tolist(), y.tolist()
    ([[0.5, 1.0], [0.25, 0.0]], [2, 1])
    """
    path = Path(path)
    names, table = None, None
    if path.suffix == ".npy":
        table = np.load(path)
        if table.ndim != 2:
            raise ValueError(f"{path} must hold a 2-D table (rows x features), got {table.shape}")
        n_columns = table.shape[1]
    else:
        with path.open() as file:
            first = file.readline().strip().split(",")
        n_columns = len(first)
        if not all(map(_is_number, first)):
            names = [name.strip() for name in first]
    index = None
    if label_column is not None:
        if names and label_column in names:
            index = names.index(label_column)
        elif str(label_column).isdigit() and int(label_column) < n_columns:
            index = int(label_column)
        else:
            known = f"; its header is {names}" if names else ""
            raise ValueError(f"label column {label_column!r} is not a column of {path}{known}")
    features = [c for c in range(n_columns) if c != index]
    if table is not None:
        X, y = table[:, features], None if index is None else table[:, index]
    else:
        read = dict(delimiter=",", skiprows=1 if names else 0, ndmin=2)
        try:
            X = np.loadtxt(path, usecols=features, **read)
            y = None if index is None else np.loadtxt(path, usecols=[index], dtype=str, **read)
        except ValueError as exc:
            raise ValueError(f"cannot read {path} as a table of numbers: {exc}") from None
        if y is not None:
            y = y.ravel()
            if all(map(_is_number, y)):
                y = y.astype(float)
                if (y == np.round(y)).all():
                    y = y.astype(int)
    if not np.isfinite(X).all():
        raise ValueError(f"{path} holds NaN or infinite values; the autoencoders need numbers")
    return X, y


def load_train_test(name, data_home=None, random_state=0, label_column=None, download=False):
    """Load a data set by name, split into training and test rows.

    Parameters
    ----------
    name : str
        ``"digits"`` (scikit-learn's, X / 16, split 75/25, stratified),
        ``"mnist"`` (its train and test files, see ``load_mnist``), or the
        path of a ``.npy``/``.csv`` file of rows (``read_table``; split 80/20).
    data_home : path-like, default=None
        For MNIST, as in ``load_mnist``.
    random_state : int, default=0
        Seeds the split.
    label_column : str, default=None
        For a file: the column of labels, as in ``read_table``.
    download : bool, default=False
        For MNIST: fetch the files that are missing, as in ``load_mnist``.

    Returns
    -------
    X_train : ndarray of shape (n_train, n_features)
        The training rows.
    y_train : ndarray of shape (n_train,) or None
        Their labels; None for a file without ``label_column``.
    X_test : ndarray of shape (n_test, n_features)
        The test rows.
    y_test : ndarray of shape (n_test,) or None
        Their labels.
    image_shape : tuple of int or None
        ``(height, width)`` of a row viewed as an image: digits and MNIST, and
        a file whose rows are square and in [0, 1]; else None.

    Raises
    ------
    ValueError
        For an unknown name or a file that cannot be read; ``FileNotFoundError``
        for a missing file.

    See Also
    --------
    load_mnist : MNIST's files.
    read_table : Rows from a file.

    Examples
    --------
    >>> from skdae.datasets import load_train_test
    >>> X_train, y_train, X_test, y_test, image_shape = load_train_test("digits")
    >>> X_train.shape, X_test.shape, image_shape
    ((1347, 64), (450, 64), (8, 8))
    """
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X / 16.0, y, test_size=0.25, random_state=random_state, stratify=y
        )
        return X_train, y_train, X_test, y_test, (8, 8)
    if name == "mnist":
        X_train, y_train = load_mnist(data_home, subset="train", return_X_y=True, download=download)
        X_test, y_test = load_mnist(data_home, subset="test", return_X_y=True, download=download)
        return X_train, y_train, X_test, y_test, (28, 28)
    path = Path(name)
    if path.suffix not in (".npy", ".csv"):
        raise ValueError(f"the data set must be digits, mnist, or a .npy/.csv file; got {name!r}")
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    X, y = read_table(path, label_column)
    if y is None:
        X_train, X_test = train_test_split(X, test_size=0.2, random_state=random_state)
        y_train = y_test = None
    else:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.2, random_state=random_state
        )
    side = int(round(np.sqrt(X.shape[1])))
    square = side * side == X.shape[1] and X.min() >= 0 and X.max() <= 1
    return X_train, y_train, X_test, y_test, (side, side) if square else None
