"""ConvDenoisingAutoencoder: images in flat rows, convolutions inside."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

import skdae
from skdae import ConvDenoisingAutoencoder
from skdae._modules import CenterCrop, ConvAutoencoder


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


@pytest.mark.parametrize("code_size", [2, None])
@pytest.mark.parametrize("image_shape", [(1, 28, 28), (1, 7, 9), (3, 8, 5), (2, 1, 6), (1, 1, 1)])
def test_maxpool_decoder_gives_back_exactly_the_image_size(image_shape, code_size):
    module = ConvAutoencoder(
        image_shape, channels=(3, 5, 4), code_size=code_size, downsampling="maxpool"
    )
    n_features = int(np.prod(image_shape))
    x = torch.rand(4, n_features)
    assert module.encode(x).shape == (4, module.code_size)
    assert module(x).shape == (4, n_features)


def test_seed_network_codes_28x28_images_as_the_4x4x8_feature_map():
    module = ConvAutoencoder(
        (1, 28, 28), channels=(16, 8, 8), code_size=None, downsampling="maxpool"
    )
    assert module.code_size == 8 * 4 * 4
    kinds = [type(m).__name__ for m in module.encoder]
    assert kinds == [
        "Unflatten",
        *["Conv2d", "ReLU", "Conv2d", "ReLU", "MaxPool2d"] * 3,
        "Flatten",  # no linear code layer: the pooled map is the code
    ]
    convs = [m for m in module.encoder if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.stride, c.padding) for c in convs] == [
        (1, 16, (1, 1), (1, 1)),
        (16, 16, (1, 1), (1, 1)),
        (16, 8, (1, 1), (1, 1)),
        (8, 8, (1, 1), (1, 1)),
        (8, 8, (1, 1), (1, 1)),
        (8, 8, (1, 1), (1, 1)),
    ]
    pools = [m for m in module.encoder if isinstance(m, torch.nn.MaxPool2d)]
    assert all(p.kernel_size == 2 and p.stride == 2 and p.ceil_mode for p in pools)
    ups = [m for m in module.decoder if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(u.in_channels, u.out_channels, u.stride) for u in ups] == [
        (8, 8, (2, 2)),
        (8, 8, (2, 2)),
        (8, 16, (2, 2)),
        (16, 1, (1, 1)),  # linear, to the image
    ]
    assert [type(m).__name__ for m in module.decoder] == [
        "Unflatten",  # no linear layer from the code either
        *["ConvTranspose2d", "ReLU"] * 3,
        "ConvTranspose2d",  # linear, with a bias
        "CenterCrop",
        "Flatten",
    ]
    assert ups[-1].bias is not None and module.decoder[-2].size == (28, 28)

    shapes = []
    for layer in [*pools, *ups]:
        layer.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape[1:])))
    with torch.no_grad():
        out = module(torch.rand(2, 784))
    assert shapes == [
        (16, 14, 14), (8, 7, 7), (8, 4, 4),  # 7 -> 4: padded to 8 before the last pool
        (8, 8, 8), (8, 16, 16), (16, 32, 32), (1, 32, 32),
    ]  # fmt: skip
    assert out.shape == (2, 784)


def test_crop_is_centred_with_an_odd_surplus_cut_at_the_bottom_right():
    x = torch.arange(6 * 7.0).reshape(1, 1, 6, 7)
    assert torch.equal(CenterCrop((2, 4))(x), x[..., 2:4, 1:5])
    assert torch.equal(CenterCrop((3, 3))(x), x[..., 1:4, 2:5])


def test_maxpool_module_built_on_meta_draws_no_global_random_numbers():
    state = torch.get_rng_state()
    module = ConvAutoencoder(
        (1, 9, 7),
        channels=(3, 4),
        code_size=None,
        downsampling="maxpool",
        dropout=0.5,
        batch_norm=True,
        device="meta",
    )
    module.to_empty(device="cpu").reset_parameters(torch.Generator().manual_seed(0))
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in module.modules()) == 2 * 2 + 2
    module.train()(torch.rand(4, 63, generator=torch.Generator().manual_seed(1)))
    assert torch.equal(torch.get_rng_state(), state)


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
        (dict(code_size=None, code_activation="linear"), "code_size=None has no code layer"),
        (dict(code_size=None, dense_units=(16,)), "code_size=None has no code layer"),
        (dict(dense_units=(16, 0)), "dense_units must be"),
        (dict(dense_units=(True,)), "dense_units must be"),
    ],
)
def test_invalid_shapes_are_rejected_before_training(digits, conv_tiny, params, message):
    X, _ = digits
    with pytest.raises(ValueError, match=message):
        ConvDenoisingAutoencoder(**{**conv_tiny, **params}).fit(X)


def test_invalid_downsampling_is_refused(digits, conv_tiny):
    X, _ = digits
    with pytest.raises(InvalidParameterError, match="downsampling"):
        ConvDenoisingAutoencoder(downsampling="avgpool", **conv_tiny).fit(X)


def test_seed_network_gives_128_features_on_28x28_images():
    X = np.random.default_rng(0).uniform(size=(16, 784))
    dae = ConvDenoisingAutoencoder(
        channels=(16, 8, 8), downsampling="maxpool", code_size=None, max_epochs=1, random_state=0
    ).fit(X)
    assert dae.transform(X).shape == (16, 128)
    assert dae.reconstruct(X).shape == X.shape


@pytest.mark.parametrize("downsampling", ["stride", "maxpool"])
def test_no_code_size_makes_the_last_feature_map_the_code(digits, conv_tiny, downsampling):
    X, _ = digits
    params = {**conv_tiny, "code_size": None, "downsampling": downsampling}
    dae = ConvDenoisingAutoencoder(**params).fit(X[:200])
    assert not any(isinstance(m, torch.nn.Linear) for m in dae.net_.module_.modules())
    codes = dae.transform(X[:200])
    assert codes.shape == (200, 8 * 2 * 2)  # 8 x 8 -> 4 x 4 -> 2 x 2, 8 maps
    assert dae.get_feature_names_out().shape == (32,)
    assert dae.inverse_transform(codes).shape == (200, 64)


def test_maxpool_fits_and_transforms_digits(digits, conv_tiny):
    X, _ = digits
    dae = ConvDenoisingAutoencoder(
        downsampling="maxpool", batch_norm=True, dropout=0.1, **conv_tiny
    ).fit(X)
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in dae.net_.module_.modules()) == 2
    codes = dae.transform(X)
    assert codes.shape == (len(X), 6) and np.isfinite(codes).all()
    losses = dae.history_[:, "train_loss"]
    assert np.isfinite(losses).all()


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
        code_activation="linear",
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
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and scores[0] != scores[1]
    assert search.best_params_["channels"] == [(2,), (4, 8)][int(np.argmax(scores))]
    # The refitted model has the chosen network.
    assert search.best_estimator_.net_.module_.spec["channels"] == search.best_params_["channels"]


def test_save_load_and_pickle_give_identical_codes(digits, conv_tiny, tmp_path):
    X, _ = digits
    dae = ConvDenoisingAutoencoder(image_shape=(8, 8), **conv_tiny).fit(X)
    loaded = skdae.load(dae.save(tmp_path / "model"))
    assert isinstance(loaded, ConvDenoisingAutoencoder)
    assert loaded.get_params() == dae.get_params()
    assert loaded.image_shape_ == (1, 8, 8)
    assert np.array_equal(loaded.transform(X), dae.transform(X))
    assert np.array_equal(pickle.loads(pickle.dumps(dae)).transform(X), dae.transform(X))


def test_maxpool_without_code_size_saves_loads_and_pickles(digits, conv_tiny, tmp_path):
    X, _ = digits
    params = {**conv_tiny, "code_size": None, "downsampling": "maxpool"}
    dae = ConvDenoisingAutoencoder(**params).fit(X[:300])
    loaded = skdae.load(dae.save(tmp_path / "model"))
    assert loaded.get_params() == dae.get_params()
    assert loaded.code_size is None and loaded.downsampling == "maxpool"
    codes = dae.transform(X)
    assert np.array_equal(loaded.transform(X), codes)
    assert np.array_equal(loaded.inverse_transform(codes), dae.inverse_transform(codes))
    assert list(loaded.get_feature_names_out()) == list(dae.get_feature_names_out())
    assert np.array_equal(pickle.loads(pickle.dumps(dae)).transform(X), codes)


def test_same_random_state_gives_identical_models(digits, conv_tiny):
    X, _ = digits
    a = ConvDenoisingAutoencoder(dropout=0.2, **conv_tiny).fit(X[:300])
    b = ConvDenoisingAutoencoder(dropout=0.2, **conv_tiny).fit(X[:300])
    assert np.array_equal(a.transform(X[:300]), b.transform(X[:300]))


def test_dense_units_sit_between_the_feature_map_and_the_code_mirrored(digits, conv_tiny):
    X, _ = digits
    dae = ConvDenoisingAutoencoder(**{**conv_tiny, "dense_units": (24, 12)}).fit(X[:200])
    module = dae.net_.module_
    encoder = [
        (m.in_features, m.out_features) for m in module.encoder if isinstance(m, torch.nn.Linear)
    ]
    decoder = [
        (m.in_features, m.out_features) for m in module.decoder if isinstance(m, torch.nn.Linear)
    ]
    n_map = 8 * 2 * 2
    code = conv_tiny["code_size"]
    assert encoder == [(n_map, 24), (24, 12), (12, code)]
    assert decoder == [(code, 12), (12, 24), (24, n_map)]
    assert dae.transform(X[:5]).shape == (5, code)
    # A warm start cannot change them (they are the network's shape).
    dae.set_params(warm_start=True, dense_units=(24,))
    with pytest.raises(ValueError, match="dense_units"):
        dae.fit(X[:200])
