"""ConvDenoisingAutoencoder: the seed's convolutional variant."""

import math
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseAutoencoder
from ._modules import DOWNSAMPLING, ConvAutoencoder, positive_ints


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
    Training corrupts each batch with fresh noise (``noise_type``), as
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
    dense_units : int or sequence of int, default=()
        Widths of fully connected hidden layers (with ``activation``) between
        the flattened last feature map and the code layer, mirrored in the
        decoder. Needs an int ``code_size``. On MNIST a 256-unit layer lifted
        the 32-value code's probe accuracy (see the user guide's
        architecture page).
    activation : {"relu", "leaky_relu", "elu", "gelu", "selu", "silu", "tanh", \
"sigmoid"}, default="relu"
        Activation after every hidden layer (the code layer's is
        ``code_activation``). The decoder's last layer is linear.
    code_activation : {"relu", "leaky_relu", "elu", "gelu", "selu", "silu", \
"tanh", "sigmoid", "linear"} or None, default=None
        Activation of the code layer, the features ``transform`` returns.
        None: ``activation``. ``"linear"``: none (and no dropout after it).
        With ``code_size=None`` there is no code layer: the code is the last
        feature map after ``activation``, and only None is accepted.
    {shared_parameters}

    Attributes
    ----------
    n_features_in_ : int
        Number of features (pixels times channels) seen during ``fit``.
    image_shape_ : tuple of int
        ``(channels, height, width)`` the rows were viewed as.
    {shared_attributes}

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
        "dense_units": ["array-like", Interval(Integral, 1, None, closed="left")],
    }
    _module_class = ConvAutoencoder

    def __init__(
        self,
        image_shape=None,
        *,
        channels=(32, 64),
        code_size=32,
        kernel_size=3,
        downsampling="stride",
        dense_units=(),
        activation="relu",
        code_activation=None,
        dropout=0.0,
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
        precision="float32",
        distributed="auto",
        data_placement="auto",
    ):
        super().__init__(
            activation=activation,
            dropout=dropout,
            code_activation=code_activation,
            batch_norm=batch_norm,
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
            precision=precision,
            distributed=distributed,
            data_placement=data_placement,
        )
        self.image_shape = image_shape
        self.channels = channels
        self.code_size = code_size
        self.kernel_size = kernel_size
        self.downsampling = downsampling
        self.dense_units = dense_units

    def _dense_units(self):
        units = self.dense_units
        units = (units,) if isinstance(units, Integral) else tuple(units)
        if any(isinstance(u, bool) or not isinstance(u, Integral) or u < 1 for u in units):
            raise ValueError(
                "dense_units must be a positive int or a sequence of positive ints (the "
                f"widths of the fully connected layers before the code), got {self.dense_units!r}."
            )
        return tuple(int(u) for u in units)

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

    @property
    def image_shape_(self):
        """The ``(channels, height, width)`` the rows are viewed as."""
        return self.net_.module_.image_shape

    def _module_spec(self, n_features):
        return dict(
            image_shape=self._image_shape(n_features),
            channels=positive_ints(self.channels, "channels", "feature maps per convolution"),
            code_size=None if self.code_size is None else int(self.code_size),
            kernel_size=int(self.kernel_size),
            downsampling=self.downsampling,
            activation=self.activation,
            dropout=float(self.dropout),
            code_activation=self.code_activation,
            batch_norm=bool(self.batch_norm),
            # Only when set: the spec of a network without them stays what it was.
            **({"dense_units": dense} if (dense := self._dense_units()) else {}),
        )

    def _check_params(self, n_samples, n_features):
        super()._check_params(n_samples, n_features)
        if self.kernel_size % 2 != 1:
            raise ValueError(
                f"kernel_size must be odd (the convolutions pad it by half), got "
                f"{self.kernel_size}."
            )
        if self.code_size is None and self._dense_units():
            raise ValueError(
                f"dense_units={self.dense_units!r} are fully connected layers before the code "
                "layer, but code_size=None has no code layer: the code is the last feature "
                "map. Set code_size to an int, or dense_units=()."
            )
        if self.code_size is None and self.code_activation is not None:
            raise ValueError(
                f"code_activation={self.code_activation!r} sets the code layer's activation, "
                "but code_size=None has no code layer: the code is the last feature map, "
                "after `activation`. Set code_size to an int, or code_activation=None."
            )
