"""The test matrix: every estimator, each parameter value that changes what is
fitted, each input kind; fit, transform, save and load, pickle, clone, warm start.

Generated, not hand-listed: ``CASES`` takes one non-default value of each such
parameter (and the pairs known to be risky) per estimator, ``INPUT_KINDS`` the
ways a scikit-learn user passes the same rows. Every case asserts that a saved
and loaded model, an unpickled one and one given its rows in another kind answer
exactly as the fitted one does, and that a model rebuilt from a pickle trains on
(``partial_fit``, ``warm_start``) exactly as the fitted one does: a rebuild path
that forgets a parameter turns a case red.
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.base import clone

import skdae
from skdae import (
    AutoencoderImputer,
    AutoencoderOutlierDetector,
    ConvDenoisingAutoencoder,
    DenoisingAutoencoder,
)

TINY = dict(hidden_units=(6, 3), max_epochs=2, batch_size=16, random_state=0)
N_ROWS = 48


# ------------------------------------------------------------------ the rows
def _numeric(rng):
    X = rng.normal(size=(N_ROWS, 3)) @ rng.normal(size=(3, 6))
    return (X - X.min()) / (X.max() - X.min())  # in [0, 1]: bce and salt and pepper fit it


def _mixed(rng):
    return pd.DataFrame(
        {
            "size": rng.normal(size=N_ROWS) * 10 + 100,
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], N_ROWS)),
            "count": rng.integers(0, 5, N_ROWS).astype(float),
            "shape": pd.Categorical(rng.choice(["round", "square"], N_ROWS)),
        }
    )


# Each kind: the same numeric rows as a user may hand them over.
NUMERIC_KINDS = {
    "ndarray": lambda X: X,
    "float32": lambda X: X.astype(np.float32),
    "frame_str": lambda X: pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])]),
    "frame_int": lambda X: pd.DataFrame(X),
    "frame_Float64": lambda X: pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])]).astype(
        "Float64"
    ),
    "polars": lambda X: pl.DataFrame({f"f{j}": X[:, j] for j in range(X.shape[1])}),
}
# The same mixed table, as a user may hand it over (categorical_features="from_dtype"
# reads the dtypes; the others name the columns 1 and 3).
TABLE_KINDS = {
    "frame": lambda T: T,
    "frame_int_labels": lambda T: T.set_axis(range(T.shape[1]), axis=1),
    "object_array": lambda T: T.astype(object).to_numpy(),
    "extension_dtypes": lambda T: T.assign(
        colour=T["colour"].astype(str).astype("string"),
        count=T["count"].astype("Int64"),
    ),
    "polars": lambda T: pl.DataFrame(
        {
            "size": T["size"].to_numpy(),
            "colour": pl.Series(_texts(T["colour"]), dtype=pl.Categorical),
            "count": T["count"].to_numpy(),
            "shape": pl.Series(_texts(T["shape"]), dtype=pl.Categorical),
        }
    ),
}


def _texts(column):
    return [None if pd.isna(v) else str(v) for v in column]


TABLE_COLUMNS = [1, 3]  # by position: every kind has them


# ------------------------------------------------------------------ the cases
def _dae(**params):
    return DenoisingAutoencoder(**{**TINY, **params})


# One non-default value of each parameter that changes what a DenoisingAutoencoder
# fits, and the risky pairs (a feature of the network with a feature of the data).
DAE_PARAMS = {
    "hidden_units": dict(hidden_units=(5, 4, 2)),
    "activation": dict(activation="tanh"),
    "code_activation": dict(code_activation="linear"),
    "dropout": dict(dropout=0.2),
    "batch_norm": dict(batch_norm=True),
    "loss_mse": dict(loss="mse"),
    "noise_0": dict(noise_factor=0.0),
    "masking": dict(noise_type="masking", noise_factor=0.3),
    "salt_and_pepper": dict(noise_type="salt_and_pepper", noise_factor=0.2),
    "swap": dict(noise_type="swap", noise_factor=0.2),
    "conditional": dict(noise_type="conditional", noise_factor=0.2, loss="mse"),
    "residual": dict(noise_type="conditional", noise_factor=0.2, loss="mse", residual=True),
    "feature_layers_all": dict(feature_layers="all"),
    "early_stopping": dict(early_stopping=True, validation_fraction=0.2),
    "weight_decay": dict(weight_decay=0.01),
    "all_and_batch_norm": dict(feature_layers="all", batch_norm=True, dropout=0.1),
}
TABLE_PARAMS = {
    "table": dict(noise_type="swap", noise_factor=0.2),
    "table_masking": dict(noise_type="masking", noise_factor=0.2),
    "table_all_layers": dict(noise_type="swap", noise_factor=0.2, feature_layers="all"),
    "table_early_stopping": dict(noise_type="swap", noise_factor=0.2, early_stopping=True),
}


def _cases():
    for name, params in DAE_PARAMS.items():
        for kind in NUMERIC_KINDS:
            yield pytest.param("dae", params, kind, id=f"dae-{name}-{kind}")
    for name, params in TABLE_PARAMS.items():
        for kind in TABLE_KINDS:
            yield pytest.param("dae_table", params, kind, id=f"dae-{name}-{kind}")
    yield pytest.param("conv", {}, "ndarray", id="conv-ndarray")
    for name, params in {
        "default": {},
        "masking_template": dict(autoencoder=_dae(noise_type="masking", noise_factor=0.2)),
        "indicator": dict(add_indicator=True, keep_empty_features=True),
        "placeholder": dict(missing_values=-1.0),
    }.items():
        for kind in ("ndarray", "frame_str", "polars"):
            yield pytest.param("imputer", params, kind, id=f"imputer-{name}-{kind}")
    for kind in TABLE_KINDS:
        yield pytest.param("imputer_table", {}, kind, id=f"imputer-table-{kind}")
    for name, params in {
        "default": {},
        "template": dict(autoencoder=_dae(loss="mse", noise_type="swap", noise_factor=0.2)),
        "contamination": dict(contamination=0.1, n_estimators=1),
    }.items():
        for kind in ("ndarray", "frame_str", "polars"):
            yield pytest.param("detector", params, kind, id=f"detector-{name}-{kind}")


def _setting(estimator_kind, params, input_kind):
    """``(estimator, rows to fit, the same rows in the other kinds, output method)``."""
    rng = np.random.default_rng(0)
    if estimator_kind in ("dae_table", "imputer_table"):
        table = _mixed(rng)
        if estimator_kind == "imputer_table":
            table.loc[table.index[::5], "size"] = np.nan
            table.loc[table.index[::7], "colour"] = np.nan
        others = {k: f(table) for k, f in TABLE_KINDS.items()}
        if estimator_kind == "dae_table":
            return _dae(categorical_features=TABLE_COLUMNS, **params), others, "transform"
        imputer = AutoencoderImputer(
            _dae(noise_type="masking", noise_factor=0.2),
            categorical_features=TABLE_COLUMNS,
            random_state=0,
        )
        return imputer, others, "transform"
    X = _numeric(rng)
    if estimator_kind == "conv":
        conv = ConvDenoisingAutoencoder(
            image_shape=(1, 4, 4), channels=(2,), code_size=3, max_epochs=2, random_state=0
        )
        X = rng.random((N_ROWS, 16))
        return conv, {"ndarray": X}, "transform"
    if estimator_kind == "imputer":
        placeholder = params.get("missing_values", np.nan)
        X = np.where(rng.random(X.shape) < 0.15, placeholder, X)
        X[:, 0] = placeholder if "keep_empty_features" in params else X[:, 0]
        imputer = AutoencoderImputer(**{"random_state": 0, **params})
        if not params:  # the default network, kept small
            imputer.set_params(autoencoder=None)
        kinds = {k: NUMERIC_KINDS[k](X) for k in ("ndarray", "frame_str", "polars")}
        return imputer, kinds, "transform"
    if estimator_kind == "detector":
        detector = AutoencoderOutlierDetector(**{"n_estimators": 2, "random_state": 0, **params})
        kinds = {k: NUMERIC_KINDS[k](X) for k in ("ndarray", "frame_str", "polars")}
        return detector, kinds, "score_samples"
    if params.get("loss") != "mse" and params.get("noise_type") != "conditional":
        pass  # X in [0, 1]: loss="auto" is bce
    return _dae(**params), {k: f(X) for k, f in NUMERIC_KINDS.items()}, "transform"


def _frames_or_arrays_equal(a, b):
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def _names(rows):
    columns = getattr(rows, "columns", None)
    return None if columns is None else [str(c) for c in columns]


def _same_values(given, expected):
    """The same values, whatever container: text exactly, numbers to float32's precision
    (a float32 input is answered in float32)."""
    given, expected = (
        pd.DataFrame(np.asarray(given, dtype=object)),
        pd.DataFrame(np.asarray(expected, dtype=object)),
    )
    assert given.shape == expected.shape
    for j in range(given.shape[1]):
        a, b = given.iloc[:, j].to_numpy(), expected.iloc[:, j].to_numpy()
        try:
            np.testing.assert_allclose(a.astype(float), b.astype(float), rtol=1e-5, atol=1e-6)
        except (TypeError, ValueError):
            assert list(map(str, a)) == list(map(str, b))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore:X spans:UserWarning")
@pytest.mark.parametrize(("estimator_kind", "params", "input_kind"), list(_cases()))
def test_every_combination_holds(estimator_kind, params, input_kind, tmp_path):
    estimator, kinds, method = _setting(estimator_kind, params, input_kind)
    X = kinds[input_kind]
    fitted = clone(estimator).fit(X)
    out = getattr(fitted, method)(X)
    assert len(out) == N_ROWS

    # save -> load: the same answers, bit for bit, and the same parameters.
    loaded = skdae.load(fitted.save(tmp_path / "model"))
    assert type(loaded) is type(fitted)
    _frames_or_arrays_equal(getattr(loaded, method)(X), out)
    assert str(loaded.get_params()) == str(fitted.get_params())

    # pickle: the same answers, and it saves as the fitted model does.
    unpickled = pickle.loads(pickle.dumps(fitted))
    _frames_or_arrays_equal(getattr(unpickled, method)(X), out)
    again = skdae.load(unpickled.save(tmp_path / "again"))
    _frames_or_arrays_equal(getattr(again, method)(X), out)

    # clone: the parameters, nothing fitted.
    assert str(clone(fitted).get_params()) == str(estimator.get_params())
    assert not hasattr(clone(fitted), "n_features_in_")

    # The same rows in the other kinds: the same values (a table's output follows the
    # kind of the rows it is given).
    for other, rows in kinds.items():
        if other == input_kind or _names(rows) not in (None, _names(X)) and _names(X):
            continue  # other column names: refused, as scikit-learn refuses them
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # feature-name notes
            given = getattr(fitted, method)(rows)
        _same_values(given, out)


def _warm_cases():
    for name, params in DAE_PARAMS.items():
        yield pytest.param(params, "ndarray", id=f"dae-{name}")
    for name, params in TABLE_PARAMS.items():
        yield pytest.param(
            {"categorical_features": TABLE_COLUMNS, **params}, "frame", id=f"dae-{name}"
        )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore:X spans:UserWarning")
@pytest.mark.parametrize(("params", "input_kind"), list(_warm_cases()))
def test_a_rebuilt_model_trains_on_as_the_fitted_one(params, input_kind, tmp_path):
    rng = np.random.default_rng(0)
    X = _mixed(rng) if "categorical_features" in params else _numeric(rng)
    fitted = _dae(**params).fit(X)
    unpickled = pickle.loads(pickle.dumps(fitted))
    loaded = skdae.load(fitted.save(tmp_path / "model"))
    # partial_fit: Adam's state travels in a pickle, so the next epoch is the same.
    continued = pickle.loads(pickle.dumps(fitted)).partial_fit(X)
    _frames_or_arrays_equal(unpickled.partial_fit(X).transform(X), continued.transform(X))
    # warm_start: the same, for a whole fit call; a loaded model trains on from its weights.
    for model in (fitted, pickle.loads(pickle.dumps(fitted))):
        model.set_params(warm_start=True, max_epochs=1)
    warm = fitted.fit(X).transform(X)
    unpickled = pickle.loads(pickle.dumps(_dae(**params).fit(X)))
    _frames_or_arrays_equal(
        unpickled.set_params(warm_start=True, max_epochs=1).fit(X).transform(X), warm
    )
    loaded.set_params(warm_start=True, max_epochs=1).fit(X)
    assert loaded.n_iter_ == TINY["max_epochs"] + 1
