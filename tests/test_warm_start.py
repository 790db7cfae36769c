"""What a warm start (and partial_fit) takes from the current parameters, and what it refuses."""

import warnings

import numpy as np
import pytest

from skdae import ConvDenoisingAutoencoder, DenoisingAutoencoder
from skdae._noise import GaussianNoise, MaskingNoise


@pytest.fixture
def warm(digits):
    """A fitted warm-start estimator (2 epochs, constant learning rate) and its data."""
    X, _ = digits
    dae = DenoisingAutoencoder(
        (16, 4), max_epochs=2, batch_size=100, lr_decay_rate=1.0, warm_start=True, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 2 epochs do not converge
        dae.fit(X)
    return dae, X


def _fit(dae, X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dae.set_params(**params).fit(X)


def test_a_warm_start_takes_the_current_learning_rate_and_weight_decay(warm):
    dae, X = warm
    _fit(dae, X, learning_rate=0.01, weight_decay=0.5, max_epochs=1)
    assert dae.history_[-1]["lr"] == pytest.approx(0.01)
    assert dae.history_[-3]["lr"] == pytest.approx(1e-3)
    decays = {g["weight_decay"] for g in dae.net_.optimizer_.param_groups}
    assert decays == {0.5, 0.0}  # the weights' and the biases' (never decayed)


def test_a_warm_start_keeps_adams_moments(warm):
    dae, X = warm
    weight = dae.net_.module_.encoder[0].weight
    steps = dae.net_.optimizer_.state[weight]["step"].item()
    _fit(dae, X, learning_rate=0.01, max_epochs=1)
    weight = dae.net_.module_.encoder[0].weight
    assert dae.net_.optimizer_.state[weight]["step"].item() == steps + 18  # 18 batches


def test_a_warm_start_takes_the_current_noise(warm):
    dae, X = warm
    assert isinstance(dae.net_.corruption, GaussianNoise)
    _fit(dae, X, noise_type="masking", noise_factor=0.25, max_epochs=1)
    assert isinstance(dae.net_.corruption, MaskingNoise)
    assert dae.net_.corruption.noise_factor == 0.25
    _fit(dae, X, noise_factor=0.0, max_epochs=1)
    assert dae.net_.corruption is None


def test_partial_fit_keeps_the_learned_noise_scale_while_the_noise_is_unchanged():
    rng = np.random.default_rng(0)
    first, second = rng.normal(0, 1, (200, 5)), rng.normal(0, 10, (200, 5))
    dae = DenoisingAutoencoder((4,), loss="mse", random_state=0).partial_fit(first)
    scale = dae.net_.corruption.scale.clone()
    dae.partial_fit(second)  # a chunk of another spread: the scale stays the first fit's
    np.testing.assert_array_equal(dae.net_.corruption.scale, scale)
    dae.set_params(noise_factor=0.3).partial_fit(second)  # new noise: learned from this chunk
    np.testing.assert_allclose(dae.net_.corruption.scale, second.std(axis=0), rtol=1e-4)


def test_a_warm_start_takes_early_stopping_monitor_and_callbacks(warm, epoch_counter):
    dae, X = warm
    _fit(dae, X, early_stopping=True, monitor=False, callbacks=[epoch_counter], max_epochs=2)
    assert epoch_counter.epochs_ == 2
    assert "valid_loss" in dae.history_[-1] and "valid_loss" not in dae.history_[1]
    assert "grad_norm" not in dae.history_[-1] and "grad_norm" in dae.history_[1]


def test_a_warm_start_honours_max_epochs_and_batch_size(warm):
    dae, X = warm
    _fit(dae, X, batch_size=600, max_epochs=3)
    assert dae.n_iter_ == 5
    assert dae.history_[-1]["train_batch_count"] == 3  # 1797 rows in batches of 600


@pytest.mark.parametrize(
    ("params", "names"),
    [
        (dict(hidden_units=(16, 8)), "hidden_units"),
        (dict(activation="relu"), "activation"),
        (dict(dropout=0.2), "dropout"),
        (dict(code_activation="linear"), "code_activation"),
        (dict(batch_norm=True), "batch_norm"),
    ],
)
def test_a_warm_start_refuses_another_network(warm, params, names):
    dae, X = warm
    before = dae.transform(X)
    with pytest.raises(ValueError, match=f"warm start: the fitted network has {names}="):
        dae.set_params(**params).fit(X)
    assert dae.n_iter_ == 2
    np.testing.assert_array_equal(dae.transform(X), before)


def test_a_warm_start_refuses_another_loss(warm):
    dae, X = warm
    with pytest.raises(ValueError, match="trained with loss='bce'"):
        dae.set_params(loss="mse").fit(X)
    assert dae.n_iter_ == 2
    _fit(dae, X, loss="bce", max_epochs=1)  # the loss it has: fine
    assert dae.n_iter_ == 3


@pytest.mark.parametrize(
    ("params", "names"),
    [
        (dict(channels=(8,)), r"channels=\(4,\)"),
        (dict(code_size=5), "code_size=3"),
        (dict(kernel_size=5), "kernel_size=3"),
        (dict(downsampling="maxpool"), "downsampling='stride'"),
        (dict(image_shape=(4, 16)), r"image_shape=\(1, 8, 8\)"),
    ],
)
def test_a_conv_warm_start_refuses_another_network(digits, params, names):
    X, _ = digits
    dae = ConvDenoisingAutoencoder(
        channels=(4,), code_size=3, max_epochs=1, warm_start=True, random_state=0
    )
    _fit(dae, X[:200])
    with pytest.raises(ValueError, match=f"warm start: the fitted network has {names}"):
        dae.set_params(**params).fit(X[:200])
    same = ConvDenoisingAutoencoder(channels=[4], code_size=3, max_epochs=1, random_state=0)
    dae.set_params(**same.get_params())
    _fit(dae, X[:200], warm_start=True, learning_rate=0.01)  # the same network, as a list
    assert dae.n_iter_ == 2


def test_a_warm_start_takes_a_new_dropout_probability(digits):
    from skdae._modules import Dropout

    X, _ = digits
    dae = DenoisingAutoencoder((16, 4), dropout=0.1, max_epochs=1, warm_start=True)
    _fit(dae, X)
    _fit(dae, X, dropout=0.3)
    assert {m.p for m in dae.net_.module_.modules() if isinstance(m, Dropout)} == {0.3}
    with pytest.raises(ValueError, match="dropout=0.3"):  # no dropout layers to keep
        dae.set_params(dropout=0.0).fit(X)


def test_a_warm_start_takes_the_current_schedule_and_validation_fraction(warm):
    dae, X = warm
    _fit(dae, X, lr_decay_steps=1, lr_decay_rate=0.5, early_stopping=True, max_epochs=1)
    steps = sum(e["train_batch_count"] for e in dae.history_)
    assert dae.history_[-1]["lr"] == pytest.approx(1e-3 * 0.5**steps)
    held_out = round(len(X) * 0.1)
    assert dae.history_[-1]["train_batch_count"] == -(-(len(X) - held_out) // 100)
    _fit(dae, X, validation_fraction=0.5, max_epochs=1)
    assert dae.history_[-1]["train_batch_count"] == -(-(len(X) - round(len(X) * 0.5)) // 100)


def test_a_warm_start_of_a_loaded_model_trains_on(warm, tmp_path):
    import skdae

    dae, X = warm
    loaded = skdae.load(dae.save(tmp_path / "model"))
    np.testing.assert_array_equal(loaded.transform(X), dae.transform(X))
    _fit(loaded, X, max_epochs=1, learning_rate=0.01)
    assert loaded.n_iter_ == 3
    assert loaded.history_[-1]["lr"] == pytest.approx(0.01)
