"""
Monitoring a fit: learning curve, dead units, pictures
======================================================

With ``monitor=True`` (the default) every epoch of ``history_`` records the
training loss, the learning rate, the gradient norm, and per hidden layer the
fraction of zero activations on a probe of training rows; ``dead_units`` is
the largest fraction of units that are zero for every probe row. This example
reads them back from two fits on scikit-learn's digits:

- the original post's network (``hidden_units=(128, 64, 32)``, ReLU, batches
  of 256), whose ReLUs can die: a unit that outputs 0 for every input is a
  feature that carries nothing;
- a GELU network with ``early_stopping=True``, which holds out 10% of the rows
  and records their loss, so the learning curve has a validation line.

Both are capped at 60 epochs, to keep the build short. On digits, 25–31% of the
original post's model's 32 code units were 0 on every digit (3 seeds, batch
256; see :doc:`/benchmarks`).
"""

import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skdae import DenoisingAutoencoder
from skdae.callbacks import ReconstructionImages
from skdae.plotting import plot_learning_curve

X = load_digits().data / 16.0

# %%
# Dead ReLUs
# ----------
# A fit whose last epoch leaves more than half of a layer's units dead warns
# (a ``UserWarning``); this prints any warning the fit gave.
relu = DenoisingAutoencoder(
    (128, 64, 32), activation="relu", batch_size=256, max_epochs=60, random_state=0
)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    relu.fit(X)
for warning in caught:
    if issubclass(warning.category, UserWarning):  # skdae's and scikit-learn's
        print(f"{warning.category.__name__}: {warning.message}")
print(
    f"ReLU network: {relu.n_iter_} epochs, dead units in the last epoch "
    f"{relu.history_[-1, 'dead_units']:.0%}"
)
print(
    "zero fraction per layer:",
    {name: round(value, 3) for name, value in relu.history_[-1, "zero_fraction"].items()},
)

# %%
# The GELU network, with early stopping and a picture after every epoch
# ----------------------------------------------------------------------
# :class:`~skdae.callbacks.ReconstructionImages` writes a PNG of clean / noisy
# / reconstructed digits after every epoch (and a GIF at the end).
pictures = Path(tempfile.mkdtemp())
gelu = DenoisingAutoencoder(
    (256, 128, 32),
    early_stopping=True,
    max_epochs=60,
    random_state=0,
    callbacks=[ReconstructionImages(X[:8], image_shape=(8, 8), directory=pictures)],
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # 60 epochs may be a cap
    gelu.fit(X)
print(
    f"GELU network: {gelu.n_iter_} epochs, best validation score "
    f"{gelu.best_validation_score_:.4f}, dead units in the last epoch "
    f"{gelu.history_[-1, 'dead_units']:.0%}"
)
print("wrote", sorted(path.name for path in pictures.iterdir())[-2:])

# %%
# The learning curve: training loss (on noisy input) and validation loss.
plot_learning_curve(gelu.history_)
plt.show()

# %%
# Dead units per epoch, for both networks:
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, model in [("ReLU (128, 64, 32)", relu), ("GELU (256, 128, 32)", gelu)]:
    ax.plot(model.history_[:, "epoch"], model.history_[:, "dead_units"], label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("largest fraction of dead units")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# The last picture :class:`~skdae.callbacks.ReconstructionImages` wrote:
last = sorted(pictures.glob("epoch_*.png"))[-1]
fig, ax = plt.subplots(figsize=(7.2, 2.9))
ax.imshow(plt.imread(last))
ax.set_axis_off()
ax.set_title(last.name)
plt.show()
