"""Scores for choosing an autoencoder without labels.

``estimator.score(X)`` is minus the RMSE of the reconstruction of clean rows;
it prefers models trained with little noise, so a search over ``noise_factor``
that selects on it always picks the least. ``denoising_score`` instead
corrupts X once, with a corruption fixed by the scorer (not by the model), and
measures how well the model restores the clean rows: the same test for every
candidate, whatever noise each was trained with.
"""

import numpy as np
import scipy.sparse as sp
import torch

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
    noise_type : {"gaussian", "masking", "salt_and_pepper", "swap"}, default="gaussian"
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

    model = estimator
    if hasattr(estimator, "steps"):  # a Pipeline: corrupt what the autoencoder sees
        if len(estimator.steps) > 1:
            X = estimator[:-1].transform(X)
        model = estimator.steps[-1][1]
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    # Any numeric dtype scores as its float32 values would: the noisy copy must not be
    # cast back to an integer dtype (negative values would wrap) or to float16.
    if X.dtype != np.float64:
        X = X.astype(np.float32)
    clean = torch.as_tensor(X, dtype=torch.float32)
    corruption = make_corruption(
        noise_type,
        noise_factor,
        bounded=model.loss_function_ == "bce",
        X=clean,
    )
    noisy = (
        clean
        if corruption is None
        else corruption(clean, torch.Generator().manual_seed(random_state))
    )
    restored = model.reconstruct(noisy.numpy().astype(X.dtype, copy=False))
    return -float(np.sqrt(np.mean((restored - X) ** 2, dtype=np.float64)))


def make_denoising_scorer(*, noise_type="gaussian", noise_factor=0.5, random_state=0):
    """A scorer for ``GridSearchCV(scoring=...)``: ``denoising_score`` with these settings.

    Parameters
    ----------
    noise_type : {"gaussian", "masking", "salt_and_pepper", "swap"}, default="gaussian"
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
