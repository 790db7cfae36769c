"""AutoencoderOutlierDetector: IsolationForest's contract around an ensemble of autoencoders."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV

from skdae import AutoencoderOutlierDetector, ConvDenoisingAutoencoder, DenoisingAutoencoder


def _tiny(**params):
    return DenoisingAutoencoder(**{"hidden_units": (8, 3), "max_epochs": 30, **params})


@pytest.fixture(scope="module")
def planted():
    """Rows on a 3-d plane in 10-d space, 12 of 300 pushed off it; the outliers' mask."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)) @ rng.normal(size=(3, 10))
    outlier = np.zeros(300, dtype=bool)
    outlier[rng.choice(300, 12, replace=False)] = True
    X[outlier] += rng.normal(scale=2.0, size=(12, 10))
    return X, outlier


def test_the_contract_is_isolation_forests(planted):
    X, _ = planted
    detector = AutoencoderOutlierDetector(_tiny(), n_estimators=2, random_state=0).fit(X)
    scores = detector.score_samples(X)
    np.testing.assert_allclose(detector.decision_function(X), scores - detector.offset_)
    labels = detector.predict(X)
    assert set(np.unique(labels)) == {-1, 1}
    np.testing.assert_array_equal(labels == -1, detector.decision_function(X) < 0)
    again = AutoencoderOutlierDetector(_tiny(), n_estimators=2, random_state=0)
    np.testing.assert_array_equal(again.fit_predict(X), labels)


def test_the_planted_outliers_score_lowest(planted):
    X, outlier = planted
    detector = AutoencoderOutlierDetector(_tiny(), n_estimators=2, random_state=0).fit(X)
    assert roc_auc_score(outlier, -detector.score_samples(X)) > 0.95


@pytest.mark.parametrize("share", [0.04, 0.1])
def test_a_float_contamination_flags_that_share_of_the_training_rows(planted, share):
    X, _ = planted
    detector = AutoencoderOutlierDetector(_tiny(), n_estimators=1, contamination=share)
    flagged = (detector.fit(X).predict(X) == -1).mean()
    assert flagged == pytest.approx(share, abs=1 / len(X))


def test_auto_flags_the_rows_beyond_a_box_plots_whisker(planted):
    X, outlier = planted
    model = _tiny(learning_rate=3e-3)  # the default autoencoder's rate: 30 epochs are enough
    detector = AutoencoderOutlierDetector(model, n_estimators=2, random_state=0).fit(X)
    errors = -detector.score_samples(X)
    q1, q3 = np.percentile(errors, [25, 75])
    np.testing.assert_array_equal(detector.predict(X) == -1, errors > q3 + 1.5 * (q3 - q1))
    assert (detector.predict(X[outlier]) == -1).mean() > 0.8  # most planted rows flagged


def test_columns_on_their_own_scales_are_its_job(planted):
    # A column in other units (x1000, shifted) leaves every score as it was: each column is
    # scaled to its own training range before the autoencoders see it.
    X, _ = planted
    rescaled = X.copy()
    rescaled[:, 4] = rescaled[:, 4] * 1000 + 50
    params = dict(n_estimators=1, random_state=0)
    first = AutoencoderOutlierDetector(_tiny(), **params).fit(X).score_samples(X)
    second = AutoencoderOutlierDetector(_tiny(), **params).fit(rescaled).score_samples(rescaled)
    np.testing.assert_allclose(first, second, rtol=1e-4)


def test_grid_search_reaches_the_autoencoders_parameters(planted):
    X, outlier = planted
    search = GridSearchCV(
        AutoencoderOutlierDetector(_tiny(max_epochs=5), n_estimators=1, random_state=0),
        {"autoencoder__hidden_units": [(8, 2), (8, 3)]},
        scoring=lambda est, X, y: roc_auc_score(y, -est.score_samples(X)),
        cv=2,
    ).fit(X, outlier)
    assert search.best_params_["autoencoder__hidden_units"] in [(8, 2), (8, 3)]
    assert search.best_estimator_.estimators_[0].hidden_units in [(8, 2), (8, 3)]


def test_a_conv_autoencoder_detects_outlier_images(digits):
    X, y = digits
    X = np.vstack([X[y == 1][:150], X[y == 0][:8]])  # ones, and eight zeros among them
    is_zero = np.r_[np.zeros(150), np.ones(8)]
    conv = ConvDenoisingAutoencoder(channels=(4,), code_size=4, max_epochs=15)
    detector = AutoencoderOutlierDetector(conv, n_estimators=1, random_state=0).fit(X)
    assert roc_auc_score(is_zero, -detector.score_samples(X)) > 0.8


def test_the_default_autoencoder_is_sized_from_x(planted):
    X, _ = planted
    detector = AutoencoderOutlierDetector(n_estimators=1, random_state=0).fit(X[:120])
    (model,) = detector.estimators_
    assert model.hidden_units == (20, 10, 2) and model.loss_function_ == "mse"
    assert detector.autoencoder is None  # the parameter untouched


def test_too_few_rows_are_refused_clearly():
    with pytest.raises(ValueError, match="at least 3 rows"):
        AutoencoderOutlierDetector(_tiny()).fit(np.zeros((2, 4)))


class _MedianModel(BaseEstimator):
    """Reconstructs every row as the training rows' median: errors we can compute by hand."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y=None):
        self.median_ = np.median(X, axis=0)
        return self

    def reconstruct(self, X):
        return np.broadcast_to(self.median_, X.shape).copy()


def test_a_row_off_in_every_feature_outranks_one_off_in_a_single_feature():
    # Ratios to each feature's typical error: 3 in all four features, or 13 in one. An
    # arithmetic mean ranks the second higher (3.25 > 3), the geometric mean of
    # 1 + ratio the first (3 > 14 ** 0.25 - 1 = 0.93): many features off is the outlier.
    X = np.random.default_rng(0).normal(size=(400, 4))
    detector = AutoencoderOutlierDetector(_MedianModel(), n_estimators=1).fit(X)
    median, typical = detector.estimators_[0].median_, detector.feature_scales_[0]
    everywhere = median + 3 * typical
    single = median.copy()
    single[0] += 13 * typical[0]
    rows = np.vstack([everywhere, single]) * detector.width_ + detector.center_
    scores = detector.score_samples(rows)
    np.testing.assert_allclose(-scores, [3.0, 14**0.25 - 1], rtol=1e-6)
    assert scores[0] < scores[1]
