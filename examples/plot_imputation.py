"""
Holes in a table, filled by a denoising autoencoder
===================================================

:class:`~skdae.AutoencoderImputer` has scikit-learn's imputer contract: ``fit``
on the incomplete rows, ``transform`` fills the holes (``NaN``) of any rows and
never changes an observed value. The autoencoder it trains sees a hole as its
conditional mean given the row's observed values, under a Gaussian fitted to
the incomplete table, adds a learned correction to that guess, and learns from
the observed values only.

The data: scikit-learn's diabetes table (442 patients, 10 columns on their own
scales), with a fifth of its values removed at random. We know what was
removed, so we can see how close each imputer comes.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, SimpleImputer

from skdae import AutoencoderImputer

data = load_diabetes(scaled=False)
X = data.data
rng = np.random.default_rng(0)
holes = rng.random(X.shape) < 0.2
X_holed = np.where(holes, np.nan, X)
print(f"{holes.sum()} of {X.size} values removed; rows with a hole: {holes.any(axis=1).sum()}")

# %%
# Fill the holes with each imputer, and compare the filled values with the
# removed ones (each column scaled to its range, so that every column counts).
imputers = {
    "AutoencoderImputer": AutoencoderImputer(random_state=0),
    "IterativeImputer": IterativeImputer(random_state=0, max_iter=25),
    "SimpleImputer (mean)": SimpleImputer(),
}
width = X.max(axis=0) - X.min(axis=0)
filled = {}
for name, imputer in imputers.items():
    with warnings.catch_warnings():
        # IterativeImputer's 25 rounds end before its own tolerance here; the
        # autoencoder's epoch cap is a cap too. Neither changes the comparison.
        warnings.simplefilter("ignore", ConvergenceWarning)
        filled[name] = imputer.fit_transform(X_holed)
    error = ((filled[name] - X) / width)[holes]
    print(f"{name:22s} RMSE over the holes {np.sqrt(np.mean(error**2)):.4f}")
assert np.array_equal(filled["AutoencoderImputer"][~holes], X[~holes])  # observed: untouched

# %%
# Left: the holes of the first 40 rows (white), with the autoencoder's filled
# values in colour; right: removed against filled values of one column, for
# the autoencoder and the column mean.
column = list(data.feature_names).index("bmi")
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
shown = (filled["AutoencoderImputer"][:40] - X.min(axis=0)) / width
left.imshow(np.where(holes[:40], shown, np.nan).T, aspect="auto", cmap="viridis", vmin=0, vmax=1)
left.imshow(np.where(holes[:40], np.nan, 0.5).T, aspect="auto", cmap="Greys", vmin=0, vmax=1)
left.set(
    yticks=range(X.shape[1]),
    yticklabels=data.feature_names,
    xlabel="row",
    title="First 40 rows: filled holes in colour (grey: observed)",
)
truth = X[holes[:, column], column]
for name, marker in [("AutoencoderImputer", "o"), ("SimpleImputer (mean)", "x")]:
    right.scatter(truth, filled[name][holes[:, column], column], s=14, marker=marker, label=name)
right.plot([truth.min(), truth.max()], [truth.min(), truth.max()], "k--", lw=1)
right.set(xlabel="removed value of bmi", ylabel="filled value", title="bmi: removed vs filled")
right.legend(loc="upper left")
fig.tight_layout()
plt.show()
