"""Model files edited by someone who recomputed the checksum: a ModelFileError, or a model
that works; never another error, never an allocation the file does not pay for."""

import json
import resource
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import skdae
from skdae import DenoisingAutoencoder, ModelFileError
from skdae._model_file import checksum as _checksum


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small fitted model's folder (mse data, so the noise scale is stored too)."""
    X = np.random.default_rng(0).normal(size=(64, 6))
    dae = DenoisingAutoencoder((8, 3), max_epochs=2, dropout=0.1, random_state=0).fit(X)
    return dae.save(tmp_path_factory.mktemp("hostile") / "model")


def _forged(saved, folder, edit):
    """A copy of ``saved`` in ``folder`` with model.json edited and re-sealed."""
    if Path(saved) != Path(folder):
        shutil.copytree(saved, folder, dirs_exist_ok=True)
    document = json.loads((folder / "model.json").read_text())
    edit(document)
    document["checksum"] = _checksum(document)
    (folder / "model.json").write_text(json.dumps(document))
    return folder


def _trained_with(document, **params):
    """Forge the parameters a model was trained with, and its spec to match them."""
    document["fitted"]["params"].update(params)
    spec = document["fitted"]["spec"]
    spec.update(
        {k: {"tuple": v} if isinstance(v, list) else v for k, v in params.items() if k in spec}
    )


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _no_allocation(monkeypatch):
    """Make every way load allocates weights fail loudly."""
    import safetensors.torch
    import torch

    def forbidden(*args, **kwargs):
        raise AssertionError("weights allocated before the description was checked")

    monkeypatch.setattr(safetensors.torch, "load", forbidden)
    monkeypatch.setattr(torch.nn.Module, "to_empty", forbidden)


def test_a_huge_width_is_refused_before_anything_is_allocated(saved, tmp_path, monkeypatch):
    path = _forged(saved, tmp_path, lambda d: _trained_with(d, hidden_units=[10**11]))
    _no_allocation(monkeypatch)
    with pytest.raises(ModelFileError, match=r"does not fit the described network"):
        skdae.load(path)


def test_planted_callbacks_and_folders_are_never_taken_from_a_file(saved, tmp_path):
    planted = dict(
        callbacks=["os.system"],
        tensorboard_dir=str(tmp_path / "tb"),
        checkpoint_dir=str(tmp_path / "ckpt"),
    )
    path = _forged(saved, tmp_path / "model", lambda d: d["params"].update(planted))
    loaded = skdae.load(path)
    assert (loaded.callbacks, loaded.tensorboard_dir, loaded.checkpoint_dir) == (None, None, None)
    assert loaded.transform(np.zeros((2, 6))).shape == (2, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # nothing written


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["fitted"].update(n_features_in_=-5), "n_features_in_ must be a positive int"),
        (lambda d: d["fitted"].update(n_features_in_=True), "n_features_in_ must be a positive"),
        (
            lambda d: (
                d["fitted"].update(n_features_in_=7),
                d["fitted"]["spec"].update(n_features=7),
            ),
            "does not fit the described network",
        ),
        (lambda d: d["fitted"].update(feature_names_in_=["a"]), "feature_names_in_"),
        (lambda d: _trained_with(d, noise_type="masking"), "unexpected"),
        (lambda d: d["fitted"]["params"].update(hidden_units=[9, 3]), "spec .* is not what"),
        (lambda d: d["fitted"]["spec"].update(activation="os.system"), "spec .* is not what"),
        (lambda d: d["fitted"]["params"].update(activation="os.system"), "invalid parameters"),
        (lambda d: d["fitted"].update(rows="x"), "rows must be a SHA-256"),
        (lambda d: d["fitted"].update(grad_scaler={"scale": "x"}), "grad_scaler"),
        (lambda d: d["params"].update(hidden_units={"tuple": 3}), "invalid parameters"),
        (lambda d: d["params"].update(random_state={"RandomState": [1]}), "invalid parameters"),
        (
            lambda d: d["params"].update(
                random_state={"RandomState": ["MT19937", [1] * 624, 10**9, 0, 0.0]}
            ),
            "invalid parameters",  # numpy would read past its key array on the next draw
        ),
        (lambda d: d["params"].update(device={"torch.device": "bogus"}), "invalid parameters"),
        (lambda d: d["params"].update(dropout=[[[[[0]]]]] * 2), "invalid parameters"),
        (lambda d: d["fitted"].update(grad_scaler={"scale": 1.0}), "grad_scaler"),
        (lambda d: d["params"].update(hidden_units={"ndarray": [1], "dtype": "O"}), "invalid"),
        (lambda d: d["params"].update(activation="os.system"), "invalid parameters"),
        (lambda d: d["params"].update(kernel_size=3), "unknown parameters"),
        (lambda d: d.update(params=[1, 2]), "'params' must be an object"),
        (lambda d: d.update(fitted="x"), "'fitted' must be an object"),
        (lambda d: d.update(history=[{"epoch": "one"}]), "non-empty list of epochs"),
        (lambda d: d.update({"class": ["DenoisingAutoencoder"]}), "unknown estimator"),
        (lambda d: d["params"].update(activation__x=1), "unknown parameters"),
        (lambda d: d["params"].update(noise_factor=10**400), "not finite numbers"),
        (lambda d: d.update(history=[]), "non-empty list of epochs"),
        (lambda d: d["history"][0].update(valid_loss=["x"]), "numeric records"),
        (lambda d: d["history"][0].update(valid_loss="x" * 1001), "numeric records"),
        (lambda d: d["history"][0].update(epoch=5), "numbered from 1"),
        (lambda d: d.update(format_version=True), "format version"),
    ],
)
def test_each_forgery_is_a_model_file_error_that_says_what(
    saved, tmp_path, edit, message, monkeypatch
):
    path = _forged(saved, tmp_path, edit)
    _no_allocation(monkeypatch)
    with pytest.raises(ModelFileError, match=message):
        skdae.load(path)


def _forged_weights(saved, folder, header_edit):
    """A copy of ``saved`` whose safetensors header is edited, the SHA-256 re-sealed."""
    import hashlib

    shutil.copytree(saved, folder, dirs_exist_ok=True)
    weights = (folder / "weights.safetensors").read_bytes()
    size = int.from_bytes(weights[:8], "little")
    header = json.loads(weights[8 : 8 + size])
    header_edit(header)
    body = json.dumps(header).encode()
    forged = len(body).to_bytes(8, "little") + body + weights[8 + size :]
    (folder / "weights.safetensors").write_bytes(forged)
    sha = hashlib.sha256(forged).hexdigest()
    return _forged(folder, folder, lambda d: d.update(weights_sha256=sha))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda h: h["encoder.0.weight"].update(data_offsets=[-4, 10]), "malformed entry"),
        (lambda h: h["encoder.0.weight"].update(data_offsets=[0, 10**12]), "malformed entry"),
        (lambda h: h["encoder.0.weight"].update(dtype="F64"), "does not fit"),
        (lambda h: h["encoder.0.weight"].update(shape=[10**6, 10**6]), "does not fit"),
        (
            lambda h: h.update(extra={"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}),
            "unexpected",
        ),
    ],
)
def test_a_forged_weights_header_is_refused_before_allocation(
    saved, tmp_path, edit, message, monkeypatch
):
    path = _forged_weights(saved, tmp_path / "model", edit)
    _no_allocation(monkeypatch)
    with pytest.raises(ModelFileError, match=message):
        skdae.load(path)


def _description(saved):
    return json.loads((Path(saved) / "model.json").read_text())


HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 12),
    st.sampled_from([2**63, 10**11, -(2**70), 10**30, 10**400]),
    st.recursive(st.integers(0, 3), lambda inner: st.lists(inner, max_size=2), max_leaves=4),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["os.system", "cuda:7", "meta", "../../x", "relu", "bce", "mse", "swap"]),
    st.lists(st.one_of(st.integers(-3, 10**11), st.text(max_size=2)), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same forgeries on every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_forged_field_gives_a_model_file_error_or_a_working_model(saved, data):
    document = _description(saved)
    section = data.draw(st.sampled_from(["params", "fitted", "history", "top"]))
    if section == "top":
        key = data.draw(st.sampled_from(sorted(k for k in document if k != "checksum")))
        target = document
    elif section == "history":
        target = document["history"][0]
        key = data.draw(st.sampled_from(sorted(target)))
    else:
        target = document[section]
        key = data.draw(st.sampled_from(sorted(target)))
    if data.draw(st.booleans()):
        key = data.draw(st.text(min_size=1, max_size=12))  # a key of its own, not replaced
    value = data.draw(HOSTILE)
    peak = _peak_mb()
    with tempfile.TemporaryDirectory() as folder:
        path = _forged(saved, Path(folder) / "model", lambda d: _set(d, section, key, value))
        try:
            loaded = skdae.load(path)
        except ModelFileError as exc:
            assert folder in str(exc)  # noqa: PT017 (it says which file was wrong)
        else:
            codes = loaded.transform(np.full((2, loaded.n_features_in_), 0.5))
            assert codes.shape == (2, loaded._n_features_out)
    assert _peak_mb() - peak < 200


def _set(document, section, key, value):
    if section == "top":
        document[key] = value
    elif section == "history":
        document["history"][0][key] = value
    else:
        document[section][key] = value
