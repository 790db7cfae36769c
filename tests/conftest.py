import numpy as np
import pytest
from sklearn.datasets import load_digits


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits scaled into [0, 1], with labels."""
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture
def unit_X():
    """Small random data in [0, 1]."""
    return np.random.default_rng(0).uniform(size=(60, 12))


@pytest.fixture
def tiny():
    """Constructor arguments for a network that trains in milliseconds."""
    return dict(hidden_units=(8, 3), max_epochs=3, batch_size=16, random_state=0)


@pytest.fixture
def power_cut(monkeypatch):
    """``with power_cut(epoch): est.fit(X)``: the fit crashes as it starts ``epoch``.

    The block expects the crash (RuntimeError "power cut"); training works
    normally again after it.
    """
    from contextlib import contextmanager

    from skdae._net import DenoisingNet

    original = DenoisingNet.train_step_single

    @contextmanager
    def cut(epoch):
        def crash(self, batch, **fit_params):
            if len(self.history) == epoch:
                raise RuntimeError("power cut")
            return original(self, batch, **fit_params)

        monkeypatch.setattr(DenoisingNet, "train_step_single", crash)
        try:
            with pytest.raises(RuntimeError, match="power cut"):
                yield
        finally:
            monkeypatch.setattr(DenoisingNet, "train_step_single", original)

    return cut


@pytest.fixture
def epoch_counter():
    """A skorch callback that counts the epochs it sees (``epochs_``)."""
    from skorch.callbacks import Callback

    class CountEpochs(Callback):
        def initialize(self):
            self.epochs_ = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs_ += 1

    return CountEpochs()
