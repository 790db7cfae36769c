"""Conditional noise (a Gaussian's guesses of hidden values) and the residual network."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.impute import SimpleImputer

from skdae import AutoencoderImputer, DenoisingAutoencoder
from skdae import _gaussian as gaussian
from skdae._gaussian import conditional_mean, fit_gaussian
from skdae._modules import MLPAutoencoder
from skdae._noise import ConditionalNoise, MaskingNoise


def _covariance(d, seed=0):
    factor = torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return factor @ factor.T / d + 0.1 * torch.eye(d, dtype=torch.float64)


def test_the_conditional_mean_is_the_textbook_formula():
    covariance, mean = _covariance(5), torch.arange(5.0, dtype=torch.float64)
    x = torch.tensor([[0.5, -1.0, 2.0, 0.0, 3.0], [1.0, 1.0, 1.0, 1.0, 1.0]], dtype=torch.float64)
    visible = torch.tensor([[True, False, True, False, True], [False] * 5])
    filled = conditional_mean(x, visible, mean, covariance)
    o, h = [0, 2, 4], [1, 3]
    C, m = covariance.numpy(), mean.numpy()
    expected = m[h] + C[np.ix_(h, o)] @ np.linalg.solve(C[np.ix_(o, o)], x[0, o].numpy() - m[o])
    np.testing.assert_allclose(filled[0, h].numpy(), expected, rtol=1e-10)
    assert torch.equal(filled[0, o], x[0, o])  # the visible values as they are
    np.testing.assert_allclose(filled[1].numpy(), m)  # nothing visible: the mean


def test_rows_solved_in_chunks_give_the_same_answer(monkeypatch):
    rng = torch.Generator().manual_seed(0)
    x = torch.randn(50, 4, generator=rng, dtype=torch.float64)
    visible = torch.rand(50, 4, generator=rng) < 0.6
    covariance, mean = _covariance(4), torch.zeros(4, dtype=torch.float64)
    whole = conditional_mean(x, visible, mean, covariance)
    monkeypatch.setattr(gaussian, "SOLVE_VALUES", 16 * 7)  # 7 rows a chunk
    torch.testing.assert_close(conditional_mean(x, visible, mean, covariance), whole)


def test_em_recovers_the_covariance_that_mean_filling_shrinks():
    rng = np.random.default_rng(0)
    truth = np.array([[1.0, 0.8, 0.0], [0.8, 1.0, 0.5], [0.0, 0.5, 1.0]])
    X = rng.multivariate_normal([1.0, -2.0, 0.5], truth, size=4000)
    holed = X.copy()
    holed[rng.random(X.shape) < 0.3] = np.nan
    mean, covariance = fit_gaussian(torch.tensor(holed))
    np.testing.assert_allclose(mean.numpy(), [1.0, -2.0, 0.5], atol=0.06)
    np.testing.assert_allclose(covariance.numpy(), truth, atol=0.06)
    mean_filled = np.cov(SimpleImputer().fit_transform(holed), rowvar=False)
    assert abs(mean_filled[0, 1] - 0.8) > 0.2  # what EM is for


def test_complete_rows_give_the_sample_moments_and_a_small_ridge():
    X = torch.randn(500, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    mean, covariance = fit_gaussian(X)
    sample = torch.cov(X.T, correction=0)
    torch.testing.assert_close(mean, X.mean(0))
    ridge = gaussian.RIDGE * torch.diag(sample.diagonal())
    torch.testing.assert_close(covariance, sample + ridge)


def test_conditional_noise_hides_its_share_and_guesses_from_the_rest():
    # Two copies of one column: a hidden value's guess is its copy (up to the ridge).
    column = torch.randn(4000, 1, generator=torch.Generator().manual_seed(0))
    X = torch.cat([column, column], 1)
    noise = ConditionalNoise(0.3, **ConditionalNoise.statistics(X))
    noisy = noise(X, torch.Generator().manual_seed(1))
    changed = ~torch.isclose(noisy, X, atol=1e-6)
    assert 0.2 < float(changed.float().mean()) < 0.3  # both hidden: the mean, 0.09 of rows
    one_hidden = changed.sum(1) == 1
    torch.testing.assert_close(noisy[one_hidden, 0], noisy[one_hidden, 1], atol=0.02, rtol=0.0)
    holed = X.clone()
    holed[::2, 0] = torch.nan
    filled = noise.fill(holed)
    torch.testing.assert_close(filled[::2, 0], X[::2, 1], atol=0.02, rtol=0.0)
    assert torch.equal(filled[1::2], X[1::2])


def test_validation_rows_are_hidden_the_same_way_every_epoch():
    X = torch.randn(64, 3, generator=torch.Generator().manual_seed(0))
    noise = ConditionalNoise(0.3, **ConditionalNoise.statistics(X))
    first = noise.validation_input(X, missing=False)
    assert not torch.equal(first, X)  # early stopping watches the guesses
    assert torch.equal(noise.validation_input(X, missing=False), first)
    assert torch.equal(MaskingNoise(0.3).validation_input(X, missing=False), X)


def test_too_many_features_or_sparse_rows_are_refused_before_training():
    wide = np.random.default_rng(0).normal(size=(20, ConditionalNoise.MAX_FEATURES + 1))
    dae = DenoisingAutoencoder((4,), noise_type="conditional", loss="mse", max_epochs=1)
    with pytest.raises(ValueError, match="at most 256 features"):
        dae.fit(wide)
    with pytest.raises(ValueError, match="dense data"):
        dae.fit(sp.random(30, 5, density=0.5, format="csr", random_state=0))
    assert not hasattr(dae, "net_")


def test_an_untrained_residual_module_returns_its_input():
    x = torch.randn(6, 5)
    torch.testing.assert_close(MLPAutoencoder(5, (8, 3), residual=True)(x), x)
    assert not torch.allclose(MLPAutoencoder(5, (8, 3))(x), x)


def test_residual_needs_mse_on_numbers_and_has_no_inverse_transform():
    X = np.random.default_rng(0).normal(size=(60, 4))
    with pytest.raises(ValueError, match="loss='mse'"):
        DenoisingAutoencoder((4,), residual=True, max_epochs=1).fit(X)
    dae = DenoisingAutoencoder((4,), residual=True, loss="mse", max_epochs=2, random_state=0)
    assert not hasattr(dae.fit(X), "inverse_transform")  # a code alone decides nothing
    assert not hasattr(dae.set_params(residual=False), "inverse_transform")  # fitted so
    assert dae.fitted_model_.spec["residual"] is True
    with pytest.raises(ValueError, match="residual"):
        dae.set_params(warm_start=True).fit(X)  # a warm start cannot drop the residual


def test_the_default_imputer_guesses_from_a_gaussian_and_refines_it():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3)) @ rng.normal(size=(3, 8))  # rows on a 3-d plane
    holes = rng.random(X.shape) < 0.2
    holed = np.where(holes, np.nan, X)
    imputer = AutoencoderImputer(random_state=0).fit(holed)
    model = imputer.autoencoder_
    assert isinstance(model.net_.corruption, ConditionalNoise) and model.residual
    filled = imputer.transform(holed)
    error = np.sqrt(np.mean((filled - X)[holes] ** 2))
    mean_error = np.sqrt(np.mean((SimpleImputer().fit_transform(holed) - X)[holes] ** 2))
    assert error < 0.1 * mean_error  # a plane: the visible values give the hidden ones


def test_a_column_with_no_observed_value_stays_out_of_em():
    X = torch.randn(300, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    X[:, 1] = torch.nan
    mean, covariance = fit_gaussian(X)
    assert float(mean[1]) == 0.0 and float(covariance[1, 1]) == 1.0
    assert float(covariance[0, 1]) == 0.0 and float(covariance[1, 2]) == 0.0
    complete = fit_gaussian(X[:, [0, 2]])
    torch.testing.assert_close(mean[[0, 2]], complete[0])
    torch.testing.assert_close(covariance[[0, 2]][:, [0, 2]], complete[1])


@pytest.mark.parametrize("placement", ["device", "stream"])
def test_warm_starts_streamed_rows_and_float64_keep_one_gaussian(placement):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 6))
    holed = np.where(rng.random(X.shape) < 0.2, np.nan, X)
    params = dict(noise_type="conditional", noise_factor=0.25, residual=True, loss="mse")
    dae = DenoisingAutoencoder((8, 4), max_epochs=2, data_placement=placement, random_state=0)
    dae.set_params(**params).fit(holed)
    gaussian_ = {k: v.clone() for k, v in dae.net_.corruption.tensors.items()}
    dae.set_params(warm_start=True).fit(holed)  # the same noise: its Gaussian kept
    dae.partial_fit(holed)
    for key, value in dae.net_.corruption.tensors.items():
        assert torch.equal(value, gaussian_[key])
    as64 = dae.reconstruct(holed)
    assert as64.dtype == np.float64 and np.isfinite(as64).all()
    np.testing.assert_allclose(dae.reconstruct(holed.astype(np.float32)), as64, atol=1e-4)


def test_the_conv_autoencoder_guesses_the_pixels_it_hides():
    from skdae import ConvDenoisingAutoencoder

    images = np.random.default_rng(0).random((64, 36))
    images[::5, :4] = np.nan
    conv = ConvDenoisingAutoencoder(
        channels=(2,),
        code_size=3,
        noise_type="conditional",
        noise_factor=0.2,
        loss="mse",
        max_epochs=2,
        random_state=0,
    ).fit(images)
    assert conv.net_.corruption.tensors["covariance"].shape == (36, 36)
    assert np.isfinite(conv.transform(images)).all()
