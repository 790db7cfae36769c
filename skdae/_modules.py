"""Plain ``nn.Module`` autoencoders, usable without the rest of skdae.

Each module exposes ``encode`` (input -> latent code), ``decode`` (code ->
reconstruction *logits*, i.e. before any output non-linearity) and
``forward = decode . encode``. ``reset_parameters(generator)`` draws every random
number of the module -- weight init now, dropout masks later -- from one
``torch.Generator``, so that a fit is reproducible without global seeding.
"""

import itertools
import math
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "selu": nn.SELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}

# Activations for which He (kaiming) init keeps the variance of the signal; the
# others (saturating ones) get Glorot init with torch's recommended gain.
_RELU_LIKE = {"relu", "leaky_relu", "elu", "gelu", "selu", "silu"}


class Dropout(nn.Dropout):
    """``nn.Dropout`` whose masks come from ``self.generator`` when one is set.

    torch's own dropout draws from the global random state; a fit that must be
    reproducible without touching global state hands its generator in.
    """

    generator = None

    def forward(self, x):
        if not self.training or self.p == 0.0 or self.generator is None:
            return super().forward(x)
        keep = torch.empty_like(x).bernoulli_(1.0 - self.p, generator=self.generator)
        return x * keep.div_(1.0 - self.p)


def _hidden(layer, activation, dropout, norm=None):
    """A hidden layer: ``layer [-> norm] -> activation [-> dropout]``."""
    layer.activation = activation  # what its initialisation suits
    layers = [layer, *([norm] if norm is not None else []), ACTIVATIONS[activation]()]
    if dropout > 0:
        layers.append(Dropout(dropout))
    return layers


def positive_ints(value, name, meaning):
    """``value`` (an int or a sequence of ints) as a tuple of positive ints, or say why not."""
    ints = np.atleast_1d(np.asarray(value))
    if (
        ints.ndim != 1
        or ints.size == 0
        or not np.issubdtype(ints.dtype, np.integer)
        or (ints < 1).any()
    ):
        raise ValueError(
            f"{name} must be a positive int or a non-empty sequence of positive ints "
            f"({meaning}), got {value!r}."
        )
    return tuple(int(i) for i in ints)


class AutoencoderModule(nn.Module):
    """Base of skdae's modules: ``encode``/``decode``/``forward`` and seeding."""

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x))

    def reset_parameters(self, generator=None):
        """Re-initialise the weights, and draw dropout masks, from ``generator``."""
        for layer in self.modules():
            if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                self._init_layer(layer, generator)
            elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
                layer.reset_parameters()  # scale 1, shift 0, fresh running statistics
        return self.set_generator(generator)

    def set_generator(self, generator):
        """Draw dropout masks from ``generator`` (None: torch's global one)."""
        for layer in self.modules():
            if isinstance(layer, Dropout):
                layer.generator = generator
        return self

    def set_dropout(self, p):
        """Set the probability of every dropout layer (a warm start's new ``dropout``)."""
        for layer in self.modules():
            if isinstance(layer, Dropout):
                layer.p = p
        if hasattr(self, "spec"):
            self.spec = {**self.spec, "dropout": p}
        return self

    def _init_layer(self, layer, generator):
        activation = getattr(layer, "activation", self.activation)
        if activation in _RELU_LIKE:
            # He et al. (2015), what the seed's variance_scaling_initializer is.
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=generator)
        else:
            gain = nn.init.calculate_gain(activation)
            nn.init.xavier_uniform_(layer.weight, gain=gain, generator=generator)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)


class MLPAutoencoder(AutoencoderModule):
    """Fully connected autoencoder, the seed's architecture.

    The encoder maps ``n_features`` through ``hidden_units`` with ``activation``
    (and dropout) after every layer, the code layer with ``code_activation``; the
    decoder mirrors the hidden widths back to ``n_features`` and its last layer
    is linear.

    Parameters
    ----------
    n_features : int
        Width of the input (and of the reconstruction).
    hidden_units : sequence of int
        Encoder widths; the last one is the code size.
    activation : str, default="relu"
        A key of ``skdae._modules.ACTIVATIONS``.
    dropout : float, default=0.0
        Probability of zeroing a unit after each hidden layer.
    code_activation : str or None, default=None
        Activation of the code layer: a key of ``ACTIVATIONS``, ``"linear"``
        (none, and no dropout after it: the code is a linear function of the
        last hidden layer), or None for ``activation``.
    batch_norm : bool, default=False
        Batch normalisation between each hidden layer and its activation
        (those layers then need no bias).
    residual : bool, default=False
        ``forward(x)`` is ``x + decode(encode(x))``, and the decoder's last
        layer starts at zero: untrained, the module returns its input.
    device : torch device, default=None
        Where to allocate the parameters; ``"meta"`` allocates nothing (and
        draws no random numbers) until ``to_empty`` and ``reset_parameters``.

    Examples
    --------
    >>> import torch
    >>> from skdae._modules import MLPAutoencoder
    >>> module = MLPAutoencoder(8, (4, 2))
    >>> module.encode(torch.zeros(3, 8)).shape
    torch.Size([3, 2])
    >>> module(torch.zeros(3, 8)).shape
    torch.Size([3, 8])
    """

    def __init__(
        self,
        n_features,
        hidden_units,
        activation="relu",
        dropout=0.0,
        code_activation=None,
        batch_norm=False,
        residual=False,
        device=None,
    ):
        super().__init__()
        self.activation = activation
        self.residual = residual
        widths = [int(n_features), *map(int, hidden_units)]
        hidden = dict(dropout=dropout, batch_norm=batch_norm, device=device)
        self.encoder = self._stack(widths, activation, code_activation or activation, **hidden)
        self.decoder = self._stack(widths[::-1], activation, "linear", **hidden)
        if device is None or torch.device(device).type != "meta":
            self.reset_parameters()

    @staticmethod
    def _stack(widths, activation, last_activation, dropout, batch_norm, device):
        """Linear layers through ``widths``, the last one with ``last_activation``."""
        layers = []
        n_layers = len(widths) - 1
        for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
            layer_activation = last_activation if i == n_layers - 1 else activation
            if layer_activation == "linear":
                layers.append(nn.Linear(n_in, n_out, device=device))
                continue
            norm = nn.BatchNorm1d(n_out, device=device) if batch_norm else None
            linear = nn.Linear(n_in, n_out, bias=not batch_norm, device=device)
            layers += _hidden(linear, layer_activation, dropout, norm)
        return nn.Sequential(*layers)

    def forward(self, x):
        decoded = super().forward(x)
        return x + decoded if self.residual else decoded

    def reset_parameters(self, generator=None):
        super().reset_parameters(generator)
        if self.residual:  # an untrained module returns its input
            nn.init.zeros_(self.decoder[-1].weight)
            nn.init.zeros_(self.decoder[-1].bias)
        return self

    @property
    def n_features(self):
        return self.encoder[0].in_features

    @property
    def code_size(self):
        return self.decoder[0].in_features

    @property
    def hidden_size(self):
        """The width of ``hidden_activations``: every hidden layer's, the code's included."""
        widths = [m.out_features for m in self.encoder if isinstance(m, nn.Linear)]
        return 2 * sum(widths) - widths[-1]

    def hidden_activations(self, x):
        """Every hidden layer's activations side by side: the encoder's, the code,
        the decoder's (the features of Porto Seguro's winning denoising autoencoder)."""
        outputs = []
        for stack, ends_hidden in ((self.encoder, True), (self.decoder, False)):
            for i, layer in enumerate(stack):
                x = layer(x)
                following = stack[i + 1] if i + 1 < len(stack) else None
                if isinstance(following, nn.Linear) or (following is None and ends_hidden):
                    outputs.append(x)
        return torch.cat(outputs, dim=1)


DOWNSAMPLING = ("stride", "maxpool")


def _halved_size(size):
    """``ceil(size / 2)``: after a stride-2 convolution (odd kernel, half padding)
    or a 2x2 max-pool with ``ceil_mode`` (TensorFlow's SAME pooling)."""
    return (size + 1) // 2


class CenterCrop(nn.Module):
    """Crop the last two dimensions to ``size``, centred.

    An odd surplus loses its extra row (column) at the bottom (right).
    """

    def __init__(self, size):
        super().__init__()
        self.size = tuple(int(s) for s in size)

    def forward(self, x):
        (height, width), (h, w) = x.shape[-2:], self.size
        top, left = (height - h) // 2, (width - w) // 2
        return x[..., top : top + h, left : left + w]

    def extra_repr(self):
        return f"size={self.size}"


class ConvAutoencoder(AutoencoderModule):
    """Convolutional autoencoder: halved block by block, doubled back by transposed ones.

    Rows come in flat (``n_features = prod(image_shape)``), as scikit-learn
    passes them, and are viewed as images inside. The encoder halves the
    height and width (rounding up) at each of ``channels``, in one of two ways:

    * ``downsampling="stride"``: one stride-2 convolution, then ``activation``
      (and dropout). The decoder mirrors it with stride-2 transposed
      convolutions sized to give back the encoder's sizes exactly, odd ones
      included, the last of them linear, to the image's channels.
    * ``downsampling="maxpool"``: two stride-1 SAME convolutions, each
      followed by ``activation`` (and dropout), then a 2x2 max-pool (with
      ``ceil_mode``: an odd side is padded by one, TensorFlow's SAME pooling).
      The decoder has one stride-2 transposed convolution (with activation) per
      block, each doubling the size, that gives back the channels the block
      made in the encoder, then a linear stride-1 transposed convolution to
      the image's channels and a centred crop to the image's size (28 -> 14
      -> 7 -> 4 is doubled back to 32 and cropped to 28).

    With an int ``code_size`` the flattened last feature map is mapped to the
    code through the fully connected ``dense_units`` layers, if any (and back in
    the decoder, mirrored); with ``code_size=None`` the code *is* the
    flattened last feature map, after its activation (and pooling).

    Parameters
    ----------
    image_shape : tuple of int
        ``(channels, height, width)`` of one row.
    channels : sequence of int
        Feature maps of the encoder's blocks, one halving of the size each.
    code_size : int or None
        Width of the latent code; None: the flattened last feature map, of
        ``channels[-1] * h * w`` values.
    kernel_size : int, default=3
        Odd side of every convolution kernel.
    downsampling : {"stride", "maxpool"}, default="stride"
        How each block halves the feature map, see above.
    activation : str, default="relu"
        A key of ``skdae._modules.ACTIVATIONS``.
    dropout : float, default=0.0
        Probability of zeroing a unit after each hidden layer.
    code_activation : str or None, default=None
        Activation of the code layer: a key of ``ACTIVATIONS``, ``"linear"``,
        or None for ``activation``. Needs an int ``code_size`` unless None:
        with ``code_size=None`` there is no code layer.
    batch_norm : bool, default=False
        Batch normalisation between each hidden layer and its activation.
    dense_units : sequence of int, default=()
        Widths of fully connected hidden layers (with ``activation``) between
        the flattened last feature map and the code layer, mirrored in the
        decoder. Needs an int ``code_size``.
    device : torch device, default=None
        As for ``MLPAutoencoder``; ``"meta"`` allocates nothing.

    Examples
    --------
    >>> import torch
    >>> from skdae._modules import ConvAutoencoder
    >>> module = ConvAutoencoder((1, 28, 28), channels=(8, 16), code_size=10)
    >>> module.encode(torch.zeros(3, 784)).shape
    torch.Size([3, 10])
    >>> module(torch.zeros(3, 784)).shape
    torch.Size([3, 784])

    The seed's network: its code is the 8 x 4 x 4 feature map.

    >>> seed = ConvAutoencoder((1, 28, 28), channels=(16, 8, 8), code_size=None,
    ...                        downsampling="maxpool")
    >>> seed.code_size
    128
    >>> seed(torch.zeros(3, 784)).shape
    torch.Size([3, 784])
    """

    def __init__(
        self,
        image_shape,
        channels,
        code_size,
        kernel_size=3,
        downsampling="stride",
        activation="relu",
        dropout=0.0,
        code_activation=None,
        batch_norm=False,
        dense_units=(),
        device=None,
    ):
        super().__init__()
        dense_units = tuple(int(u) for u in dense_units)
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}.")
        if downsampling not in DOWNSAMPLING:
            raise ValueError(f"downsampling must be one of {DOWNSAMPLING}, got {downsampling!r}.")
        if code_size is None and code_activation is not None:
            raise ValueError(
                f"code_activation={code_activation!r} needs a code layer; code_size=None has "
                "none (the code is the last feature map)."
            )
        if code_size is None and dense_units:
            raise ValueError(
                f"dense_units={dense_units} lead to a code layer; code_size=None has none (the "
                "code is the last feature map). Set code_size to an int, or dense_units=()."
            )
        self.activation = activation
        self.image_shape = tuple(int(s) for s in image_shape)
        in_channels, height, width = self.image_shape
        widths = [in_channels, *map(int, channels)]
        sizes = [(height, width)]
        for _ in channels:
            sizes.append(tuple(_halved_size(s) for s in sizes[-1]))
        map_shape = (widths[-1], *sizes[-1])
        n_map = math.prod(map_shape)
        self._code_size = n_map if code_size is None else int(code_size)
        kernel = dict(kernel_size=kernel_size, padding=kernel_size // 2, device=device)
        bias = not batch_norm

        def hidden(layer, norm, size, layer_activation=activation):
            return _hidden(
                layer, layer_activation, dropout, norm(size, device=device) if batch_norm else None
            )

        def conv(kind, n_in, n_out, stride, **kwargs):
            """A hidden (transposed) convolution: ``conv [-> norm] -> activation [-> dropout]``."""
            layer = kind(n_in, n_out, stride=stride, bias=bias, **kernel, **kwargs)
            return hidden(layer, nn.BatchNorm2d, n_out)

        def output(n_in, n_out, stride, **kwargs):
            """The decoder's last layer: a linear transposed convolution, with a bias."""
            return nn.ConvTranspose2d(n_in, n_out, stride=stride, **kernel, **kwargs)

        encoder = [nn.Unflatten(1, self.image_shape)]
        for n_in, n_out in itertools.pairwise(widths):
            if downsampling == "stride":
                encoder += conv(nn.Conv2d, n_in, n_out, stride=2)
            else:
                encoder += conv(nn.Conv2d, n_in, n_out, stride=1)
                encoder += conv(nn.Conv2d, n_out, n_out, stride=1)
                encoder.append(nn.MaxPool2d(2, ceil_mode=True))
        encoder.append(nn.Flatten())
        decoder = []
        if code_size is not None:
            dense = [n_map, *dense_units]  # the fully connected widths before the code
            for n_in, n_out in itertools.pairwise(dense):
                linear = nn.Linear(n_in, n_out, bias=bias, device=device)
                encoder += hidden(linear, nn.BatchNorm1d, n_out)
            code_activation = code_activation or activation
            if code_activation == "linear":
                encoder.append(nn.Linear(dense[-1], code_size, device=device))
            else:
                code = nn.Linear(dense[-1], code_size, bias=bias, device=device)
                encoder += hidden(code, nn.BatchNorm1d, code_size, code_activation)
            for n_in, n_out in itertools.pairwise([code_size, *dense[::-1]]):
                linear = nn.Linear(n_in, n_out, bias=bias, device=device)
                decoder += hidden(linear, nn.BatchNorm1d, n_out)
        self.encoder = nn.Sequential(*encoder)

        decoder.append(nn.Unflatten(1, map_shape))
        if downsampling == "stride":
            decoder += self._strided_up(widths, sizes, conv, output)
        else:
            decoder += self._pooled_up(widths, (height, width), conv, output)
        decoder.append(nn.Flatten())
        self.decoder = nn.Sequential(*decoder)
        if device is None or torch.device(device).type != "meta":
            self.reset_parameters()

    @staticmethod
    def _strided_up(widths, sizes, conv, output):
        layers = []
        up = list(zip(widths[:0:-1], widths[-2::-1], sizes[-2::-1], strict=True))
        for i, (n_in, n_out, target) in enumerate(up):
            # A stride-2 transposed convolution gives 2 * size - 1; one more
            # row/column where the encoder's input was even.
            extra = tuple(int(t % 2 == 0) for t in target)
            if i == len(up) - 1:
                layers.append(output(n_in, n_out, stride=2, output_padding=extra))
            else:
                layers += conv(nn.ConvTranspose2d, n_in, n_out, stride=2, output_padding=extra)
        return layers

    @staticmethod
    def _pooled_up(widths, image_size, conv, output):
        layers = []
        # Block i's transposed convolution gives back the channels block i made
        # (for (16, 8, 8): 8 -> 8, 8 -> 8, 8 -> 16); each exactly doubles the size.
        outs = widths[:0:-1]
        for n_in, n_out in zip([widths[-1], *outs[:-1]], outs, strict=True):
            layers += conv(nn.ConvTranspose2d, n_in, n_out, stride=2, output_padding=1)
        layers.append(output(widths[1], widths[0], stride=1))
        layers.append(CenterCrop(image_size))
        return layers

    @property
    def n_features(self):
        return math.prod(self.image_shape)

    @property
    def code_size(self):
        return self._code_size


def count_parameters(module):
    """Number of trainable scalars in ``module``."""
    return sum(math.prod(p.shape) for p in module.parameters() if p.requires_grad)


def layer_table(module, n_features):
    """Text table of the module's layers: name, kind, output shape, parameters."""
    rows = []
    hooks = []
    for name, layer in module.named_modules():
        if name and not list(layer.children()):
            hooks.append(
                layer.register_forward_hook(
                    lambda m, _i, out, name=name: rows.append(
                        (name, type(m).__name__, tuple(out.shape[1:]), count_parameters(m))
                    )
                )
            )
    param = next(module.parameters())
    try:
        with evaluating(module), torch.no_grad():
            module(torch.zeros(1, n_features, device=param.device, dtype=param.dtype))
    finally:
        for hook in hooks:
            hook.remove()
    lines = [f"{'layer':14s} {'kind':15s} {'output':>13s} {'params':>9s}"]
    lines += [f"{n:14s} {k:15s} {str(list(s)):>13s} {p:9,d}" for n, k, s, p in rows]
    lines.append(f"{'total':14s} {'':15s} {'':>13s} {count_parameters(module):9,d}")
    return "\n".join(lines)


@contextmanager
def evaluating(module):
    """``module`` in eval mode (no dropout, batch norm's running statistics),
    back in the mode it was in afterwards, whatever happens."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)
