"""Figures. matplotlib is an optional dependency (``pip install skdae[plots]``),
imported only when a figure is drawn."""

import numpy as np


def _pyplot():
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("skdae's pictures need matplotlib: pip install 'skdae[plots]'") from exc
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_reconstructions(rows, image_shape, path=None, titles=None, cmap="gray"):
    """Draw rows of images side by side, e.g. clean / noisy / reconstructed.

    Parameters
    ----------
    rows : sequence of array-like of shape (n_images, n_features)
        One entry per row of the grid; all with the same number of images.
    image_shape : tuple of int
        Shape of one image, e.g. ``(8, 8)`` for ``load_digits``.
    path : str or path-like, default=None
        Where to write the picture (PNG by extension); None only returns it.
    titles : sequence of str, default=None
        A label for each row.
    cmap : str, default="gray"

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    plt = _pyplot()
    rows = [np.asarray(row) for row in rows]
    n_rows, n_cols = len(rows), rows[0].shape[0]
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(n_cols * 0.9, n_rows * 0.95), squeeze=False)
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.imshow(row[c].reshape(image_shape), cmap=cmap, vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
        if titles is not None:
            axes[r, 0].set_ylabel(titles[r], rotation=0, ha="right", va="center")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig
