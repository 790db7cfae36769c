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
