"""Pickles, joblib and skops files hold the fitted model as plain data."""

import io
import pickle

import joblib
import numpy as np
import pytest

from skdae import ConvDenoisingAutoencoder, DenoisingAutoencoder
from skdae._state import FittedStateError


def _globals(payload):
    """The top-level packages whose objects a pickle imports on load."""
    modules = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            modules.add(module.split(".")[0])
            return super().find_class(module, name)

    Recorder(io.BytesIO(payload)).load()
    return modules


@pytest.fixture(scope="module")
def fitted(digits):
    X, _ = digits
    return DenoisingAutoencoder((16, 4), max_epochs=2, batch_norm=True, random_state=0).fit(X)


def test_a_pickle_holds_no_torch_or_skorch_object_and_round_trips(fitted, digits):
    X, _ = digits
    payload = pickle.dumps(fitted)
    assert _globals(payload) <= {"skdae", "numpy", "builtins", "_codecs", "copyreg"}
    loaded = pickle.loads(payload)
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))
    assert loaded.loss_curve_ == fitted.loss_curve_ and loaded.n_iter_ == 2
    assert loaded.history_[-1, "grad_norm"] == fitted.history_[-1, "grad_norm"]
    assert loaded.net_.module_.spec == fitted.net_.module_.spec


def test_joblib_round_trips_the_conv_estimator(digits, tmp_path):
    X, _ = digits
    conv = ConvDenoisingAutoencoder(channels=(4,), code_size=3, max_epochs=1, random_state=0)
    conv.fit(X[:200])
    joblib.dump(conv, tmp_path / "conv.joblib")
    loaded = joblib.load(tmp_path / "conv.joblib")
    np.testing.assert_array_equal(loaded.transform(X[:50]), conv.transform(X[:50]))
    assert loaded.image_shape_ == (1, 8, 8)


def test_a_warm_start_after_unpickling_goes_on_as_the_original_would(fitted, digits):
    X, _ = digits
    original = pickle.loads(pickle.dumps(fitted))  # the reference: a first round trip
    again = pickle.loads(pickle.dumps(original))
    weight = again.net_.module_.encoder[0].weight
    before = original.net_.optimizer_.state[original.net_.module_.encoder[0].weight]
    assert again.net_.optimizer_.state[weight]["step"].item() == before["step"].item() > 0
    for model in (original, again):
        model.set_params(warm_start=True, max_epochs=1).fit(X)
    np.testing.assert_array_equal(again.transform(X), original.transform(X))


def test_a_damaged_state_is_a_clear_error(fitted):
    state = fitted.__getstate__()
    state["_fitted_model"]["weights"]["encoder.0.weight"] = np.zeros((3, 3), dtype=np.float32)
    clone = DenoisingAutoencoder.__new__(DenoisingAutoencoder)
    with pytest.raises(FittedStateError, match="weights do not fit its network"):
        clone.__setstate__(state)


def test_skops_round_trips_a_pipeline_trusting_only_skdae(fitted, digits):
    sio = pytest.importorskip("skops.io")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    X, y = digits
    pipe = make_pipeline(
        DenoisingAutoencoder((16, 4), max_epochs=1, random_state=0),
        LogisticRegression(max_iter=200),
    ).fit(X, y)
    payload = sio.dumps(pipe)
    untrusted = sio.get_untrusted_types(data=payload)
    assert set(untrusted) == {"skdae._estimator.DenoisingAutoencoder"}
    loaded = sio.loads(payload, trusted=untrusted)
    np.testing.assert_array_equal(loaded[0].transform(X), pipe[0].transform(X))
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
    with pytest.raises(Exception, match="untrusted|Untrusted"):
        sio.loads(payload)  # skops refuses what the user did not trust
