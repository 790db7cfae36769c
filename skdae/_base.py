"""The machinery every skdae autoencoder shares: scikit-learn's side.

``BaseAutoencoder`` validates parameters and data, builds the skorch net
(``skdae._net.DenoisingNet``) around the module that a subclass builds, trains
it, and evaluates the fitted module for ``transform``, ``inverse_transform``,
``score_samples`` and ``score``. A public estimator only declares its own
parameters, its ``_module_class`` and ``_module_spec``.
"""

import copy
import math
import os
import warnings
import weakref
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
import torch.distributed as dist
from sklearn import get_config
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.callbacks import Callback
from torch import nn

from ._checkpoint import Checkpoint, ResumeFromCheckpoint, check_checkpoint_dir
from ._distributed import (
    agree_on_errors,
    broadcast_seed,
    broadcast_state,
    check_same_data,
    from_collective,
    lost_peer_error,
    process_group,
    rank_device,
)
from ._docs import SHARED_ATTRIBUTES as _SHARED_ATTRIBUTES_DOC
from ._docs import SHARED_PARAMETERS as _SHARED_PARAMETERS_DOC
from ._fitted import FittedModel, encode_params, fingerprint, fitted_params, record_before_records
from ._modules import ACTIVATIONS, evaluating
from ._net import (
    MIXED_PRECISION,
    ConvergenceCheck,
    DenoisingNet,
    HostRows,
    SparseRows,
    validation_size,
)
from ._noise import NOISE_TYPES, make_corruption
from ._persistence import register
from ._persistence import save as save_model
from ._runtime import denormals_flushed, resolve_device
from ._state import from_plain, to_plain
from .callbacks import ProgressBar, StaircaseDecay, TensorBoard, TrainingMonitor

# batch_size="auto": rows // this, between 32 and 256 (see _batch_size).
AUTO_BATCHES_PER_EPOCH = 50

# Rows per forward pass at evaluation time: large enough to keep the matrix
# products efficient, small enough that the activations stay a few MB.
EVAL_BATCH_SIZE = 4096

_LOSSES = {"bce": nn.BCEWithLogitsLoss, "mse": nn.MSELoss}
# The module outputs logits; this maps them to a reconstruction (None: as they are).
OUTPUT_ACTIVATIONS = {"bce": torch.sigmoid, "mse": None}


def _in_unit_interval(lo, hi):
    return lo >= 0.0 and hi <= 1.0


def _number(value):
    """``value`` with the digits that tell it apart (1.000001 is not "1")."""
    return repr(float(value)) if float(value) != int(value) else str(int(value))


def _check_bce_range(lo, hi, needs, fix):
    """The bce rule, at fit and after: data in [0, 1] (a Bernoulli likelihood per feature)."""
    if not _in_unit_interval(lo, hi):
        raise ValueError(f"{needs}, but X spans [{_number(lo)}, {_number(hi)}]; {fix}.")


def torch_seed(random_state):
    """One integer seed for the fit's ``torch.Generator``.

    None draws fresh entropy from the OS rather than from numpy's global state,
    so that skdae never changes the caller's random streams.
    """
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> 1)
    if isinstance(random_state, Integral):
        return int(random_state)
    # A RandomState instance: advance it, as scikit-learn's estimators do.
    return int(random_state.randint(np.iinfo(np.int32).max))


def _as_tensor(X, device, dtype=np.float32, placement="device"):
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


def value_range(X, input_name="X", check_finite=True):
    """``(min, max)`` of X, raising ValueError when X holds NaN or infinity.

    One pass with torch's threads (twice as fast as numpy's single thread on 2
    cores; at a million rows per second it matters): min and max are both
    finite exactly when every value is. Only a failing scan pays for the
    element-wise look that says which.
    """
    values = X
    if sp.issparse(X):  # the stored values, and the implicit zeros if any
        values = X.data if X.nnz else np.zeros(1, dtype=X.dtype)
        if X.nnz < X.shape[0] * X.shape[1]:
            values = np.append(values, values.dtype.type(0))
    if values.flags.writeable and values.flags.c_contiguous:  # what torch.from_numpy takes
        lo, hi = (float(v) for v in torch.aminmax(torch.from_numpy(values)))
    else:
        lo, hi = float(np.min(values)), float(np.max(values))
    if check_finite and not (math.isfinite(lo) and math.isfinite(hi)):
        if np.isnan(values).any():
            raise ValueError(
                f"Input {input_name} contains NaN; skdae needs finite values "
                "(impute them first, e.g. with sklearn.impute.SimpleImputer)."
            )
        raise ValueError(f"Input {input_name} contains infinity; skdae needs finite values.")
    return lo, hi


def check_precision(precision, device):
    """Refuse a ``precision`` that ``device`` cannot train in, saying what it can."""
    if precision == "float16" and device.type != "cuda":
        raise ValueError(
            f"precision='float16' needs a GPU (float16 with loss scaling is a CUDA feature); "
            f"this fit runs on {device}. Use precision='bfloat16' on CPUs that have it, or "
            "'float32'."
        )
    if precision == "bfloat16" and not bfloat16_supported(device):
        raise ValueError(
            f"precision='bfloat16' needs bfloat16 arithmetic, which {device} lacks "
            "(on a CPU: AVX512-BF16 or AMX; on a GPU: compute capability 8.0, Ampere, or "
            "newer). Use precision='float32'."
        )


def bfloat16_supported(device):
    """Whether ``device`` computes bfloat16 natively (emulation is slower than float32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


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


def _available(device):
    """``device`` if it is here (and is one), else the CPU: where a model is rebuilt."""
    try:
        return resolve_device(device)
    except (ValueError, TypeError):
        return torch.device("cpu")


def _loss_name(net):
    return {criterion: name for name, criterion in _LOSSES.items()}[net.criterion]


# Evaluation's float64 copies of fitted modules, made on demand and dropped with
# the module: a cache that is no state of the estimator (its __dict__ and pickles).
_FLOAT64_COPIES = weakref.WeakKeyDictionary()


def float64_copy(module, record):
    """A float64 copy of ``module``, made once per fit (``record``) and kept until
    its weights change.

    Each fit makes a new record; changes by hand (``load_state_dict``) bump the
    weights' version counters (fused Adam's updates do not: hence the record).
    """
    key = tuple(t._version for t in module.state_dict(keep_vars=True).values())
    cached = _FLOAT64_COPIES.get(module)
    if cached is None or cached[0] is not record or cached[1] != key:
        cached = (record, key, copy.deepcopy(module).to(torch.float64))
        _FLOAT64_COPIES[module] = cached
    return cached[2]


def positive_ints(value, name, meaning):
    """``value`` (an int or a sequence of ints) as a tuple of positive ints, or say why not."""
    ints = np.atleast_1d(np.asarray(value))
    if (
        ints.ndim != 1
        or ints.size == 0
        or not np.issubdtype(ints.dtype, np.integer)
        or (ints < 1).any()
    ):
        raise ValueError(
            f"{name} must be a positive int or a non-empty sequence of positive ints "
            f"({meaning}), got {value!r}."
        )
    return tuple(int(i) for i in ints)


class BaseAutoencoder(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator, metaclass=ABCMeta
):
    """Base class for skdae's autoencoders. Do not use it directly.

    A subclass declares its own parameters and ``_module_spec`` (the
    arguments of its module); the base does the rest. ``fit`` runs four named
    steps: ``_validate_training_data`` → ``_prepare_cold`` or ``_prepare_warm``
    → ``_train`` → ``_set_fitted`` (the step ``skdae.load`` shares), which
    keeps the trained net and its record, ``fitted_model_`` (``FittedModel``):
    everything that reads a fitted model reads the record, never the current
    parameters.
    """

    # The module this estimator trains; ``_module_spec`` gives its arguments.
    _module_class = None

    _parameter_constraints: dict = {
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "code_activation": [StrOptions({*ACTIVATIONS, "linear"}), None],
        "batch_norm": ["boolean"],
        "noise_factor": [Interval(Real, 0, None, closed="left")],
        "noise_type": [StrOptions(set(NOISE_TYPES))],
        "loss": [StrOptions({"auto", "bce", "mse"})],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "lr_decay_steps": [Interval(Integral, 1, None, closed="left")],
        "lr_decay_rate": [Interval(Real, 0, 1, closed="right")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "compile": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "monitor": ["boolean"],
        "tensorboard_dir": [str, os.PathLike, None],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
        "checkpoint_dir": [str, os.PathLike, None],
        "precision": [StrOptions({"float32", *MIXED_PRECISION})],
        "distributed": [StrOptions({"auto", "off"})],
        "data_placement": [StrOptions({"auto", "device", "stream"})],
    }

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls._module_class is not None:
            register(cls)  # skdae.load rebuilds its files by class name
        # One text for the parameters and attributes every estimator shares.
        if cls.__doc__:
            cls.__doc__ = cls.__doc__.replace(
                "    {shared_parameters}\n", _SHARED_PARAMETERS_DOC
            ).replace("    {shared_attributes}\n", _SHARED_ATTRIBUTES_DOC)

    # The parameters every skdae autoencoder shares; a subclass's __init__ lists
    # them in its own signature (scikit-learn reads parameters from there) and
    # passes them on.
    def __init__(
        self,
        *,
        activation,
        dropout,
        code_activation,
        batch_norm,
        noise_factor,
        noise_type,
        loss,
        weight_decay,
        learning_rate,
        lr_decay_steps,
        lr_decay_rate,
        batch_size,
        max_epochs,
        device,
        random_state,
        verbose,
        compile,
        early_stopping,
        validation_fraction,
        n_iter_no_change,
        tol,
        monitor,
        tensorboard_dir,
        callbacks,
        warm_start,
        checkpoint_dir,
        precision,
        distributed,
        data_placement,
    ):
        self.activation = activation
        self.dropout = dropout
        self.code_activation = code_activation
        self.batch_norm = batch_norm
        self.noise_factor = noise_factor
        self.noise_type = noise_type
        self.loss = loss
        self.weight_decay = weight_decay
        self.learning_rate = learning_rate
        self.lr_decay_steps = lr_decay_steps
        self.lr_decay_rate = lr_decay_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.compile = compile
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.monitor = monitor
        self.tensorboard_dir = tensorboard_dir
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir
        self.precision = precision
        self.distributed = distributed
        self.data_placement = data_placement

    @abstractmethod
    def _module_spec(self, n_features):
        """The arguments of ``_module_class`` for ``n_features`` inputs (a dict);
        raises ValueError for parameters that cannot build one."""

    def _build_module(self, n_features, device):
        """The module to train, on ``device`` ("meta": shapes only, no memory)."""
        spec = self._module_spec(n_features)
        module = self._module_class(**spec, device=device)
        module.spec = spec  # what a warm start compares the parameters with
        return module

    def _check_params(self, n_samples, n_features):
        """Checks that ``_parameter_constraints`` cannot express; raise ValueError.

        ``n_samples`` None (a model file, no data) skips the checks that need it.
        """
        if self.noise_type != "gaussian" and self.noise_factor >= 1:
            raise ValueError(
                f"noise_type={self.noise_type!r} corrupts each value with probability "
                f"noise_factor, which must be below 1; got {self.noise_factor}."
            )
        self._module_spec(n_features)
        if n_samples is None:
            return
        if self.batch_norm:
            n_train = self._n_train(n_samples)
            if self._batch_size(n_train) < 2 or n_train < 2:
                raise ValueError(
                    "batch_norm=True normalises over the rows of a batch, which needs "
                    f"batch_size >= 2 and at least 2 training samples; got batch_size="
                    f"{self.batch_size} and n_samples={n_train} to train on."
                )
        if self.early_stopping and n_samples < 2:
            raise ValueError(
                f"early_stopping=True holds out validation rows, which needs at least 2 "
                f"rows; got {n_samples}."
            )

    def _n_train(self, n_samples):
        """Rows that train (the others validate, with early stopping)."""
        fraction = self.validation_fraction if self.early_stopping else 0.0
        return n_samples - validation_size(n_samples, fraction)

    def _batch_size(self, n_train):
        """``batch_size``, with "auto" resolved for ``n_train`` training rows.

        "auto" gives an epoch at least ``AUTO_BATCHES_PER_EPOCH`` batches (of 32
        rows at the least, 256 at the most): convergence is judged per epoch,
        and on a small data set an epoch of a few large batches is too few
        steps to judge by.
        """
        if self.batch_size != "auto":
            return self.batch_size
        return int(min(256, max(32, n_train // AUTO_BATCHES_PER_EPOCH)))

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on X, corrupting each batch with fresh noise.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. Trained in float32 whatever its dtype.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_keeping_state(X, warm=self.warm_start, epochs=self.max_epochs, stop=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train one epoch over X, continuing from the fitted model if any.

        The weights, Adam's state and the learning-rate schedule carry over
        from call to call, so a data set too large for memory can be streamed
        in chunks (e.g. slices of a ``numpy.memmap``). The first call sizes
        the network from X. Each call honours the current parameters as a
        ``warm_start`` fit does.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, or a chunk of it. Trained in float32 whatever its
            dtype.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if hasattr(self, "fitted_model_"):
            # scikit-learn's _fit_context validates only a first partial_fit; each call here
            # honours the current parameters, so each checks them.
            self._validate_params()
        return self._fit_keeping_state(X, warm=True, epochs=1, stop=False)

    def _fit_keeping_state(self, X, warm, epochs, stop):
        warm = warm and hasattr(self, "net_")
        state_before = self.__dict__.copy()
        # A warm fit trains the fitted module, Adam's state and history in place:
        # keep a copy of the net to fall back to.
        net_before = copy.deepcopy(self.net_) if warm else None
        try:
            notes = self._fit(X, warm, epochs, stop)
        except BaseException:
            # Never a half-changed estimator: what it was before the call.
            self.__dict__.clear()
            self.__dict__.update(state_before)
            if net_before is not None:
                self.net_ = net_before
            raise
        # Warned once the fit is kept: a warning turned into an error (-W error)
        # must not throw the fitted model away.
        for message, category in notes:
            warnings.warn(message, category, stacklevel=4)
        return self

    def _fit(self, X, warm, epochs, stop_at_convergence):
        """The steps of a fit; returns the warnings to emit once it is kept."""
        group = process_group(self.distributed)
        try:
            device = resolve_device(self.device)
            if group is not None:
                device = rank_device(device)
            X, value_range_ = self._validate_training_data(X, warm)
            check_precision(self.precision, device)
            if self.checkpoint_dir is not None:  # a folder of the user's in the way
                check_checkpoint_dir(self.checkpoint_dir)
            error = None
        except (ValueError, TypeError, OSError) as exc:
            if group is None:
                raise
            error = exc
        if group is not None:
            # Before any other collective: a rank whose input was refused would
            # otherwise leave the others waiting for it.
            agree_on_errors(error, group, self.device)
        rows = fingerprint(X)
        if group is not None:
            self._check_distributed(X, group, device, rows)
        n_before = self.n_iter_ if warm else 0
        # A warm start draws a stream of its own, not the first fit's again.
        seed = (torch_seed(self.random_state) + n_before) % 2**63
        if group is not None:  # one stream for every rank: the same batches and noise
            seed = broadcast_seed(seed, group, device)
        # Every random number of the fit (weights, batch order, noise, dropout) comes
        # from this generator; the validation split from a seed of its own.
        generator = torch.Generator(device=device).manual_seed(seed)
        if warm:
            net, X_train = self._prepare_warm(X, value_range_, device, group, rows)
        else:
            net, X_train = self._prepare_cold(X, value_range_, device, generator, seed, group, rows)
        self._train(net, X_train, generator, epochs, n_before, stop_at_convergence)
        self._set_fitted(net, self._record(net, rows))
        return self._fit_notes(net, epochs, n_before, stop_at_convergence)

    def _record(self, net, rows):
        """Step 4's record: what this fit produced (``FittedModel``)."""
        names = getattr(self, "feature_names_in_", None)
        return FittedModel(
            estimator=type(self).__name__,
            params=fitted_params(self),
            spec=dict(net.module_.spec),
            loss=_loss_name(net),
            n_features_in=int(self.n_features_in_),
            feature_names_in=None if names is None else tuple(str(n) for n in names),
            rows=rows,
            device=str(torch.device(net.device)),
            split_seed=net.split_seed,
            grad_scaler=getattr(net, "grad_scaler_state_", None),
            history=net.history,
        )

    def _validate_training_data(self, X, warm):
        """Step 1: X checked and converted, the parameters checked against it
        (and, for a warm start, against the fitted network).

        Returns X and its ``(min, max)``.
        """
        check_text_columns(X)
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=[np.float64, np.float32],
            ensure_all_finite=False,
            reset=not warm,
        )
        lo, hi = value_range(X, check_finite=not get_config()["assume_finite"])
        float32_max = float(np.finfo(np.float32).max)
        if max(-lo, hi) > float32_max:
            raise ValueError(
                f"X spans [{lo:.4g}, {hi:.4g}], beyond float32's range (±{float32_max:.3g}) "
                "that training computes in; scale X first (e.g. StandardScaler)."
            )
        self._check_params(*X.shape)
        if warm:
            self._check_warm_params(X.shape[1], lo, hi)
        return X, (lo, hi)

    def _check_distributed(self, X, group, device, rows):
        """A data-parallel fit needs the same X on every rank, and batches that
        give every rank at least one row."""
        # First, so that a rank given other data or parameters fails with the others
        # rather than leaving them waiting in a collective.
        # The parameters that shape the fit; verbose, callbacks and the TensorBoard
        # folder may differ (rank 0 alone prints and writes).
        identity = self._params_json({"verbose", "callbacks", "tensorboard_dir", "device"})
        check_same_data(X, group, device, identity, rows)
        world = dist.get_world_size(group)
        n_train = self._n_train(X.shape[0])
        # Every rank needs a share of every batch (two rows each with batch norm).
        per_rank = 2 if self.batch_norm else 1
        smallest = min(self._batch_size(n_train), n_train)
        if smallest < per_rank * world:
            raise ValueError(
                f"batches of {smallest} rows cannot give each of the {world} processes of the "
                f"data-parallel fit {per_rank} row(s); raise batch_size (or pass more rows), or "
                "pass distributed='off'."
            )
        if self.early_stopping and X.shape[0] - n_train < world:
            raise ValueError(
                f"early_stopping holds out {X.shape[0] - n_train} rows, fewer than the {world} "
                "processes of the data-parallel fit; raise validation_fraction."
            )

    def _prepare_cold(self, X, value_range_, device, generator, seed, group=None, rows=None):
        """Step 2, a fresh start: a new module, corruption and net.

        The module is built on the meta device, so that no number is drawn
        from torch's global generator; its weights come from the fit's own.
        """
        loss = self._resolve_loss(*value_range_)
        module = self._build_module(X.shape[1], device="meta").to_empty(device=device)
        module.reset_parameters(generator)
        X_train = _as_tensor(X, device, placement=choose_placement(self.data_placement, X, device))
        corruption = make_corruption(
            self.noise_type, self.noise_factor, bounded=loss == "bce", X=X_train
        )
        net = self._make_net(
            module,
            loss,
            device,
            corruption=corruption,
            split_seed=(seed + 1) % 2**63,
            batch_size=self._batch_size(self._n_train(X.shape[0])),
            resume=self.checkpoint_dir is not None,
            process_group=group,
            rows=rows,
        )
        return net, X_train

    def _prepare_warm(self, X, value_range_, device, group=None, rows=None):
        """Step 2, a warm start: the fitted module, Adam's state and history in a
        net rebuilt from the current parameters.

        Honoured: everything but the network's shape and the loss, which are
        refused when they change (``_check_warm_params``). The noise's learned
        statistics are kept unless the noise itself changed (a stream of
        ``partial_fit`` chunks keeps one scale).
        """
        old, fitted = self.net_, self.fitted_model_
        module = old.module_
        if module.spec["dropout"] != float(self.dropout):  # both > 0 (_check_warm_params)
            module.set_dropout(float(self.dropout))
        module.to(device)
        X_train = _as_tensor(X, device, placement=choose_placement(self.data_placement, X, device))
        corruption = old.corruption
        if not fitted.same_noise(self.noise_type, self.noise_factor):
            corruption = make_corruption(
                self.noise_type, self.noise_factor, bounded=fitted.loss == "bce", X=X_train
            )
        elif corruption is not None:
            corruption.to(device)
        net = self._make_net(
            module,
            fitted.loss,
            device,
            corruption=corruption,
            split_seed=old.split_seed,  # validate on the rows held out before
            batch_size=self._batch_size(self._n_train(X.shape[0])),
            process_group=group,
            rows=rows,
        )
        net.initialize()
        # Adam's moments carry over; its learning rate and weight decay are the
        # current parameters' (the learning-rate schedule goes on from the history).
        state = net.optimizer_.state_dict()
        state["state"] = old.optimizer_.state_dict()["state"]
        net.optimizer_.load_state_dict(state)
        # A copy: the fitted record keeps its history until this fit is kept.
        net.history = copy.deepcopy(old.history)
        net.grad_scaler_state_ = fitted.grad_scaler
        return net, X_train

    def _check_warm_params(self, n_features, lo, hi):
        """Refuse a warm start whose parameters changed what cannot change.

        The network's shape, activations and batch norm cannot; dropout's
        probability can, unless the fitted network has no dropout layers (it was
        trained with 0) or would lose them (0 now).
        """
        fitted_spec = self.fitted_model_.spec
        spec = self._module_spec(n_features)
        if min(spec["dropout"], fitted_spec["dropout"]) > 0:
            spec["dropout"] = fitted_spec["dropout"]  # set on the fitted layers
        changed = sorted(k for k in spec if spec[k] != fitted_spec.get(k))
        if changed:
            was = ", ".join(f"{k}={fitted_spec.get(k)!r}" for k in changed)
            now = ", ".join(f"{k}={spec[k]!r}" for k in changed)
            raise ValueError(
                f"warm start: the fitted network has {was}, but the parameters now ask "
                f"for {now}. A warm start trains the fitted network on; set "
                "warm_start=False (or call fit on a clone) to train a new one."
            )
        if self.loss not in ("auto", self.loss_function_):
            raise ValueError(
                f"warm start: the model was trained with loss={self.loss_function_!r}, and loss="
                f"{self.loss!r} cannot take over its weights; set warm_start=False to retrain."
            )
        self._check_range(lo, hi)

    def _train(self, net, X_train, generator, epochs, n_before, stop_at_convergence):
        """Step 3: train ``net`` for up to ``epochs`` epochs (fewer at convergence)."""
        net.generator = generator
        dropout_generator = generator
        if net.process_group is not None:
            # Dropout masks differ from rank to rank (each masks its own rows),
            # and drawing them apart keeps the shared stream (batches, noise) in step.
            rank = dist.get_rank(net.process_group)
            dropout_generator = torch.Generator(device=generator.device).manual_seed(
                (generator.initial_seed() + 1 + rank) % 2**63
            )
        net.module.set_generator(dropout_generator)
        # Only this call's epochs count towards convergence (partial_fit's single
        # epoch never stops by it); a resumed fit counts its restored epochs.
        dict(net.callbacks)["convergence"].set_params(
            monitor="valid_loss" if self.early_stopping else "train_loss",
            load_best=self.early_stopping,
            first_epoch=n_before,
            max_epochs=epochs,
            stop_at_convergence=stop_at_convergence,
            n_iter_no_change=self.n_iter_no_change,
            tol=self.tol,
        )
        try:
            with denormals_flushed(torch.device(net.device)):
                net.partial_fit(X_train, epochs=epochs)
            if net.process_group is not None:
                # Rank 0's state on every rank: batch norm's running statistics
                # (each rank updates them from its share) and an early-stopping
                # best epoch restored from rank 0's checkpoint.
                broadcast_state(net.module_, net.process_group, net.device)
        except RuntimeError as error:  # a collective inside DDP's backward
            if net.process_group is None or not from_collective(error):
                raise
            raise lost_peer_error(error) from error
        finally:
            # The group and its DDP wrapper are this call's: never in a pickle.
            net.process_group, net.ddp_ = None, None
        # Drop the references to the fit's generator: the fitted model needs
        # none, and a CUDA generator would tie the pickle to a GPU machine.
        net.generator = None
        # float16's loss scale: its state (plain numbers) for the next call, not the scaler.
        if net.grad_scaler_ is not None:
            net.grad_scaler_state_ = net.grad_scaler_.state_dict()
        net.grad_scaler_ = None
        net.module.set_generator(None)
        if net.corruption is not None:
            net.corruption.to("cpu")  # a CUDA tensor would tie the pickle to a GPU

    def _set_fitted(self, net, record):
        """Step 4: keep the trained ``net`` and the ``record`` of what it is;
        ``skdae.load`` and unpickling end with it too.

        Every fitted attribute is read from the record (``loss_function_``,
        ``history_``, ``best_loss_``, ...) or from the net's module (the code
        size), never from the current parameters.
        """
        # The fitted model is the plain module (torch.compile's wrapper shares its
        # weights but neither pickles nor suits evaluation's varying batch sizes).
        net.module_ = net.module
        net.grad_scaler_state_ = record.grad_scaler
        self.net_ = net
        self.fitted_model_ = record
        self.n_features_in_ = record.n_features_in
        if record.feature_names_in is not None:
            self.feature_names_in_ = np.asarray(record.feature_names_in, dtype=object)
        else:
            self.__dict__.pop("feature_names_in_", None)

    @property
    def loss_function_(self):
        """The loss trained on: ``loss`` with "auto" resolved."""
        return self.fitted_model_.loss

    @property
    def device_(self):
        """The device the model was trained on, and evaluates on."""
        return self.fitted_model_.device

    def _fit_notes(self, net, epochs, n_before, stop_at_convergence):
        """The warnings of a finished fit: ``[(message, category)]``."""
        convergence = dict(net.callbacks)["convergence"]
        if net.interrupted_ is not None:
            ran = net.interrupted_ - n_before
            kept = f"epoch {net.interrupted_}"
            if self.early_stopping:
                kept = f"the best epoch so far ({convergence.progress(net.history)[0] + 1})"
            message = (
                f"fit interrupted: {ran} of {epochs} epochs ran; the model keeps the weights "
                f"of {kept}."
            )
            return [(message, UserWarning)]
        notes = []
        dead = [epoch.get("dead_units", 0.0) for epoch in net.history[n_before:]]
        # Only ReLUs die (0 for every input); other activations are 0 at 0 alone.
        relu = "relu" in (self.activation, self.code_activation)
        if relu and dead and dead[-1] > 0.5:
            notes.append(
                (
                    f"{dead[-1]:.0%} of the units of a hidden layer output 0 for every probe "
                    "row (dead ReLUs): those features carry nothing. Try "
                    "activation='gelu' (the default), a lower learning_rate, or batch_norm=True.",
                    UserWarning,
                )
            )
        stopped_early = getattr(net, "stopped_early_", False)  # by skorch's EarlyStopping
        if stop_at_convergence and not stopped_early and not convergence.converged(net.history):
            watched = "validation loss" if self.early_stopping else "training loss"
            message = (
                f"{type(self).__name__} ran max_epochs={epochs} epochs without converging: "
                f"the {watched} still improved by more than tol={self.tol} within the last "
                f"n_iter_no_change={self.n_iter_no_change} epochs. Raise max_epochs (or "
                "tol) if the features matter; warm_start=True continues this fit."
            )
            notes.append((message, ConvergenceWarning))
        return notes

    @property
    def history_(self):
        """Per-epoch records of every fit so far (``train_loss``, ``dur``, ...)."""
        return self.fitted_model_.history

    @property
    def n_iter_(self):
        """The number of epochs trained, all calls together."""
        return len(self.fitted_model_.history)

    # MLPRegressor's names, with its meanings, read from the history.
    @property
    def loss_curve_(self):
        """The training loss of every epoch, all calls together."""
        return [float(epoch["train_loss"]) for epoch in self.fitted_model_.history]

    @property
    def loss_(self):
        """The training loss of the last epoch (``MLPRegressor``'s ``loss_``)."""
        return self.loss_curve_[-1]

    @property
    def best_loss_(self):
        """The lowest training loss; None with ``early_stopping``."""
        return None if self.fitted_model_.early_stopping else min(self.loss_curve_)

    @property
    def validation_scores_(self):
        """With ``early_stopping``, minus the held-out rows' RMSE after each epoch."""
        if not self.fitted_model_.early_stopping:
            return None
        history = self.fitted_model_.history
        return [-float(epoch["valid_rmse"]) for epoch in history if "valid_rmse" in epoch]

    @property
    def best_validation_score_(self):
        """The best of ``validation_scores_``; None without ``early_stopping``."""
        scores = self.validation_scores_
        return max(scores) if scores else None

    @property
    def _n_features_out(self):
        # The code size, read by get_feature_names_out (as PCA's).
        return self.net_.module_.code_size

    def _checkpoint_identity(self, n_features, rows):
        """What a checkpoint must match to be resumed: the parameters that shape the
        fit, and the rows it trains on (their ``fingerprint``)."""
        params = self._params_json(
            {
                "max_epochs",
                "verbose",
                "callbacks",
                "checkpoint_dir",
                "tensorboard_dir",
                "distributed",
                "data_placement",
            }
        )
        return {
            "class": type(self).__name__,
            "n_features": int(n_features),
            "rows": rows,
            "params": params,
        }

    def _params_json(self, ignored):
        """``get_params()`` without the ``ignored`` names, as JSON values (a
        ``RandomState``, whose state each fit advances, as None)."""
        params = {k: v for k, v in self.get_params().items() if k not in ignored}
        if isinstance(params.get("random_state"), np.random.RandomState):
            params["random_state"] = None
        try:
            return encode_params(params)
        except TypeError:  # a value of the user's without a JSON form: its text
            return encode_params({k: str(v) for k, v in params.items()})

    def _make_net(
        self,
        module,
        loss,
        device,
        corruption=None,
        split_seed=None,
        batch_size=256,
        resume=False,
        process_group=None,
        rows=None,
    ):
        """The skorch net that trains (and holds) ``module``."""
        world, rank_zero = 1, True
        if process_group is not None:
            world, rank_zero = dist.get_world_size(process_group), dist.get_rank() == 0
        return DenoisingNet(
            module=module,
            criterion=_LOSSES[loss],
            corruption=corruption,
            split_seed=split_seed,
            validation_fraction=self.validation_fraction if self.early_stopping else 0.0,
            output_activation=OUTPUT_ACTIVATIONS[loss],
            precision=self.precision,
            optimizer=torch.optim.Adam,
            # One fused kernel for the whole update: ~10% of a CPU epoch saved.
            optimizer__fused=True,
            lr=self.learning_rate,
            optimizer__weight_decay=self.weight_decay,
            # L2 on the weights only, as the seed's weights_regularizer.
            optimizer__param_groups=[("*.bias", {"weight_decay": 0.0})],
            max_epochs=self.max_epochs,
            batch_size=batch_size,
            callbacks=self._callbacks(module.n_features, resume, rank_zero, rows),
            # Batch norm cannot train on a batch of one row (on any rank).
            iterator_train__min_batch_size=(2 if self.batch_norm else 1) * world,
            iterator_valid__min_batch_size=world,
            device=device,
            # Rank 0 speaks for a data-parallel fit.
            verbose=self.verbose if rank_zero else 0,
            compile=self.compile,
            process_group=process_group,
        )

    def _callbacks(self, n_features, resume=False, rank_zero=True, rows=None):
        """The built-in callbacks of a fit, switched by parameters, and the user's.

        In a data-parallel fit, the ones that write (TensorBoard, checkpoints,
        the progress bar) run on rank 0 only; every rank resumes.
        """
        callbacks = []
        if self.checkpoint_dir is not None:
            identity = self._checkpoint_identity(n_features, rows)
            if resume:  # before ours: they start from the restored history
                callbacks.append(("resume", ResumeFromCheckpoint(self.checkpoint_dir, identity)))
        callbacks.append(("lr_schedule", StaircaseDecay(self.lr_decay_steps, self.lr_decay_rate)))
        if self.monitor:
            callbacks.append(("monitor", TrainingMonitor()))
        if self.tensorboard_dir is not None and rank_zero:
            callbacks.append(("tensorboard", TensorBoard(self.tensorboard_dir)))
        if self.checkpoint_dir is not None and rank_zero:
            callbacks.append(("checkpoint", Checkpoint(self.checkpoint_dir, identity)))
        if self.verbose and rank_zero:
            callbacks.append(("progress_bar", ProgressBar()))
        for i, callback in enumerate(self.callbacks or []):
            named = isinstance(callback, tuple)
            instance = callback[1] if named else callback
            if not isinstance(instance, Callback):
                raise TypeError(
                    "callbacks must hold skorch callbacks or (name, callback) pairs; "
                    f"item {i} is {callback!r}."
                )
            callbacks.append(
                callback if named else (f"user_{i}_{type(instance).__name__}", instance)
            )
        # Set up by each fit call (what it watches, which epochs count).
        callbacks.append(("convergence", ConvergenceCheck()))
        return callbacks

    def _resolve_loss(self, lo, hi):
        if self.loss == "auto":
            if _in_unit_interval(lo, hi):
                return "bce"
            if lo >= 0:
                warnings.warn(
                    f"X spans [{_number(lo)}, {_number(hi)}], not [0, 1], so loss='auto' trains "
                    "with the squared error (mse) on X as it is. If X is bounded, like pixels "
                    "in 0..255, scale it into [0, 1] (X / 255, or MinMaxScaler) to train with "
                    "the cross-entropy (bce) the defaults were chosen for; pass loss='mse' to "
                    "keep mse without this warning.",
                    UserWarning,
                    stacklevel=5,
                )
            return "mse"
        if self.loss == "bce":
            _check_bce_range(
                lo,
                hi,
                "loss='bce' needs X in [0, 1] (it is a Bernoulli likelihood of each feature)",
                fix="scale X into [0, 1] (e.g. MinMaxScaler) or use loss='mse'",
            )
        return self.loss

    # ----------------------------------------------------------- evaluation
    def _evaluate(self, X, step, n_outputs):
        """Apply ``step(module, batch)`` to X in batches, in X's float dtype.

        The module runs in eval mode (no dropout, no noise) without autograd.
        float64 input is evaluated with a float64 copy of the weights, so that
        a row's output does not depend on which rows share its batch (bit for
        bit with ReLU; to float64 rounding with activations whose vectorised
        and scalar kernels differ in the last bit, such as GELU).
        """
        module = self.net_.module_
        if X.dtype == np.float64 and next(module.parameters()).dtype != torch.float64:
            module = float64_copy(module, self.fitted_model_)
        device = torch.device(self.device_)
        out = np.empty((X.shape[0], n_outputs), dtype=X.dtype)
        with evaluating(module), torch.inference_mode(), denormals_flushed(device):
            for start in range(0, X.shape[0], EVAL_BATCH_SIZE):
                stop = start + EVAL_BATCH_SIZE
                rows = X[start:stop]
                if sp.issparse(rows):  # densified a batch at a time
                    rows = rows.toarray()
                batch = _as_tensor(rows, device, dtype=X.dtype)
                result = step(module, batch)
                out[start:stop] = result.reshape(len(batch), -1).cpu().numpy()
        return out

    def _output_activation(self, logits):
        return self.net_.reconstruction(logits)

    def _validate_X(self, X):
        check_is_fitted(self)
        check_text_columns(X)
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=[np.float64, np.float32],
            reset=False,
            ensure_all_finite=False,
        )
        if get_config()["assume_finite"]:  # scikit-learn's switch to skip the scan
            return X
        lo, hi = value_range(X)
        if self.loss_function_ == "bce" and not _in_unit_interval(lo, hi):
            # Held-out data a scaler put slightly out of range is normal: evaluate it as
            # it is (the scores are RMSEs, defined anywhere), and say so.
            warnings.warn(
                f"X spans [{_number(lo)}, {_number(hi)}], outside the [0, 1] this model was "
                "trained on (loss='bce'); it is encoded as it is, and values far outside "
                "[0, 1] get codes the model never learned. Scale X as the training data was.",
                UserWarning,
                stacklevel=3,
            )
        return X

    def _check_range(self, lo, hi):
        if self.loss_function_ == "bce":
            _check_bce_range(
                lo,
                hi,
                "this model was trained with loss='bce' on data in [0, 1]",
                fix="scale X as the training data was",
            )

    def transform(self, X):
        """Encode X: the latent code of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to encode.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            In X's float dtype (float64 for integer input).
        """
        X = self._validate_X(X)
        return self._evaluate(X, lambda module, x: module.encode(x), self._n_features_out)

    def inverse_transform(self, X):
        """Decode latent codes back to input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent codes, e.g. the output of ``transform``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, `n_features_in_`)
            The reconstruction (probabilities in [0, 1] for ``loss_function_ == "bce"``).
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=[np.float64, np.float32], input_name="X")
        if Z.shape[1] != self._n_features_out:
            raise ValueError(
                f"inverse_transform expects latent codes with {self._n_features_out} "
                f"features (the code size), got {Z.shape[1]}."
            )
        return self._evaluate(
            Z,
            lambda module, z: self._output_activation(module.decode(z)),
            self.n_features_in_,
        )

    def reconstruct(self, X):
        """Encode then decode X (no noise added): the model's reconstruction.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to reconstruct.

        Returns
        -------
        X_rec : ndarray of shape (n_samples, n_features)
            The reconstruction, in X's float dtype (probabilities in [0, 1]
            for ``loss_function_ == "bce"``).
        """
        X = self._validate_X(X)
        return self._evaluate(
            X, lambda module, x: self._output_activation(module(x)), self.n_features_in_
        )

    def score_samples(self, X):
        """Return minus the reconstruction RMSE of each row (higher is better).

        The root mean squared difference between each row and its
        reconstruction (of the clean row, no noise added), in X's units:
        the same quantity whatever ``loss``, noise or network trained the
        model, so that scores compare across them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Minus each row's RMSE, in X's units; 0 is a perfect
            reconstruction.
        """
        X = self._validate_X(X)
        return -np.sqrt(self._squared_errors(X))

    def score(self, X, y=None):
        """Return minus the reconstruction RMSE of X, over all its values (higher is better).

        Comparable across ``loss``, noise and architecture, so that
        ``GridSearchCV`` can select on it. It rewards a faithful
        reconstruction of clean rows, which models trained with less noise
        give: to choose the noise without labels, score with
        ``skdae.metrics.make_denoising_scorer()`` instead, which measures the
        reconstruction of a corrupted copy of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to score.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            Minus the RMSE over all values of X, in X's units; 0 is a
            perfect reconstruction.
        """
        X = self._validate_X(X)
        return -float(np.sqrt(np.mean(self._squared_errors(X))))

    def _squared_errors(self, X):
        """The mean squared reconstruction error of each row of validated X."""
        scores = self._evaluate(
            X,
            lambda module, x: (self._output_activation(module(x)) - x).square_().mean(dim=1),
            n_outputs=1,
        )
        return scores.ravel()

    def save(self, path):
        """Write the fitted model to the folder ``path``, safely.

        JSON for the parameters, the fitted record and the history,
        safetensors for the weights: neither can hold code, so ``skdae.load``
        never unpickles. The loaded estimator is this one: it transforms as
        the fitted model does, and ``get_params()`` answers the same (but for
        ``callbacks``, ``tensorboard_dir`` and ``checkpoint_dir``, which a
        file never carries).

        Parameters
        ----------
        path : str or path-like
            The folder to write: created; filled when it is empty; replaced
            atomically when it is an earlier skdae model folder. Any other
            existing path is refused: ``save`` deletes nothing it did not
            write.

        Returns
        -------
        path : pathlib.Path
            The folder written, for ``skdae.load``.

        Raises
        ------
        FileExistsError
            When ``path`` is a file, or a folder that holds anything but a
            skdae model; nothing is written.
        ValueError
            When ``callbacks`` is set (they are code).
        """
        return save_model(self, path)

    def __getstate__(self):
        # The fitted net and its record as plain data (numpy weights, lists, dicts):
        # pickles and skops files that do not depend on torch's or skorch's pickle
        # formats.
        state = dict(super().__getstate__())  # a copy: the estimator keeps its net
        net = state.pop("net_", None)
        record = state.pop("fitted_model_", None)
        if net is not None:
            state["_fitted_model"] = to_plain(net, record)
            if "feature_names_in_" in state:
                state["feature_names_in_"] = [str(n) for n in state["feature_names_in_"]]
        return state

    def __setstate__(self, state):
        state = dict(state)
        fitted_model = state.pop("_fitted_model", None)
        net = state.pop("net_", None)  # pickled whole, before the plain state
        # Parameters added since (pickles of earlier versions): their defaults.
        state.setdefault("distributed", "auto")
        state.setdefault("data_placement", "auto")
        state.setdefault("precision", "float32")
        # Fitted attributes that the record holds now.
        loss = state.pop("loss_function_", None) or state.pop("loss_", None)
        device = state.pop("device_", None)
        if isinstance(state.get("feature_names_in_"), list):
            state["feature_names_in_"] = np.asarray(state["feature_names_in_"], dtype=object)
        super().__setstate__(state)
        if fitted_model is None and net is None:
            return
        if isinstance(fitted_model, dict) and isinstance(fitted_model.get("record"), dict):
            device = fitted_model["record"].get("device", device)
        if isinstance(device, str) and device.startswith("cuda") and not torch.cuda.is_available():
            # A model trained on a GPU, unpickled where there is none: evaluate on the CPU.
            warnings.warn(
                f"this model was trained on {device}; torch sees no GPU here, so it is "
                "loaded and evaluated on the CPU.",
                UserWarning,
                stacklevel=2,
            )
        if fitted_model is not None:
            net, record = from_plain(self, fitted_model, _available(device or "cpu"))
        else:  # a whole net, pickled by an early version: its record from what it holds
            if not hasattr(net.module_, "spec"):
                net.module_.spec = self._module_spec(self.n_features_in_)
            record = record_before_records(
                self, net, loss or _loss_name(net), str(_available(device or net.device))
            )
        self._set_fitted(net, record)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # transform/inverse_transform/score_samples answer in the input's float
        # dtype (float64 by a float64 copy of the weights).
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        # CSR/CSC input is accepted and densified one batch at a time.
        tags.input_tags.sparse = True
        return tags
