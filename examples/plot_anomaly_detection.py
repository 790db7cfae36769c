"""
Anomaly detection with ``score_samples``
========================================

An autoencoder reconstructs rows like those it was trained on well, and other
rows badly. :meth:`~skdae.DenoisingAutoencoder.score_samples` is minus each
row's reconstruction RMSE, so minus it is an anomaly score: the higher, the
less the row looks like the training data.

Here the "normal" data is every digit but 0, and the anomalies are the 0s.
Each detector is fitted on normal digits only; on held-out normal digits
mixed with all the 0s, the ROC curve shows how well its score ranks the 0s
first. The contenders, at the same width of 16:

- the denoising autoencoder's reconstruction error;
- :class:`~sklearn.decomposition.PCA`'s reconstruction error with 16
  components;
- :class:`~sklearn.ensemble.IsolationForest`'s score.

Which one wins depends on the data; the AUCs printed below are this run's
answer on digits, with 40 epochs at most for the autoencoder.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import RocCurveDisplay, roc_auc_score
from sklearn.model_selection import train_test_split

from skdae import DenoisingAutoencoder

X, y = load_digits(return_X_y=True)
X = X / 16.0
normal, anomalies = X[y != 0], X[y == 0]
X_train, X_normal_test = train_test_split(normal, test_size=0.3, random_state=0)
X_test = np.vstack([X_normal_test, anomalies])
is_anomaly = np.r_[np.zeros(len(X_normal_test)), np.ones(len(anomalies))]
print(
    f"train on {len(X_train)} normal digits; test on {len(X_normal_test)} normal + "
    f"{len(anomalies)} zeros"
)

# %%
# Fit the three detectors on normal digits only. 40 epochs are a cap for the
# autoencoder here (its ConvergenceWarning is silenced).
dae = DenoisingAutoencoder((256, 128, 16), max_epochs=40, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    dae.fit(X_train)
pca = PCA(n_components=16, random_state=0).fit(X_train)
forest = IsolationForest(random_state=0).fit(X_train)

# %%
# Anomaly scores: higher means more anomalous.
scores = {
    "denoising autoencoder (RMSE)": -dae.score_samples(X_test),
    "PCA(16) (RMSE)": np.sqrt(
        np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2, axis=1)
    ),
    "IsolationForest": -forest.score_samples(X_test),
}
for name, score in scores.items():
    print(f"{name:30s} ROC AUC {roc_auc_score(is_anomaly, score):.4f}")

# %%
# The ROC curves:
fig, ax = plt.subplots(figsize=(5.5, 5))
for name, score in scores.items():
    RocCurveDisplay.from_predictions(is_anomaly, score, name=name, ax=ax)
ax.plot([0, 1], [0, 1], ls=":", color="grey")
ax.set_title("Finding the 0s among other digits")
fig.tight_layout()
plt.show()
