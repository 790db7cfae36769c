"""Missing values: NaN-aware training, and AutoencoderImputer's contract."""

import numpy as np
import pytest
import torch
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline

from skdae import AutoencoderImputer, ConvDenoisingAutoencoder, DenoisingAutoencoder
from skdae._net import DenoisingNet


def _tiny(**params):
    return DenoisingAutoencoder(**{"hidden_units": (8, 4), "max_epochs": 5, **params})


@pytest.fixture(scope="module")
def low_rank():
    """A 300 x 8 table on a 3-d plane, a tenth of its values missing; the mask."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)) @ rng.normal(size=(3, 8))
    holes = rng.random(X.shape) < 0.1
    return X, holes


def test_a_fit_on_rows_with_holes_gives_finite_codes(low_rank):
    X, holes = low_rank
    holed = np.where(holes, np.nan, X)
    model = _tiny(random_state=0).fit(holed)
    assert np.isfinite(model.loss_curve_).all()
    assert np.isfinite(model.transform(holed)).all()
    assert np.isfinite(model.reconstruct(holed)).all()
    assert model.__sklearn_tags__().input_tags.allow_nan


@pytest.mark.parametrize(
    "noise_type", ["gaussian", "masking", "salt_and_pepper", "swap", "conditional"]
)
def test_every_noise_trains_on_holes(low_rank, noise_type):
    X, holes = low_rank
    model = _tiny(noise_type=noise_type, max_epochs=2, random_state=0)
    model.fit(np.where(holes, np.nan, X))
    assert np.isfinite(model.loss_curve_).all()


def test_the_loss_counts_observed_values_only():
    net = DenoisingNet(
        torch.nn.Linear,
        module__in_features=2,
        module__out_features=2,
        criterion=torch.nn.MSELoss,
        missing=True,
    )
    net.initialize()
    target = torch.tensor([[1.0, float("nan")], [3.0, 4.0]])
    prediction = torch.tensor([[2.0, 100.0], [3.0, 2.0]])
    # (1 + 4) / 3 observed values; the hole's 100 counts nothing
    assert float(net.get_loss(prediction, target)) == pytest.approx(5 / 3)


def test_score_samples_compares_the_observed_values_only(low_rank):
    X, holes = low_rank
    holed = np.where(holes, np.nan, X)
    model = _tiny(random_state=0).fit(holed)
    reconstruction = model.reconstruct(holed)
    expected = -np.sqrt(np.nanmean((reconstruction - holed) ** 2, axis=1))
    np.testing.assert_allclose(model.score_samples(holed), expected, rtol=1e-5)
    assert np.isfinite(model.score(holed))


def test_partial_fit_and_a_warm_start_take_holes(low_rank):
    X, holes = low_rank
    model = _tiny(random_state=0).partial_fit(X)  # complete first, holes after
    model.partial_fit(np.where(holes, np.nan, X))
    assert np.isfinite(model.loss_curve_).all()
    model.set_params(warm_start=True, max_epochs=2).fit(np.where(holes, np.nan, X))
    assert model.n_iter_ == 4


def test_the_conv_autoencoder_takes_holes():
    rng = np.random.default_rng(0)
    X = rng.random((40, 64))
    X[rng.random(X.shape) < 0.2] = np.nan
    model = ConvDenoisingAutoencoder(channels=(3, 4), code_size=2, max_epochs=2, random_state=0)
    assert np.isfinite(model.fit(X).transform(X)).all()


def test_infinity_and_a_table_of_holes_are_refused_early(low_rank):
    X, _ = low_rank
    with pytest.raises(ValueError, match="infinity"):
        _tiny().fit(np.where(X > 2, np.inf, X))
    with pytest.raises(ValueError, match="every value is NaN"):
        _tiny().fit(np.full_like(X, np.nan))


# ---------------------------------------------------------------- the imputer
def test_the_imputer_fills_holes_and_keeps_observed_values(low_rank):
    X, holes = low_rank
    imputer = AutoencoderImputer(random_state=0)  # its default network: a few seconds here
    filled = imputer.fit_transform(np.where(holes, np.nan, X))
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~holes], X[~holes])
    # better than each column's mean: the autoencoder uses the other values of the row
    mean = SimpleImputer().fit_transform(np.where(holes, np.nan, X))
    assert np.abs(filled - X)[holes].mean() < 0.8 * np.abs(mean - X)[holes].mean()


def test_new_rows_are_filled_with_the_fitted_model(low_rank):
    X, holes = low_rank
    imputer = AutoencoderImputer(_tiny(), random_state=0).fit(np.where(holes, np.nan, X))
    new = X[:5].copy()
    new[:, 0] = np.nan
    filled = imputer.transform(new)
    np.testing.assert_array_equal(filled[:, 1:], X[:5, 1:])
    assert np.isfinite(filled).all()
    again = AutoencoderImputer(_tiny(), random_state=0).fit(np.where(holes, np.nan, X))
    np.testing.assert_array_equal(again.transform(new), filled)


def test_a_placeholder_other_than_nan(low_rank):
    X, holes = low_rank
    X = np.round(np.abs(X) * 10)  # counts, -1 for a missing one
    imputer = AutoencoderImputer(_tiny(), missing_values=-1, random_state=0)
    filled = imputer.fit_transform(np.where(holes, -1, X))
    assert (filled[holes] != -1).all()
    np.testing.assert_array_equal(filled[~holes], X[~holes])


def test_indicator_and_empty_features_follow_simple_imputer(low_rank):
    X, holes = low_rank
    holed = np.where(holes, np.nan, X)
    holed[:, 2] = np.nan  # no observed value
    ours = AutoencoderImputer(_tiny(), add_indicator=True, random_state=0).fit(holed)
    theirs = SimpleImputer(add_indicator=True).fit(holed)
    with pytest.warns(UserWarning, match="Skipping features without any observed values"):
        expected = theirs.transform(holed)  # it says so; we drop the column as quietly as
    assert ours.transform(holed).shape == expected.shape  # IterativeImputer does
    np.testing.assert_array_equal(ours.get_feature_names_out(), theirs.get_feature_names_out())
    kept = AutoencoderImputer(_tiny(), keep_empty_features=True, random_state=0)
    filled = kept.fit_transform(holed)
    assert filled.shape == X.shape
    assert (filled[:, 2] == 0).all()


def test_pandas_output_with_the_column_names():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    frame.iloc[::7, 1] = np.nan
    imputer = AutoencoderImputer(_tiny(max_epochs=2), random_state=0).set_output(transform="pandas")
    out = imputer.fit_transform(frame)
    assert list(out.columns) == ["a", "b", "c"]
    assert not out.isna().any().any()


def test_in_a_pipeline_under_cross_validation_and_grid_search():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(120, 6))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    X[rng.random(X.shape) < 0.15] = np.nan
    pipe = make_pipeline(
        AutoencoderImputer(_tiny(max_epochs=2), random_state=0), LogisticRegression()
    )
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.6
    search = GridSearchCV(
        pipe, {"autoencoderimputer__autoencoder__hidden_units": [(4, 2), (8, 4)]}, cv=2
    ).fit(X, y)
    assert search.best_params_["autoencoderimputer__autoencoder__hidden_units"] in [(4, 2), (8, 4)]


def test_a_value_given_later_in_a_column_empty_at_fit_is_kept(low_rank):
    X, holes = low_rank
    holed = np.where(holes, np.nan, X)
    holed[:, 2] = np.nan
    imputer = AutoencoderImputer(_tiny(), keep_empty_features=True, random_state=0).fit(holed)
    new = X[:4].copy()
    filled = imputer.transform(new)
    np.testing.assert_array_equal(filled, new)  # observed everywhere: nothing changes


def test_assume_finite_still_treats_nan_as_holes(low_rank):
    import sklearn

    X, holes = low_rank
    holed = np.where(holes, np.nan, X)
    with sklearn.config_context(assume_finite=True):
        model = _tiny(random_state=0).fit(holed)
        assert np.isfinite(model.transform(holed)).all()
        assert np.isfinite(model.score_samples(holed)).all()
