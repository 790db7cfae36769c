import hashlib
import json
import pickle

import numpy as np
import pytest

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
