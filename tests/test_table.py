"""Mixed-type tables: categorical_features, the per-column loss and noise, feature_layers."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import OneHotEncoder

from skdae import DenoisingAutoencoder
from skdae._noise import MaskingNoise, SwapNoise, make_corruption
from skdae._table import TableLayout, TableLoss

pd = pytest.importorskip("pandas")


def _table(n=300, seed=0):
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], n)
    size = rng.normal(size=n) + 2.0 * (colour == "red")
    return pd.DataFrame(
        {
            "colour": pd.Categorical(colour),
            "size": size * 100.0 + 1000.0,  # its own units: the estimator scales it
            "weight": 3.0 * size + rng.normal(scale=0.1, size=n),
            "shape": pd.Categorical(rng.choice(["round", "square"], n)),
        }
    )


def _dae(**params):
    defaults = dict(
        hidden_units=(16, 4),
        categorical_features="from_dtype",
        noise_type="swap",
        noise_factor=0.2,
        max_epochs=15,
        monitor=False,
        random_state=0,
    )
    return DenoisingAutoencoder(**{**defaults, **params})


@pytest.fixture
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def test_fit_transform_reconstruct_a_dataframe(quiet):
    X = _table()
    dae = _dae().fit(X)
    assert dae.loss_function_ == "table"
    assert dae.n_features_in_ == 4
    assert list(dae.feature_names_in_) == ["colour", "size", "weight", "shape"]
    codes = dae.transform(X)
    assert codes.shape == (300, 4) and np.isfinite(codes).all()
    rebuilt = dae.reconstruct(X)
    assert list(rebuilt.columns) == list(X.columns)
    assert rebuilt["colour"].dtype == "category"
    assert list(rebuilt["colour"].cat.categories) == ["blue", "green", "red"]
    # Numbers come back in their units, categories as categories.
    assert abs(rebuilt["size"].mean() - X["size"].mean()) < 0.5 * X["size"].std()
    decoded = dae.inverse_transform(codes[:5])
    assert set(decoded["shape"]) <= {"round", "square"}


def test_colour_is_learned_from_size(quiet):
    # "red" rows are larger: a trained model recovers most colours from the rest.
    X = _table(n=600)
    dae = _dae(max_epochs=60, hidden_units=(32, 8)).fit(X)
    hidden = X.copy()
    hidden["colour"] = np.nan  # a missing category is a hole
    red = dae.reconstruct(hidden)["colour"] == "red"
    truth = X["colour"] == "red"
    assert (red == truth).mean() > 0.75


@pytest.mark.parametrize(
    "spec", ["from_dtype", [0, 3], ["colour", "shape"], [True, False, False, True], [-4, -1]]
)
def test_categorical_features_as_histgradientboosting_reads_it(spec):
    X = _table(n=20)
    layout = TableLayout.fit(X, spec, list(X.columns))
    assert layout.categorical.tolist() == [True, False, False, True]
    assert layout.width == 3 + 1 + 1 + 2


def test_object_array_with_indices(quiet):
    X = _table(n=120).to_numpy()  # object array: strings and floats
    dae = _dae(categorical_features=[0, 3]).fit(X)
    assert not hasattr(dae, "feature_names_in_")
    rebuilt = dae.reconstruct(X[:4])
    assert rebuilt.dtype == object and set(rebuilt[:, 0]) <= {"red", "green", "blue"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (dict(categorical_features=["nope"]), "names columns X does not have"),
        (dict(categorical_features=[7]), "outside X's 4 columns"),
        (dict(categorical_features=[True, False]), "one entry per column"),
        (dict(noise_type="gaussian"), "'swap' or 'masking'"),
        (dict(loss="bce"), "set loss='auto'"),
        (dict(categorical_features=[0]), "'shape' holds values that are not numbers"),
    ],
)
def test_bad_table_parameters_fail_early(params, message):
    with pytest.raises(ValueError, match=message):
        _dae(**params).fit(_table(n=20))


def test_names_need_a_dataframe():
    with pytest.raises(ValueError, match="needs X with column names"):
        _dae(categorical_features=["colour"]).fit(_table(n=20).to_numpy())


def test_unknown_and_missing_categories_encode_as_onehotencoder_and_holes():
    X = _table(n=50)
    layout = TableLayout.fit(X, "from_dtype", list(X.columns))
    new = X.head(3).copy()
    new["colour"] = pd.Categorical(["purple", "red", None])
    encoded = layout.encode(new)
    reference = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    reference.fit(X[["colour"]].astype(str))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # unknown "purple": ignored, as asked
        expected = reference.transform(new[["colour"]].astype(str).head(2))
    np.testing.assert_array_equal(encoded[:2, :3], expected)
    assert np.isnan(encoded[2, :3]).all()  # a missing category: a hole, not a category
    assert not np.isnan(encoded[2, 3:]).any()


def test_holes_in_both_kinds_train_and_give_finite_codes(quiet):
    X = _table(n=200)
    X.loc[:20, "size"] = np.nan
    X.loc[10:30, "colour"] = np.nan
    dae = _dae().fit(X)
    assert np.isfinite(dae.transform(X)).all()
    assert np.isfinite(dae.loss_curve_).all()


def _onehot_batch(n=64):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": pd.Categorical(rng.choice(list("xyz"), n)), "b": rng.normal(size=n)})
    layout = TableLayout.fit(X, "from_dtype", ["a", "b"])
    return layout, torch.as_tensor(layout.encode(X))


def test_swap_noise_swaps_whole_categories():
    layout, batch = _onehot_batch()
    corruption = make_corruption("swap", 0.5, bounded=False, X=batch, columns=layout.column_of)
    assert isinstance(corruption, SwapNoise)
    noisy = corruption(batch, torch.Generator().manual_seed(0))
    block = noisy[:, :3]
    assert torch.equal(block.sum(dim=1), torch.ones(len(batch)))  # still one category per row
    assert (block != batch[:, :3]).any()  # and some rows got another's
    rows = {tuple(r) for r in batch[:, :3].tolist()}
    assert {tuple(r) for r in block.tolist()} <= rows


def test_masking_noise_masks_whole_columns():
    layout, batch = _onehot_batch()
    corruption = make_corruption("masking", 0.5, bounded=False, X=batch, columns=layout.column_of)
    assert isinstance(corruption, MaskingNoise)
    noisy = corruption(torch.ones_like(batch), torch.Generator().manual_seed(0))
    sums = noisy[:, :3].sum(dim=1)
    assert set(sums.tolist()) == {0.0, 3.0}  # a column's values kept whole or masked whole


def test_each_column_weighs_its_baseline():
    # Predicting each column's training average (numbers) and frequencies (categories)
    # costs 1 per column, whatever the kind or number of categories.
    layout, batch = _onehot_batch(n=300)
    frequencies = batch[:, :3].mean(dim=0)
    logits = torch.cat([frequencies.log().expand(len(batch), 3), torch.zeros(len(batch), 1)], dim=1)
    loss = TableLoss(layout)(logits, batch)
    assert loss.item() == pytest.approx(1.0, abs=1e-4)
    perfect = batch.clone()
    perfect[:, :3] = batch[:, :3] * 50 - 25  # the right category by far, the numbers exact
    assert TableLoss(layout)(perfect, batch).item() < 1e-6


def test_feature_layers_all(quiet):
    X = _table(n=100)
    code = _dae(hidden_units=(12, 6, 3)).fit(X)
    every = _dae(hidden_units=(12, 6, 3), feature_layers="all").fit(X)
    features = every.transform(X)
    assert features.shape == (100, 2 * (12 + 6 + 3) - 3)
    # The same weights: the code sits among every layer's activations.
    np.testing.assert_allclose(features[:, 18:21], code.transform(X), rtol=1e-5, atol=1e-6)
    assert len(every.get_feature_names_out()) == features.shape[1]


def test_pickles_saves_and_loads(tmp_path, quiet):
    import skdae

    X = _table(n=80)
    X.loc[:5, "colour"] = np.nan
    dae = _dae().fit(X)
    again = pickle.loads(pickle.dumps(dae))
    np.testing.assert_array_equal(again.transform(X), dae.transform(X))
    loaded = skdae.load(dae.save(tmp_path / "model"))
    assert loaded.fitted_model_.table == dae.fitted_model_.table
    assert loaded.loss_function_ == "table"
    assert list(loaded.feature_names_in_) == list(X.columns)
    np.testing.assert_array_equal(loaded.transform(X), dae.transform(X))
    pd.testing.assert_frame_equal(loaded.reconstruct(X), dae.reconstruct(X))
    # The loaded model trains on: its noise still swaps whole categories.
    loaded.set_params(warm_start=True, max_epochs=2).fit(X)
    assert loaded.n_iter_ == dae.n_iter_ + 2


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: t.update(categories=[["blue"], None, None, None]),  # colour's categories cut
        lambda t: t.update(scale=[1.0, -1.0, 1.0, 1.0]),
        lambda t: t.update(names=["colour", "size"]),
        lambda t: t.pop("frame"),
    ],
)
def test_load_refuses_a_damaged_table(tmp_path, quiet, damage):
    import json

    import skdae
    from skdae._model_file import MODEL_FILE, checksum

    folder = _dae().fit(_table(n=40)).save(tmp_path / "model")
    document = json.loads((folder / MODEL_FILE).read_text())
    damage(document["fitted"]["table"])
    document["checksum"] = checksum(document)
    (folder / MODEL_FILE).write_text(json.dumps(document))
    with pytest.raises(skdae.ModelFileError):
        skdae.load(folder)


def test_warm_start_and_partial_fit(quiet):
    X = _table(n=100)
    dae = _dae(max_epochs=2)
    dae.partial_fit(X).partial_fit(X.iloc[:50])
    assert dae.n_iter_ == 2
    with pytest.raises(ValueError, match="columns"):
        dae.partial_fit(X[["colour", "size", "shape", "weight"]])
    numeric = DenoisingAutoencoder(hidden_units=(4, 2), max_epochs=1, warm_start=True)
    numeric.fit(X[["size", "weight"]].to_numpy())
    numeric.set_params(categorical_features="from_dtype", noise_type="swap")
    with pytest.raises(ValueError, match="warm start"):
        numeric.fit(X)


def test_set_output_pandas(quiet):
    X = _table(n=60)
    codes = _dae().set_output(transform="pandas").fit(X).transform(X)
    assert list(codes.columns)[:2] == ["denoisingautoencoder0", "denoisingautoencoder1"]


def test_imputer_fills_categorical_holes_with_categories(quiet):
    from skdae import AutoencoderImputer

    X = _table(n=300)
    holed = X.copy()
    rng = np.random.default_rng(1)
    colour_holes = rng.random(len(X)) < 0.2
    size_holes = rng.random(len(X)) < 0.2
    holed.loc[colour_holes, "colour"] = np.nan
    holed.loc[size_holes, "size"] = np.nan
    imputer = AutoencoderImputer(
        DenoisingAutoencoder(
            hidden_units=(16, 8),
            noise_type="masking",
            noise_factor=0.25,
            max_epochs=40,
            monitor=False,
        ),
        categorical_features="from_dtype",
        add_indicator=True,
        random_state=0,
    )
    filled = imputer.fit_transform(holed)
    assert filled["colour"].dtype == "category"
    assert not filled[["colour", "size"]].isna().any().any()
    # Observed cells are kept exactly; holes get known categories.
    pd.testing.assert_series_equal(
        filled["colour"][~colour_holes].astype(str), X["colour"][~colour_holes].astype(str)
    )
    np.testing.assert_array_equal(filled["size"][~size_holes], X["size"][~size_holes])
    assert set(filled["colour"][colour_holes]) <= {"red", "green", "blue"}
    assert list(filled.columns[-2:]) == ["missingindicator_colour", "missingindicator_size"]
    assert filled["missingindicator_colour"].to_numpy().sum() == colour_holes.sum()
    # An object array gives an object array.
    array = imputer.set_params(categorical_features=[0, 3]).fit_transform(holed.to_numpy())
    assert array.dtype == object and array.shape == (300, 6)


def test_skops_round_trip(quiet):
    sio = pytest.importorskip("skops.io")
    X = _table(n=80)
    dae = _dae().fit(X)
    payload = sio.dumps(dae)
    again = sio.loads(payload, trusted=sio.get_untrusted_types(data=payload))
    np.testing.assert_array_equal(again.transform(X), dae.transform(X))
    assert again.fitted_model_.table == dae.fitted_model_.table


def test_polars_categorical_columns_from_dtype(quiet):
    pl = pytest.importorskip("polars")
    X = _table(n=80)
    frame = pl.DataFrame(
        {
            "colour": pl.Series(X["colour"].astype(str).tolist(), dtype=pl.Categorical),
            "size": X["size"].to_numpy(),
        }
    )
    dae = _dae().fit(frame)
    assert dae.fitted_model_.table["categorical"] == [True, False]
    rebuilt = dae.reconstruct(frame)
    assert set(rebuilt["colour"]) <= {"red", "green", "blue"}
    np.testing.assert_array_equal(dae.transform(frame), dae.transform(X[["colour", "size"]]))


def test_none_and_pandas_na_are_holes_in_numeric_columns(quiet):
    X = _table(n=60)
    X["size"] = X["size"].astype(object)
    X.loc[0, "size"], X.loc[1, "size"] = None, pd.NA
    encoded = TableLayout.fit(X, "from_dtype", list(X.columns)).encode(X)
    assert np.isnan(encoded[:2, 3]).all() and not np.isnan(encoded[2:, 3]).any()


def test_reconstruct_keeps_the_rows_index(quiet):
    X = _table(n=60)
    dae = _dae().fit(X)
    part = X.iloc[40:]
    assert dae.reconstruct(part).index.equals(part.index)


def test_refused_tables_say_why(quiet):
    X = _table(n=60)
    X["empty"] = np.nan
    with pytest.raises(ValueError, match="'empty' holds no value"):
        _dae().fit(X)
    dae = _dae().fit(X.drop(columns="empty"))
    infinite = X.drop(columns="empty")
    infinite.loc[0, "size"] = np.inf
    with pytest.raises(ValueError, match="'size' holds infinity"):
        dae.transform(infinite)
    from skdae.metrics import denoising_score

    with pytest.raises(ValueError, match="mixed table"):
        denoising_score(dae, X.drop(columns="empty"))
    dae.set_params(warm_start=True, categorical_features=["colour"])
    with pytest.raises(ValueError, match="now names others"):
        dae.fit(X.drop(columns="empty"))


def test_imputer_table_takes_a_placeholder_as_simple_imputer_does(tiny):
    from skdae import AutoencoderImputer

    X = _table(40)
    column = "size"
    marked = X.copy()
    marked.loc[marked.index[::4], column] = -1.0  # the placeholder, in a numeric column
    imputer = AutoencoderImputer(
        DenoisingAutoencoder(noise_type="masking", noise_factor=0.2, **tiny),
        categorical_features="from_dtype",
        missing_values=-1.0,
        random_state=0,
    )
    filled = imputer.fit_transform(marked)
    holes = np.zeros(len(X), dtype=bool)
    holes[::4] = True
    assert not (filled[column].to_numpy()[holes] == -1.0).any()  # each placeholder filled
    np.testing.assert_array_equal(filled[column].to_numpy()[~holes], X[column].to_numpy()[~holes])
    with pytest.raises(ValueError, match="missing_values='\\?'"):  # numbers only without a table
        AutoencoderImputer(missing_values="?").fit(np.zeros((5, 2)))
