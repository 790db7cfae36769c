"""ConvDenoisingAutoencoder: the seed's convolutional variant."""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseAutoencoder, positive_ints
from ._modules import ACTIVATIONS, DOWNSAMPLING, ConvAutoencoder


class ConvDenoisingAutoencoder(BaseAutoencoder):
    """Denoising autoencoder with a convolutional encoder and decoder, for images.

    Rows of X are flat images (``n_features = prod(image_shape)``, as in
    ``load_digits`` or ``skdae.datasets.load_mnist``), so the estimator fits in
    a scikit-learn ``Pipeline`` like any transformer. The encoder halves the
    image at each of ``channels`` (a stride-2 convolution, or two convolutions
    and a max-pool) and maps the last feature map to a ``code_size`` code by
    a fully connected layer, or keeps that map as the code; ``transform``
    returns the code. The
    decoder mirrors the encoder with transposed convolutions.
    Training corrupts each batch with fresh Gaussian noise, as
    ``DenoisingAutoencoder`` does, and shares all of its machinery.

    Parameters
    ----------
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(channels, height, width)`` of one row, in
        C order (rows flattened as ``images.reshape(n, -1)``). None: a square
        one-channel image when ``n_features`` is a square number, else one row
        of ``n_features`` pixels (a 1-D signal).
    channels : int or sequence of int, default=(32, 64)
        Feature maps of the encoder's blocks, each of which halves the height
        and width (rounding up).
    code_size : int or None, default=32
        Width of the latent code, a fully connected layer (with
        ``code_activation``) on the flattened last feature map. None: the code
        is that flattened feature map itself, of
        ``channels[-1] * h * w`` values (``h x w`` its size), with no linear
        layer in between (128 values for the seed's network on 28 x 28).
    kernel_size : int, default=3
        Odd side of the square convolution kernels.
    downsampling : {"stride", "maxpool"}, default="stride"
        How each block of the encoder halves the feature map.

        - ``"stride"``: one stride-2 convolution with ``activation``; the
          decoder has one stride-2 transposed convolution per block, the last
          one linear, to the image's channels.
        - ``"maxpool"``: two stride-1 convolutions, each with ``activation``,
          then a 2 x 2 max-pool (an odd side is padded by one, TensorFlow's
          SAME pooling); the decoder has one stride-2 transposed convolution
          with ``activation`` per block, then a linear stride-1 one to the
          image's channels, cropped to the image's size. The seed's network is
          ``channels=(16, 8, 8), downsampling="maxpool", code_size=None``.
    activation : {"relu", "leaky_relu", "elu", "gelu", "selu", "silu", "tanh", \
"sigmoid"}, default="relu"
        Activation after every hidden layer (the code layer's is
        ``code_activation``). The decoder's last layer is linear.
    dropout : float in [0, 1), default=0.0
        Probability of dropping a unit after each hidden layer, in training.
    code_activation : {"relu", "leaky_relu", "elu", "gelu", "selu", "silu", \
"tanh", "sigmoid", "linear"} or None, default=None
        Activation of the code layer, the features ``transform`` returns.
        None: ``activation``. ``"linear"``: none (and no dropout after it).
        With ``code_size=None`` there is no code layer: the code is the last
        feature map after ``activation``, and only None is accepted.
    batch_norm : bool, default=False
        Batch normalisation between each hidden layer and its activation
        (those layers then have no bias). Training batches of one row cannot
        be normalised: a last batch of one row joins the one before it.
    noise_factor : float >= 0, default=0.5
        Strength of the corruption; 0 trains a plain autoencoder. For
        ``noise_type="gaussian"`` the standard deviation of the noise: with
        ``loss_ == "bce"`` the noisy input is ``clip(x + noise_factor * N(0, 1),
        0, 1)``; with ``"mse"`` the noise is scaled by each feature's standard
        deviation and not clipped. For ``"masking"``, ``"salt_and_pepper"``
        and ``"swap"`` the probability, below 1, that each value is corrupted.
    noise_type : {"gaussian", "masking", "salt_and_pepper", "swap"}, \
default="gaussian"
        The corruption: additive Gaussian noise (the seed's); masking sets
        values to 0; salt and pepper sets them to their low or high bound (0 or
        1 for data in [0, 1], else each feature's training minimum or maximum),
        each half of the time; swap replaces a value by the same feature's
        value in another random row of the batch (for tabular data: a
        corrupted value is always a plausible value of its feature).
    loss : {"auto", "bce", "mse"}, default="auto"
        ``"bce"``: sigmoid cross-entropy on the logits (X must be in [0, 1]);
        ``"mse"``: squared error on a linear output; ``"auto"``: bce when X
        is in [0, 1], else mse.
    weight_decay : float >= 0, default=1e-5
        L2 penalty on the weights (not the biases).
    learning_rate : float > 0, default=1e-3
        Adam's initial learning rate.
    lr_decay_steps : int >= 1, default=1000
        The learning rate is multiplied by ``lr_decay_rate`` every
        ``lr_decay_steps`` batches (the seed's staircase decay).
    lr_decay_rate : float in (0, 1], default=0.96
        1 keeps the learning rate constant.
    batch_size : int >= 1 or "auto", default="auto"
        Rows per training batch. "auto": the number of training rows (less
        the validation rows with ``early_stopping``) // 50, between 32 and
        256, so that every epoch has enough steps for the convergence test
        (256 from 12,800 rows on; 32 below 1,600).
    max_epochs : int >= 1, default=200
        The most passes over the training data. ``fit`` stops earlier, once
        it has converged (see ``tol``); reaching ``max_epochs`` first raises a
        ``ConvergenceWarning``.
    device : str or torch.device, default="auto"
        ``"auto"`` trains on ``"cuda"`` when torch sees a GPU, else on
        ``"cpu"``; asking for ``"cuda"`` without one raises at ``fit``.
    random_state : int, RandomState instance or None, default=None
        Seeds everything of one fit (initial weights, batch order, noise,
        dropout) through a ``torch.Generator`` of its own; torch's and numpy's
        global random states are left as they were. The same int gives the same
        model, bit for bit, on the CPU. None draws fresh entropy.
    verbose : int, default=0
        0 is silent; 1 shows a progress bar and prints a line per epoch.
    compile : bool, default=False
        Train through ``torch.compile`` (the training step only; evaluation
        runs the plain module). Costs a compilation at the start of each fit;
        see the README's speed table before switching it on.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, stop when their loss has
        not improved by ``tol`` for ``n_iter_no_change`` epochs, and keep the
        weights of the best epoch. Off: every row trains, and the fit stops
        when the training loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs (``MLPRegressor``'s rules).
    validation_fraction : float in (0, 1), default=0.1
        Rows held out when ``early_stopping``; ``valid_loss`` and
        ``valid_rmse`` are then recorded per epoch.
    n_iter_no_change : int >= 1, default=10
        Epochs in a row without improvement after which the fit has
        converged and stops. Only the epochs of the current call count; a
        ``partial_fit`` call (one epoch) never stops by it.
    tol : float >= 0, default=1e-4
        Improvement of the loss (the training loss, or the validation loss
        with ``early_stopping``) below the best so far that counts as one. 0
        stops only when the loss no longer falls at all.
    monitor : bool, default=True
        Record per epoch the learning rate, the gradient norm, and per hidden
        layer the fraction of zero activations (``dead_units``: the largest
        fraction of always-zero units), as the seed's summaries did.
    tensorboard_dir : str or path-like, default=None
        Also write the history, weight and activation histograms there for
        TensorBoard (needs the ``tensorboard`` package).
    callbacks : list of skorch callbacks or (name, callback), default=None
        Extra side effects of the fit, e.g.
        ``skdae.callbacks.ReconstructionImages``.
    warm_start : bool, default=False
        ``fit`` on a fitted estimator continues from its weights, Adam's state
        and the learning-rate schedule for up to ``max_epochs`` more epochs,
        stopping at convergence (X must have the same features); False starts
        afresh. ``partial_fit`` always continues.
    checkpoint_dir : str or path-like, default=None
        After every epoch, write the weights, Adam's state, the random stream
        and the history to ``checkpoint_dir/last`` (and the best epoch's to
        ``best`` with early stopping). A fit with the same parameters and
        number of features resumes from ``last``: a crash costs at most one
        epoch.

    Attributes
    ----------
    n_features_in_ : int
        Number of features (pixels times channels) seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during ``fit``, when X has string column
        names.
    image_shape_ : tuple of int
        ``(channels, height, width)`` the rows were viewed as.
    net_ : skdae._net.DenoisingNet
        The fitted skorch net; ``net_.module_`` is the ``nn.Module``.
    history_ : skorch.History
        Per-epoch records of the fit (``train_loss``, ``dur``, ...).
    loss_ : {"bce", "mse"}
        The loss used, ``loss`` with "auto" resolved.
    device_ : str
        The device the model was trained on and evaluates on.
    n_iter_ : int
        Epochs trained, all calls together (``warm_start`` and
        ``partial_fit`` add to it); fewer than ``max_epochs`` after a fit that
        converged.

    See Also
    --------
    DenoisingAutoencoder : The fully connected autoencoder, for any tabular data.
    sklearn.decomposition.PCA : Linear autoencoding by projection.

    Notes
    -----
    Every convolution has ``kernel_size // 2`` padding. With
    ``downsampling="stride"`` each has stride 2, so an ``h x w`` map becomes
    ``ceil(h/2) x ceil(w/2)``; the transposed convolutions give back exactly
    the encoder's sizes, odd ones included. With ``"maxpool"`` the
    convolutions keep the size and the pools halve it, rounding up just the
    same (28 -> 14 -> 7 -> 4); each transposed convolution exactly doubles
    it (4 -> 8 -> 16 -> 32), and the reconstruction is cropped back to the
    image's size, centred (an odd surplus row or column is cut at the bottom
    or right).
    Weights get He init (Glorot for saturating activations); L2 weight decay
    applies to the kernels and weights, not the biases.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdae import ConvDenoisingAutoencoder
    >>> X = load_digits().data / 16.0
    >>> dae = ConvDenoisingAutoencoder(channels=(8, 16), code_size=10, max_epochs=2,
    ...                                random_state=0)
    >>> codes = dae.fit_transform(X)
    >>> codes.shape
    (1797, 10)
    >>> dae.image_shape_
    (1, 8, 8)
    >>> dae.inverse_transform(codes).shape
    (1797, 64)

    The seed's network keeps the last feature map as the code (8 x 1 x 1 on
    these 8 x 8 images):

    >>> seed = ConvDenoisingAutoencoder(channels=(16, 8, 8), downsampling="maxpool",
    ...                                 code_size=None, max_epochs=1, random_state=0)
    >>> seed.fit_transform(X).shape
    (1797, 8)
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "image_shape": ["array-like", None],
        "channels": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "code_size": [Interval(Integral, 1, None, closed="left"), None],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "downsampling": [StrOptions(set(DOWNSAMPLING))],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "code_activation": [StrOptions({*ACTIVATIONS, "linear"}), None],
        "batch_norm": ["boolean"],
    }

    def __init__(
        self,
        image_shape=None,
        *,
        channels=(32, 64),
        code_size=32,
        kernel_size=3,
        downsampling="stride",
        activation="relu",
        dropout=0.0,
        code_activation=None,
        batch_norm=False,
        noise_factor=0.5,
        noise_type="gaussian",
        loss="auto",
        weight_decay=1e-5,
        learning_rate=1e-3,
        lr_decay_steps=1000,
        lr_decay_rate=0.96,
        batch_size="auto",
        max_epochs=200,
        device="auto",
        random_state=None,
        verbose=0,
        compile=False,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        monitor=True,
        tensorboard_dir=None,
        callbacks=None,
        warm_start=False,
        checkpoint_dir=None,
    ):
        super().__init__(
            noise_factor=noise_factor,
            noise_type=noise_type,
            loss=loss,
            weight_decay=weight_decay,
            learning_rate=learning_rate,
            lr_decay_steps=lr_decay_steps,
            lr_decay_rate=lr_decay_rate,
            batch_size=batch_size,
            max_epochs=max_epochs,
            device=device,
            random_state=random_state,
            verbose=verbose,
            compile=compile,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            monitor=monitor,
            tensorboard_dir=tensorboard_dir,
            callbacks=callbacks,
            warm_start=warm_start,
            checkpoint_dir=checkpoint_dir,
        )
        self.image_shape = image_shape
        self.channels = channels
        self.code_size = code_size
        self.kernel_size = kernel_size
        self.downsampling = downsampling
        self.activation = activation
        self.dropout = dropout
        self.code_activation = code_activation
        self.batch_norm = batch_norm

    def _image_shape(self, n_features):
        """``(channels, height, width)`` of a row of ``n_features`` values."""
        if self.image_shape is None:
            side = math.isqrt(n_features)
            return (1, side, side) if side * side == n_features else (1, 1, n_features)
        shape = np.asarray(self.image_shape)
        if (
            shape.ndim != 1
            or shape.size not in (2, 3)
            or not np.issubdtype(shape.dtype, np.integer)
            or (shape < 1).any()
        ):
            raise ValueError(
                "image_shape must be (height, width) or (channels, height, width) of "
                f"positive ints, got {self.image_shape!r}."
            )
        shape = tuple(int(s) for s in shape)
        shape = (1, *shape) if len(shape) == 2 else shape
        if math.prod(shape) != n_features:
            raise ValueError(
                f"image_shape={self.image_shape!r} holds {math.prod(shape)} values per "
                f"image, but X has {n_features} features; rows must be flattened images "
                "of that shape."
            )
        return shape

    def _channels(self):
        return positive_ints(self.channels, "channels", "feature maps per convolution")

    def _check_params(self, X):
        super()._check_params(X)
        self._image_shape(X.shape[1])
        self._channels()
        if self.kernel_size % 2 != 1:
            raise ValueError(
                f"kernel_size must be odd (the convolutions pad it by half), got "
                f"{self.kernel_size}."
            )
        if self.code_size is None and self.code_activation is not None:
            raise ValueError(
                f"code_activation={self.code_activation!r} sets the code layer's activation, "
                "but code_size=None has no code layer: the code is the last feature map, "
                "after `activation`. Set code_size to an int, or code_activation=None."
            )

    def _build_module(self, n_features, device):
        self.image_shape_ = self._image_shape(n_features)
        return ConvAutoencoder(
            self.image_shape_,
            self._channels(),
            self.code_size,
            kernel_size=self.kernel_size,
            downsampling=self.downsampling,
            activation=self.activation,
            dropout=self.dropout,
            code_activation=self.code_activation,
            batch_norm=self.batch_norm,
            device=device,
        )
