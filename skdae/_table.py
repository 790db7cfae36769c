"""Mixed-type tables: what the columns are, and how the network sees them.

``TableLayout`` is fitted from a table (a pandas DataFrame, or an array,
object-typed or not) and ``categorical_features`` with HistGradientBoosting's
meaning. It encodes rows for the network: a numeric column standardised (its
holes kept as NaN), a categorical column one-hot over the categories seen in
``fit`` (an unknown category all zeros, as ``OneHotEncoder(handle_unknown=
"ignore")`` does; a missing one all NaN: a hole, not a new category). It
decodes the network's output back to the table's kinds: numbers in their
units, categories for categorical columns.

``TableLoss`` is the training loss over that layout: the squared error of each
numeric column, the cross-entropy of one softmax head per categorical column,
each divided by what predicting the column's training average (numeric) or
frequencies (categorical) would cost, so that every original column weighs
alike whatever its kind or number of categories. ``table_activation`` maps
the network's logits to the reconstruction (softmax per categorical column).
"""

import math
import numbers

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ._noise import COLUMN_NOISE_TYPES

# A categorical column whose frequencies leave almost nothing to predict would
# otherwise weigh without bound (its baseline cross-entropy near 0).
MIN_BASELINE = 0.05


def is_frame(X):
    return hasattr(X, "columns") and hasattr(X, "iloc") and hasattr(X, "dtypes")


def _column(X, j):
    """Column ``j`` of a table as a 1-D array (object-typed for categories)."""
    if is_frame(X):
        column = X.iloc[:, j]
        if str(column.dtype) == "category":
            return column.astype(object).to_numpy()
        return column.to_numpy()
    return np.asarray(X)[:, j]


def _missing(values):
    """Where a 1-D array holds a missing value (NaN, None, pandas.NA or NaT)."""
    if values.dtype.kind in "fc":
        return np.isnan(values)
    if values.dtype.kind != "O":
        return np.zeros(len(values), dtype=bool)
    return np.fromiter(
        (v is None or _is_nan_scalar(v) for v in values),
        dtype=bool,
        count=len(values),
    )


def missing_cells(X):
    """Where table X (``as_table``) holds missing values: a boolean ``(n, columns)`` mask."""
    return np.column_stack([_missing(_column(X, j)) for j in range(X.shape[1])])


def _is_nan_scalar(value):
    if isinstance(value, numbers.Real):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def resolve_categorical(categorical_features, X, n_features, names):
    """``categorical_features`` as a boolean mask over X's columns (HistGradientBoosting's
    meaning: "from_dtype", indices, names or a mask), or raise ValueError saying why not."""
    if isinstance(categorical_features, str) and categorical_features == "from_dtype":
        if not is_frame(X):
            return np.zeros(n_features, dtype=bool)
        return np.array([str(dtype) == "category" for dtype in X.dtypes], dtype=bool)
    values = np.asarray(categorical_features)
    if values.ndim != 1:
        raise ValueError(
            "categorical_features must be 'from_dtype', or a 1-D array of indices, names or "
            f"a boolean mask; got {categorical_features!r}."
        )
    if values.dtype.kind == "b":
        if len(values) != n_features:
            raise ValueError(
                f"categorical_features as a boolean mask must have one entry per column of X "
                f"({n_features}), got {len(values)}."
            )
        return values.copy()
    mask = np.zeros(n_features, dtype=bool)
    if values.dtype.kind in "OUS":
        if names is None:
            raise ValueError(
                "categorical_features names columns, which needs X with column names "
                "(a pandas DataFrame); pass column indices for an array."
            )
        position = {str(name): i for i, name in enumerate(names)}
        unknown = [str(v) for v in values if str(v) not in position]
        if unknown:
            raise ValueError(
                f"categorical_features names columns X does not have: {unknown}; X has "
                f"{list(position)}."
            )
        mask[[position[str(v)] for v in values]] = True
        return mask
    if values.size and values.dtype.kind not in "iu":
        raise ValueError(
            f"categorical_features must hold column indices (ints), names or booleans, got "
            f"{categorical_features!r}."
        )
    if values.size and (values.min() < -n_features or values.max() >= n_features):
        raise ValueError(
            f"categorical_features holds indices outside X's {n_features} columns: "
            f"{categorical_features!r}."
        )
    mask[values] = True
    return mask


def _storable(category):
    """Whether a model file can hold ``category``: a string, a bool or a finite number."""
    if isinstance(category, (str, bool)):
        return True
    return isinstance(category, (int, float)) and math.isfinite(category)


def _sorted_categories(values, name):
    observed = [v.item() if isinstance(v, np.generic) else v for v in values[~_missing(values)]]
    unstorable = sorted({type(v).__name__ for v in observed if not _storable(v)})
    if unstorable:
        # Refused now, not at save: a model must be one that a file can hold.
        raise ValueError(
            f"categorical column {name!r} holds categories of kind {', '.join(unstorable)}; a "
            "category must be a string, a bool or a finite number (what a model file holds). "
            "Convert the column first, e.g. X[column].astype(str)."
        )
    try:
        return sorted(set(observed))
    except TypeError:
        raise ValueError(
            f"categorical column {name!r} mixes kinds of values that cannot be ordered "
            f"(e.g. numbers and strings): {sorted(map(repr, set(observed)))[:5]}."
        ) from None


def _as_numbers(values, name):
    if values.dtype.kind == "O":  # None and pandas.NA are holes, as NaN is
        values = np.where(_missing(values), np.nan, values)
    try:
        return values.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"column {name!r} holds values that are not numbers (e.g. "
            f"{next(v for v in values if not isinstance(v, numbers.Number))!r}); list it in "
            "categorical_features to encode it as categories."
        ) from None


class TableLayout:
    """The columns of a fitted table and their encoding for the network.

    Attributes
    ----------
    names : list of str
        Column names (``"x0"``, ``"x1"``, ... for an array).
    categorical : ndarray of bool
        Which columns are categorical.
    categories : list
        Per column, the sorted categories seen in ``fit`` (None for numeric).
    mean, scale : ndarray
        Per column, the standardisation of numeric columns (0 and 1 for
        categorical ones).
    baseline : ndarray
        Per column, the loss of predicting the column's training average
        (numeric: 1 after standardisation) or frequencies (categorical: their
        entropy), the unit each column's loss is measured in.
    frame : bool
        Whether the table was a DataFrame (decoded tables are DataFrames too).
    """

    def __init__(self, names, categorical, categories, mean, scale, baseline, frame):
        self.names = list(names)
        self.categorical = np.asarray(categorical, dtype=bool)
        self.categories = list(categories)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.baseline = np.asarray(baseline, dtype=np.float64)
        self.frame = bool(frame)
        sizes = [len(c) if c is not None else 1 for c in self.categories]
        self.starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.sizes = np.asarray(sizes, dtype=np.int64)
        self.width = int(np.sum(sizes))

    @classmethod
    def fit(cls, X, categorical_features, names):
        """The layout of table X (``names``: its column names, or None for an array)."""
        n_features = X.shape[1]
        mask = resolve_categorical(categorical_features, X, n_features, names)
        names = (
            [str(n) for n in names] if names is not None else [f"x{j}" for j in range(n_features)]
        )
        categories, mean, scale, baseline = [], [], [], []
        for j in range(n_features):
            values = _column(X, j)
            if mask[j]:
                cats = _sorted_categories(values, names[j])
                if not cats:
                    raise ValueError(f"categorical column {names[j]!r} holds no value, only holes.")
                codes = cls._codes(values, cats)
                counts = np.bincount(codes[codes >= 0], minlength=len(cats))
                share = counts / counts.sum()
                entropy = -float(np.sum(share[share > 0] * np.log(share[share > 0])))
                categories.append(cats)
                mean.append(0.0), scale.append(1.0), baseline.append(max(entropy, MIN_BASELINE))
            else:
                numbers_ = _as_numbers(values, names[j])
                observed = numbers_[~np.isnan(numbers_)]
                if not observed.size:
                    raise ValueError(f"numeric column {names[j]!r} holds no value, only holes.")
                centre, spread = float(observed.mean()), float(observed.std())
                categories.append(None)
                mean.append(centre), scale.append(spread if spread > 0 else 1.0)
                baseline.append(1.0)
        return cls(names, mask, categories, mean, scale, baseline, is_frame(X))

    @staticmethod
    def _codes(values, categories):
        """Each value's category index: -1 unknown, -2 missing."""
        index = {c: i for i, c in enumerate(categories)}
        missing = _missing(values)
        codes = np.fromiter((index.get(v, -1) for v in values.tolist()), np.int64, len(values))
        codes[missing] = -2
        return codes

    # ------------------------------------------------------------- encoding
    @property
    def column_of(self):
        """For each encoded column, the table column it belongs to."""
        return np.repeat(np.arange(len(self.names)), self.sizes)

    def encode(self, X):
        """Table X (``as_table``) as the network's float32 input, holes as NaN."""
        out = np.zeros((X.shape[0], self.width), dtype=np.float32)
        for j, start in enumerate(self.starts):
            values = _column(X, j)
            if self.categorical[j]:
                codes = self._codes(values, self.categories[j])
                rows = np.flatnonzero(codes >= 0)
                out[rows, start + codes[rows]] = 1.0
                out[codes == -2, start : start + self.sizes[j]] = np.nan
            else:
                numbers_ = _as_numbers(values, self.names[j])
                if np.isinf(numbers_).any():
                    raise ValueError(
                        f"column {self.names[j]!r} holds infinity; only NaN may be a hole."
                    )
                out[:, start] = (numbers_ - self.mean[j]) / self.scale[j]
        return out

    def decode(self, values, frame=False, index=None):
        """The network's reconstruction (probabilities for categories) as a table:
        numbers in their units, the most probable category of each categorical column;
        a DataFrame on ``index`` when ``frame`` (the rows came as one), else an object
        array."""
        columns = []
        for j, start in enumerate(self.starts):
            if self.categorical[j]:
                block = values[:, start : start + self.sizes[j]]
                cats = np.empty(len(self.categories[j]), dtype=object)
                cats[:] = self.categories[j]
                columns.append(cats[np.argmax(block, axis=1)])
            else:
                columns.append(values[:, start] * self.scale[j] + self.mean[j])
        if frame:
            import pandas as pd

            return pd.DataFrame(
                {
                    name: pd.Categorical(col, categories=cats) if cats is not None else col
                    for name, col, cats in zip(self.names, columns, self.categories, strict=True)
                },
                index=index,
            )
        table = np.empty((values.shape[0], len(self.names)), dtype=object)
        for j, col in enumerate(columns):
            table[:, j] = col
        return table

    # ---------------------------------------------------------------- plain
    def to_plain(self):
        return {
            "names": self.names,
            "categorical": self.categorical.tolist(),
            "categories": [None if c is None else list(c) for c in self.categories],
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "baseline": self.baseline.tolist(),
            "frame": self.frame,
        }

    @classmethod
    def from_plain(cls, plain):
        return cls(**plain)

    def __eq__(self, other):
        return isinstance(other, TableLayout) and self.to_plain() == other.to_plain()

    def __repr__(self):
        return (
            f"TableLayout({len(self.names)} columns, {int(self.categorical.sum())} categorical, "
            f"width {self.width})"
        )

    # --------------------------------------------------------- torch views
    def blocks(self, device=None):
        """The categorical columns' encoded positions as a padded index matrix
        ``(n_categorical, max_categories)`` and its validity mask."""
        starts = self.starts[self.categorical]
        sizes = self.sizes[self.categorical]
        width = int(sizes.max()) if sizes.size else 1
        offsets = np.arange(width)
        valid = offsets[None, :] < sizes[:, None]
        index = np.where(valid, starts[:, None] + offsets[None, :], 0)
        return (
            torch.as_tensor(index, device=device),
            torch.as_tensor(valid, device=device),
        )


def _polars_to_pandas(X):
    """A polars DataFrame as pandas (categorical and enum columns as pandas categories),
    without pyarrow."""
    import pandas as pd

    columns = {}
    for name, dtype in zip(X.columns, X.dtypes, strict=True):
        values = X.get_column(name).to_numpy()
        is_category = str(dtype).startswith(("Categorical", "Enum"))
        columns[name] = pd.Categorical(values) if is_category else values
    return pd.DataFrame(columns)


def as_table(X, layout=None):
    """X as a table to encode: a pandas DataFrame as it is (a polars one as pandas),
    anything else as a 2-D object array; checked against ``layout``'s columns when given."""
    if hasattr(X, "toarray"):
        raise TypeError("a mixed table (categorical_features) is dense, not a sparse matrix.")
    if type(X).__module__.startswith("polars"):
        X = _polars_to_pandas(X)
    if not is_frame(X):
        X = np.asarray(X, dtype=object)
        if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"X must be a non-empty 2-D table, got shape {X.shape}.")
    if layout is not None:
        if layout.frame and is_frame(X) and [str(c) for c in X.columns] != layout.names:
            raise ValueError(
                f"X's columns {[str(c) for c in X.columns]} are not the ones fitted: "
                f"{layout.names}."
            )
        if X.shape[1] != len(layout.names):
            raise ValueError(
                f"X has {X.shape[1]} columns, but the model was fitted on a table of "
                f"{len(layout.names)}: {layout.names}."
            )
    return X


def fitted_layout(estimator):
    """The fitted mixed table's ``TableLayout``, or None (a numeric array, or not fitted)."""
    record = getattr(estimator, "fitted_model_", None)
    table = None if record is None else record.table
    return None if table is None else TableLayout.from_plain(table)


def as_fitted_table(estimator, values, rows):
    """A reconstruction as the fitted table's kinds (categories, units), of the kind
    of the ``rows`` it comes from (a DataFrame on their index for a pandas or polars
    table, else an object array; ``rows`` None: as fitted); or as it is."""
    layout = fitted_layout(estimator)
    if layout is None:
        return values
    if rows is None:  # codes (inverse_transform): the kind the table was fitted as
        return layout.decode(values, frame=layout.frame)
    if type(rows).__module__.startswith("polars"):
        return layout.decode(values, frame=True)
    frame = is_frame(rows)
    return layout.decode(values, frame=frame, index=rows.index if frame else None)


def check_table_params(estimator):
    """Refuse the parameters a mixed table cannot train with (ValueError)."""
    if getattr(estimator, "categorical_features", None) is None:
        return
    if estimator.noise_type not in COLUMN_NOISE_TYPES and estimator.noise_factor > 0:
        raise ValueError(
            "a mixed table (categorical_features) is corrupted a whole column at a time, "
            f"by noise_type 'swap' or 'masking'; got noise_type={estimator.noise_type!r}."
        )
    if estimator.loss == "bce":
        raise ValueError(
            "a mixed table (categorical_features) trains with its own loss (squared error "
            "for numbers, cross-entropy for categories); set loss='auto' (or 'mse', which "
            "means the same for a table)."
        )


def table_for_fit(estimator, X, warm):
    """X encoded for the network and its ``TableLayout`` when the estimator's
    ``categorical_features`` is set (the fitted layout for a warm start), else X
    as it is and None."""
    categorical = getattr(estimator, "categorical_features", None)
    fitted = fitted_layout(estimator) if warm else None
    if warm and (categorical is None) != (fitted is None):
        raise ValueError(
            "warm start: the model was fitted on "
            + ("a numeric array" if fitted is None else "a mixed table")
            + f", and categorical_features={categorical!r} now asks for "
            + ("a mixed table" if fitted is None else "a numeric array")
            + "; set warm_start=False to train a new model."
        )
    if categorical is None:
        return X, None
    X = as_table(X, fitted)
    names = [str(c) for c in X.columns] if is_frame(X) else None
    layout = fitted
    if layout is None:
        layout = TableLayout.fit(X, categorical, names)
    elif not np.array_equal(
        resolve_categorical(categorical, X, X.shape[1], names), layout.categorical
    ):
        raise ValueError(
            f"warm start: the model was fitted with categorical columns "
            f"{[n for n, c in zip(layout.names, layout.categorical, strict=True) if c]}, and "
            f"categorical_features={categorical!r} now names others; set warm_start=False "
            "to train a new model."
        )
    return layout.encode(X), layout


def table_net_params(layout, device):
    """The net's criterion keywords and output activation for a ``TableLayout``:
    ``TableLoss`` and ``TableActivation`` over its columns."""
    return {"criterion__layout": layout}, TableActivation(layout).to(device)


def _block_view(values, index, valid):
    """``values[:, index]`` with padding at -inf: ``(batch, n_categorical, max_categories)``."""
    return values[:, index].masked_fill(~valid, -torch.inf)


class TableActivation:
    """Logits to reconstruction: numeric columns as they are, one softmax per categorical
    column. A plain callable (skorch keeps modules for its own components)."""

    def __init__(self, layout):
        self.index, self.valid = layout.blocks()
        self.has_blocks = bool(layout.categorical.any())

    def to(self, device):
        self.index, self.valid = self.index.to(device), self.valid.to(device)
        return self

    def __call__(self, logits):
        if not self.has_blocks:
            return logits
        if self.index.device != logits.device:  # a model moved after its fit
            self.to(logits.device)
        probabilities = torch.softmax(_block_view(logits, self.index, self.valid), dim=-1)
        out = logits.clone()
        out[:, self.index[self.valid]] = probabilities[:, self.valid].to(out.dtype)
        return out


class TableLoss(nn.Module):
    """The mean, over the observed cells of the table's columns, of each column's loss
    in units of its baseline: the squared error of a standardised numeric column, the
    cross-entropy of a categorical column's softmax head over its categories."""

    counts_observed = True  # holes (NaN) are no targets: the net need not mask them

    def __init__(self, layout):
        super().__init__()
        index, valid = layout.blocks()
        numeric = np.flatnonzero(~layout.categorical)
        self.register_buffer("index", index)
        self.register_buffer("valid", valid)
        self.register_buffer("numeric", torch.as_tensor(layout.starts[numeric]))
        self.register_buffer(
            "numeric_weight", torch.as_tensor(1.0 / layout.baseline[numeric], dtype=torch.float32)
        )
        self.register_buffer(
            "categorical_weight",
            torch.as_tensor(1.0 / layout.baseline[layout.categorical], dtype=torch.float32),
        )
        self.has_blocks = bool(layout.categorical.any())

    def forward(self, logits, target):
        total = torch.zeros((), device=logits.device)
        count = torch.zeros((), device=logits.device)
        if len(self.numeric):
            numbers_ = target[:, self.numeric]
            observed = ~torch.isnan(numbers_)
            error = (logits[:, self.numeric] - numbers_.nan_to_num(0.0)).square()
            total = total + (error * observed * self.numeric_weight).sum()
            count = count + observed.sum()
        if self.has_blocks:
            scores = _block_view(logits, self.index, self.valid)
            onehot = target[:, self.index].masked_fill(~self.valid, 0.0)
            # A hole (NaN) or a category unknown to the model (all 0) is no target.
            observed = onehot.nan_to_num(0.0).sum(dim=-1) > 0.5
            labels = onehot.nan_to_num(0.0).argmax(dim=-1)
            entropy = F.cross_entropy(scores.transpose(1, 2), labels, reduction="none")
            total = total + (entropy * observed * self.categorical_weight).sum()
            count = count + observed.sum()
        return total / count.clamp_min(1)
