"""Figures. matplotlib is an optional dependency (``pip install skdae[plots]``),
imported only when a figure is drawn."""

import numpy as np
from sklearn.decomposition import PCA


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
        The matplotlib colormap; values are drawn between 0 and 1.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure (closed when ``path`` is given).

    See Also
    --------
    skdae.callbacks.ReconstructionImages : Draws this grid after every epoch of a fit.
    plot_latent_map : The codes of the rows, in 2-D.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdae.plotting import plot_reconstructions
    >>> X = load_digits().data[:5] / 16.0
    >>> fig = plot_reconstructions([X, 1 - X], image_shape=(8, 8), titles=["digits", "inverted"])
    >>> len(fig.axes), fig.axes[0].get_ylabel()
    (10, 'digits')
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


def plot_latent_map(codes, labels=None, path=None, title="latent codes"):
    """Scatter the codes in 2-D, coloured by label.

    Codes wider than 2 are projected on their first two principal components.

    Parameters
    ----------
    codes : array-like of shape (n_samples, n_components)
        E.g. ``estimator.transform(X_test)``.
    labels : array-like of shape (n_samples,), default=None
        A label per row, which gives its colour; None draws every row alike.
    path : str or path-like, default=None
        Where to write the picture (PNG by extension); None only returns it.
    title : str, default="latent codes"
        The title of the plot.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure (closed when ``path`` is given).

    See Also
    --------
    plot_reconstructions : The rows themselves, as images.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.decomposition import PCA
    >>> from skdae.plotting import plot_latent_map
    >>> X, y = load_digits(return_X_y=True)
    >>> fig = plot_latent_map(PCA(n_components=8).fit_transform(X), y, title="PCA codes")
    >>> fig.axes[0].get_title()
    'PCA codes'
    """
    plt = _pyplot()
    codes = np.asarray(codes, dtype=np.float64)
    if codes.shape[1] > 2:
        codes = PCA(n_components=2, random_state=0).fit_transform(codes)
        axes_labels = ("PC 1 of the code", "PC 2 of the code")
    elif codes.shape[1] == 2:
        axes_labels = ("code 0", "code 1")
    else:
        codes = np.column_stack([codes[:, 0], np.zeros(len(codes))])
        axes_labels = ("code 0", "")
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    # Markers large enough to see, translucent enough to show where they pile up.
    style = dict(s=10, alpha=0.6, linewidths=0)
    if labels is None:
        ax.scatter(codes[:, 0], codes[:, 1], **style)
    else:
        labels = np.asarray(labels)
        classes = np.unique(labels)
        colours = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
        for i, label in enumerate(classes):
            rows = labels == label
            ax.scatter(
                codes[rows, 0],
                codes[rows, 1],
                color=colours(i % colours.N),
                label=str(label),
                **style,
            )
        ax.legend(
            title="label", markerscale=2, fontsize="small", loc="best", ncols=1 + len(classes) // 12
        )
    ax.set_xlabel(axes_labels[0])
    ax.set_ylabel(axes_labels[1])
    ax.set_title(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig


def plot_learning_curve(history, path=None):
    """Training loss per epoch, and the validation loss when there is one.

    Parameters
    ----------
    history : skorch.History
        E.g. ``estimator.history_``.
    path : str or path-like, default=None
        Where to write the picture (PNG by extension); None only returns it.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure (closed when ``path`` is given).

    See Also
    --------
    skdae.callbacks.TrainingMonitor : Records more of each epoch in the history.

    Examples
    --------
    Usually ``plot_learning_curve(estimator.history_)``; here a history of
    three epochs, written by hand:

    >>> from skorch.history import History
    >>> from skdae.plotting import plot_learning_curve
    >>> history = History()
    >>> for epoch, loss in enumerate([0.30, 0.21, 0.18], start=1):
    ...     history.new_epoch()
    ...     history.record("epoch", epoch)
    ...     history.record("train_loss", loss)
    >>> fig = plot_learning_curve(history)
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
    ('epoch', 'loss')
    """
    plt = _pyplot()
    epochs = history[:, "epoch"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, history[:, "train_loss"], marker="o", ms=3, label="train loss (noisy input)")
    if "valid_loss" in history[-1]:
        ax.plot(epochs, history[:, "valid_loss"], marker="o", ms=3, label="validation loss")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))  # no epoch 2.5
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig


def sprite_image(images, image_shape):
    """Tile images into one square sprite, as TensorBoard's projector wants.

    Parameters
    ----------
    images : array-like of shape (n_images, n_features), values in [0, 1]
        The images, one flat row each.
    image_shape : tuple (height, width)
        The shape of one image.

    Returns
    -------
    sprite : ndarray of shape (side * height, side * width)
        The images in rows of ``side = ceil(sqrt(n_images))``, the rest
        black.

    See Also
    --------
    plot_latent_map : The codes of the same rows, in 2-D.

    Examples
    --------
    >>> import numpy as np
    >>> from skdae.plotting import sprite_image
    >>> sprite_image(np.ones((5, 4)), (2, 2)).shape
    (6, 6)
    """
    images = np.asarray(images, dtype=np.float32).reshape(-1, *image_shape)
    n, (h, w) = len(images), image_shape
    side = int(np.ceil(np.sqrt(n)))
    sprite = np.zeros((side * h, side * w), dtype=np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, side)
        sprite[r * h : (r + 1) * h, c * w : (c + 1) * w] = image
    return sprite
