"""The machinery every skdae autoencoder shares: scikit-learn's side.

``BaseAutoencoder`` is the public surface: ``fit`` hands X to a training
session (``skdae._training.train``) and keeps the net and the record it
returns; ``transform``, ``inverse_transform``, ``reconstruct`` and the scores
evaluate the fitted module (``skdae._inference``). A public estimator only
declares its own parameters, its ``_module_class`` and ``_module_spec``.
"""

import copy
import functools
import os
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from sklearn import get_config
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._data import format_number, in_unit_interval, validated_rows
from ._docs import SHARED_ATTRIBUTES as _SHARED_ATTRIBUTES_DOC
from ._docs import SHARED_PARAMETERS as _SHARED_PARAMETERS_DOC
from ._inference import evaluate
from ._modules import ACTIVATIONS
from ._net import MIXED_PRECISION
from ._noise import NOISE_TYPES, fill_holes
from ._persistence import register
from ._persistence import save as save_model
from ._plan import batch_size_for, features_out, n_train_rows
from ._state import pickled_state, unpickled_state
from ._table import (
    as_fitted_table,
    as_table,
    check_table_params,
    fitted_layout,
    table_for_fit,
)
from ._training import train


def _on_filled(step, corruption, module, batch):
    """``step(module, batch)`` on the batch with its holes filled as training fills them."""
    return step(module, fill_holes(corruption, batch))


def _decodes_codes(estimator):
    """Whether a code alone decides a reconstruction: not for a residual network."""
    fitted = getattr(estimator, "fitted_model_", None)
    return not (getattr(estimator, "residual", False) or fitted and fitted.spec.get("residual"))


class BaseAutoencoder(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator, metaclass=ABCMeta
):
    """Base class for skdae's autoencoders. Do not use it directly.

    A subclass declares its own parameters and ``_module_spec`` (the
    arguments of its module); the base does the rest. ``fit`` hands X to
    ``skdae._training.train`` (validate → prepare cold or warm → run the epochs
    → the record), then ``_set_fitted`` (the step ``skdae.load`` shares)
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

    # A subclass's __init__ lists every parameter in its own signature (scikit-learn
    # reads them from there) and passes the shared ones on: stored as given.
    def __init__(self, **shared_params):
        unknown = set(shared_params) - set(BaseAutoencoder._parameter_constraints)
        if unknown:
            raise TypeError(f"unknown parameters {sorted(unknown)}")
        for name, value in shared_params.items():
            setattr(self, name, value)

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
        check_table_params(self)
        self._module_spec(n_features)
        if n_samples is None:
            return
        if self.batch_norm:
            params = self.get_params(deep=False)
            n_train = n_train_rows(params, n_samples)
            if batch_size_for(params, n_train) < 2 or n_train < 2:
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
        """Hand X to a training session (``skdae._training.train``) and keep what it
        fitted, or leave the estimator exactly as it was."""
        warm = warm and hasattr(self, "net_")
        state_before = self.__dict__.copy()
        # A warm fit trains the fitted module, Adam's state and history in place:
        # keep a copy of the net to fall back to.
        net_before = copy.deepcopy(self.net_) if warm else None
        try:
            X, table = table_for_fit(self, X, warm)
            # The plan knows a table's columns: the record's features are them.
            net, record, notes = train(self, X, warm, epochs, stop, table)
            self._set_fitted(net, record)
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
    def _feature_layers(self):
        return self.fitted_model_.params.get("feature_layers", "code")

    @property
    def _n_features_out(self):
        # The width of transform's output, read by get_feature_names_out (as PCA's).
        return features_out(self.net_.module_, self.fitted_model_.params)

    # ----------------------------------------------------------- evaluation
    def _evaluate(self, X, step, n_outputs, missing=False):
        """``step(module, batch)`` over X with the fitted module (``evaluate``);
        ``missing``: X holds NaN, which the module sees as training did (``fill_holes``)."""
        if missing:
            step = functools.partial(_on_filled, step, self.net_.corruption)
        return evaluate(self.net_.module_, self.fitted_model_, X, step, n_outputs)

    def _output_activation(self, logits):
        return self.net_.reconstruction(logits)

    def _validate_X(self, X):
        """X checked and converted, and whether it holds missing values (NaN)."""
        check_is_fitted(self)
        table = fitted_layout(self)
        if table is not None:  # encoded as in fit: holes as NaN, unknown categories as 0
            encoded = table.encode(as_table(X, table))
            return encoded, bool(np.isnan(encoded).any())
        # scikit-learn's assume_finite skips the scan: holes are then filled batch by
        # batch, whether there are any or not.
        scan = not get_config()["assume_finite"]
        X, observed = validated_rows(self, X, reset=False, scan=scan)
        if observed is None:
            return X, True
        lo, hi, missing = observed
        if self.loss_function_ == "bce" and not in_unit_interval(lo, hi):
            # Held-out data a scaler put slightly out of range is normal: evaluate it as
            # it is (the scores are RMSEs, defined anywhere), and say so.
            warnings.warn(
                f"X spans [{format_number(lo)}, {format_number(hi)}], outside the [0, 1] this "
                "model was trained on (loss='bce'); it is encoded as it is, and values far outside "
                "[0, 1] get codes the model never learned. Scale X as the training data was.",
                UserWarning,
                stacklevel=3,
            )
        return X, missing

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
        X, missing = self._validate_X(X)
        all_layers = self._feature_layers == "all"

        def step(module, x):
            return module.hidden_activations(x) if all_layers else module.encode(x)

        return self._evaluate(X, step, self._n_features_out, missing)

    @available_if(_decodes_codes)
    def inverse_transform(self, X):
        """Decode latent codes back to input space (not for ``residual=True``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent codes, e.g. the output of ``transform``.

        Returns
        -------
        X_original : ndarray or DataFrame of shape (n_samples, `n_features_in_`)
            The reconstruction (probabilities in [0, 1] for ``loss_function_ == "bce"``;
            for a mixed table, the table's kinds: categories and numbers in their units).
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=[np.float64, np.float32], input_name="X")
        code_size = self.net_.module_.code_size
        if Z.shape[1] != code_size:
            raise ValueError(
                f"inverse_transform expects latent codes with {code_size} "
                f"features (the code size), got {Z.shape[1]}."
            )
        step = lambda module, z: self._output_activation(module.decode(z))  # noqa: E731
        return as_fitted_table(self, self._evaluate(Z, step, self.net_.module_.n_features), None)

    def reconstruct(self, X):
        """Encode then decode X (no noise added): the model's reconstruction.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to reconstruct.

        Returns
        -------
        X_rec : ndarray or DataFrame of shape (n_samples, n_features)
            The reconstruction, in X's float dtype (probabilities in [0, 1]
            for ``loss_function_ == "bce"``; for a mixed table, the table's
            kinds: a DataFrame on X's index for a DataFrame, else an object
            array).
        """
        rows = X
        X, missing = self._validate_X(X)
        step = lambda module, x: self._output_activation(module(x))  # noqa: E731
        rebuilt = self._evaluate(X, step, self.net_.module_.n_features, missing)
        return as_fitted_table(self, rebuilt, rows)

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
        X, missing = self._validate_X(X)
        return -np.sqrt(self._squared_errors(X, missing))

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
        X, missing = self._validate_X(X)
        return -float(np.sqrt(np.nanmean(self._squared_errors(X, missing))))

    def _squared_errors(self, X, missing=False):
        """The mean squared reconstruction error of each row of validated X,
        over its observed values (NaN for a row with none)."""

        def step(module, x):  # x as given: its NaN mark what not to count
            errors = (
                self._output_activation(
                    module(fill_holes(self.net_.corruption, x) if missing else x)
                )
                - x
            )
            return errors.square_().nanmean(dim=1) if missing else errors.square_().mean(dim=1)

        return self._evaluate(X, step, n_outputs=1).ravel()

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
        # The fitted net and its record as plain data (skdae._state): pickles and
        # skops files that do not depend on torch's or skorch's pickle formats.
        return pickled_state(super().__getstate__())

    def __setstate__(self, state):
        rebuild = unpickled_state(self, state)
        super().__setstate__(state)
        if rebuild is not None:
            rebuild(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # transform/inverse_transform/score_samples answer in the input's float
        # dtype (float64 by a float64 copy of the weights).
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        # CSR/CSC input is accepted and densified one batch at a time (but for the
        # Gaussian that conditional noise fits, which needs dense rows).
        tags.input_tags.sparse = self.noise_type != "conditional"
        # Missing values (NaN) are holes the network never sees and the loss skips.
        tags.input_tags.allow_nan = True
        return tags
