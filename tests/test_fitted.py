"""The fitted record: what a model is, apart from what the next fit will use.

Every way of keeping a model (save/load, pickle, skops) keeps the estimator as it
was: each method answers the same, whatever parameters were set after the fit.
"""

import copy
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

import skdae
from skdae import ConvDenoisingAutoencoder, DenoisingAutoencoder
from skdae._fitted import FittedModel, decode_params, encode_params, fingerprint

UNIT_X = np.random.default_rng(0).uniform(size=(48, 9))
NORMAL_X = np.random.default_rng(1).normal(2.0, 3.0, size=(48, 9))

# Constructor and set_params values, small enough that a fit takes milliseconds.
PARAMS = {
    "activation": st.sampled_from(["relu", "tanh", "gelu", "sigmoid"]),
    "code_activation": st.sampled_from([None, "linear", "tanh"]),
    "dropout": st.sampled_from([0.0, 0.2]),
    "batch_norm": st.booleans(),
    "noise_factor": st.sampled_from([0.0, 0.3]),
    "noise_type": st.sampled_from(["gaussian", "masking", "salt_and_pepper", "swap"]),
    "loss": st.sampled_from(["auto", "mse"]),
    "learning_rate": st.sampled_from([1e-3, 3e-3]),
    "max_epochs": st.integers(1, 2),
    "batch_size": st.sampled_from([16, "auto"]),
    "early_stopping": st.booleans(),
    "random_state": st.sampled_from([0, 1, None]) | st.builds(np.random.RandomState, st.just(5)),
    "monitor": st.booleans(),
    "device": st.sampled_from(["cpu", "auto"]),
}
DENSE = {"hidden_units": st.sampled_from([(6,), (5, 2), [7, 3], 4])}
CONV = {
    # (3, 3) fits the 9 features; (28, 28) is set after a fit, for the next X.
    "image_shape": st.sampled_from([None, (3, 3), (1, 3, 3)]),
    "channels": st.sampled_from([(2,), (3, 2), [2, 2]]),
    "code_size": st.sampled_from([2, 3]),
    "kernel_size": st.sampled_from([1, 3]),
}


def _comparable(params):
    """get_params() with RandomState instances as their states (they compare by identity)."""
    out = {}
    for key, value in params.items():
        if isinstance(value, np.random.RandomState):
            value = ("RandomState", value.get_state()[1].tolist(), value.get_state()[2])
        out[key] = value
    return out


def _answers(estimator, X):
    """What every method of ``estimator`` answers on X."""
    codes = estimator.transform(X)
    return {
        "transform": codes,
        "inverse_transform": estimator.inverse_transform(codes),
        "score": estimator.score(X),
        "score_samples": estimator.score_samples(X),
        "reconstruct": estimator.reconstruct(X),
        "get_params": _comparable(estimator.get_params()),
        "loss_function_": estimator.loss_function_,
        "n_iter_": estimator.n_iter_,
        "best_loss_": estimator.best_loss_,
        "validation_scores_": estimator.validation_scores_,
        "feature_names_out": list(estimator.get_feature_names_out()),
    }


def _assert_same(got, expected, how):
    assert got.keys() == expected.keys()
    for key in expected:
        if isinstance(expected[key], np.ndarray):
            np.testing.assert_array_equal(got[key], expected[key], err_msg=f"{how}: {key}")
        else:
            assert got[key] == expected[key], f"{how}: {key}"


def _skops_round_trip(estimator):
    sio = pytest.importorskip("skops.io")
    payload = sio.dumps(estimator)
    return sio.loads(payload, trusted=sio.get_untrusted_types(data=payload))


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_save_pickle_and_skops_keep_every_answer_whatever_was_set_after_the_fit(data, tmp_path):
    conv = data.draw(st.booleans(), label="conv")
    cls, own = (ConvDenoisingAutoencoder, CONV) if conv else (DenoisingAutoencoder, DENSE)
    strategies = {**PARAMS, **own}
    params = data.draw(st.fixed_dictionaries({}, optional=strategies), label="params")
    X = data.draw(st.sampled_from([UNIT_X, NORMAL_X]), label="X")
    estimator = cls(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # loss="auto" on NORMAL_X, unconverged fits
        estimator.fit(X)
        # The user changes the next fit's parameters, the network's included.
        changed = data.draw(st.fixed_dictionaries({}, optional=strategies), label="set_params")
        if conv and data.draw(st.booleans(), label="image_shape for other X"):
            changed["image_shape"] = (28, 28)
        estimator.set_params(**changed)
        expected = _answers(estimator, X)
        path = estimator.save(tmp_path / "model")
        kept = {
            "save/load": skdae.load(path),
            "pickle": pickle.loads(pickle.dumps(estimator)),
            "skops": _skops_round_trip(estimator),
        }
        assert _answers(estimator, X).keys() == expected.keys()  # saving changed nothing
        for how, other in kept.items():
            _assert_same(_answers(other, X), expected, how)


def test_save_after_set_params_writes_the_model_that_was_fitted(digits, tmp_path):
    X, _ = digits
    dae = DenoisingAutoencoder((16, 4), activation="relu", max_epochs=2, random_state=0).fit(X)
    expected = dae.transform(X)
    dae.set_params(activation="tanh", hidden_units=(8, 2))
    loaded = skdae.load(dae.save(tmp_path / "model"))
    np.testing.assert_array_equal(loaded.transform(X), expected)
    assert loaded.get_params()["activation"] == "tanh"  # the next fit's request, kept
    assert loaded.fitted_model_.params["activation"] == "relu"  # what the model is
    assert loaded.fitted_model_.spec == dae.fitted_model_.spec


def test_fitted_attributes_read_the_record_not_the_current_parameters(digits):
    X, _ = digits
    dae = DenoisingAutoencoder((16, 4), max_epochs=3, random_state=0).fit(X)
    best, scores = dae.best_loss_, dae.validation_scores_
    assert best is not None and scores is None
    dae.set_params(early_stopping=True, loss="mse", device="cpu")
    assert (dae.best_loss_, dae.validation_scores_) == (best, scores)
    assert dae.loss_function_ == "bce"


def test_the_record_says_what_was_fitted(digits):
    X, _ = digits
    dae = DenoisingAutoencoder((16, 4), max_epochs=2, early_stopping=True, random_state=0)
    record = dae.fit(X).fitted_model_
    assert isinstance(record, FittedModel)
    assert record.estimator == "DenoisingAutoencoder"
    assert record.params["hidden_units"] == (16, 4) and record.params["callbacks"] is None
    assert record.spec == dae.net_.module_.spec
    assert record.rows == fingerprint(X)
    assert record.history is dae.history_ and len(record.history) == 2
    assert record.split_seed is not None and record.device == "cpu"
    # A copy: changing the estimator's parameters leaves the record as it was.
    dae.set_params(hidden_units=(8, 2))
    assert record.params["hidden_units"] == (16, 4)


def test_the_fingerprint_tells_rows_apart_by_content():
    X = np.random.default_rng(0).random((50, 6))
    same = fingerprint(X.copy())
    assert fingerprint(X) == same
    swapped = X.copy()
    swapped[[0, 1]] = swapped[[1, 0]]  # same shape and sum
    assert fingerprint(swapped) != same
    nudged = X.copy()
    nudged[10, 3] = np.nextafter(nudged[10, 3], 2.0)
    assert fingerprint(nudged) != same
    assert fingerprint(np.asfortranarray(X)) == same  # the memory layout is not content
    assert fingerprint(X.astype(np.float32)) != same  # other values: float32's
    import scipy.sparse as sp

    sparse = sp.random(30, 8, density=0.3, random_state=0, format="csr")
    assert fingerprint(sparse.tocsc()) == fingerprint(sparse)
    assert fingerprint(sparse) != fingerprint(sparse * 2)


def test_the_parameter_codec_keeps_python_types():
    import pathlib

    import torch

    params = {
        "tuple": (1, (2, 3)),
        "list": [1, 2],
        "numpy": np.int64(7),
        "float": np.float32(0.5),
        "array": np.arange(3),
        "device": torch.device("cpu"),
        "path": pathlib.Path("runs/x"),
        "state": np.random.RandomState(3),
        "plain": [None, True, 1.5, "s"],
    }
    import json

    back = decode_params(json.loads(json.dumps(encode_params(params))))
    assert back["tuple"] == (1, (2, 3)) and type(back["list"]) is list
    assert type(back["numpy"]) is np.int64 and type(back["float"]) is np.float32
    np.testing.assert_array_equal(back["array"], params["array"])
    assert back["device"] == torch.device("cpu") and back["path"] == pathlib.Path("runs/x")
    assert back["state"].randint(1000) == np.random.RandomState(3).randint(1000)
    assert back["plain"] == params["plain"]
    with pytest.raises(TypeError, match="the parameter x=.* cannot be written"):
        encode_params({"x": object()})


# ---------------------------------------------------------------- save and folders
@pytest.fixture
def fitted(unit_X, tiny):
    return DenoisingAutoencoder(**tiny).fit(unit_X)


def test_save_refuses_a_folder_of_someone_elses_files_and_deletes_nothing(fitted, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "thesis.tex").write_text("my only copy")
    with pytest.raises(FileExistsError, match=f"{results} is a folder that holds files skdae"):
        fitted.save(results)
    assert (results / "thesis.tex").read_text() == "my only copy"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]  # no staging left


def test_save_refuses_a_model_folder_that_holds_other_files_too(fitted, tmp_path):
    path = fitted.save(tmp_path / "model")
    (path / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="notes.txt"):
        fitted.save(path)
    assert (path / "notes.txt").read_text() == "keep me"


def test_save_refuses_a_file_and_writes_into_an_empty_folder(fitted, tmp_path):
    (tmp_path / "file").write_text("data")
    with pytest.raises(FileExistsError, match="is not a folder"):
        fitted.save(tmp_path / "file")
    assert (tmp_path / "file").read_text() == "data"
    (tmp_path / "empty").mkdir()
    assert skdae.load(fitted.save(tmp_path / "empty")).n_iter_ == fitted.n_iter_


def test_replacing_an_earlier_model_touches_nothing_beside_it(fitted, unit_X, tiny, tmp_path):
    path = fitted.save(tmp_path / "model")
    beside = tmp_path / ".model.old"  # a name the old code deleted
    beside.mkdir()
    (beside / "x").write_text("mine")
    other = DenoisingAutoencoder(**dict(tiny, hidden_units=(5,))).fit(unit_X)
    other.save(path)
    assert skdae.load(path).transform(unit_X).shape == (60, 5)
    assert (beside / "x").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.old", "model"]


def test_an_interrupted_replace_keeps_the_earlier_model(
    fitted, unit_X, tiny, tmp_path, monkeypatch
):
    import os

    path = fitted.save(tmp_path / "model")
    other = DenoisingAutoencoder(**dict(tiny, hidden_units=(5,))).fit(unit_X)
    real_replace = os.replace

    def failing(src, dst):
        if "new" in str(src):  # the staging folder's rename into place
            raise OSError("disk gone")
        return real_replace(src, dst)

    monkeypatch.setattr("skdae._files.os.replace", failing)
    with pytest.raises(OSError, match="disk gone"):
        other.save(path)
    monkeypatch.undo()
    np.testing.assert_array_equal(skdae.load(path).transform(unit_X), fitted.transform(unit_X))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


# ---------------------------------------------------------------- checkpoints
def test_a_checkpoint_made_on_other_rows_is_not_resumed(digits, tmp_path):
    X, _ = digits
    first, second = X[:900], X[900:1800]
    params = dict(hidden_units=(16, 4), max_epochs=2, random_state=0)
    DenoisingAutoencoder(**params, checkpoint_dir=tmp_path).fit(first)
    resumed = DenoisingAutoencoder(**params, checkpoint_dir=tmp_path).fit(second)
    alone = DenoisingAutoencoder(**params).fit(second)
    np.testing.assert_array_equal(resumed.transform(second), alone.transform(second))
    # The same rows and parameters again: resumed, nothing trained.
    again = DenoisingAutoencoder(**params, checkpoint_dir=tmp_path).fit(second)
    np.testing.assert_array_equal(again.transform(second), alone.transform(second))


def test_cross_validation_sharing_a_checkpoint_dir_scores_as_without(digits, tmp_path):
    from sklearn.model_selection import cross_val_score

    X, _ = digits
    X = X[:600]
    params = dict(hidden_units=(16, 4), max_epochs=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        shared = cross_val_score(DenoisingAutoencoder(**params, checkpoint_dir=tmp_path), X, cv=3)
        plain = cross_val_score(DenoisingAutoencoder(**params), X, cv=3)
    np.testing.assert_array_equal(shared, plain)
    assert len(set(shared)) == 3


def test_a_checkpoint_dir_never_replaces_a_folder_of_the_users(unit_X, tiny, tmp_path):
    (tmp_path / "last").mkdir()
    (tmp_path / "last" / "results.csv").write_text("1,2")
    dae = DenoisingAutoencoder(**tiny, checkpoint_dir=tmp_path)
    with pytest.raises(FileExistsError, match="last is a folder that holds files skdae did not"):
        dae.fit(unit_X)
    assert (tmp_path / "last" / "results.csv").read_text() == "1,2"
    assert not hasattr(dae, "net_")  # refused before training: nothing half-fitted


# ---------------------------------------------------------------- skorch's callbacks
def test_a_model_fitted_with_skorchs_checkpoint_saves_and_loads(unit_X, tiny, tmp_path):
    from skorch.callbacks import Checkpoint

    dae = DenoisingAutoencoder(
        **tiny, callbacks=[Checkpoint(monitor=None, dirname=str(tmp_path / "skorch"))]
    ).fit(unit_X)
    assert dae.history_[-1]["event_cp"] is True  # skorch's flag, in the history
    dae.set_params(callbacks=None)
    loaded = skdae.load(dae.save(tmp_path / "model"))
    assert loaded.history_[:, "event_cp"] == dae.history_[:, "event_cp"]
    np.testing.assert_array_equal(loaded.transform(unit_X), dae.transform(unit_X))


def test_skorchs_checkpoint_on_the_best_training_loss(unit_X, tiny, tmp_path):
    from skorch.callbacks import Checkpoint

    checkpoint = Checkpoint(monitor="train_loss_best", dirname=str(tmp_path))
    dae = DenoisingAutoencoder(**dict(tiny, max_epochs=4), callbacks=[checkpoint]).fit(unit_X)
    losses = dae.history_[:, "train_loss"]
    best = [loss < min(losses[:i], default=np.inf) for i, loss in enumerate(losses)]
    assert dae.history_[:, "train_loss_best"] == best
    assert dae.history_[:, "event_cp"] == best
    assert (tmp_path / "params.pt").is_file()


def test_skorchs_early_stopping_ends_the_fit_without_calling_it_an_interrupt(digits):
    from skorch.callbacks import EarlyStopping

    X, _ = digits
    stop = EarlyStopping(monitor="train_loss", patience=1, threshold=10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither "fit interrupted" nor a ConvergenceWarning
        dae = DenoisingAutoencoder((16, 4), max_epochs=50, random_state=0, callbacks=[stop])
        dae.fit(X)
    assert dae.n_iter_ == 2


def test_skorchs_lr_scheduler_sets_the_learning_rate(unit_X, tiny):
    from skorch.callbacks import LRScheduler
    from torch.optim.lr_scheduler import StepLR

    schedule = LRScheduler(StepLR, step_size=1, gamma=0.5)
    dae = DenoisingAutoencoder(**dict(tiny, lr_decay_rate=1.0), callbacks=[schedule]).fit(unit_X)
    rates = [group["lr"] for group in dae.net_.optimizer_.param_groups]
    np.testing.assert_allclose(rates, 1e-3 * 0.5**3)


def test_skorchs_progress_bar_runs(unit_X, tiny):
    from skorch.callbacks import ProgressBar

    dae = DenoisingAutoencoder(**tiny, callbacks=[ProgressBar()]).fit(unit_X)
    assert dae.n_iter_ == 3


# ---------------------------------------------------------------- the review's findings
def test_partial_fit_validates_the_parameters_on_every_call(unit_X, tiny):
    dae = DenoisingAutoencoder(**tiny).partial_fit(unit_X)
    dae.set_params(learning_rate=-1.0)
    with pytest.raises(InvalidParameterError, match="learning_rate"):
        dae.partial_fit(unit_X)
    assert dae.n_iter_ == 1


def test_float64_evaluation_copies_the_weights_once_per_fit(unit_X, tiny, monkeypatch):
    dae = DenoisingAutoencoder(**tiny).fit(unit_X)
    copies = []
    real = copy.deepcopy
    monkeypatch.setattr(
        "skdae._inference.copy.deepcopy", lambda x, *memo: copies.append(1) or real(x, *memo)
    )
    first = dae.transform(unit_X)
    for _ in range(3):
        np.testing.assert_array_equal(dae.transform(unit_X), first)
    assert len(copies) == 1
    dae.set_params(warm_start=True).fit(unit_X)  # new weights: a new copy
    np.testing.assert_allclose(
        dae.transform(unit_X), dae.transform(unit_X.astype(np.float32)), atol=1e-5
    )
    assert not np.allclose(dae.transform(unit_X), first)
    # Weights changed by hand: a new copy too.
    state = {k: v * 2 for k, v in dae.net_.module_.state_dict().items()}
    dae.net_.module_.load_state_dict(state)
    np.testing.assert_allclose(
        dae.transform(unit_X), dae.transform(unit_X.astype(np.float32)), atol=1e-5
    )


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float16, np.float64])
def test_denoising_score_reads_any_numeric_dtype_as_float32_would(digits, dtype):
    from skdae.metrics import denoising_score

    X, _ = digits
    binary = (X > 0.5).astype(dtype)  # in [0, 1] in every dtype
    dae = DenoisingAutoencoder((16, 4), max_epochs=2, random_state=0).fit(binary)
    expected = denoising_score(dae, binary.astype(np.float32))
    assert denoising_score(dae, binary) == pytest.approx(expected, rel=1e-5)


def test_the_loss_scale_of_float16_travels_with_the_model(monkeypatch, digits, tmp_path):
    # float16's loss scaling runs on the CPU too once the GPU check is lifted (torch's CPU
    # autocast knows float16): the scaler's state must reach the record, pickles, files
    # and checkpoints, so that the next call starts from the scale this one settled on.
    import json

    from skdae import _training

    monkeypatch.setattr(_training, "check_precision", lambda precision, device: None)
    X, _ = digits
    params = dict(hidden_units=(16, 4), max_epochs=2, precision="float16", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dae = DenoisingAutoencoder(**params, checkpoint_dir=tmp_path / "ckpt").fit(X)
    state = dae.fitted_model_.grad_scaler
    assert state is not None and state["scale"] > 0 and set(state) >= {"_growth_tracker"}
    checkpoint = json.loads((tmp_path / "ckpt" / "last" / "checkpoint.json").read_text())
    assert checkpoint["grad_scaler"] == state
    for kept in (pickle.loads(pickle.dumps(dae)), skdae.load(dae.save(tmp_path / "m"))):
        assert kept.fitted_model_.grad_scaler == state
        assert kept.net_.grad_scaler_state_ == state  # what the next call starts from


def test_save_refuses_parameters_that_fit_and_load_would_refuse(fitted, tmp_path):
    fitted.set_params(learning_rate=-1.0)
    with pytest.raises(InvalidParameterError, match="learning_rate"):
        fitted.save(tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_tensorboard_logs_go_beside_the_users_files(unit_X, tiny, tmp_path):
    pytest.importorskip("tensorboard")
    (tmp_path / "notes.txt").write_text("mine")
    DenoisingAutoencoder(**tiny, tensorboard_dir=tmp_path).fit(unit_X)
    DenoisingAutoencoder(**tiny, tensorboard_dir=tmp_path).fit(unit_X)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 2


def test_a_checkpoint_of_an_earlier_version_is_replaced_not_refused(unit_X, tiny, tmp_path):
    import json

    DenoisingAutoencoder(**tiny, checkpoint_dir=tmp_path).fit(unit_X)
    state = tmp_path / "last" / "checkpoint.json"
    document = json.loads(state.read_text())
    del document["format"], document["identity"]["rows"]  # as the earlier version wrote it
    state.write_text(json.dumps(document))
    dae = DenoisingAutoencoder(**tiny, checkpoint_dir=tmp_path).fit(unit_X)
    np.testing.assert_array_equal(
        dae.transform(unit_X), DenoisingAutoencoder(**tiny).fit(unit_X).transform(unit_X)
    )
    assert json.loads(state.read_text())["format"] == "skdae-checkpoint"
