"""
Outliers flagged by an ensemble of autoencoders
===============================================

:class:`~skdae.AutoencoderOutlierDetector` has
:class:`~sklearn.ensemble.IsolationForest`'s contract: ``fit`` on the rows as
they are (each column is scaled to its own range inside), ``score_samples``
(higher is more normal), ``decision_function`` (negative for outliers) and
``predict`` (+1 / -1), with a threshold set by ``contamination``.

The data: scikit-learn's breast cancer measurements, 30 columns on very
different scales. The benign tumours are the normal rows; 18 malignant ones
(5% of the rows) are mixed in as the outliers to find. The detector never
sees the labels: they only tell us, afterwards, how well its scores rank the
malignant rows first.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from skdae import AutoencoderOutlierDetector

data = load_breast_cancer()
rng = np.random.default_rng(0)
benign = np.flatnonzero(data.target == 1)
malignant = rng.choice(np.flatnonzero(data.target == 0), size=18, replace=False)
X = data.data[np.r_[benign, malignant]]
is_malignant = np.r_[np.zeros(len(benign), bool), np.ones(len(malignant), bool)]
print(
    f"{len(X)} rows, {is_malignant.sum()} of them malignant; columns span "
    f"{X.min():.3g} to {X.max():.0f}"
)

# %%
# Fit on every row, outliers included, and flag with the default threshold:
# ``contamination="auto"`` flags the rows whose score lies beyond a box plot's
# upper whisker (above the third quartile plus 1.5 interquartile ranges).
detector = AutoencoderOutlierDetector(random_state=0).fit(X)
scores = -detector.score_samples(X)  # higher: more of an outlier
flagged = detector.predict(X) == -1
threshold = -detector.offset_
forest = IsolationForest(random_state=0).fit(X)
print(f"flagged {flagged.sum()} rows, {(flagged & is_malignant).sum()} of them malignant")
print(
    f"ROC AUC of the scores: autoencoders {roc_auc_score(is_malignant, scores):.3f}, "
    f"IsolationForest {roc_auc_score(is_malignant, -forest.score_samples(X)):.3f}"
)

# %%
# Left: every row's score, in increasing order, with the threshold; right: the
# rows on their first two principal components (of standardised columns),
# flagged rows circled. Malignant rows are red in both.
order = np.argsort(scores)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
left.scatter(
    np.arange(len(X)), scores[order], s=10, c=np.where(is_malignant[order], "tab:red", "tab:blue")
)
left.axhline(threshold, color="black", linestyle="--", label="threshold (auto)")
left.set(
    yscale="log",
    xlabel="rows, by score",
    ylabel="outlier score (log scale)",
    title="Scores: malignant in red",
)
left.legend(loc="upper left")
points = PCA(n_components=2).fit_transform(StandardScaler().fit_transform(X))
right.scatter(*points.T, s=10, c=np.where(is_malignant, "tab:red", "tab:blue"))
right.scatter(*points[flagged].T, s=80, facecolors="none", edgecolors="black", label="flagged")
right.set(
    xlabel="first principal component",
    ylabel="second principal component",
    title="Rows flagged as outliers",
)
right.legend(loc="upper right")
fig.tight_layout()
plt.show()
