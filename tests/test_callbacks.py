import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from skdae import DenoisingAutoencoder
from skdae.callbacks import ReconstructionImages, TrainingMonitor, probe_activations


def test_monitor_records_what_the_seed_logged(digits):
    X, _ = digits
    dae = DenoisingAutoencoder((32, 8), max_epochs=3, random_state=0).fit(X)
    last = dae.history_[-1]
    assert last["lr"] == pytest.approx(1e-3)
    assert last["grad_norm"] > 0
    assert set(last["zero_fraction"]) == {"encoder.1", "encoder.3", "decoder.1"}
    assert all(0 <= v <= 1 for v in last["zero_fraction"].values())
    assert 0 <= last["dead_units"] <= 1
    monitor = dict(dae.net_.callbacks_)["monitor"]
    assert monitor.probe_ is None  # the probe rows are not kept in the fitted model


def test_monitor_can_be_switched_off(unit_X, tiny):
    dae = DenoisingAutoencoder(**dict(tiny, monitor=False)).fit(unit_X)
    assert "grad_norm" not in dae.history_[-1]


def test_dead_relu_alarm_sees_dead_units():
    module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    with torch.no_grad():
        module[0].weight.zero_()
        module[0].bias.copy_(torch.tensor([-1.0, 1.0, -1.0]))
    outputs = probe_activations(module, torch.rand(10, 4))
    assert (outputs["1"] == 0).float().mean().item() == pytest.approx(2 / 3)


def test_monitor_grad_norm_matches_a_hand_computed_norm():
    module = torch.nn.Linear(3, 1)

    class Net:
        device = "cpu"

    monitor = TrainingMonitor()
    monitor.on_epoch_begin(Net())
    module(torch.ones(2, 3)).sum().backward()
    monitor.on_grad_computed(Net(), list(module.named_parameters()), training=True)
    expected = torch.cat([p.grad.ravel() for p in module.parameters()]).norm()
    assert monitor.grad_norm_sum_.item() == pytest.approx(expected.item())


def test_early_stopping_holds_out_rows_stops_and_keeps_the_best_epoch(digits):
    X, _ = digits
    dae = DenoisingAutoencoder(
        (32, 8),
        max_epochs=300,
        batch_size=32,
        early_stopping=True,
        n_iter_no_change=2,
        tol=0.0,
        random_state=0,
    ).fit(X)
    history = dae.history_
    assert dae.n_iter_ < 300
    assert dae.n_iter_ == len(history)
    assert "valid_loss" in history[-1] and "valid_rmse" in history[-1]
    n_train = 1797 - round(1797 * 0.1)
    assert history[0, "train_batch_count"] == -(-n_train // 32)
    # Stopped n_iter_no_change epochs after the best one, whose weights it kept.
    best_epoch = int(np.argmin(history[:, "valid_loss"]))
    assert len(history) - 1 - best_epoch == 2
    restored = DenoisingAutoencoder(
        (32, 8),
        max_epochs=best_epoch + 1,
        batch_size=32,
        early_stopping=True,
        n_iter_no_change=1000,
        random_state=0,
    ).fit(X)
    assert np.allclose(restored.transform(X), dae.transform(X))


def test_early_stopping_off_trains_on_every_row(digits):
    X, _ = digits
    dae = DenoisingAutoencoder((16, 4), max_epochs=2, batch_size=100, random_state=0).fit(X)
    assert dae.history_[0, "train_batch_count"] == 18  # 1797 rows
    assert "valid_loss" not in dae.history_[-1]


def test_early_stopping_needs_two_rows():
    with pytest.raises(ValueError, match="at least 2 rows"):
        DenoisingAutoencoder((2,), early_stopping=True).fit(np.ones((1, 3)) * 0.5)


def test_user_callbacks_run_and_bad_ones_are_refused(unit_X, tiny, epoch_counter):
    dae = DenoisingAutoencoder(**dict(tiny, callbacks=[epoch_counter])).fit(unit_X)
    assert dict(dae.net_.callbacks_)["user_0_CountEpochs"].epochs_ == 3
    with pytest.raises(TypeError, match="skorch callbacks"):
        DenoisingAutoencoder(**dict(tiny, callbacks=["print"])).fit(unit_X)


def test_tensorboard_writes_scalars_and_histograms(digits, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    X, _ = digits
    DenoisingAutoencoder((16, 4), max_epochs=2, random_state=0, tensorboard_dir=str(tmp_path)).fit(
        X[:300]
    )
    events = EventAccumulator(str(tmp_path), size_guidance={"histograms": 0}).Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"train_loss", "lr", "grad_norm", "dead_units", "zero_fraction/encoder.1"} <= scalars
    histograms = set(events.Tags()["histograms"])
    assert "weights/encoder.0.weight" in histograms
    assert "activations/encoder.3" in histograms
    assert len(events.Scalars("train_loss")) == 2


def test_reconstruction_images_per_epoch_and_a_gif(digits, tmp_path):
    pytest.importorskip("matplotlib")
    from PIL import Image

    X, _ = digits
    pictures = ReconstructionImages(X[:5], (8, 8), tmp_path)
    torch_state = torch.get_rng_state()
    a = DenoisingAutoencoder((16, 4), max_epochs=3, random_state=0, callbacks=[pictures]).fit(X)
    assert sorted(p.name for p in tmp_path.glob("epoch_*.png")) == [
        "epoch_001.png",
        "epoch_002.png",
        "epoch_003.png",
    ]
    gif = Image.open(tmp_path / "reconstructions.gif")
    assert gif.n_frames == 3
    # The pictures do not change the fit.
    b = DenoisingAutoencoder((16, 4), max_epochs=3, random_state=0).fit(X)
    assert np.array_equal(a.transform(X), b.transform(X))
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_verbose_prints_the_layer_table_once(unit_X, tiny, capsys):
    DenoisingAutoencoder(**dict(tiny, verbose=1)).fit(unit_X)
    out = capsys.readouterr().out
    assert out.count("total") == 1
    assert "encoder.0" in out and "Linear" in out and "[8]" in out


# ------------------------------------------------------------ convergence
def _epochs_without_improvement(losses, tol):
    """MLPRegressor's count, recomputed from a list of losses."""
    best, count = np.inf, 0
    for loss in losses:
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
    return count


def test_fit_stops_when_the_training_loss_stops_improving(digits):
    X, _ = digits
    params = dict(hidden_units=(16, 4), batch_size=64, tol=1e-3, n_iter_no_change=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # converged: no warning
        dae = DenoisingAutoencoder(**params, max_epochs=500, random_state=0).fit(X)
    losses = dae.history_[:, "train_loss"]
    assert 3 < dae.n_iter_ < 500
    assert _epochs_without_improvement(losses, 1e-3) == 3
    assert _epochs_without_improvement(losses[:-1], 1e-3) == 2  # not one epoch earlier
    assert "valid_loss" not in dae.history_[-1]  # every row trained


def test_reaching_max_epochs_unconverged_warns_and_keeps_the_model(digits):
    X, _ = digits
    dae = DenoisingAutoencoder((16, 4), max_epochs=3, tol=0.0, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"max_epochs=3 epochs without converging"):
        dae.fit(X)
    assert dae.n_iter_ == 3
    assert dae.transform(X).shape == (len(X), 4)


def test_only_the_current_calls_epochs_count_for_warm_starts(digits):
    X, _ = digits
    # A tol this large counts every epoch after the first of a call as no improvement.
    dae = DenoisingAutoencoder(
        (8, 2), max_epochs=50, tol=10.0, n_iter_no_change=3, warm_start=True, random_state=0
    )
    assert dae.fit(X).n_iter_ == 4
    assert dae.fit(X).n_iter_ == 8  # had the first call's epochs counted, 5


def test_partial_fit_trains_one_epoch_per_call_and_never_warns(digits):
    X, _ = digits
    dae = DenoisingAutoencoder((8, 2), tol=10.0, n_iter_no_change=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        for calls in range(1, 4):
            assert dae.partial_fit(X).n_iter_ == calls


def test_a_resumed_fit_stops_where_the_uninterrupted_one_did(power_cut, digits, tmp_path):
    X, _ = digits
    params = dict(
        hidden_units=(16, 4),
        max_epochs=100,
        batch_size=128,
        learning_rate=0.01,
        early_stopping=True,
        n_iter_no_change=4,
        tol=0.0,
        random_state=0,
    )
    whole = DenoisingAutoencoder(**params).fit(X)
    best = int(np.argmin(whole.history_[:, "valid_loss"]))
    assert whole.n_iter_ == best + 1 + 4 < 100
    dae = DenoisingAutoencoder(**params, checkpoint_dir=str(tmp_path))
    # Crash after the best epoch: its weights live only in the checkpoint.
    with power_cut(best + 2):
        dae.fit(X)
    dae.fit(X)
    assert dae.n_iter_ == whole.n_iter_
    # The best epoch's weights, restored from the checkpoint: the same model.
    np.testing.assert_array_equal(dae.transform(X), whole.transform(X))


def test_running_a_checkpointed_fit_that_reached_max_epochs_again_trains_nothing(digits, tmp_path):
    X, _ = digits
    params = dict(hidden_units=(16, 4), max_epochs=3, random_state=0, checkpoint_dir=tmp_path)
    with pytest.warns(ConvergenceWarning):
        first = DenoisingAutoencoder(**params).fit(X)
    with pytest.warns(ConvergenceWarning):  # still the fit that did not converge
        again = DenoisingAutoencoder(**params).fit(X)
    assert again.n_iter_ == first.n_iter_ == 3
    np.testing.assert_array_equal(again.transform(X), first.transform(X))


def test_partial_fit_with_early_stopping_validates_on_the_same_rows_each_call(monkeypatch, digits):
    from skdae._net import DenoisingNet

    held_out = []
    original = DenoisingNet.get_split_datasets

    def spy(self, X, *args, **kwargs):
        train, valid = original(self, X, *args, **kwargs)
        held_out.append(valid.clone())
        return train, valid

    monkeypatch.setattr(DenoisingNet, "get_split_datasets", spy)
    X, _ = digits
    dae = DenoisingAutoencoder((16, 4), early_stopping=True, random_state=0)
    for calls in range(1, 4):
        dae.partial_fit(X)
        assert dae.n_iter_ == calls
        assert "valid_loss" in dae.history_[-1]
    assert len(held_out) == 3 and len(held_out[0]) == round(len(X) * 0.1)
    assert all(torch.equal(rows, held_out[0]) for rows in held_out)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_running_a_finished_checkpointed_fit_again_trains_nothing(digits, tmp_path, early_stopping):
    X, _ = digits
    params = dict(
        hidden_units=(16, 4),
        max_epochs=100,
        batch_size=128,
        learning_rate=0.01,
        early_stopping=early_stopping,
        n_iter_no_change=3,
        tol=1e-3,
        random_state=0,
        checkpoint_dir=str(tmp_path),
    )
    first = DenoisingAutoencoder(**params).fit(X)
    assert first.n_iter_ < 100
    again = DenoisingAutoencoder(**params).fit(X)
    assert again.n_iter_ == first.n_iter_
    np.testing.assert_array_equal(again.transform(X), first.transform(X))


def test_the_converged_epoch_is_logged_and_no_weight_copy_is_kept(digits, capsys):
    X, _ = digits
    dae = DenoisingAutoencoder(
        (8, 2), max_epochs=50, tol=10.0, n_iter_no_change=2, early_stopping=True, verbose=1,
        random_state=0,
    ).fit(X)  # fmt: skip
    out = capsys.readouterr().out
    assert dae.n_iter_ == 3
    assert "Converged" in out
    # PrintLog's table: one row per epoch, the last (converged) one included.
    assert [line.split()[0] for line in out.splitlines() if line.strip()[:1].isdigit()] == [
        "1", "2", "3"
    ]  # fmt: skip
    assert dict(dae.net_.callbacks_)["convergence"].best_weights_ is None


def test_a_convergence_warning_turned_into_an_error_keeps_the_fit(digits):
    X, _ = digits
    dae = DenoisingAutoencoder((8, 2), max_epochs=2, tol=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning):
            dae.fit(X)
    assert dae.n_iter_ == 2


def test_most_of_a_layer_dead_warns_once_the_fit_is_kept():
    # A learning rate that kills ReLUs: a large first step pushes every pre-activation below 0.
    X = np.random.default_rng(0).uniform(size=(256, 20))
    dae = DenoisingAutoencoder((16, 8), activation="relu", learning_rate=5.0, max_epochs=2)
    with pytest.warns(UserWarning, match=r"\d+% of the units of a hidden layer output 0"):
        dae.set_params(random_state=0).fit(X)
    assert dae.history_[-1]["dead_units"] > 0.5
