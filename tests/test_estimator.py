import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import skdae
from skdae import DenoisingAutoencoder
from skdae._net import DenoisingNet
from skdae._plan import batch_size_for, n_train_rows


def test_fit_transform_shapes(unit_X, tiny):
    dae = DenoisingAutoencoder(**tiny).fit(unit_X)
    assert dae.transform(unit_X).shape == (60, 3)
    assert dae.inverse_transform(dae.transform(unit_X)).shape == (60, 12)
    assert dae.reconstruct(unit_X).shape == (60, 12)
    assert dae.score_samples(unit_X).shape == (60,)
    assert dae.n_features_in_ == 12
    assert list(dae.get_feature_names_out()) == [f"denoisingautoencoder{i}" for i in range(3)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_outputs_keep_the_input_float_dtype(unit_X, tiny, dtype):
    X = unit_X.astype(dtype)
    dae = DenoisingAutoencoder(**tiny).fit(X)
    assert dae.transform(X).dtype == dtype
    assert dae.inverse_transform(dae.transform(X)).dtype == dtype
    assert dae.score_samples(X).dtype == dtype
    # The trained weights are float32 either way.
    assert next(dae.net_.module_.parameters()).dtype == torch.float32


def test_integer_input_gives_float64(tiny):
    X = np.random.default_rng(0).integers(0, 2, size=(40, 6))
    assert DenoisingAutoencoder(**tiny).fit(X).transform(X).dtype == np.float64


def test_same_random_state_gives_bitwise_identical_models(unit_X, tiny):
    params = dict(tiny, dropout=0.3)
    a = DenoisingAutoencoder(**params).fit(unit_X)
    b = DenoisingAutoencoder(**params).fit(unit_X)
    for pa, pb in zip(a.net_.module_.parameters(), b.net_.module_.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert np.array_equal(a.transform(unit_X), b.transform(unit_X))


def test_different_random_states_give_different_models(unit_X, tiny):
    a = DenoisingAutoencoder(**tiny).fit(unit_X)
    b = DenoisingAutoencoder(**dict(tiny, random_state=1)).fit(unit_X)
    assert not np.allclose(a.transform(unit_X), b.transform(unit_X))


@pytest.mark.parametrize("random_state", [0, None])
def test_fit_leaves_global_random_states_unchanged(unit_X, tiny, random_state):
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()  # noqa: NPY002 (the global state is the point)
    params = dict(tiny, dropout=0.2, random_state=random_state)
    DenoisingAutoencoder(**params).fit(unit_X).transform(unit_X)
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1])
    assert after[2:] == np_state[2:]


def _spy_on_training_steps(monkeypatch):
    """Record (clean batch, corrupted batch, loss target) of every training step."""
    steps = []
    original_corrupt = DenoisingNet.corrupt
    original_get_loss = DenoisingNet.get_loss

    def corrupt(self, batch):
        noisy = original_corrupt(self, batch)
        steps.append({"clean": batch.clone(), "noisy": noisy.clone()})
        return noisy

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if training:
            steps[-1]["target"] = y_true.clone()
        return original_get_loss(self, y_pred, y_true, X=X, training=training)

    monkeypatch.setattr(DenoisingNet, "corrupt", corrupt)
    monkeypatch.setattr(DenoisingNet, "get_loss", get_loss)
    return steps


def test_noise_is_fresh_per_batch(monkeypatch, tiny):
    steps = _spy_on_training_steps(monkeypatch)
    # Identical rows: every batch holds the same clean data, whatever the order.
    X = np.full((32, 12), 0.5)
    DenoisingAutoencoder(**dict(tiny, batch_size=16, max_epochs=2)).fit(X)
    assert len(steps) == 4  # 2 batches x 2 epochs
    for step in steps:
        assert torch.equal(step["clean"], torch.full((16, 12), 0.5))
    noisy = [step["noisy"] for step in steps]
    for i in range(len(noisy)):
        for j in range(i + 1, len(noisy)):
            assert not torch.equal(noisy[i], noisy[j])


def test_loss_compares_reconstruction_with_clean_batch(monkeypatch, unit_X, tiny):
    steps = _spy_on_training_steps(monkeypatch)
    DenoisingAutoencoder(**tiny).fit(unit_X)
    for step in steps:
        assert torch.equal(step["target"], step["clean"])
        assert not torch.equal(step["noisy"], step["clean"])
        # The seed's corruption of [0, 1] data stays in [0, 1].
        assert step["noisy"].min() >= 0 and step["noisy"].max() <= 1


def test_noise_factor_zero_trains_a_plain_autoencoder(monkeypatch, unit_X, tiny):
    steps = _spy_on_training_steps(monkeypatch)
    DenoisingAutoencoder(**dict(tiny, noise_factor=0.0)).fit(unit_X)
    assert all(torch.equal(step["noisy"], step["clean"]) for step in steps)


def test_transform_uses_no_noise_and_no_dropout(unit_X, tiny):
    dae = DenoisingAutoencoder(**dict(tiny, dropout=0.5)).fit(unit_X)
    codes = dae.transform(unit_X)
    assert np.array_equal(codes, dae.transform(unit_X))
    module = dae.net_.module_.eval()
    with torch.no_grad():
        expected = module.encode(torch.as_tensor(unit_X, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(dae.transform(unit_X.astype(np.float32)), expected, rtol=1e-6)
    np.testing.assert_allclose(codes, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_row_output_does_not_depend_on_its_batch(tiny, activation):
    X = np.random.default_rng(1).uniform(size=(5000, 12))  # more than one eval batch
    dae = DenoisingAutoencoder(**tiny, activation=activation).fit(X[:100])
    full = dae.transform(X)
    # Bit for bit with ReLU; GELU's vectorised and scalar kernels (the ends of
    # a batch) differ in the last bit of a float64.
    same = np.testing.assert_array_equal if activation == "relu" else np.testing.assert_allclose
    same(full[4500:], dae.transform(X[4500:]))
    same(full[::-1], dae.transform(X[::-1]))


def test_loss_auto_picks_bce_for_unit_interval_and_mse_otherwise(unit_X, tiny):
    assert DenoisingAutoencoder(**tiny).fit(unit_X).loss_function_ == "bce"
    dae = DenoisingAutoencoder(**tiny).fit(unit_X * 10 - 3)
    assert dae.loss_function_ == "mse"
    assert isinstance(dae.net_.criterion_, torch.nn.MSELoss)


def test_unscaled_pixels_warn_that_auto_chose_mse(unit_X, tiny):
    pixels = np.round(unit_X * 255).astype(np.uint8)
    with pytest.warns(UserWarning, match=r"X spans \[0, 255\].*X / 255"):
        dae = DenoisingAutoencoder(**tiny).fit(pixels)
    assert dae.loss_function_ == "mse"
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # asked for: no warning
        warnings.simplefilter("ignore", ConvergenceWarning)  # (a UserWarning too)
        DenoisingAutoencoder(**dict(tiny, loss="mse")).fit(pixels)
        DenoisingAutoencoder(**tiny).fit(pixels / 255.0)


def test_mlpregressor_names_mean_what_they_mean_there(digits):
    X, _ = digits
    with pytest.warns(ConvergenceWarning):
        dae = DenoisingAutoencoder((16, 4), max_epochs=3, random_state=0).fit(X)
    assert dae.loss_curve_ == list(dae.history_[:, "train_loss"])
    assert dae.loss_ == dae.loss_curve_[-1]
    assert dae.best_loss_ == min(dae.loss_curve_)
    assert dae.validation_scores_ is None and dae.best_validation_score_ is None
    with pytest.warns(ConvergenceWarning):
        stopped = DenoisingAutoencoder(
            (16, 4), max_epochs=3, early_stopping=True, random_state=0
        ).fit(X)
    assert stopped.best_loss_ is None
    assert stopped.validation_scores_ == [-r for r in stopped.history_[:, "valid_rmse"]]
    assert stopped.best_validation_score_ == max(stopped.validation_scores_)


def test_mse_noise_is_scaled_by_each_feature_std(tiny):
    X = np.random.default_rng(0).normal(size=(50, 4)) * np.array([1.0, 10.0, 100.0, 0.0])
    dae = DenoisingAutoencoder(**tiny).fit(X)
    corruption = dae.net_.corruption
    np.testing.assert_allclose(corruption.scale.numpy(), X.std(axis=0), rtol=1e-5)
    assert not corruption.clip


def test_bce_rejects_data_outside_unit_interval(unit_X, tiny):
    with pytest.raises(ValueError, match=r"loss='bce' needs X in \[0, 1\]"):
        DenoisingAutoencoder(**dict(tiny, loss="bce")).fit(unit_X + 1)


@pytest.mark.parametrize("scale", [1.0, 10.0], ids=["bce", "mse"])
def test_score_is_minus_the_reconstruction_rmse_whatever_the_loss(unit_X, tiny, scale):
    X = unit_X * scale
    dae = DenoisingAutoencoder(**tiny).fit(X)
    squared = (dae.reconstruct(X) - X) ** 2
    np.testing.assert_allclose(dae.score_samples(X), -np.sqrt(squared.mean(axis=1)), rtol=1e-6)
    assert dae.score(X) == pytest.approx(-np.sqrt(squared.mean()), rel=1e-6)


def test_a_search_over_the_loss_compares_like_with_like(digits):
    X, _ = digits
    search = GridSearchCV(
        DenoisingAutoencoder((32, 8), max_epochs=5, random_state=0),
        {"loss": ["bce", "mse"]},
        cv=2,
    ).fit(X)
    scores = search.cv_results_["mean_test_score"]
    # Both are minus an RMSE of pixels in [0, 1]: close, not orders of magnitude apart.
    assert (scores < 0).all() and (scores > -0.5).all()
    assert abs(scores[0] - scores[1]) < 0.1


def test_the_denoising_scorer_does_not_always_pick_the_least_noise(digits):
    from skdae.metrics import denoising_score, make_denoising_scorer

    X, _ = digits
    grid = {"noise_factor": [0.0, 0.5]}
    dae = DenoisingAutoencoder((64, 16), max_epochs=20, random_state=0)
    plain = GridSearchCV(dae, grid, cv=2).fit(X)
    denoising = GridSearchCV(dae, grid, cv=2, scoring=make_denoising_scorer()).fit(X)
    assert plain.best_params_["noise_factor"] == 0.0  # clean reconstruction rewards no noise
    assert denoising.best_params_["noise_factor"] == 0.5
    # The scorer corrupts where the autoencoder sees the data, inside a pipeline too.
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    pipe = make_pipeline(MinMaxScaler(), denoising.best_estimator_)
    pipe.fit(X)
    assert denoising_score(pipe, X) == pytest.approx(
        denoising_score(pipe[-1], pipe[0].transform(X))
    )


def test_better_model_scores_higher(digits):
    X, _ = digits
    short = DenoisingAutoencoder((32, 16), max_epochs=1, random_state=0).fit(X)
    longer = DenoisingAutoencoder((32, 16), max_epochs=20, random_state=0).fit(X)
    assert longer.score(X) > short.score(X)


def test_inverse_transform_decodes_codes_into_unit_interval(unit_X, tiny):
    dae = DenoisingAutoencoder(**tiny).fit(unit_X)
    reconstruction = dae.inverse_transform(dae.transform(unit_X))
    assert reconstruction.min() >= 0 and reconstruction.max() <= 1
    np.testing.assert_allclose(reconstruction, dae.reconstruct(unit_X), rtol=1e-6)


def test_inverse_transform_rejects_codes_of_the_wrong_width(unit_X, tiny):
    dae = DenoisingAutoencoder(**tiny).fit(unit_X)
    with pytest.raises(ValueError, match="latent codes with 3 features"):
        dae.inverse_transform(unit_X)


def test_training_loss_is_recorded_once_per_epoch_and_falls(digits):
    X, _ = digits
    dae = DenoisingAutoencoder((32, 16), max_epochs=5, random_state=0).fit(X)
    losses = dae.history_[:, "train_loss"]
    assert len(losses) == 5
    assert losses[-1] < losses[0]
    # No per-batch loss: reading it would sync the host with the device.
    assert all("train_loss" not in batch for batch in dae.history_[-1, "batches"])


def test_learning_rate_decays_staircase_wise(unit_X, tiny):
    # 60 rows / 16 per batch = 4 batches per epoch, 3 epochs = 12 steps.
    dae = DenoisingAutoencoder(
        **dict(tiny, learning_rate=0.01, lr_decay_steps=5, lr_decay_rate=0.5)
    ).fit(unit_X)
    for group in dae.net_.optimizer_.param_groups:
        assert group["lr"] == pytest.approx(0.01 * 0.5 ** (12 // 5))


def test_weight_decay_applies_to_weights_not_biases(unit_X, tiny):
    dae = DenoisingAutoencoder(**dict(tiny, weight_decay=0.1)).fit(unit_X)
    named = dict(dae.net_.module_.named_parameters())
    for group in dae.net_.optimizer_.param_groups:
        names = {n for n, p in named.items() if any(p is q for q in group["params"])}
        expected = 0.0 if all(n.endswith("bias") for n in names) else 0.1
        assert all(n.endswith("bias") == (expected == 0.0) for n in names)
        assert group["weight_decay"] == expected


def test_training_data_is_sliced_from_one_tensor_not_a_dataloader(monkeypatch, unit_X, tiny):
    def no_dataloader(*args, **kwargs):
        raise AssertionError("DataLoader used")

    monkeypatch.setattr("torch.utils.data.DataLoader.__iter__", no_dataloader)
    DenoisingAutoencoder(**tiny).fit(unit_X)


def test_device_cuda_without_gpu_is_a_clear_error(monkeypatch, unit_X, tiny):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="torch sees no CUDA GPU"):
        DenoisingAutoencoder(**dict(tiny, device="cuda")).fit(unit_X)
    assert DenoisingAutoencoder(**dict(tiny, device="auto")).fit(unit_X).device_ == "cpu"


def test_unknown_device_is_a_clear_error(unit_X, tiny):
    with pytest.raises(ValueError, match="not a device torch knows"):
        DenoisingAutoencoder(**dict(tiny, device="gpu0")).fit(unit_X)


@pytest.mark.parametrize("hidden_units", [(), (8, 0), (8, -2), (2.5,), "abc", ((3, 4),)])
def test_invalid_hidden_units_are_rejected_before_training(unit_X, tiny, hidden_units):
    dae = DenoisingAutoencoder(**dict(tiny, hidden_units=hidden_units))
    with pytest.raises((ValueError, TypeError), match="hidden_units"):
        dae.fit(unit_X)
    assert not hasattr(dae, "net_")


def test_int_hidden_units_means_one_layer(unit_X, tiny):
    dae = DenoisingAutoencoder(**dict(tiny, hidden_units=5)).fit(unit_X)
    assert dae.transform(unit_X).shape == (60, 5)


def test_verbose_prints_a_line_per_epoch(unit_X, tiny, capsys):
    DenoisingAutoencoder(**dict(tiny, verbose=1)).fit(unit_X)
    out = capsys.readouterr().out
    assert "train_loss" in out
    assert len([line for line in out.splitlines() if line.strip()[:1].isdigit()]) == 3
    DenoisingAutoencoder(**tiny).fit(unit_X)
    assert capsys.readouterr().out == ""


def test_pipeline_with_logistic_regression_beats_chance(digits):
    X, y = digits
    pipe = Pipeline(
        [
            ("dae", DenoisingAutoencoder((64, 16), batch_size=32, max_epochs=20, random_state=0)),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    )
    pipe.fit(X[:1200], y[:1200])
    assert pipe.score(X[1200:], y[1200:]) > 0.8  # chance is 0.1


def test_grid_search_in_parallel_picks_a_winner(digits):
    X, y = digits
    pipe = Pipeline(
        [
            ("dae", DenoisingAutoencoder(max_epochs=3, random_state=0)),
            ("clf", LogisticRegression(max_iter=300)),
        ]
    )
    grid = {"dae__hidden_units": [(16, 2), (32, 16)]}
    search = GridSearchCV(pipe, grid, cv=2, n_jobs=2).fit(X[:600], y[:600])
    assert search.best_params_ == {"dae__hidden_units": (32, 16)}  # 2 codes cannot hold 10 digits
    assert search.best_estimator_.named_steps["dae"].transform(X[:5]).shape == (5, 16)


def test_grid_search_without_labels_selects_on_score(digits):
    X, _ = digits
    search = GridSearchCV(
        DenoisingAutoencoder(max_epochs=10, batch_size=32, random_state=0),
        {"hidden_units": [(1,), (32, 16)]},
        cv=2,
    ).fit(X[:600])
    assert search.best_params_ == {"hidden_units": (32, 16)}


@pytest.mark.parametrize(
    "roundtrip",
    [
        pytest.param(lambda est, tmp: pickle.loads(pickle.dumps(est)), id="pickle"),
        pytest.param(
            lambda est, tmp: (
                joblib.dump(est, tmp / "dae.joblib"),
                joblib.load(tmp / "dae.joblib"),
            )[1],
            id="joblib",
        ),
    ],
)
def test_persistence_roundtrip_gives_identical_transform(unit_X, tiny, tmp_path, roundtrip):
    dae = DenoisingAutoencoder(**tiny).fit(unit_X)
    loaded = roundtrip(dae, tmp_path)
    assert np.array_equal(loaded.transform(unit_X), dae.transform(unit_X))
    assert loaded.score(unit_X) == dae.score(unit_X)


def test_clone_refits_to_the_identical_model(unit_X, tiny):
    dae = DenoisingAutoencoder(**tiny).fit(unit_X)
    clone_ = clone(dae)
    assert not hasattr(clone_, "net_")
    assert np.array_equal(clone_.fit(unit_X).transform(unit_X), dae.transform(unit_X))


def test_set_output_pandas_names_the_code_columns(unit_X, tiny):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(unit_X, columns=[f"px{i}" for i in range(12)])
    dae = DenoisingAutoencoder(**tiny).set_output(transform="pandas").fit(frame)
    codes = dae.transform(frame)
    assert isinstance(codes, pd.DataFrame)
    assert list(codes.columns) == [
        "denoisingautoencoder0",
        "denoisingautoencoder1",
        "denoisingautoencoder2",
    ]
    assert list(dae.feature_names_in_) == list(frame.columns)


def test_batch_norm_fits_when_the_last_batch_has_one_row(tmp_path):
    X = np.random.default_rng(0).uniform(size=(33, 6))  # batches of 16, 16 and 1
    dae = DenoisingAutoencoder(hidden_units=(4, 2), batch_norm=True, batch_size=16,
                               max_epochs=2, random_state=0).fit(X)  # fmt: skip
    assert dae.history_[-1, "train_batch_count"] == 2
    # Evaluation uses the running statistics: a row's code ignores its batch.
    assert np.allclose(dae.transform(X[:1]), dae.transform(X)[:1], atol=1e-6)
    loaded = skdae.load(dae.save(tmp_path / "model"))
    assert np.array_equal(loaded.transform(X), dae.transform(X))


def test_batch_norm_with_batches_of_one_row_is_refused(unit_X):
    dae = DenoisingAutoencoder(hidden_units=(4,), batch_norm=True, batch_size=1)
    with pytest.raises(ValueError, match="batch_size >= 2"):
        dae.fit(unit_X)


@pytest.mark.parametrize(
    ("n_samples", "early_stopping", "expected"),
    [(1797, False, 35), (1797, True, 32), (1000, False, 32), (60000, False, 256)],
)
def test_auto_batch_size_gives_small_data_more_steps_per_epoch(n_samples, early_stopping, expected):
    dae = DenoisingAutoencoder(batch_size="auto", early_stopping=early_stopping)
    # 1797 rows: 35 per batch (1797 // 50); with early stopping 1617 train, 32.
    assert batch_size_for(dae.get_params(), n_train_rows(dae.get_params(), n_samples)) == expected


def test_auto_batch_size_is_what_the_fit_trains_with(digits):
    X, _ = digits
    dae = DenoisingAutoencoder((8, 2), batch_size="auto", max_epochs=1, random_state=0).fit(X)
    assert dae.history_[0, "train_batch_count"] == -(-1797 // 35)
