"""
The latent map
==============

:meth:`~skdae.DenoisingAutoencoder.transform` turns each row into its code.
Drawn in two dimensions (the first two principal components of the code) and
coloured by the digit each row shows, the codes of held-out digits show how
the autoencoder, which never saw a label, arranged them. A logistic regression
on the codes measures what the picture suggests.

This trains on 1,347 of scikit-learn's digits for 40 epochs at most. The same
map for MNIST's test digits, as ``skdae train --dataset mnist --max-epochs 30``
drew it with the original post's model (784-128-64-32, ReLU):

.. image:: /images/mnist_latent_map.png
   :alt: latent codes of MNIST test digits coloured by label
   :width: 480px
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdae import DenoisingAutoencoder
from skdae.plotting import plot_latent_map

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=450, random_state=0)

# 40 epochs are a cap here; the ConvergenceWarning it may raise is silenced.
dae = DenoisingAutoencoder((256, 128, 32), max_epochs=40, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    dae.fit(X_train)
codes_train, codes_test = dae.transform(X_train), dae.transform(X_test)
print("codes:", codes_test.shape)

# %%
# The map of the 450 held-out digits' codes:
plot_latent_map(codes_test, y_test, title="32-d codes of held-out digits (PCs 1 and 2)")
plt.show()

# %%
# For comparison, the map of the raw pixels (their first two principal
# components, the same projection ``plot_latent_map`` applies to codes):
pixels_2d = PCA(n_components=2, random_state=0).fit(X_train).transform(X_test)
plot_latent_map(pixels_2d, y_test, title="raw pixels of the same digits (PCs 1 and 2)")
plt.show()

# %%
# How much of the label the codes keep, next to the 64 raw pixels: the
# accuracy on the held-out digits of a logistic regression trained on the
# others.
probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
on_codes = probe.fit(codes_train, y_train).score(codes_test, y_test)
on_pixels = probe.fit(X_train, y_train).score(X_test, y_test)
print(f"accuracy on the 32 codes:      {on_codes:.4f}")
print(f"accuracy on the 64 raw pixels: {on_pixels:.4f}")
