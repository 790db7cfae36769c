"""AutoencoderOutlierDetector: reconstruction error with IsolationForest's contract."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._composite import SavedComposite, finite_number
from ._estimator import DenoisingAutoencoder

# contamination="auto": a row is an outlier when its score lies beyond a box plot's
# upper whisker, this many interquartile ranges above the third quartile (Tukey).
AUTO_WHISKER = 1.5
# The scale of a feature's error never falls below this share of the mean scale:
# a feature reconstructed perfectly must not make tiny errors look huge.
SCALE_FLOOR = 0.05


class AutoencoderOutlierDetector(SavedComposite, OutlierMixin, BaseEstimator):
    """Outlier detection by reconstruction error, as IsolationForest is used.

    ``fit`` scales each column of X to its training range (between its 1st and
    99th percentiles, so that one extreme value cannot squeeze the others),
    trains ``n_estimators`` copies of ``autoencoder`` (each with a seed of its
    own) to reconstruct the scaled rows, and learns each feature's typical
    absolute error (its median) on the training rows. A row's outlier score
    is its error per feature over the feature's typical error, averaged over
    the features and the autoencoders as a geometric mean of ``1 + ratio``
    (minus 1): a row is an outlier when it is reconstructed much worse than
    training rows are, whatever the scale of its columns, and more so when
    many of its features are off than when a single one is (the geometric
    mean keeps one feature from outweighing the rest).

    Parameters
    ----------
    autoencoder : estimator, default=None
        The autoencoder to train (cloned): anything with ``fit`` and
        ``reconstruct``, e.g. a ``DenoisingAutoencoder`` or, for images whose
        pixels need no scaling, a ``ConvDenoisingAutoencoder``. None: a small
        ``DenoisingAutoencoder`` sized from X (two hidden layers, a code of
        about a quarter of the features, GELU, squared-error loss, swap
        noise 0.4, batches of a tenth of the rows (32 to 256), learning rate
        0.003, weight decay 0.3 / n_samples, early stopping on a tenth of the
        rows, 100 epochs at most).
    n_estimators : int, default=3
        Autoencoders in the ensemble, trained with different seeds; their
        scores are averaged (steadier than one autoencoder on a few hundred
        rows).
    contamination : "auto" or float, default="auto"
        The share of outliers in the training rows. A float in (0, 0.5]:
        ``offset_`` is that quantile of the training scores, so that this share
        of the training rows is flagged. ``"auto"``: the rows a box plot of the
        training rows' outlier scores draws beyond its upper whisker, scores
        above the third quartile plus 1.5 times the interquartile range
        (Tukey's fences).
    random_state : int, RandomState instance or None, default=None
        Seeds the autoencoders (one seed each, drawn from this).

    Attributes
    ----------
    estimators_ : list of fitted autoencoders
        The ensemble.
    offset_ : float
        ``decision_function = score_samples - offset_``: rows below 0 are
        outliers.
    feature_scales_ : ndarray of shape (n_estimators, `n_features_in_`)
        Each autoencoder's typical (median) absolute error of each feature,
        on the training rows.
    center_, width_ : ndarray of shape (`n_features_in_`,)
        The scaling of the columns: ``(X - center_) / width_``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during ``fit``, when X has string column
        names.

    See Also
    --------
    sklearn.ensemble.IsolationForest : The same contract, with isolation trees.
    DenoisingAutoencoder.score_samples : The reconstruction error of one model.

    Examples
    --------
    >>> import numpy as np
    >>> from skdae import AutoencoderOutlierDetector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 8))  # rows on a 2-d plane
    >>> X[:5] += rng.normal(scale=3.0, size=(5, 8))  # five rows off it
    >>> detector = AutoencoderOutlierDetector(contamination=0.025, random_state=0).fit(X)
    >>> detector.predict(X).shape
    (200,)
    >>> int((detector.predict(X[:5]) == -1).sum()) >= 4
    True
    """

    _parameter_constraints: dict = {
        "autoencoder": [HasMethods(["fit", "reconstruct"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "random_state": ["random_state"],
    }

    def __init__(
        self, autoencoder=None, *, n_estimators=3, contamination="auto", random_state=None
    ):
        self.autoencoder = autoencoder
        self.n_estimators = n_estimators
        self.contamination = contamination
        self.random_state = random_state

    def _default_autoencoder(self, n_samples, n_features):
        code = max(2, n_features // 4)
        return DenoisingAutoencoder(
            hidden_units=(max(16, 2 * n_features), max(8, n_features), code),
            loss="mse",
            noise_type="swap",
            noise_factor=0.4,
            # A fixed budget of about ten steps an epoch: a few seconds on a
            # few thousand rows, and no slower to converge (bench_outliers).
            batch_size=int(min(256, max(32, n_samples // 10))),
            learning_rate=3e-3,
            # A penalty that fades as rows grow, as a prior's weight does: steadies a
            # fit on a hundred rows (bench_outliers' wine, 137 rows: AUC 0.78 -> 0.97
            # on seeds 3-5, one-off runs) and leaves thousands of rows almost free.
            weight_decay=0.3 / n_samples,
            early_stopping=True,
            max_epochs=100,
            monitor=False,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the ensemble on X and set the threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows, outliers among them or not.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted detector.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        if X.shape[0] < 3:
            raise ValueError(
                f"AutoencoderOutlierDetector needs at least 3 rows to learn what is typical, "
                f"got n_samples = {X.shape[0]}."
            )
        low, high = np.percentile(X, [1, 99], axis=0)
        self.center_ = low
        self.width_ = np.where(high > low, high - low, 1.0)
        scaled = self._scale(X)
        template = self.autoencoder
        if template is None:
            template = self._default_autoencoder(*X.shape)
        seeds = check_random_state(self.random_state).randint(
            np.iinfo(np.int32).max, size=self.n_estimators
        )
        self.estimators_, scales = [], []
        for seed in seeds:
            model = clone(template).set_params(random_state=int(seed))
            if model.get_params().get("loss") == "auto":
                model.set_params(loss="mse")  # scaled columns are not bounded to [0, 1]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # a cap, not a failure
                model.fit(scaled)
            errors = self._errors(model, scaled)
            typical = np.median(errors, axis=0)
            scales.append(np.maximum(typical, SCALE_FLOOR * max(typical.mean(), 1e-12)))
            self.estimators_.append(model)
        self.feature_scales_ = np.asarray(scales)
        training = self._scores(scaled)
        if self.contamination == "auto":
            q1, q3 = np.percentile(-training, [25, 75])
            self.offset_ = -float(q3 + AUTO_WHISKER * (q3 - q1))
        else:
            self.offset_ = float(np.percentile(training, 100.0 * self.contamination))
        return self

    def _scale(self, X):
        return ((X - self.center_) / self.width_).astype(X.dtype, copy=False)

    @staticmethod
    def _errors(model, scaled):
        # Absolute, not squared: no single feature's error drowns the others
        # (bench_outliers: higher mean AUC and AP than squared errors).
        return np.abs(model.reconstruct(scaled) - scaled)

    def score_samples(self, X):
        """Return minus each row's outlier score: higher is more normal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Minus the geometric mean, over features and autoencoders, of
            ``1 + e / t``, plus 1, where ``e`` is the absolute reconstruction
            error and ``t`` the feature's typical error on the training rows
            (about -1 for a typical row).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return self._scores(self._scale(X))

    def _scores(self, scaled):
        total = np.zeros(scaled.shape[0])
        for model, scale in zip(self.estimators_, self.feature_scales_, strict=True):
            # A geometric mean (of 1 + ratio): up to the typical error a feature
            # counts about as it is, beyond it each further multiple counts less,
            # so a row off in many features outranks one off in a single feature
            # by a lot (bench_outliers: mean AP +0.02 over the arithmetic mean on
            # two sets of 3 seeds, AUC -0.002).
            total += np.log1p(self._errors(model, scaled) / scale).mean(axis=1)
        return 1.0 - np.exp(total / len(self.estimators_))

    def decision_function(self, X):
        """Return ``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Below 0 for outliers, above 0 for inliers.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Return +1 for inliers and -1 for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            +1 (inlier) or -1 (outlier).
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    # ``save`` (SavedComposite): the ensemble, the scaling, each member's typical
    # errors and the threshold.
    _saved_arrays = ("center_", "width_", "feature_scales_")

    def _saved_members(self):
        return list(self.estimators_)

    _saved_value_keys = ("offset_",)

    def _saved_values(self):
        return {"offset_": float(self.offset_)}

    @classmethod
    def _saved_array_shapes(cls, n_members, n_features, values):
        if not finite_number(values["offset_"]):
            raise ValueError(f"offset_ must be a finite number, got {values['offset_']!r}")
        floats = ("float32", "float64")
        return {
            "center_": ((n_features,), floats),
            "width_": ((n_features,), floats),
            "feature_scales_": ((n_members, n_features), floats),
        }

    def _set_saved(self, members, values):
        if set(values["arrays"]) != set(self._saved_arrays):
            raise ValueError(f"a detector has fitted {sorted(self._saved_arrays)}")
        self.estimators_ = list(members)
        self.offset_ = float(values["offset_"])
