"""AutoencoderImputer: the holes of a table filled by a denoising autoencoder."""

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import MissingIndicator
from sklearn.utils import check_random_state
from sklearn.utils._mask import _get_mask
from sklearn.utils._missing import is_scalar_nan
from sklearn.utils._param_validation import HasMethods, Interval, MissingValues, StrOptions
from sklearn.utils.validation import (
    FLOAT_DTYPES,
    _check_feature_names,
    _check_feature_names_in,
    _check_n_features,
    check_is_fitted,
    validate_data,
)

from ._composite import SavedComposite
from ._estimator import DenoisingAutoencoder
from ._noise import ConditionalNoise
from ._table import _column, as_table, is_frame, missing_cells


def _equal(values, placeholder):
    """Where a 1-D column equals ``placeholder`` (False where it cannot: other kinds)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's elementwise-comparison notes
        equal = np.asarray(values == placeholder)
    return equal if equal.shape == values.shape else np.zeros(len(values), dtype=bool)


def _filled(column, holes, rebuilt):
    """A DataFrame's column with its holes taken from the reconstruction."""
    if str(column.dtype) == "category":  # a hole gets one of the fitted categories
        known = set(column.cat.categories)
        fitted = rebuilt.cat.categories
        column = column.cat.add_categories([c for c in fitted if c not in known])
    elif str(rebuilt.dtype) != "category" and column.dtype.kind in "iub":
        # A nullable integer or boolean column (Int64, boolean) takes the
        # reconstruction's numbers as IterativeImputer gives them: floats.
        column = column.astype("Float64")
    return column.where(~holes, rebuilt.to_numpy())


class AutoencoderImputer(SavedComposite, TransformerMixin, BaseEstimator):
    """Fill missing values with a denoising autoencoder's reconstruction.

    ``fit`` standardises each column (its observed values' mean and standard
    deviation), and trains ``autoencoder`` on the incomplete rows, the loss
    counting observed values only. The default autoencoder first fits a
    Gaussian to the incomplete table (EM) and sees every missing or masked
    value as its conditional mean given the row's visible values (the best
    linear guess, what a classic EM imputer returns); its network adds a
    correction to what it is given (``residual=True``), trained to recover
    values hidden by masking noise. ``transform`` reconstructs each row and
    takes the reconstruction for its missing values only: an observed value is
    never changed.

    Parameters
    ----------
    autoencoder : estimator, default=None
        The autoencoder to train (cloned): anything with ``fit`` and
        ``reconstruct`` that accepts NaN, e.g. a ``DenoisingAutoencoder``.
        None: a ``DenoisingAutoencoder`` sized from X (hidden layers of twice
        the features and of the features, a code as wide as the table, GELU,
        squared-error loss, ``noise_type="conditional"`` at 0.25 -- the holes
        it learns to fill look like the holes it will fill -- with
        ``residual=True``, batches of a tenth of the rows (32 to 256),
        learning rate 0.003, early stopping on a tenth of the rows after 40
        epochs without improvement, 200 epochs at most). Above 256 features,
        and for mixed tables: masking noise without the residual, weight decay
        0.001 and early stopping after 10 epochs without improvement.
    missing_values : int, float, str, np.nan or None, default=np.nan
        The placeholder of a missing value, as in ``SimpleImputer``: a number
        or NaN for a numeric array; in a mixed table (``categorical_features``)
        any value, e.g. ``"?"``, and NaN, None and ``pandas.NA`` are holes too.
    n_iter : int, default=1
        Reconstructions per ``transform``: after the first, the holes are
        filled with the last reconstruction and the rows reconstructed again.
        More than one is rarely better: the network learned to fill holes as
        it sees them in training (with masking noise, bench_imputation
        measured 3 rounds 10-60% worse).
    add_indicator : bool, default=False
        Append a ``MissingIndicator``'s columns (one per feature with missing
        values at fit time) to the output.
    keep_empty_features : bool, default=False
        Keep the features with no observed value at fit time, filled with 0;
        False drops them from the output, as ``SimpleImputer`` does.
    categorical_features : "from_dtype", array-like of int, str or bool, or None, \
default=None
        Which columns are categorical (HistGradientBoosting's meaning, as in
        ``DenoisingAutoencoder``). Set, X is a mixed table (a DataFrame or an
        object array; missing values NaN, None or ``pandas.NA``): the
        autoencoder takes it with ``categorical_features`` (it scales the
        numbers itself), a categorical hole is filled with the most probable
        category of its softmax head, and ``transform`` returns the table's
        kinds (a DataFrame for a DataFrame, else an object array).
    random_state : int, RandomState instance or None, default=None
        Seeds the autoencoder.

    Attributes
    ----------
    autoencoder_ : fitted autoencoder
        The network that fills the holes (trained on the standardised columns;
        the default one's Gaussian is ``autoencoder_.net_.corruption``).
    mean_, scale_ : ndarray of shape (`n_features_in_`,)
        Each column's standardisation: ``(X - mean_) / scale_``.
    empty_features_ : ndarray of bool of shape (`n_features_in_`,)
        The features with no observed value at fit time.
    indicator_ : MissingIndicator or None
        The indicator of ``add_indicator``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during ``fit``, when X has string column
        names.

    See Also
    --------
    sklearn.impute.IterativeImputer : Each feature regressed on the others, in turn.
    sklearn.impute.KNNImputer : The mean of the nearest rows' values.

    Examples
    --------
    >>> import numpy as np
    >>> from skdae import AutoencoderImputer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3)) @ rng.normal(size=(3, 8))  # rows on a 3-d plane
    >>> holes = rng.random(X.shape) < 0.1
    >>> imputer = AutoencoderImputer(random_state=0)
    >>> filled = imputer.fit_transform(np.where(holes, np.nan, X))
    >>> bool(np.all(filled[~holes] == X[~holes]))  # observed values kept
    True
    >>> bool(np.isnan(filled).any())
    False
    """

    _parameter_constraints: dict = {
        "autoencoder": [HasMethods(["fit", "reconstruct"]), None],
        "missing_values": [MissingValues()],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
        "random_state": ["random_state"],
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
    }

    def __init__(
        self,
        autoencoder=None,
        *,
        missing_values=np.nan,
        n_iter=1,
        add_indicator=False,
        keep_empty_features=False,
        categorical_features=None,
        random_state=None,
    ):
        self.autoencoder = autoencoder
        self.missing_values = missing_values
        self.n_iter = n_iter
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features
        self.random_state = random_state
        self.categorical_features = categorical_features

    @staticmethod
    def _default_autoencoder(n_samples, n_features, guesses=True):
        """The default network; ``guesses``: conditional noise and a residual
        (numeric tables of up to 256 columns), else plain masking noise."""
        network = DenoisingAutoencoder(
            hidden_units=(max(16, 2 * n_features), max(8, n_features)),
            loss="mse",
            noise_type="masking",
            noise_factor=0.25,
            batch_size=int(min(256, max(32, n_samples // 10))),
            learning_rate=3e-3,
            weight_decay=1e-3,  # a few hundred rows are common: less to overfit
            early_stopping=True,
            max_epochs=200,
            monitor=False,
        )
        if guesses and n_features <= ConditionalNoise.MAX_FEATURES:
            # A Gaussian's guess of each hidden value, which the residual network
            # refines: mean RMSE 0.89 of IterativeImputer's where masking noise gave
            # 1.05 (bench_imputation). No weight decay (it held the correction near
            # 0) and a patient stop (the validation loss of masked guesses is noisy).
            network.set_params(
                noise_type="conditional", residual=True, weight_decay=1e-5, n_iter_no_change=40
            )
        return network

    def _holes(self, X, reset):
        """X as floats with NaN for its missing values, and their mask."""
        if not isinstance(self.missing_values, (int, float)) or isinstance(
            self.missing_values, bool
        ):
            raise ValueError(
                f"missing_values={self.missing_values!r} marks holes in a table of text or "
                "categories: set categorical_features for such a table; a numeric array's "
                "placeholder is a number or NaN."
            )
        allow_nan = self.missing_values is np.nan or (
            isinstance(self.missing_values, float) and np.isnan(self.missing_values)
        )
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=FLOAT_DTYPES,
            ensure_all_finite="allow-nan" if allow_nan else True,
            copy=True,
        )
        holes = _get_mask(X, self.missing_values)
        X[holes] = np.nan
        return X, holes

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on the incomplete rows of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with missing values among them.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted imputer.
        """
        if self.categorical_features is not None:
            return self._fit_table(X)
        X, holes = self._holes(X, reset=True)
        self.empty_features_ = holes.all(axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an empty column's nanmean
            mean = np.nanmean(X, axis=0)
            scale = np.nanstd(X, axis=0)
        self.mean_ = np.where(self.empty_features_, 0.0, mean)
        self.scale_ = np.where(self.empty_features_ | ~(scale > 0), 1.0, scale)
        if self.add_indicator:
            self.indicator_ = MissingIndicator(missing_values=np.nan, error_on_new=False)
            self.indicator_.fit(X)
        else:
            self.indicator_ = None
        template = self.autoencoder
        if template is None:
            template = self._default_autoencoder(*X.shape)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        self.autoencoder_ = clone(template).set_params(random_state=int(seed))
        if "categorical_features" in self.autoencoder_.get_params():
            self.autoencoder_.set_params(categorical_features=None)  # a numeric matrix here
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # a cap, not a failure
            self.autoencoder_.fit(self._standardised(X))
        return self

    def _table_holes(self, X, reset):
        """Table X (``as_table``) with its placeholders as holes, and the holes' mask
        (NaN, None and pandas.NA are holes whatever ``missing_values``)."""
        X = as_table(X)
        _check_n_features(self, X, reset=reset)
        _check_feature_names(self, X, reset=reset)
        holes = missing_cells(X)
        if not is_scalar_nan(self.missing_values) and self.missing_values is not None:
            placeholders = np.column_stack(
                [_equal(_column(X, j), self.missing_values) for j in range(X.shape[1])]
            )
            if placeholders.any():
                holes = holes | placeholders
                if is_frame(X):
                    X = X.mask(placeholders)
                else:
                    X = X.copy()
                    X[placeholders] = None
        return X, holes

    def _fit_table(self, X):
        X, holes = self._table_holes(X, reset=True)
        self.empty_features_ = np.zeros(X.shape[1], dtype=bool)  # refused by the autoencoder
        self.indicator_ = None
        if self.add_indicator:  # fitted on the mask: MissingIndicator reads NaN in numbers only
            self.indicator_ = MissingIndicator(error_on_new=False).fit(np.where(holes, np.nan, 0))
        template = self.autoencoder
        if template is None:  # a table's noise acts on whole columns: masking, no guesses
            template = self._default_autoencoder(*X.shape, guesses=False)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        self.autoencoder_ = clone(template).set_params(
            random_state=int(seed), categorical_features=self.categorical_features
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # a cap, not a failure
            self.autoencoder_.fit(X)
        return self

    def _transform_table(self, X):
        X, holes = self._table_holes(X, reset=False)
        frame = is_frame(X)
        filled = X.copy()
        if holes.any():
            for _ in range(self.n_iter):
                rebuilt = self.autoencoder_.reconstruct(filled)
                for j in np.flatnonzero(holes.any(axis=0)):
                    if frame:
                        column = _filled(filled.iloc[:, j], holes[:, j], rebuilt.iloc[:, j])
                        filled[filled.columns[j]] = column
                    else:
                        filled[holes[:, j], j] = rebuilt[holes[:, j], j]
        if self.indicator_ is None:
            return filled
        indicator = self.indicator_.transform(np.where(holes, np.nan, 0))
        if not frame:
            return np.hstack([filled, indicator.astype(object)])
        names = self.indicator_.get_feature_names_out(_check_feature_names_in(self, None))
        for name, values in zip(names, indicator.T, strict=True):
            filled[name] = values
        return filled

    def _standardised(self, X):
        return (X - self.mean_) / self.scale_

    def transform(self, X):
        """Fill the missing values of X; the observed ones are kept as they are.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with missing values among them.

        Returns
        -------
        X_filled : ndarray of shape (n_samples, n_features_out)
            X with its holes filled, without the features that had no
            observed value at fit time (unless ``keep_empty_features``), and
            with the indicator's columns appended (``add_indicator``).
        """
        check_is_fitted(self)
        if self.categorical_features is not None:
            return self._transform_table(X)
        X, holes = self._holes(X, reset=False)
        rows = self._standardised(X)
        # Columns empty at fit time: the network learned them as holes only.
        rows[:, self.empty_features_] = np.nan
        filled = rows  # the first round sees the holes as training did (NaN, which it fills)
        if holes.any():
            for _ in range(self.n_iter):
                filled = np.where(holes, self.autoencoder_.reconstruct(filled), rows)
        # The observed values as they came: not through the scaling and back.
        filled = np.where(holes, filled * self.scale_ + self.mean_, X)
        empty_holes = holes & self.empty_features_
        filled[empty_holes] = 0.0  # a value given now is kept, as SimpleImputer keeps it
        if not self.keep_empty_features:
            filled = filled[:, ~self.empty_features_]
        if self.indicator_ is not None:
            filled = np.hstack([filled, self.indicator_.transform(X).astype(filled.dtype)])
        return filled

    # ``save`` (SavedComposite): the autoencoder, the scaling, the empty features and
    # the indicator's features.
    _saved_arrays = ("mean_", "scale_", "empty_features_")

    def _saved_members(self):
        return [self.autoencoder_]

    _saved_value_keys = ("indicator_features",)

    def _saved_values(self):
        features = None if self.indicator_ is None else self.indicator_.features_
        return {"indicator_features": None if features is None else features.tolist()}

    @classmethod
    def _saved_array_shapes(cls, n_members, n_features, values):
        features = values["indicator_features"]
        if n_members != 1:
            raise ValueError(f"an imputer has one autoencoder, the file {n_members}")
        if features is not None and not (
            isinstance(features, list)
            and all(isinstance(j, int) and not isinstance(j, bool) for j in features)
            and sorted(set(features)) == features
            and all(0 <= j < n_features for j in features)
        ):
            raise ValueError("indicator_features must be sorted distinct column indices")
        return {
            "mean_": ((n_features,), ("float32", "float64")),
            "scale_": ((n_features,), ("float32", "float64")),
            "empty_features_": ((n_features,), ("bool",)),
        }

    def _set_saved(self, members, values):
        table = self.categorical_features is not None
        needed = {"empty_features_"} | (set() if table else {"mean_", "scale_"})
        if set(values["arrays"]) != needed:
            raise ValueError(f"an imputer of these parameters has fitted {sorted(needed)}")
        if (members[0].fitted_model_.table is not None) != table:
            raise ValueError("its autoencoder was not fitted on the kind of table it fills")
        self.autoencoder_ = members[0]
        self.indicator_ = None
        features = values["indicator_features"]
        if features is not None:
            # The indicator's one fitted fact: which columns had holes at fit time.
            holes = np.zeros((1, self.n_features_in_))
            holes[0, features] = np.nan
            self.indicator_ = MissingIndicator(missing_values=np.nan, error_on_new=False)
            self.indicator_.fit(holes)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: the kept features, then the indicator's.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            The input features' names; None takes ``feature_names_in_``, or
            ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        kept = names if self.keep_empty_features else names[~self.empty_features_]
        if self.indicator_ is None:
            return kept
        return np.concatenate([kept, self.indicator_.get_feature_names_out(names)])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
