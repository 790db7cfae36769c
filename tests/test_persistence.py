import hashlib
import json
import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator

import skdae
from skdae import DenoisingAutoencoder, ModelFileError


@pytest.fixture
def fitted(unit_X, tiny):
    return DenoisingAutoencoder(**dict(tiny, dropout=0.1)).fit(unit_X)


def _rewrite(path, edit):
    """Edit model.json and re-seal it, as a careful forger would."""
    document = json.loads((path / "model.json").read_text())
    edit(document)
    body = {k: v for k, v in document.items() if k != "checksum"}
    document["checksum"] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    (path / "model.json").write_text(json.dumps(document))


def test_save_then_load_gives_bit_identical_outputs(fitted, unit_X, tmp_path):
    path = fitted.save(tmp_path / "model")
    loaded = skdae.load(path)
    assert sorted(p.name for p in path.iterdir()) == ["model.json", "weights.safetensors"]
    assert np.array_equal(loaded.transform(unit_X), fitted.transform(unit_X))
    assert np.array_equal(
        loaded.inverse_transform(loaded.transform(unit_X)),
        fitted.inverse_transform(fitted.transform(unit_X)),
    )
    assert loaded.score(unit_X) == fitted.score(unit_X)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.history_[:, "train_loss"] == fitted.history_[:, "train_loss"]
    document = json.loads((path / "model.json").read_text())
    assert document["skdae_version"] == skdae.__version__
    assert document["format_version"] == 4


def test_loaded_model_can_be_refitted_and_pickled(fitted, unit_X, tmp_path):
    loaded = skdae.load(fitted.save(tmp_path / "model"))
    assert np.array_equal(
        pickle.loads(pickle.dumps(loaded)).transform(unit_X), loaded.transform(unit_X)
    )
    loaded.fit(unit_X)  # a plain estimator again
    assert np.array_equal(loaded.transform(unit_X), fitted.transform(unit_X))


def test_save_replaces_an_existing_model_whole(fitted, unit_X, tiny, tmp_path):
    path = tmp_path / "model"
    fitted.save(path)
    other = DenoisingAutoencoder(**dict(tiny, hidden_units=(5,))).fit(unit_X)
    other.save(path)
    assert skdae.load(path).transform(unit_X).shape == (60, 5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_truncated_weights_are_refused(fitted, tmp_path):
    path = fitted.save(tmp_path / "model")
    weights = path / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(ModelFileError, match="SHA-256 mismatch"):
        skdae.load(path)


def test_truncated_description_is_refused(fitted, tmp_path):
    path = fitted.save(tmp_path / "model")
    text = (path / "model.json").read_text()
    (path / "model.json").write_text(text[: len(text) // 2])
    with pytest.raises(ModelFileError, match="damaged or truncated"):
        skdae.load(path)


def test_tampered_description_is_refused(fitted, tmp_path):
    path = fitted.save(tmp_path / "model")
    text = (path / "model.json").read_text().replace('"noise_factor": 0.5', '"noise_factor": 0.7')
    assert text != (path / "model.json").read_text()
    (path / "model.json").write_text(text)
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        skdae.load(path)


def test_newer_format_is_refused(fitted, tmp_path):
    path = fitted.save(tmp_path / "model")
    _rewrite(path, lambda d: d.update(format_version=5))
    with pytest.raises(ModelFileError, match="format version 5, newer"):
        skdae.load(path)


def test_unknown_keys_are_refused(fitted, tmp_path):
    path = fitted.save(tmp_path / "model")
    _rewrite(path, lambda d: d.update(exec="import os"))
    with pytest.raises(ModelFileError, match=r"unknown keys \['exec'\]"):
        skdae.load(path)


def test_weights_of_another_network_are_refused(fitted, unit_X, tiny, tmp_path):
    path = fitted.save(tmp_path / "model")
    other = DenoisingAutoencoder(**dict(tiny, hidden_units=(5,))).fit(unit_X).save(tmp_path / "o")
    weights = (other / "weights.safetensors").read_bytes()
    (path / "weights.safetensors").write_bytes(weights)
    _rewrite(path, lambda d: d.update(weights_sha256=hashlib.sha256(weights).hexdigest()))
    with pytest.raises(ModelFileError, match="does not fit the described network"):
        skdae.load(path)


class _Payload:
    def __reduce__(self):
        import os

        return (os.mkdir, (self.marker,))


def test_a_planted_pickle_never_runs(fitted, tmp_path):
    path = fitted.save(tmp_path / "model")
    payload = _Payload()
    payload.marker = str(tmp_path / "pwned")
    planted = pickle.dumps(payload)
    (path / "weights.safetensors").write_bytes(planted)
    _rewrite(path, lambda d: d.update(weights_sha256=hashlib.sha256(planted).hexdigest()))
    with pytest.raises(ModelFileError, match="not a safetensors file"):
        skdae.load(path)
    assert not (tmp_path / "pwned").exists()


def test_a_folder_without_a_model_is_refused(tmp_path):
    with pytest.raises(ModelFileError, match="model.json is missing"):
        skdae.load(tmp_path)


def test_callbacks_are_not_saved(fitted, tmp_path):
    from skdae.callbacks import ProgressBar

    fitted.set_params(callbacks=[ProgressBar()])
    with pytest.raises(ValueError, match="cannot write callbacks"):
        fitted.save(tmp_path / "model")


def test_unfitted_estimator_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        DenoisingAutoencoder().save(tmp_path / "model")


def test_a_file_of_a_format_no_release_wrote_is_refused(fitted, tmp_path):
    path = fitted.save(tmp_path / "model")
    _rewrite(path, lambda d: d.update(format_version=2))
    with pytest.raises(ModelFileError, match="format version 2, which no released skdae wrote"):
        skdae.load(path)


def test_the_validation_rows_survive_save_and_load(digits, tmp_path):
    X, _ = digits
    dae = DenoisingAutoencoder((8, 3), max_epochs=1, early_stopping=True, random_state=0).fit(X)
    loaded = skdae.load(dae.save(tmp_path / "model"))
    assert loaded.net_.split_seed == dae.net_.split_seed is not None


@pytest.mark.parametrize("seed", [-1, 2**63, 1.5, "0", True])
def test_a_bad_validation_split_seed_is_refused(fitted, tmp_path, seed):
    path = fitted.save(tmp_path / "model")
    _rewrite(path, lambda d: d["fitted"].update(validation_split_seed=seed))
    with pytest.raises(ModelFileError, match="validation_split_seed"):
        skdae.load(path)


def test_a_gpu_trained_file_loads_on_the_cpu_and_device_is_honoured(fitted, unit_X, tmp_path):
    import torch

    path = fitted.save(tmp_path / "model")
    _rewrite(path, lambda d: d["fitted"].update(device_="cuda:0"))
    expected = fitted.transform(unit_X)
    if not torch.cuda.is_available():
        assert skdae.load(path).device_ == "cpu"  # where it was trained is not here
        with pytest.raises(ValueError, match="no CUDA GPU"):
            skdae.load(path, device="cuda")
    loaded = skdae.load(path, device="cpu")
    assert loaded.device_ == "cpu"
    assert next(loaded.net_.module_.parameters()).device.type == "cpu"
    np.testing.assert_array_equal(loaded.transform(unit_X), expected)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["fitted"].update(loss_="hinge"),
        lambda d: d["fitted"].update(n_features_out=7),
        lambda d: d["fitted"].update(n_iter_=99),
    ],
    ids=["unknown loss", "code size", "epochs"],
)
def test_fitted_attributes_that_contradict_the_model_are_refused(fitted, tmp_path, edit):
    path = fitted.save(tmp_path / "model")
    _rewrite(path, edit)
    with pytest.raises(ModelFileError):
        skdae.load(path)


def test_save_after_the_noise_changed_writes_the_fitted_model(fitted, unit_X, tmp_path):
    fitted.set_params(noise_factor=0.0, noise_type="masking")
    loaded = skdae.load(fitted.save(tmp_path / "model"))
    assert loaded.get_params() == fitted.get_params()
    assert loaded.net_.corruption is not None  # the noise it was trained with
    assert loaded.fitted_model_.params["noise_factor"] == 0.5
    np.testing.assert_array_equal(loaded.transform(unit_X), fitted.transform(unit_X))


# ------------------------------------------------------- imputers and detectors
def _composite_folder(tmp_path, estimator, X):
    return estimator.fit(X).save(tmp_path / "model")


def _imputer_and_rows():
    from skdae import AutoencoderImputer

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    X[rng.random(X.shape) < 0.1] = np.nan
    template = DenoisingAutoencoder((6, 3), max_epochs=2, loss="mse", random_state=0)
    return AutoencoderImputer(template, add_indicator=True, random_state=0), X


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (  # an inner template that would choose where the next fit writes
            lambda d: d["params"]["autoencoder"]["params"].update(checkpoint_dir="/tmp/elsewhere"),
            "cannot set",
        ),
        (lambda d: d["fitted"]["values"]["arrays"].update(empty_features_="float64"), "arrays"),
        (lambda d: d["fitted"]["values"].update(extra=1), "keys"),
        (lambda d: d["fitted"]["values"].update(indicator_features=[9]), "indicator"),
        (lambda d: d["fitted"].update(extra=1), "members"),
        (lambda d: d.update(history=[{"epoch": 1, "train_loss": 0.1}]), "history"),
        (lambda d: d["fitted"]["members"][0].update(extra=1), "member 0"),
        (lambda d: d["fitted"]["members"][0].update(**{"class": "AutoencoderImputer"}), "member 0"),
        (lambda d: d["fitted"]["members"][0]["fitted"].update(n_features_in_=5), "features"),
        (
            lambda d: d["fitted"]["members"][0]["fitted"]["spec"].update(
                hidden_units={"ndarray": [6, 3], "dtype": "<i8", "shape": [2]}
            ),
            "spec",
        ),
    ],
)
def test_a_tampered_imputer_file_is_refused(tmp_path, edit, match):
    imputer, X = _imputer_and_rows()
    path = _composite_folder(tmp_path, imputer, X)
    _rewrite(path, edit)
    with pytest.raises(ModelFileError, match=match):
        skdae.load(path)


def test_a_detector_file_with_a_missing_member_is_refused(tmp_path):
    from skdae import AutoencoderOutlierDetector

    X = np.random.default_rng(0).normal(size=(40, 4))
    template = DenoisingAutoencoder((6, 3), max_epochs=2, loss="mse", random_state=0)
    path = _composite_folder(tmp_path, AutoencoderOutlierDetector(template, n_estimators=2), X)
    _rewrite(path, lambda d: d["fitted"]["members"].pop())
    with pytest.raises(ModelFileError):
        skdae.load(path)


class _Mean(BaseEstimator):
    """An autoencoder of the user's: reconstructs every row as the training mean."""

    def __init__(self, random_state=None, loss="mse"):
        self.random_state = random_state
        self.loss = loss

    def fit(self, X, y=None):
        self.mean_ = np.asarray(X).mean(axis=0)
        return self

    def reconstruct(self, X):
        return np.broadcast_to(self.mean_, np.shape(X)).copy()


def test_save_refuses_an_inner_model_a_file_cannot_describe(tmp_path):
    from skdae import AutoencoderOutlierDetector

    X = np.random.default_rng(0).normal(size=(40, 4))
    detector = AutoencoderOutlierDetector(_Mean(), n_estimators=1).fit(X)
    with pytest.raises(TypeError, match="_Mean"):
        detector.save(tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_the_table_imputer_names_its_indicator_columns_whatever_the_labels(tiny):
    import pandas as pd

    from skdae import AutoencoderImputer

    table = pd.DataFrame(
        {0: [1.0, np.nan, 3.0, 4.0] * 10, 1: pd.Categorical(["a", "b", None, "a"] * 10)}
    )
    imputer = AutoencoderImputer(
        DenoisingAutoencoder(noise_type="masking", noise_factor=0.2, **tiny),
        categorical_features=[1],
        add_indicator=True,
        random_state=0,
    )
    filled = imputer.fit(table).transform(table)
    assert list(filled.columns[-2:]) == ["missingindicator_x0", "missingindicator_x1"]
    assert not filled.iloc[:, :2].isna().any().any()
