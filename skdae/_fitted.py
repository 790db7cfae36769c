"""What a fit produced: the one record that everything reading a fitted model reads.

``get_params()`` is the user's request for the *next* fit, and may change at any
time (``set_params``); ``FittedModel`` is what the model *is*: the parameters it
was trained with, the spec its network was built from, the loss, the features,
a fingerprint of the rows, the history. ``fit`` produces it; ``transform`` and
the fitted attributes, ``save``, pickles and skops files, checkpoints, warm
starts and the ONNX export read it, never the current parameters.

The parameters travel through files as JSON, with the Python types that JSON
lacks (tuples, numpy scalars and arrays, a ``RandomState``, a ``torch.device``,
paths) tagged, so that what comes back is what went in (``encode_params`` and
``decode_params``).
"""

import copy
import hashlib
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

# Parameters a fitted model is not made of: where a fit writes on this machine,
# and code. A model file never carries them (a file from elsewhere must not choose
# what runs or where your machine writes); ``load`` leaves them None.
MACHINE_PARAMS = ("callbacks", "tensorboard_dir", "checkpoint_dir")

# The estimators ``skdae.load`` rebuilds, by class name, and the ones a parameter
# may hold in a file (an imputer's ``autoencoder``): each registers itself when
# its class is defined, so that reading a file never imports them.
ESTIMATORS = {}


def register(cls):
    """Make ``load`` rebuild files of ``cls`` (the first class of a name keeps it)."""
    ESTIMATORS.setdefault(cls.__name__, cls)
    return cls


@dataclass(frozen=True)
class FittedModel:
    """The record of a fit: what the model is, apart from what the next fit will use.

    Attributes
    ----------
    estimator : str
        The estimator's class name.
    params : dict
        ``get_params(deep=False)`` as the fit used them (a copy; callbacks, which
        are code, as None).
    spec : dict
        The arguments the network was built from (``_module_spec``).
    loss : {"bce", "mse", "table"}
        The loss trained on (``loss="auto"`` resolved; "table" for a mixed table:
        squared errors and cross-entropies, ``skdae._table.TableLoss``).
    n_features_in : int
    feature_names_in : tuple of str or None
    rows : str
        ``fingerprint(X)`` of the rows the last fit call trained on.
    device : str
        Where the model was trained, and evaluates.
    split_seed : int or None
        Seeds the choice of the validation rows (early stopping), the same for
        every call of a fit.
    grad_scaler : dict or None
        float16's loss-scaler state (plain numbers), for the next call.
    table : dict or None
        A mixed-type table's columns and their encoding (``TableLayout.to_plain``),
        for a model fitted with ``categorical_features``; None for a numeric array.
    history : list of dict
        The per-epoch records (a ``skorch.History``, shared with the net).
    """

    estimator: str
    params: dict
    spec: dict
    loss: str
    n_features_in: int
    feature_names_in: tuple | None
    rows: str
    device: str
    split_seed: int | None = None
    grad_scaler: dict | None = None
    table: dict | None = None
    history: Any = field(default_factory=list, compare=False, repr=False)

    @property
    def early_stopping(self):
        return bool(self.params.get("early_stopping", False))

    def same_noise(self, noise_type, noise_factor):
        """Whether ``noise_type`` at ``noise_factor`` is the noise this model trained with."""
        fitted_factor = float(self.params["noise_factor"])
        if fitted_factor == 0 or float(noise_factor) == 0:
            return fitted_factor == float(noise_factor)
        return self.params["noise_type"] == noise_type and fitted_factor == float(noise_factor)

    def to_plain(self, encode=True):
        """The record as plain data (history apart: callers store it their way).

        ``encode``: the parameters and spec as JSON (``encode_params``), for files;
        else as the Python objects they are, for pickles (which carry the
        estimator's own parameters just the same).
        """
        code = encode_params if encode else copy.deepcopy
        return {
            "estimator": self.estimator,
            "params": code(self.params),
            "spec": code(self.spec),
            "loss": self.loss,
            "n_features_in": self.n_features_in,
            "feature_names_in": None
            if self.feature_names_in is None
            else list(self.feature_names_in),
            "rows": self.rows,
            "device": self.device,
            "split_seed": self.split_seed,
            "grad_scaler": self.grad_scaler,
            "table": copy.deepcopy(self.table),
        }

    @classmethod
    def from_plain(cls, plain, history, encoded=True):
        """The record ``to_plain(encode=encoded)`` wrote (raises ValueError, TypeError or
        KeyError when it is not one)."""
        names = plain["feature_names_in"]
        code = decode_params if encoded else dict
        return cls(
            estimator=str(plain["estimator"]),
            params=code(plain["params"]),
            spec=code(plain["spec"]),
            loss=plain["loss"],
            n_features_in=int(plain["n_features_in"]),
            feature_names_in=None if names is None else tuple(str(n) for n in names),
            rows=str(plain["rows"]),
            device=str(plain["device"]),
            split_seed=plain["split_seed"],
            grad_scaler=plain.get("grad_scaler"),
            table=plain.get("table"),
            history=history,
        )


def fitted_params(params):
    """A copy of a fit's parameters as its record keeps them (callbacks as None)."""
    params = dict(params)
    params["callbacks"] = None  # code: pickles keep the estimator's own, files none
    return copy.deepcopy(params)


# Rows are hashed in slices of this many bytes: a memmap larger than memory is
# read once, a slice at a time.
_FINGERPRINT_CHUNK = 1 << 24


def fingerprint(X):
    """A SHA-256 of X's content (values, shape, dtype): the identity of a fit's rows.

    Two arrays get the same fingerprint exactly when they hold the same values
    in the same order, shape and dtype; sparse X is hashed in canonical CSR
    form (sorted indices, no duplicates). Hashing runs at ~1.7 GB/s with
    SHA-NI (~0.1 s for MNIST's 60,000 x 784 float32 rows).
    """
    digest = hashlib.sha256()
    if sp.issparse(X):
        X = sp.csr_matrix(X, copy=True)
        X.sum_duplicates()  # also sorts the indices: one form per matrix
        digest.update(f"csr {X.shape} {X.dtype.str};".encode())
        for part in (X.indptr.astype(np.int64), X.indices.astype(np.int64), X.data):
            _update(digest, part)
        return digest.hexdigest()
    X = np.asarray(X)
    digest.update(f"dense {X.shape} {X.dtype.str};".encode())
    rows_per_chunk = max(1, _FINGERPRINT_CHUNK // max(1, X.itemsize * int(np.prod(X.shape[1:]))))
    for start in range(0, len(X), rows_per_chunk):
        _update(digest, X[start : start + rows_per_chunk])
    return digest.hexdigest()


def _update(digest, array):
    array = np.ascontiguousarray(array)  # a copy only for Fortran-ordered slices
    digest.update(memoryview(array).cast("B"))


# ----------------------------------------------------------------- the codec
# A JSON object with exactly one of these keys stands for a Python value JSON lacks.
_TAGS = ("tuple", "numpy", "ndarray", "torch.device", "path", "RandomState", "estimator")
_NUMPY_KINDS = "biuf"  # bool, signed and unsigned ints, floats: nothing that holds objects
_DEVICE = re.compile(r"(cpu|cuda|meta)(:[0-9]{1,4})?")
_MT19937_KEYS = 624


def _random_state_ok(state):
    """A MT19937 state as ``RandomState.get_state`` gives it. numpy checks none of
    ``pos``: out of range, the next draw would read outside the key array."""
    if not (isinstance(state, list) and len(state) == 5):
        return False
    name, keys, pos, has_gauss, cached = state
    return (
        name == "MT19937"
        and isinstance(keys, list)
        and len(keys) == _MT19937_KEYS
        and all(_is_int(k) and 0 <= k < 2**32 for k in keys)
        and _is_int(pos)
        and 0 <= pos <= _MT19937_KEYS
        and has_gauss in (0, 1)
        and not isinstance(has_gauss, bool)
        and isinstance(cached, float)
        and math.isfinite(cached)
    )


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def encode_params(params):
    """``{name: value}`` as JSON values, Python types JSON lacks tagged.

    Raises TypeError naming a parameter whose value has no JSON form (an object
    of the user's).
    """
    out = {}
    for name, value in params.items():
        try:
            out[name] = _encode(value)
        except TypeError:
            raise TypeError(
                f"the parameter {name}={value!r} ({type(value).__name__}) cannot be written to a "
                "model file; set it to a plain value (a number, string, tuple or None)."
            ) from None
    return out


def _encode(value):
    if (
        value is None
        or isinstance(value, (bool, int, float, str))
        and not isinstance(value, np.generic)
    ):
        return value
    if isinstance(value, tuple):
        return {"tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, np.generic) and value.dtype.kind in _NUMPY_KINDS:
        return {"numpy": value.dtype.str, "value": value.item()}
    if isinstance(value, np.ndarray) and value.dtype.kind in _NUMPY_KINDS:
        return {"ndarray": value.tolist(), "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, torch.device):
        return {"torch.device": str(value)}
    if isinstance(value, (PurePath, os.PathLike)):
        return {"path": os.fspath(value)}
    if isinstance(value, np.random.RandomState):
        name, keys, pos, has_gauss, cached = value.get_state()
        return {"RandomState": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]}
    if ESTIMATORS.get(type(value).__name__) is type(value):
        # An estimator as a parameter (an imputer's autoencoder): its class and parameters.
        params = value.get_params(deep=False)
        if params.get("callbacks"):
            raise TypeError("callbacks are code")
        params = {k: v for k, v in params.items() if k not in MACHINE_PARAMS}
        return {"estimator": type(value).__name__, "params": encode_params(params)}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [_encode(v) for v in value]  # e.g. a range: read back as a list
    if type(value).__module__.startswith(("pandas", "polars")) and hasattr(value, "to_list"):
        # An Index or Series of column names or positions (e.g. select_dtypes' columns).
        return [_encode(v) for v in value.to_list()]
    raise TypeError(type(value).__name__)


def decode_params(params):
    """``encode_params``'s inverse; ValueError/TypeError for anything it did not write."""
    if not isinstance(params, dict):
        raise TypeError(f"parameters must be an object, got {params!r}")
    return {str(name): _decode(value) for name, value in params.items()}


def _decode(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not (isinstance(value, dict) and value and set(value) & set(_TAGS)):
        raise ValueError(f"{value!r} is not a parameter value skdae writes")
    if "tuple" in value and set(value) == {"tuple"} and isinstance(value["tuple"], list):
        return tuple(_decode(v) for v in value["tuple"])
    if "numpy" in value and set(value) == {"numpy", "value"}:
        dtype = np.dtype(value["numpy"])
        if dtype.kind not in _NUMPY_KINDS or not isinstance(value["value"], (bool, int, float)):
            raise ValueError(f"{value!r} is not a numpy number")
        return dtype.type(value["value"])
    if "ndarray" in value and set(value) == {"ndarray", "dtype", "shape"}:
        dtype = np.dtype(value["dtype"])
        if dtype.kind not in _NUMPY_KINDS:
            raise ValueError(f"{value!r} is not a numeric array")
        array = np.asarray(value["ndarray"], dtype=dtype)
        if list(array.shape) != value["shape"]:
            raise ValueError(f"{value!r}: its values do not have its shape")
        return array
    if set(value) == {"torch.device"} and isinstance(value["torch.device"], str):
        if not _DEVICE.fullmatch(value["torch.device"]):
            raise ValueError(f"{value!r} is not a device skdae writes")
        return torch.device(value["torch.device"])
    if set(value) == {"path"} and isinstance(value["path"], str):
        return Path(value["path"])
    if set(value) == {"estimator", "params"} and isinstance(value["estimator"], str):
        cls = ESTIMATORS.get(value["estimator"])
        if cls is None:
            raise ValueError(f"{value['estimator']!r} is not an estimator skdae writes")
        estimator = cls()
        params = decode_params(value["params"])
        chosen = sorted(k for k in MACHINE_PARAMS if params.get(k) is not None)
        if chosen:  # a file never chooses what runs or where this machine writes
            raise ValueError(f"{value['estimator']} in a file cannot set {chosen}")
        unknown = set(params) - set(estimator.get_params(deep=False))
        if unknown:
            raise ValueError(f"{value['estimator']} has no parameters {sorted(unknown)}")
        estimator.set_params(**params)
        estimator._validate_params()
        return estimator
    if set(value) == {"RandomState"} and _random_state_ok(value["RandomState"]):
        name, keys, pos, has_gauss, cached = value["RandomState"]
        state = np.random.RandomState()
        state.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
        return state
    raise ValueError(f"{value!r} is not a parameter value skdae writes")
