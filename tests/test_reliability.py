import dataclasses
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from skdae import DenoisingAutoencoder
from skdae._net import DenoisingNet, TrainingDivergedError


def test_a_diverging_fit_names_epoch_and_batch_and_leaves_the_estimator_unfitted(digits):
    X, _ = digits
    dae = DenoisingAutoencoder(
        (32, 8), learning_rate=1e12, loss="mse", max_epochs=5, random_state=0
    )
    with pytest.raises(TrainingDivergedError, match=r"epoch \d+, batch \d+.*lower learning rate"):
        dae.fit(X * 1e3)
    assert not hasattr(dae, "net_") and not hasattr(dae, "n_features_in_")


def test_a_failed_refit_keeps_the_previous_model(digits):
    X, _ = digits
    dae = DenoisingAutoencoder((16, 4), max_epochs=2, random_state=0).fit(X)
    before = dae.transform(X)
    dae.set_params(learning_rate=1e12, loss="mse")
    with pytest.raises(TrainingDivergedError):
        dae.fit(X[:, :10] * 1e3)  # other width, other data: nothing of it may stick
    assert dae.n_features_in_ == 64
    assert np.array_equal(dae.transform(X), before)


def _interrupt_in_epoch(monkeypatch, epoch):
    original = DenoisingNet.train_step_single

    def step(self, batch, **fit_params):
        if len(self.history) == epoch:
            raise KeyboardInterrupt
        return original(self, batch, **fit_params)

    monkeypatch.setattr(DenoisingNet, "train_step_single", step)


def test_ctrl_c_keeps_the_last_finished_epoch_and_warns(monkeypatch, digits):
    X, _ = digits
    reference = DenoisingAutoencoder((16, 4), max_epochs=2, random_state=0).fit(X)
    _interrupt_in_epoch(monkeypatch, epoch=3)
    dae = DenoisingAutoencoder((16, 4), max_epochs=10, random_state=0)
    with pytest.warns(UserWarning, match="2 of 10 epochs ran"):
        dae.fit(X)
    assert dae.n_iter_ == 2
    assert len(dae.history_) == 2
    assert np.array_equal(dae.transform(X), reference.transform(X))


def test_ctrl_c_in_the_first_epoch_leaves_the_estimator_as_it_was(monkeypatch, unit_X, tiny):
    _interrupt_in_epoch(monkeypatch, epoch=1)
    dae = DenoisingAutoencoder(**tiny)
    with pytest.raises(KeyboardInterrupt):
        dae.fit(unit_X)
    assert not hasattr(dae, "net_")


def _interrupt_at(monkeypatch, cls, name, epoch):
    """Ctrl-C in ``cls.name`` once the history has ``epoch`` records."""
    original = getattr(cls, name)

    def interrupted(self, *args, **kwargs):
        net = args[0] if cls is not DenoisingNet else self
        if len(net.history) == epoch:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, interrupted)


def test_ctrl_c_before_the_first_epoch_leaves_the_estimator_as_it_was(monkeypatch, digits):
    X, _ = digits
    _interrupt_at(monkeypatch, DenoisingNet, "get_split_datasets", epoch=0)
    dae = DenoisingAutoencoder((8, 2), max_epochs=3, early_stopping=True, random_state=0)
    with pytest.raises(KeyboardInterrupt):
        dae.fit(X)
    assert not hasattr(dae, "net_")


def test_ctrl_c_in_the_validation_pass_keeps_the_last_finished_epoch(monkeypatch, digits):
    X, _ = digits
    params = dict(hidden_units=(8, 2), early_stopping=True, random_state=0)
    with pytest.warns(ConvergenceWarning):
        reference = DenoisingAutoencoder(max_epochs=2, **params).fit(X)
    _interrupt_at(monkeypatch, DenoisingNet, "validation_step", epoch=3)
    dae = DenoisingAutoencoder(max_epochs=10, **params)
    with pytest.warns(UserWarning, match="2 of 10 epochs ran"):
        dae.fit(X)
    assert dae.n_iter_ == 2 and "valid_loss" in dae.history_[-1]
    np.testing.assert_array_equal(dae.transform(X), reference.transform(X))


def test_ctrl_c_in_a_callback_after_an_epoch_keeps_that_epoch(monkeypatch, digits):
    from skdae.callbacks import TrainingMonitor

    X, _ = digits
    with pytest.warns(ConvergenceWarning):
        reference = DenoisingAutoencoder((8, 2), max_epochs=2, random_state=0).fit(X)
    _interrupt_at(monkeypatch, TrainingMonitor, "on_epoch_end", epoch=2)
    dae = DenoisingAutoencoder((8, 2), max_epochs=10, random_state=0)
    with pytest.warns(UserWarning, match="2 of 10 epochs ran"):
        dae.fit(X)
    assert dae.n_iter_ == 2
    np.testing.assert_array_equal(dae.transform(X), reference.transform(X))


def test_early_stopping_is_not_mistaken_for_ctrl_c(digits):
    X, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dae = DenoisingAutoencoder(
            (16, 4),
            max_epochs=100,
            early_stopping=True,
            n_iter_no_change=1,
            tol=1.0,
            random_state=0,
        ).fit(X)
    assert dae.n_iter_ == 2


def test_model_trained_on_a_gpu_loads_and_transforms_on_a_cpu_machine(monkeypatch, unit_X, tiny):
    # Fake the GPU: a CPU fit relabelled as one made on cuda, as pickled on a GPU machine.
    dae = DenoisingAutoencoder(**tiny).fit(unit_X)
    expected = dae.transform(unit_X)
    dae.fitted_model_ = dataclasses.replace(dae.fitted_model_, device="cuda:0")
    dae.net_.device = "cuda"
    payload = pickle.dumps(dae)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = pickle.loads(payload)
    assert [str(w.message) for w in caught] == [
        "this model was trained on cuda:0; torch sees no GPU here, so it is loaded and "
        "evaluated on the CPU."
    ]
    assert loaded.device_ == "cpu"
    assert np.array_equal(loaded.transform(unit_X), expected)


def test_warm_start_continues_weights_optimizer_and_schedule(digits):
    X, _ = digits
    params = dict(
        hidden_units=(16, 4), batch_size=100, lr_decay_steps=10, lr_decay_rate=0.5, random_state=0
    )
    dae = DenoisingAutoencoder(max_epochs=2, **params).fit(X)
    steps = dae.net_.optimizer_.state[dae.net_.module_.encoder[0].weight]["step"].item()
    dae.set_params(warm_start=True, max_epochs=3).fit(X)
    assert dae.n_iter_ == 5 and len(dae.history_) == 5
    state = dae.net_.optimizer_.state[dae.net_.module_.encoder[0].weight]
    assert state["step"].item() == steps + 3 * 18  # 18 batches of 100 rows per epoch
    assert dae.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.5 ** (5 * 18 // 10))
    dae.set_params(warm_start=False, max_epochs=1).fit(X)
    assert dae.n_iter_ == 1  # a fresh start


def test_warm_start_refuses_other_features(digits):
    X, _ = digits
    dae = DenoisingAutoencoder((8, 2), max_epochs=1, warm_start=True, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        dae.fit(X[:, :10])
    assert dae.n_features_in_ == 64


def test_partial_fit_streams_chunks_of_a_memmap(digits, tmp_path):
    X, _ = digits
    stored = np.lib.format.open_memmap(
        tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=X.shape
    )
    stored[:] = X
    stored.flush()
    data = np.load(tmp_path / "X.npy", mmap_mode="r")
    dae = DenoisingAutoencoder((16, 4), batch_size=64, random_state=0)
    for start in range(0, len(data), 600):
        dae.partial_fit(data[start : start + 600])
    assert dae.n_iter_ == 3
    first = dae.score(X)
    for _ in range(5):
        for start in range(0, len(data), 600):
            dae.partial_fit(data[start : start + 600])
    assert dae.score(X) > first


def test_a_diverging_partial_fit_keeps_the_previous_model(digits):
    X, _ = digits
    dae = DenoisingAutoencoder((16, 4), max_epochs=2, random_state=0, loss="mse").fit(X)
    before = dae.transform(X)
    with pytest.raises(TrainingDivergedError):
        dae.set_params(learning_rate=1e12).partial_fit(X * 1e3)
    assert dae.n_iter_ == 2
    assert np.array_equal(dae.transform(X), before)


def test_a_crashed_fit_resumes_from_its_checkpoint_losing_at_most_one_epoch(
    power_cut, digits, tmp_path
):
    X, _ = digits
    params = dict(hidden_units=(16, 4), max_epochs=4, batch_size=128, dropout=0.1, random_state=0)
    whole = DenoisingAutoencoder(**params).fit(X)
    dae = DenoisingAutoencoder(**params, checkpoint_dir=str(tmp_path))
    with power_cut(3):
        dae.fit(X)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]

    dae.fit(X)  # resumes after epoch 2: same weights, Adam state and random stream
    assert dae.n_iter_ == 4
    assert dae.history_[:, "train_loss"][:2] == whole.history_[:, "train_loss"][:2]
    assert np.array_equal(dae.transform(X), whole.transform(X))


def test_a_checkpoint_of_another_model_is_not_resumed(digits, tmp_path):
    X, _ = digits
    DenoisingAutoencoder((16, 4), max_epochs=2, random_state=0, checkpoint_dir=str(tmp_path)).fit(X)
    other = DenoisingAutoencoder((8, 2), max_epochs=1, random_state=0, checkpoint_dir=str(tmp_path))
    assert other.fit(X).n_iter_ == 1


def test_early_stopping_checkpoints_the_best_epoch(digits, tmp_path):
    from safetensors.torch import load_file

    X, _ = digits
    dae = DenoisingAutoencoder(
        (16, 4),
        max_epochs=30,
        learning_rate=0.05,  # a noisy validation loss: the best epoch is not the last
        early_stopping=True,
        n_iter_no_change=3,
        tol=0.0,
        random_state=0,
        checkpoint_dir=str(tmp_path),
    ).fit(X)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best", "last"]
    losses = dae.history_[:, "valid_loss"]
    best = int(np.argmin(losses))
    assert best < len(losses) - 1
    # best/ holds the best epoch's weights, which the fitted model kept; last/ the last epoch's.
    saved = load_file(str(tmp_path / "best" / "tensors.safetensors"))
    last = load_file(str(tmp_path / "last" / "tensors.safetensors"))
    for name, value in dae.net_.module_.state_dict().items():
        assert torch.equal(saved[f"module.{name}"], value)
    assert any(
        not torch.equal(last[f"module.{n}"], v) for n, v in dae.net_.module_.state_dict().items()
    )


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_trains_the_same_model_as_dense_a_batch_at_a_time(monkeypatch, fmt):
    import scipy.sparse as sp

    from skdae import _inference

    sparse = sp.random(1000, 40, density=0.1, random_state=0, format=fmt)
    sparse.data[:] = 1.0
    dense = sparse.toarray()
    densified = []
    original = sp.csr_matrix.toarray

    def spy(self, *args, **kwargs):
        densified.append(self.shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sp.csr_matrix, "toarray", spy)
    monkeypatch.setattr(_inference, "EVAL_BATCH_SIZE", 64)
    params = dict(
        hidden_units=(8, 3),
        max_epochs=2,
        batch_size=32,
        random_state=0,
        early_stopping=True,
        n_iter_no_change=5,
    )
    from_sparse = DenoisingAutoencoder(**params).fit(sparse)
    from_dense = DenoisingAutoencoder(**params).fit(dense)
    assert np.array_equal(from_sparse.transform(sparse), from_dense.transform(dense))
    # Batches of 32 and 64 rows, and the monitor's probe of 512: never all 1000 rows.
    assert densified and max(densified) <= 512
    assert from_sparse.score(sparse) == pytest.approx(from_dense.score(dense))


def test_sparse_unbounded_data_gets_noise_scaled_like_dense():
    import scipy.sparse as sp

    sparse = sp.random(200, 10, density=0.3, random_state=1, format="csr") * 5
    sparse.data -= 3.0  # stored values in [-3, 2]: unbounded, not in [0, 1]
    dae = DenoisingAutoencoder((4,), max_epochs=1, random_state=0, loss="mse").fit(sparse)
    np.testing.assert_allclose(
        dae.net_.corruption.scale.numpy(), sparse.toarray().std(axis=0), rtol=1e-4, atol=1e-6
    )


def test_fit_on_a_read_only_memmap_shares_it_and_trains_the_same_model(digits, tmp_path):
    from skdae._data import as_tensor as _as_tensor

    X = np.ascontiguousarray(digits[0], dtype=np.float32)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    assert not mapped.flags.writeable
    tensor = _as_tensor(mapped, "cpu")
    assert tensor.data_ptr() == mapped.ctypes.data  # no copy of the file in memory
    params = dict(hidden_units=(8, 2), max_epochs=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # nor torch's non-writable warning
        warnings.simplefilter("ignore", ConvergenceWarning)
        from_map = DenoisingAutoencoder(**params).fit(mapped)
    np.testing.assert_array_equal(
        from_map.transform(X), DenoisingAutoencoder(**params).fit(X).transform(X)
    )
