"""precision: bfloat16 (and, on GPUs, float16) mixed-precision training."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV

import skdae
from skdae import ConvDenoisingAutoencoder, DenoisingAutoencoder
from skdae._runtime import bfloat16_supported

bf16 = pytest.mark.skipif(
    not bfloat16_supported(torch.device("cpu")), reason="this CPU has no bfloat16 arithmetic"
)


def _quiet_fit(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few epochs do not converge
        return estimator.fit(X)


@bf16
def test_bfloat16_trains_like_float32_and_evaluates_in_xs_dtype(digits):
    X, _ = digits
    params = dict(hidden_units=(64, 16), max_epochs=5, random_state=0)
    full = _quiet_fit(DenoisingAutoencoder(**params), X)
    mixed = _quiet_fit(DenoisingAutoencoder(**params, precision="bfloat16"), X)
    assert mixed.loss_ == pytest.approx(full.loss_, rel=0.05)
    assert mixed.loss_ != full.loss_  # it did compute in bfloat16
    assert all(p.dtype == torch.float32 for p in mixed.net_.module_.parameters())
    assert mixed.transform(X).dtype == np.float64
    assert mixed.transform(X.astype(np.float32)).dtype == np.float32
    assert mixed.net_.grad_scaler_ is None


@bf16
@pytest.mark.parametrize("noise_type", ["gaussian", "masking", "salt_and_pepper", "swap"])
def test_bfloat16_with_every_noise_and_early_stopping(digits, noise_type):
    X, _ = digits
    dae = DenoisingAutoencoder(
        (16, 4),
        noise_type=noise_type,
        noise_factor=0.3,
        early_stopping=True,
        max_epochs=2,
        precision="bfloat16",
        random_state=0,
    )
    _quiet_fit(dae, X[:600])
    assert np.isfinite(dae.history_[:, "valid_loss"]).all()


@bf16
def test_bfloat16_conv_save_load_warm_start_and_search(digits, tmp_path):
    X, _ = digits
    conv = ConvDenoisingAutoencoder(
        channels=(4,), code_size=3, max_epochs=1, precision="bfloat16", random_state=0
    )
    _quiet_fit(conv, X[:300])
    loaded = skdae.load(conv.save(tmp_path / "model"))
    assert loaded.precision == "bfloat16"
    np.testing.assert_array_equal(loaded.transform(X[:20]), conv.transform(X[:20]))
    dae = _quiet_fit(DenoisingAutoencoder((8, 2), max_epochs=1, warm_start=True), X[:300])
    _quiet_fit(dae.set_params(precision="bfloat16"), X[:300])  # a warm fit takes it
    assert dae.net_.precision == "bfloat16" and dae.n_iter_ == 2
    search = GridSearchCV(
        DenoisingAutoencoder((8, 2), max_epochs=1, random_state=0),
        {"precision": ["float32", "bfloat16"]},
        cv=2,
    )
    _quiet_fit(search, X[:300])
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_float16_on_a_cpu_is_refused_before_training(unit_X, tiny):
    dae = DenoisingAutoencoder(**tiny, precision="float16", device="cpu")
    with pytest.raises(ValueError, match="precision='float16' needs a GPU"):
        dae.fit(unit_X)
    assert not hasattr(dae, "net_")


def test_bfloat16_where_the_device_lacks_it_is_refused(monkeypatch, unit_X, tiny):
    from skdae import _runtime

    monkeypatch.setattr(_runtime, "bfloat16_supported", lambda device: False)
    with pytest.raises(ValueError, match="precision='bfloat16' needs bfloat16 arithmetic"):
        DenoisingAutoencoder(**tiny, precision="bfloat16").fit(unit_X)


def test_float16_scales_the_loss(monkeypatch, digits):
    # The loss-scaling path, exercised on the CPU (torch's CPU autocast knows float16 too);
    # on a GPU it is the same code.
    from skdae import _training

    monkeypatch.setattr(_training, "check_precision", lambda precision, device: None)
    scales = []
    original = torch.amp.GradScaler.update

    def update(self, *args, **kwargs):
        scales.append(self.get_scale())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.amp.GradScaler, "update", update)
    X, _ = digits
    dae = _quiet_fit(
        DenoisingAutoencoder((16, 4), max_epochs=2, precision="float16", random_state=0), X
    )
    assert scales and scales[0] == 2.0**16  # GradScaler's initial scale: the path ran
    assert np.isfinite(dae.loss_curve_).all() and dae.loss_curve_[-1] < dae.loss_curve_[0]
    assert dae.net_.grad_scaler_ is None  # not kept in the fitted model, only its state
    settled = dae.net_.grad_scaler_state_["scale"]
    scales.clear()
    dae.partial_fit(X)  # the next call starts from the scale the last one settled on
    assert scales[0] == settled
