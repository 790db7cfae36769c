"""The data's side of a fit: checks, value ranges, tensors, placement, batches.

X is checked once (``value_range``: NaN, infinity, the range the loss needs;
``check_text_columns``), turned into a tensor on the device (``as_tensor``;
sparse X stays sparse as ``SparseRows``, ``data_placement="stream"`` keeps it on
the host as ``HostRows``), and handed out in mini-batches that are slices of a
per-epoch permutation (``TensorBatches``), not a ``DataLoader`` calling
``__getitem__`` once per row.
"""

import math
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn import get_config
from sklearn.utils.validation import validate_data


def in_unit_interval(lo, hi):
    """Whether ``[lo, hi]`` lies in [0, 1]: data for the cross-entropy (bce)."""
    return lo >= 0.0 and hi <= 1.0


def format_number(value):
    """``value`` with the digits that tell it apart (1.000001 is not "1")."""
    return repr(float(value)) if float(value) != int(value) else str(int(value))


def check_bce_range(lo, hi, needs, fix):
    """The bce rule, at fit and after: data in [0, 1] (a Bernoulli likelihood per feature)."""
    if not in_unit_interval(lo, hi):
        raise ValueError(f"{needs}, but X spans [{format_number(lo)}, {format_number(hi)}]; {fix}.")


def as_tensor(X, device, dtype=np.float32, placement="device"):
    """X as a tensor of ``dtype`` on ``device``, sharing memory when it can.

    Sparse X becomes ``SparseRows``: it stays sparse, and rows are densified
    a batch at a time on the device. ``placement="stream"`` keeps dense X in
    host memory (``HostRows``), copied to the device a batch at a time.
    """
    if sp.issparse(X):
        return SparseRows(X.astype(dtype), device)
    X = np.ascontiguousarray(X, dtype=dtype)
    # Read-only memory (a numpy.memmap opened "r", a buffer): shared, not copied --
    # a memmap larger than RAM pages in as batches are drawn. skdae never writes into
    # X's tensor (noise and batches are new tensors), which is all torch's warning is about.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        host = torch.from_numpy(X)
    if placement == "stream":
        return HostRows(host, device)
    return host.to(device)


# "auto" streams X when its float32 copy would take more than this share of the
# device's free memory (the rest is for the model, Adam, activations, batches).
STREAM_ABOVE_FREE_FRACTION = 0.5


def choose_placement(data_placement, X, device, free_bytes=None):
    """``"device"`` (X copied to the device once) or ``"stream"`` (a batch at a time).

    ``"auto"`` streams only on a GPU, when X's float32 copy exceeds
    ``STREAM_ABOVE_FREE_FRACTION`` of the free device memory (``free_bytes``,
    asked of CUDA when None); on the CPU the data already is where it trains.
    Sparse X always stays sparse on the device.
    """
    if sp.issparse(X):
        return "device"
    if data_placement != "auto":
        return data_placement
    if torch.device(device).type != "cuda":
        return "device"
    if free_bytes is None:
        device = torch.device(device)
        # Memory torch's allocator holds but does not use is free for X too.
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        free_bytes = torch.cuda.mem_get_info(device)[0] + cached
    n_bytes = X.shape[0] * X.shape[1] * 4
    return "stream" if n_bytes > STREAM_ABOVE_FREE_FRACTION * free_bytes else "device"


def value_range(X, input_name="X", check_finite=True, allow_nan=False):
    """``(min, max)`` of X, raising ValueError when X holds NaN or infinity.

    One pass with torch's threads (twice as fast as numpy's single thread on 2
    cores; at a million rows per second it matters): min and max are both
    finite exactly when every value is. Only a failing scan pays for the
    element-wise look that says which. ``allow_nan``: NaN are missing values,
    and the range is the observed values' (``observed_range`` says whether
    there were any).
    """
    return observed_range(X, input_name, check_finite, allow_nan)[:2]


def observed_range(X, input_name="X", check_finite=True, allow_nan=False):
    """``(min, max, has_nan)``: ``value_range``, and whether X holds NaN."""
    values = X
    if sp.issparse(X):  # the stored values, and the implicit zeros if any
        values = X.data if X.nnz else np.zeros(1, dtype=X.dtype)
        if X.nnz < X.shape[0] * X.shape[1]:
            values = np.append(values, values.dtype.type(0))
    if values.flags.writeable and values.flags.c_contiguous:  # what torch.from_numpy takes
        lo, hi = (float(v) for v in torch.aminmax(torch.from_numpy(values)))
    else:
        lo, hi = float(np.min(values)), float(np.max(values))
    if math.isfinite(lo) and math.isfinite(hi):
        return lo, hi, False
    if not check_finite:  # assume_finite: no error, but NaN are still holes (found for free)
        if math.isnan(lo) or math.isnan(hi):
            return float(np.nanmin(values)), float(np.nanmax(values)), True
        return lo, hi, False
    if np.isinf(values).any():
        raise ValueError(f"Input {input_name} contains infinity; skdae needs finite values.")
    if not allow_nan:
        raise ValueError(
            f"Input {input_name} contains NaN; skdae needs finite values "
            "(impute them first, e.g. with sklearn.impute.SimpleImputer)."
        )
    if np.isnan(values).all():
        raise ValueError(f"Input {input_name} has no observed value: every value is NaN.")
    return float(np.nanmin(values)), float(np.nanmax(values)), True


def observed_std(X):
    """Each column's standard deviation over its observed (not NaN) values; 0
    for a column with none. X: a tensor."""
    if not torch.isnan(X).any():
        return X.std(dim=0, correction=0)
    mean = X.nanmean(dim=0)
    return (X - mean).square_().nanmean(dim=0).sqrt_().nan_to_num_(0.0)


def observed_aminmax(X):
    """Each column's (min, max) over its observed values; 0 for a column with
    none. X: a tensor."""
    if not torch.isnan(X).any():
        return torch.aminmax(X, dim=0)
    observed = ~torch.isnan(X)
    any_observed = observed.any(dim=0)
    low = torch.where(observed, X, torch.inf).amin(dim=0)
    high = torch.where(observed, X, -torch.inf).amax(dim=0)
    return torch.where(any_observed, low, 0.0), torch.where(any_observed, high, 0.0)


def check_text_columns(X):
    """Name a DataFrame's text or categorical columns, which skdae cannot train on."""
    if not (type(X).__module__.startswith("pandas") and hasattr(X, "dtypes")):
        return
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    dtypes = X.dtypes.items() if hasattr(X.dtypes, "items") else [(X.name, X.dtypes)]
    text = [
        str(name) for name, dtype in dtypes if not (is_numeric_dtype(dtype) or is_bool_dtype(dtype))
    ]
    if text:
        raise ValueError(
            f"X has non-numeric columns {text}; skdae trains on numbers. Encode them first, "
            "e.g. ColumnTransformer([('text', OneHotEncoder(), "
            f"{text!r})], remainder='passthrough') before the autoencoder in a Pipeline."
        )


def validation_size(n_samples, validation_fraction):
    """Rows held out for validation: ``validation_fraction`` of them, at least one."""
    return max(1, round(n_samples * validation_fraction)) if validation_fraction else 0


class SparseRows:
    """A scipy CSR matrix that hands out dense float32 rows on a device.

    Sparse input (one-hot encoded tables) stays sparse on the host; only the
    rows of one batch are densified, on the device, when they are indexed.
    ``subset`` keeps rows sparse (for a validation split).
    """

    def __init__(self, matrix, device):
        self.matrix = matrix.tocsr()
        self.device = torch.device(device)

    def __len__(self):
        return self.matrix.shape[0]

    @property
    def shape(self):
        return self.matrix.shape

    def _rows(self, index):
        if isinstance(index, torch.Tensor):
            index = index.cpu().numpy()
        return self.matrix[index]

    def __getitem__(self, index):
        dense = self._rows(index).toarray().astype("float32", copy=False)
        return torch.from_numpy(dense).to(self.device)

    def subset(self, index):
        return SparseRows(self._rows(index), self.device)

    # The per-feature statistics the corruptions learn, as torch names them.
    def std(self, dim=0, correction=0):
        if dim != 0 or correction != 0:
            raise NotImplementedError("SparseRows.std is over rows, without correction")
        if np.isnan(self.matrix.data).any():  # rare: the dense path's NaN-aware statistics
            return observed_std(self._tensor(self.matrix.toarray()))
        mean = np.asarray(self.matrix.mean(axis=0)).ravel()
        mean_sq = np.asarray(self.matrix.multiply(self.matrix).mean(axis=0)).ravel()
        return self._tensor(np.sqrt(np.maximum(mean_sq - mean**2, 0)))

    def aminmax(self, dim=0):
        if dim != 0:
            raise NotImplementedError("SparseRows.aminmax is over rows")
        if np.isnan(self.matrix.data).any():
            return observed_aminmax(self._tensor(self.matrix.toarray()))
        low, high = self.matrix.min(axis=0), self.matrix.max(axis=0)
        return self._tensor(low.toarray().ravel()), self._tensor(high.toarray().ravel())

    def _tensor(self, values):
        return torch.from_numpy(np.asarray(values, dtype=np.float32)).to(self.device)


class HostRows:
    """Dense rows kept in host memory and copied to the device a batch at a time
    (``data_placement="stream"``): X larger than the device's memory.

    On a GPU each batch is gathered into pinned memory and copied
    asynchronously, so the copy overlaps the device's work on the batch
    before (``TensorBatches`` fetches one batch ahead). On the CPU a batch is
    the same gather the in-memory path makes: both give the same model.

    Parameters
    ----------
    tensor : torch.Tensor of shape (n_samples, n_features)
        On the CPU (it may share a ``numpy.memmap``).
    device : torch device
        Where the batches go.
    rows : torch.Tensor of int64 or None
        The rows of ``tensor`` this holds (a validation split), None for all.
    """

    def __init__(self, tensor, device, rows=None):
        self.tensor = tensor
        self.device = torch.device(device)
        self.rows = rows
        self.pin = self.device.type == "cuda"

    def __len__(self):
        return len(self.tensor) if self.rows is None else len(self.rows)

    @property
    def shape(self):
        return (len(self), *self.tensor.shape[1:])

    def __getitem__(self, index):
        if isinstance(index, slice):
            index = torch.arange(len(self))[index]
        index = index.cpu()  # a CPU permutation (TensorBatches) makes this free
        if self.rows is not None:
            index = self.rows[index]
        batch = self.tensor.index_select(0, index)
        if self.pin:
            batch = batch.pin_memory()
        return batch.to(self.device, non_blocking=self.pin)

    def subset(self, index):
        index = index.cpu()
        return HostRows(self.tensor, self.device, index if self.rows is None else self.rows[index])

    def _host(self):
        return self.tensor if self.rows is None else self.tensor.index_select(0, self.rows)

    def std(self, dim=0, correction=0):
        if dim != 0 or correction != 0:
            raise NotImplementedError("HostRows.std is over rows, without correction")
        return observed_std(self._host()).to(self.device)

    def aminmax(self, dim=0):
        if dim != 0:
            raise NotImplementedError("HostRows.aminmax is over rows")
        low, high = observed_aminmax(self._host())
        return low.to(self.device), high.to(self.device)


def _one_ahead(batches):
    """Yield from ``batches``, fetching each one before the previous is used
    (a streamed batch's copy then overlaps the work on the one before)."""
    batches = iter(batches)
    current = next(batches, None)
    for following in batches:
        yield current
        current = following
    if current is not None:
        yield current


class TensorBatches:
    """Mini-batches of a tensor, as slices of a fresh permutation per epoch.

    Parameters
    ----------
    data : torch.Tensor of shape (n_samples, ...)
        Already on the device the model trains on.
    batch_size : int
    shuffle : bool, default=False
    generator : torch.Generator, default=None
        On ``data``'s device; draws the permutations.
    min_batch_size : int, default=1
        A last batch smaller than this joins the one before it (batch norm
        cannot normalise a batch of one row).
    """

    def __init__(self, data, batch_size, shuffle=False, generator=None, min_batch_size=1):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.min_batch_size = min_batch_size

    def _bounds(self):
        n_samples = len(self.data)
        starts = list(range(0, n_samples, self.batch_size))
        if len(starts) > 1 and n_samples - starts[-1] < self.min_batch_size:
            starts.pop()
        return list(zip(starts, [*starts[1:], n_samples], strict=True))

    def __len__(self):
        return len(self._bounds())

    def __iter__(self):
        if not self.shuffle:
            batches = (self.data[start:stop] for start, stop in self._bounds())
            yield from _one_ahead(batches) if isinstance(self.data, HostRows) else batches
            return
        order = torch.randperm(len(self.data), generator=self.generator, device=self.data.device)
        if isinstance(self.data, HostRows):
            # Drawn where the in-memory path draws it (the same batches), read on the
            # host once per epoch, and each batch fetched one ahead.
            order = order.cpu()
            batches = (self.data[order[start:stop]] for start, stop in self._bounds())
            yield from _one_ahead(batches)
            return
        for start, stop in self._bounds():
            yield self.data[order[start:stop]]


def validated_rows(estimator, X, reset, scan=True):
    """X checked and converted as every skdae autoencoder takes it (numbers, dense or
    CSR/CSC, NaN as holes), at fit (``reset``) and after, and ``(min, max, has_nan)``
    of its observed values (None without ``scan``). The one validation of X."""
    check_text_columns(X)
    X = validate_data(
        estimator,
        X,
        accept_sparse=["csr", "csc"],
        dtype=[np.float64, np.float32],
        ensure_all_finite=False,
        reset=reset,
    )
    if not scan:
        return X, None
    return X, observed_range(X, check_finite=not get_config()["assume_finite"], allow_nan=True)
