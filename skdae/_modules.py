"""Plain ``nn.Module`` autoencoders, usable without the rest of skdae.

Each module exposes ``encode`` (input -> latent code), ``decode`` (code ->
reconstruction *logits*, i.e. before any output non-linearity) and
``forward = decode . encode``. ``reset_parameters(generator)`` draws every random
number of the module -- weight init now, dropout masks later -- from one
``torch.Generator``, so that a fit is reproducible without global seeding.
"""

import itertools
import math

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
        return self.set_generator(generator)

    def set_generator(self, generator):
        """Draw dropout masks from ``generator`` (None: torch's global one)."""
        for layer in self.modules():
            if isinstance(layer, Dropout):
                layer.generator = generator
        return self

    def _init_layer(self, layer, generator):
        if self.activation in _RELU_LIKE:
            # He et al. (2015), what the seed's variance_scaling_initializer is.
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=generator)
        else:
            gain = nn.init.calculate_gain(self.activation)
            nn.init.xavier_uniform_(layer.weight, gain=gain, generator=generator)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)


class MLPAutoencoder(AutoencoderModule):
    """Fully connected autoencoder, the seed's architecture.

    The encoder maps ``n_features`` through ``hidden_units`` with ``activation``
    (and dropout) after every layer, the code layer included; the decoder mirrors
    the hidden widths back to ``n_features`` and its last layer is linear.

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
    linear_code : bool, default=False
        No activation (and no dropout) after the code layer: the code is a
        linear function of the last hidden layer, so no code unit can die.
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
        linear_code=False,
        device=None,
    ):
        super().__init__()
        self.activation = activation
        widths = [int(n_features), *map(int, hidden_units)]
        self.encoder = self._stack(widths, activation, dropout, device, linear_last=linear_code)
        self.decoder = self._stack(widths[::-1], activation, dropout, device, linear_last=True)
        if device is None or torch.device(device).type != "meta":
            self.reset_parameters()

    @staticmethod
    def _stack(widths, activation, dropout, device, linear_last):
        layers = []
        n_layers = len(widths) - 1
        for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
            layers.append(nn.Linear(n_in, n_out, device=device))
            if linear_last and i == n_layers - 1:
                break
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(Dropout(dropout))
        return nn.Sequential(*layers)

    @property
    def n_features(self):
        return self.encoder[0].in_features

    @property
    def code_size(self):
        return self.decoder[0].in_features


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
        with torch.no_grad():
            module.eval()(torch.zeros(1, n_features, device=param.device, dtype=param.dtype))
    finally:
        for hook in hooks:
            hook.remove()
    lines = [f"{'layer':14s} {'kind':12s} {'output':>10s} {'params':>9s}"]
    lines += [f"{n:14s} {k:12s} {str(list(s)):>10s} {p:9,d}" for n, k, s, p in rows]
    lines.append(f"{'total':14s} {'':12s} {'':>10s} {count_parameters(module):9,d}")
    return "\n".join(lines)
