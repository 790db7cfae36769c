"""Scores for choosing an autoencoder, without labels and with them.

``estimator.score(X)`` is minus the RMSE of the reconstruction of clean rows;
it prefers models trained with little noise, so a search over ``noise_factor``
that selects on it always picks the least. ``denoising_score`` instead
corrupts X once, with a corruption fixed by the scorer (not by the model), and
measures how well the model restores the clean rows: the same test for every
candidate, whatever noise each was trained with (``corrupted_copy`` is that
copy). ``probe_accuracy`` measures the codes with labels: a linear probe.
"""

import copy

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ._noise import make_corruption


def denoising_score(estimator, X, *, noise_type="gaussian", noise_factor=0.5, random_state=0):
    """Return minus the RMSE between X and the model's reconstruction of a corrupted X.

    Parameters
    ----------
    estimator : fitted skdae estimator, or a Pipeline ending in one
        For a pipeline, X goes through the steps before the autoencoder
        first, and is corrupted where the autoencoder sees it.
    X : array-like of shape (n_samples, n_features)
        The clean rows: the score compares them with the reconstruction of
        their corrupted copy.
    noise_type : {"gaussian", "masking", "salt_and_pepper", "swap", "conditional"}, \
default="gaussian"
        The corruption of the copy.
    noise_factor : float, default=0.5
        As the estimators' parameters of the same names; for data in [0, 1]
        (``loss_function_ == "bce"``) Gaussian noise is clipped, else it is
        scaled by each feature's standard deviation in X.
    random_state : int, default=0
        Seeds the corruption: the same corrupted copy for every candidate.

    Returns
    -------
    score : float
        Higher is better; 0 is a perfect restoration.

    See Also
    --------
    make_denoising_scorer : This score as a scorer for ``GridSearchCV``.
    skdae.DenoisingAutoencoder.score : Minus the RMSE of the reconstruction of clean rows.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdae import DenoisingAutoencoder
    >>> from skdae.metrics import denoising_score
    >>> X = load_digits().data / 16.0
    >>> dae = DenoisingAutoencoder((32, 8), max_epochs=2, random_state=0).fit(X)
    >>> bool(-1 < denoising_score(dae, X) < 0)
    True
    """

    model, X = _autoencoder_and_input(estimator, X)
    noisy = corrupted_copy(
        model, X, noise_type=noise_type, noise_factor=noise_factor, random_state=random_state
    )
    restored = model.reconstruct(noisy)
    return -float(np.sqrt(np.mean((restored - X) ** 2, dtype=np.float64)))


def _refuse_tables(model):
    record = getattr(model, "fitted_model_", None)
    if record is not None and record.table is not None:
        raise ValueError(
            "the denoising scores corrupt a numeric matrix; this model was fitted on a mixed "
            "table (categorical_features). Score it with its own score(X), or compare the "
            "codes' use downstream."
        )


def _autoencoder_and_input(estimator, X):
    """The autoencoder of ``estimator`` (itself, or a Pipeline's last step) and X as it
    sees it, as float32 (float64 stays float64): any numeric dtype scores as its float32
    values would (a noisy copy cast back to uint8 would wrap its negative values)."""
    model = estimator
    if hasattr(estimator, "steps"):  # a Pipeline: corrupt what the autoencoder sees
        if len(estimator.steps) > 1:
            X = estimator[:-1].transform(X)
        model = estimator.steps[-1][1]
    _refuse_tables(model)
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    return model, X if X.dtype == np.float64 else X.astype(np.float32)


def corrupted_copy(estimator, X, *, noise_type="gaussian", noise_factor=0.5, random_state=0):
    """Return X corrupted once, as ``denoising_score`` corrupts it.

    Parameters
    ----------
    estimator : fitted skdae estimator
        Its ``loss_function_`` says whether X is in [0, 1] (bce: Gaussian noise
        clipped, salt and pepper at 0 and 1) or not (noise scaled by each
        feature's standard deviation in X).
    X : array-like of shape (n_samples, n_features)
        The clean rows.
    noise_type : {"gaussian", "masking", "salt_and_pepper", "swap", "conditional"} or None, \
default="gaussian"
        The corruption. None: the noise the estimator was trained with, with
        the statistics it learned from its training rows (``noise_factor`` is
        then ignored).
    noise_factor : float, default=0.5
        Its strength, as the estimators' parameter of that name.
    random_state : int, default=0
        Seeds the corruption.

    Returns
    -------
    X_noisy : ndarray of shape (n_samples, n_features)
        In X's float dtype (float32 for other dtypes).

    See Also
    --------
    denoising_score : How well a model restores X from this copy.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdae import DenoisingAutoencoder
    >>> from skdae.metrics import corrupted_copy
    >>> X = load_digits().data / 16.0
    >>> dae = DenoisingAutoencoder((32, 8), max_epochs=1, random_state=0).fit(X)
    >>> noisy = corrupted_copy(dae, X, noise_factor=0.5)
    >>> noisy.shape, bool(noisy.min() >= 0 and noisy.max() <= 1)  # clipped: bce data
    ((1797, 64), True)
    """
    _refuse_tables(estimator)
    X = np.asarray(X)
    dtype = X.dtype if X.dtype == np.float64 else np.float32
    clean = torch.as_tensor(X, dtype=torch.float32)
    if noise_type is None:  # the model's own, statistics included
        corruption = estimator.net_.corruption
        corruption = None if corruption is None else copy.copy(corruption).to("cpu")
    else:
        bounded = estimator.loss_function_ == "bce"
        corruption = make_corruption(noise_type, noise_factor, bounded=bounded, X=clean)
    if corruption is None:
        return X.astype(dtype)
    noisy = corruption(clean, torch.Generator().manual_seed(random_state))
    return noisy.numpy().astype(dtype, copy=False)


def probe_accuracy(estimator, X_train, y_train, X_test, y_test):
    """Return the test accuracy of a logistic regression on the estimator's codes.

    A linear probe: ``StandardScaler`` and ``LogisticRegression`` fitted on the
    codes of the training rows, scored on those of the test rows. It measures
    how much of the labels' information the features carry, linearly.

    Parameters
    ----------
    estimator : fitted transformer or None
        Gives the codes (``transform``); None probes the rows themselves.
    X_train : array-like of shape (n_samples, n_features)
        Training rows.
    y_train : array-like of shape (n_samples,)
        Their labels.
    X_test : array-like of shape (n_test, n_features)
        Test rows.
    y_test : array-like of shape (n_test,)
        Their labels.

    Returns
    -------
    accuracy : float
        The probe's accuracy on the test rows.

    See Also
    --------
    denoising_score : A score that needs no labels.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdae import DenoisingAutoencoder
    >>> from skdae.metrics import probe_accuracy
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> dae = DenoisingAutoencoder((32, 8), max_epochs=2, random_state=0).fit(X[:1000])
    >>> 0.5 < probe_accuracy(dae, X[:1000], y[:1000], X[1000:], y[1000:]) <= 1
    True
    """
    if estimator is not None:
        X_train, X_test = estimator.transform(X_train), estimator.transform(X_test)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return float(probe.fit(X_train, y_train).score(X_test, y_test))


def make_denoising_scorer(*, noise_type="gaussian", noise_factor=0.5, random_state=0):
    """A scorer for ``GridSearchCV(scoring=...)``: ``denoising_score`` with these settings.

    Parameters
    ----------
    noise_type : {"gaussian", "masking", "salt_and_pepper", "swap", "conditional"}, \
default="gaussian"
        The corruption of the held-out rows, as in ``denoising_score``.
    noise_factor : float, default=0.5
        Its strength, as in ``denoising_score``.
    random_state : int, default=0
        Seeds the corruption: the same corrupted copy for every candidate.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None) -> float``.

    See Also
    --------
    denoising_score : The score it computes.
    sklearn.model_selection.GridSearchCV : Takes it as ``scoring``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skdae import DenoisingAutoencoder
    >>> from skdae.metrics import make_denoising_scorer
    >>> X = load_digits().data / 16.0
    >>> search = GridSearchCV(
    ...     DenoisingAutoencoder((32, 8), max_epochs=2, random_state=0),
    ...     {"noise_factor": [0.0, 0.5]},
    ...     scoring=make_denoising_scorer(noise_factor=0.5),
    ...     cv=2,
    ... ).fit(X)
    >>> search.best_params_["noise_factor"] in (0.0, 0.5), bool(search.best_score_ < 0)
    (True, True)
    """

    def scorer(estimator, X, y=None):
        return denoising_score(
            estimator,
            X,
            noise_type=noise_type,
            noise_factor=noise_factor,
            random_state=random_state,
        )

    return scorer
