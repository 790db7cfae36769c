"""Bad input gets a clear, early error from every public method."""

import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from skdae import DenoisingAutoencoder

N_FEATURES, CODE = 6, 2
METHODS = ["fit", "partial_fit", "transform", "inverse_transform", "score", "score_samples"]
# What an error about X names: its shape, its values or its dtype.
CLEAR_ERROR = re.compile(
    r"2D array|dim \d|shape|sample\(s\)|feature|NaN|infinity|\[0, 1\]|float32|complex|convert"
    r"|dtype",
    re.IGNORECASE,
)


def _fitted():
    X = np.random.default_rng(0).uniform(size=(40, N_FEATURES))
    return DenoisingAutoencoder((4, CODE), max_epochs=1, batch_size=16, random_state=0).fit(X)


@pytest.fixture(scope="module")
def fitted():
    return _fitted()


def _width(method):
    return CODE if method == "inverse_transform" else N_FEATURES


def _bad_inputs(width):
    good = np.full((5, width), 0.5)
    nan, inf = good.copy(), good.copy()
    nan[1, -1], inf[2, 0] = np.nan, np.inf
    return {
        "NaN": (nan, "NaN"),
        "inf": (inf, "infinity"),
        "-inf": (-inf, "infinity"),
        "no rows": (np.empty((0, width)), "0 sample"),
        "no columns": (np.empty((5, 0)), "0 feature"),
        "1-D": (good[0], "Expected 2D array, got 1D array"),
        "3-D": (good[None], "dim 3"),
        "strings": (
            np.array([["a"] * width] * 3, dtype=object),
            "could not convert|Complex|string",
        ),
        "complex": (good + 1j, "Complex data not supported"),
        "wrong width": (np.full((5, width + 1), 0.5), "features"),
    }


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", list(_bad_inputs(2)))
def test_bad_input_is_refused_with_a_message(fitted, method, case):
    X, message = _bad_inputs(_width(method))[case]
    estimator = DenoisingAutoencoder((4, CODE), max_epochs=1) if method == "fit" else fitted
    if method == "fit" and case == "wrong width":
        return  # any width fits
    if case == "NaN" and method != "inverse_transform":
        return  # a missing value (tests/test_missing.py); a code cannot be missing
    with pytest.raises((ValueError, TypeError), match=message):
        getattr(estimator, method)(X)


@pytest.mark.parametrize("method", ["transform", "reconstruct", "score", "score_samples"])
def test_a_bce_model_evaluates_data_outside_the_unit_interval_and_says_so(fitted, method):
    X = np.full((3, N_FEATURES), 1.000001)
    with pytest.warns(UserWarning, match=r"X spans \[1.000001, 1.000001\], outside the \[0, 1\]"):
        result = getattr(fitted, method)(X)
    assert np.isfinite(result).all()


def test_cross_validation_with_a_scaler_scores_every_fold(digits):
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    X, _ = digits
    pipe = make_pipeline(MinMaxScaler(), DenoisingAutoencoder((8, 2), max_epochs=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # held-out folds a little outside [0, 1]; 1 epoch
        scores = cross_val_score(pipe, X * 3 + 1, cv=3, error_score="raise")
    assert np.isfinite(scores).all() and (scores < 0).all()


def test_a_text_column_is_named_with_a_fix(fitted):
    import pandas as pd

    frame = pd.DataFrame(np.full((3, N_FEATURES), 0.5), columns=[f"c{i}" for i in range(6)])
    frame["c2"] = ["a", "b", "c"]
    for method in ("fit", "transform"):
        with pytest.raises(ValueError, match=r"non-numeric columns \['c2'\].*OneHotEncoder"):
            getattr(DenoisingAutoencoder() if method == "fit" else fitted, method)(frame)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"hidden_units": (8, -1)}, "hidden_units"),
        ({"hidden_units": (8, 0)}, "hidden_units"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"activation": "swish2"}, "activation"),
        ({"loss": "hinge"}, "loss"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"noise_factor": -1}, "noise_factor"),
        ({"lr_decay_rate": 1.5}, "lr_decay_rate"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_invalid_parameters_are_refused_before_training(params, message):
    dae = DenoisingAutoencoder(**params)
    with pytest.raises(ValueError, match=message):
        dae.fit(np.full((4, 3), 0.5))
    assert not hasattr(dae, "net_")


arrays = st.one_of(
    hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64, np.int64, np.bool_, np.complex64]),
        shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=7),
    ),
    hnp.arrays(
        dtype=np.float64,
        shape=st.tuples(st.integers(0, 6), st.sampled_from([CODE, N_FEATURES, 3])),
        elements=st.floats(allow_nan=True, allow_infinity=True, width=64),
    ),
    st.lists(st.lists(st.one_of(st.floats(), st.text(max_size=2)), max_size=4), max_size=4),
)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI stays reproducible
    suppress_health_check=[HealthCheck.too_slow],
)
@given(X=arrays, method=st.sampled_from(METHODS))
def test_any_input_either_works_or_raises_a_clear_error(X, method):
    estimator = _fitted()
    reference = np.full((3, N_FEATURES), 0.5)
    before = estimator.transform(reference)
    try:
        result = getattr(estimator, method)(X)
    except (ValueError, TypeError) as exc:
        # Either outcome is allowed; an error must say what was wrong with X.
        assert CLEAR_ERROR.search(str(exc)), str(exc)  # noqa: PT017
    else:
        assert result is not None
        if method in ("fit", "partial_fit"):
            return  # a successful fit may change the model
    # Evaluation never changes the model; a failed fit leaves it as it was.
    assert np.array_equal(estimator.transform(reference), before)


def test_values_beyond_float32_are_refused_at_fit():
    X = np.full((4, 3), 0.5)
    X[0, 0] = 1e300
    with pytest.raises(ValueError, match="beyond float32's range"):
        DenoisingAutoencoder((2,), max_epochs=1).fit(X)
