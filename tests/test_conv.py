"""ConvDenoisingAutoencoder: images in flat rows, convolutions inside."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import skdae
from skdae import ConvDenoisingAutoencoder
from skdae._modules import ConvAutoencoder


@pytest.fixture
def conv_tiny():
    return dict(channels=(4, 8), code_size=6, max_epochs=2, batch_size=32, random_state=0)


@pytest.mark.parametrize("image_shape", [(1, 28, 28), (1, 7, 9), (3, 8, 5), (2, 1, 6), (1, 1, 1)])
def test_decoder_gives_back_exactly_the_image_size(image_shape):
    module = ConvAutoencoder(image_shape, channels=(3, 5, 4), code_size=2)
    n_features = int(np.prod(image_shape))
    x = torch.rand(4, n_features)
    assert module.encode(x).shape == (4, 2)
    assert module(x).shape == (4, n_features)
    assert module.n_features == n_features


def test_each_convolution_halves_the_feature_map():
    module = ConvAutoencoder((1, 28, 28), channels=(8, 16), code_size=10)
    convs = [m for m in module.encoder if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.stride) for c in convs] == [
        (1, 8, (2, 2)),
        (8, 16, (2, 2)),
    ]
    code_layer = module.encoder[-2]
    assert isinstance(code_layer, torch.nn.Linear)
    assert code_layer.in_features == 16 * 7 * 7 and code_layer.out_features == 10
    # The decoder ends in a linear transposed convolution back to the image.
    assert isinstance(module.decoder[-2], torch.nn.ConvTranspose2d)
    assert module.decoder[-2].out_channels == 1


def test_even_kernel_is_refused():
    with pytest.raises(ValueError, match="odd"):
        ConvAutoencoder((1, 8, 8), channels=(2,), code_size=2, kernel_size=4)


def test_image_shape_is_inferred_square_or_one_row(digits, conv_tiny):
    X, _ = digits
    assert ConvDenoisingAutoencoder(**conv_tiny).fit(X).image_shape_ == (1, 8, 8)
    assert ConvDenoisingAutoencoder(**conv_tiny).fit(X[:, :10]).image_shape_ == (1, 1, 10)


def test_two_dimensional_image_shape_means_one_channel(digits, conv_tiny):
    X, _ = digits
    dae = ConvDenoisingAutoencoder(image_shape=(4, 16), **conv_tiny).fit(X)
    assert dae.image_shape_ == (1, 4, 16)
    assert dae.net_.module_.encoder[0].unflattened_size == (1, 4, 16)


def test_image_shape_that_does_not_match_the_features_is_a_clear_error(digits, conv_tiny):
    X, _ = digits
    dae = ConvDenoisingAutoencoder(image_shape=(28, 28), **conv_tiny)
    with pytest.raises(ValueError, match="784 values per image, but X has 64 features"):
        dae.fit(X)
    assert not hasattr(dae, "net_")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (dict(image_shape=(0, 8)), "image_shape must be"),
        (dict(image_shape=(2, 2, 2, 8)), "image_shape must be"),
        (dict(channels=(4, 0)), "channels must be"),
        (dict(kernel_size=2), "kernel_size must be odd"),
    ],
)
def test_invalid_shapes_are_rejected_before_training(digits, conv_tiny, params, message):
    X, _ = digits
    with pytest.raises(ValueError, match=message):
        ConvDenoisingAutoencoder(**{**conv_tiny, **params}).fit(X)


def test_multichannel_images_round_trip(conv_tiny):
    X = np.random.default_rng(0).uniform(size=(40, 3 * 6 * 5))
    dae = ConvDenoisingAutoencoder(image_shape=(3, 6, 5), **conv_tiny).fit(X)
    assert dae.transform(X).shape == (40, 6)
    assert dae.reconstruct(X).shape == X.shape


def test_learns_digits_better_than_the_mean_image(digits):
    X, _ = digits
    dae = ConvDenoisingAutoencoder(
        channels=(8, 16),
        code_size=16,
        noise_factor=0.2,
        linear_code=True,
        learning_rate=1e-2,
        max_epochs=20,
        batch_size=64,
        random_state=0,
    ).fit(X)
    rmse = np.sqrt(np.mean((dae.reconstruct(X) - X) ** 2))
    mean_image_rmse = np.sqrt(np.mean((X - X.mean(axis=0)) ** 2))
    assert rmse < 0.6 * mean_image_rmse
    losses = dae.history_[:, "train_loss"]
    assert losses[-1] < losses[0]


def test_codes_feed_a_classifier_in_a_pipeline(digits):
    X, y = digits
    pipe = Pipeline(
        [
            (
                "dae",
                ConvDenoisingAutoencoder(
                    channels=(8, 16), code_size=16, max_epochs=8, batch_size=64, random_state=0
                ),
            ),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    )
    assert pipe.fit(X[:1200], y[:1200]).score(X[1200:], y[1200:]) > 0.6


def test_grid_search_over_channels(digits):
    X, _ = digits
    search = GridSearchCV(
        ConvDenoisingAutoencoder(code_size=4, max_epochs=1, batch_size=64, random_state=0),
        {"channels": [(2,), (4, 8)]},
        cv=2,
    ).fit(X[:400])
    assert search.best_params_["channels"] in [(2,), (4, 8)]


def test_save_load_and_pickle_give_identical_codes(digits, conv_tiny, tmp_path):
    X, _ = digits
    dae = ConvDenoisingAutoencoder(image_shape=(8, 8), **conv_tiny).fit(X)
    loaded = skdae.load(dae.save(tmp_path / "model"))
    assert isinstance(loaded, ConvDenoisingAutoencoder)
    assert loaded.get_params() == dae.get_params()
    assert loaded.image_shape_ == (1, 8, 8)
    assert np.array_equal(loaded.transform(X), dae.transform(X))
    assert np.array_equal(pickle.loads(pickle.dumps(dae)).transform(X), dae.transform(X))


def test_same_random_state_gives_identical_models(digits, conv_tiny):
    X, _ = digits
    a = ConvDenoisingAutoencoder(dropout=0.2, **conv_tiny).fit(X[:300])
    b = ConvDenoisingAutoencoder(dropout=0.2, **conv_tiny).fit(X[:300])
    assert np.array_equal(a.transform(X[:300]), b.transform(X[:300]))
