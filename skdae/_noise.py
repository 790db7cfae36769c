"""Corruption functions: ``corrupt(batch, generator) -> corrupted batch``.

They run inside the training step, on the batch's device, drawing from the
fit's own ``torch.Generator``; the clean batch is left untouched because the
loss compares the reconstruction with it. Each keeps what it learned from the
training data (a scale, bounds) in ``tensors``, which a saved model stores.

``make_corruption`` builds the corruption of a fit: each kind knows what to
learn from the training data (``statistics``), dense or sparse, so adding a
kind touches this file alone.
"""

import torch

from ._data import observed_aminmax, observed_std
from ._gaussian import conditional_mean, fit_gaussian


class _Corruption:
    """What the corruption kinds share: their data-derived tensors."""

    # The names of what ``statistics`` returns (each a per-feature tensor).
    statistics_names = ()
    # Whether the kind learns its statistics from data in [0, 1] too.
    learns_when_bounded = False

    def __init__(self, noise_factor, **tensors):
        self.noise_factor = float(noise_factor)
        self.tensors = {k: v for k, v in tensors.items() if v is not None}

    @classmethod
    def statistics(cls, X):
        """What this kind learns from unbounded training data X: ``{name: tensor}``.

        X is a tensor, or ``skdae._data.SparseRows`` (both offer ``std`` and
        ``aminmax`` over rows).
        """
        return {}

    @classmethod
    def statistics_shapes(cls, n_features):
        """The shape of each of ``statistics``' tensors: ``{name: shape}``."""
        return {name: (n_features,) for name in cls.statistics_names}

    @classmethod
    def build(cls, noise_factor, bounded, tensors):
        """The corruption, for data in [0, 1] when ``bounded``."""
        return cls(noise_factor, **tensors)

    def fill(self, batch):
        """``batch`` with its missing values (NaN) filled as the network sees them
        in training: 0, as masking noise sets the values it hides."""
        return fill_missing(batch)

    def validation_input(self, batch, missing):
        """What the network sees of validation rows: the rows, holes filled."""
        return self.fill(batch) if missing else batch

    def draw_shape(self, batch):
        """The shape of one draw per value, and the map from a draw to the values
        it stands for: with a table's ``columns`` (each encoded value's column, in
        order), one draw per row and column (a categorical column's one-hot values
        are corrupted together); else one per value, and None."""
        columns = self.tensors.get("columns")
        if columns is None:
            return batch.shape, None
        n_columns = self.__dict__.get("_n_columns")
        if n_columns is None:  # read once (a host sync), not per batch
            n_columns = self._n_columns = int(columns[-1]) + 1
        return (batch.shape[0], n_columns), columns

    def to(self, device):
        """Move the data-derived tensors to ``device`` (returns self)."""
        self.tensors = {k: v.to(device) for k, v in self.tensors.items()}
        return self

    def __repr__(self):
        return f"{type(self).__name__}(noise_factor={self.noise_factor})"


class GaussianNoise(_Corruption):
    """Additive Gaussian noise, the seed's corruption.

    ``x + noise_factor * scale * N(0, 1)``, clipped to ``[0, 1]`` when ``clip``
    (data in ``[0, 1]``, as in the seed); ``scale`` is a per-feature tensor (the
    training data's standard deviations, for unbounded data) or ``None`` for 1.

    Examples
    --------
    >>> import torch
    >>> from skdae._noise import GaussianNoise
    >>> corrupt = GaussianNoise(0.5, clip=True)
    >>> x = torch.full((2, 3), 0.5)
    >>> noisy = corrupt(x, torch.Generator().manual_seed(0))
    >>> bool(((noisy >= 0) & (noisy <= 1)).all()), bool((noisy != x).any())
    (True, True)
    """

    def __init__(self, noise_factor, scale=None, clip=False):
        super().__init__(noise_factor, scale=scale)
        self.clip = clip

    statistics_names = ("scale",)

    @classmethod
    def statistics(cls, X):
        # Unbounded data: noise in each feature's own units (of its observed values).
        std = observed_std(X) if isinstance(X, torch.Tensor) else X.std(dim=0, correction=0)
        return {"scale": std}

    @classmethod
    def build(cls, noise_factor, bounded, tensors):
        return cls(noise_factor, clip=bounded, **tensors)

    @property
    def scale(self):
        return self.tensors.get("scale")

    def __call__(self, batch, generator):
        noise = torch.randn(
            batch.shape, generator=generator, device=batch.device, dtype=batch.dtype
        )
        if self.scale is not None:
            noise.mul_(self.scale)
        noisy = noise.mul_(self.noise_factor).add_(batch)
        if self.clip:
            noisy.clamp_(0.0, 1.0)
        return noisy

    def __repr__(self):
        return f"GaussianNoise(noise_factor={self.noise_factor}, clip={self.clip})"


class MaskingNoise(_Corruption):
    """Each value set to 0 with probability ``noise_factor``, the rest kept.

    The masking noise of Vincent et al. (2008, 2010): the network must fill
    in the missing values from the others.

    Examples
    --------
    >>> import torch
    >>> from skdae._noise import MaskingNoise
    >>> noisy = MaskingNoise(0.5)(torch.ones(1000), torch.Generator().manual_seed(0))
    >>> 0.45 < float((noisy == 0).float().mean()) < 0.55
    True
    """

    def __call__(self, batch, generator):
        shape, columns = self.draw_shape(batch)
        keep = torch.empty(shape, device=batch.device, dtype=batch.dtype)
        keep.bernoulli_(1.0 - self.noise_factor, generator=generator)
        return (keep if columns is None else keep[:, columns]).mul_(batch)


class SaltAndPepperNoise(_Corruption):
    """Each value set, with probability ``noise_factor``, to its low or high bound.

    Half of the corrupted values go to ``low`` and half to ``high``: 0 and 1
    for data in [0, 1], else each feature's minimum and maximum in the
    training data (per-feature tensors).

    Examples
    --------
    >>> import torch
    >>> from skdae._noise import SaltAndPepperNoise
    >>> noisy = SaltAndPepperNoise(0.2)(torch.full((1000,), 0.5), torch.Generator().manual_seed(0))
    >>> sorted(set(noisy.tolist()))
    [0.0, 0.5, 1.0]
    """

    def __init__(self, noise_factor, low=None, high=None):
        super().__init__(noise_factor, low=low, high=high)

    statistics_names = ("low", "high")

    @classmethod
    def statistics(cls, X):
        # Unbounded data: each feature's own (observed) extremes.
        low, high = observed_aminmax(X) if isinstance(X, torch.Tensor) else X.aminmax(dim=0)
        return {"low": low, "high": high}

    def __call__(self, batch, generator):
        draw = torch.rand(batch.shape, generator=generator, device=batch.device, dtype=batch.dtype)
        low = self.tensors.get("low", torch.zeros((), device=batch.device, dtype=batch.dtype))
        high = self.tensors.get("high", torch.ones((), device=batch.device, dtype=batch.dtype))
        half = self.noise_factor / 2
        return torch.where(draw < half, low, torch.where(draw < self.noise_factor, high, batch))


class SwapNoise(_Corruption):
    """Each value replaced, with probability ``noise_factor``, by the same
    feature's value in another row of the batch, drawn at random per value.

    The swap noise of tabular denoising autoencoders (the winning entry of
    Porto Seguro's Kaggle competition): a corrupted value stays a plausible
    value of its feature, whatever the feature's scale or kind (one-hot
    columns stay 0/1), so it needs nothing learned from the training data.
    A batch of one row has no other row and is left as it is.

    Examples
    --------
    >>> import torch
    >>> from skdae._noise import SwapNoise
    >>> batch = torch.arange(12.0).reshape(4, 3)
    >>> noisy = SwapNoise(0.5)(batch, torch.Generator().manual_seed(0))
    >>> all(set(noisy[:, j].tolist()) <= set(batch[:, j].tolist()) for j in range(3))
    True
    """

    def __call__(self, batch, generator):
        n_rows = batch.shape[0]
        if n_rows < 2:
            return batch.clone()
        device = batch.device
        shape, columns = self.draw_shape(batch)
        swap = torch.rand(shape, generator=generator, device=device) < self.noise_factor
        # An offset in [1, n_rows) picks a row other than the value's own.
        offset = torch.randint(1, n_rows, shape, generator=generator, device=device)
        donors = offset.add_(torch.arange(n_rows, device=device).view(-1, *[1] * (batch.dim() - 1)))
        donors.remainder_(n_rows)
        if columns is not None:  # a table column's encoded values swap together
            swap, donors = swap[:, columns], donors[:, columns]
        return torch.where(swap, batch.gather(0, donors), batch)


# Seeds the values conditional noise hides in validation rows.
VALIDATION_SEED = 20080705


class ConditionalNoise(_Corruption):
    """Masking noise whose hidden values are guessed: each value is hidden with
    probability ``noise_factor``, and every hidden value (and every missing one,
    NaN) is set to its conditional mean given the row's visible values, under
    a Gaussian fitted to the training data by EM (missing values allowed),
    within the value's observed training range.

    The network starts from the best linear guess of what is hidden and learns
    what is left, rather than from zeros: what imputation wants
    (``AutoencoderImputer``). Each row solves a system as wide as its
    features, so it takes at most ``MAX_FEATURES`` of them.

    Examples
    --------
    >>> import torch
    >>> from skdae._noise import ConditionalNoise
    >>> covariance = torch.tensor([[1.0, 0.9], [0.9, 1.0]])
    >>> bounds = dict(low=torch.full((2,), -3.0), high=torch.full((2,), 3.0))
    >>> corrupt = ConditionalNoise(0.5, mean=torch.zeros(2), covariance=covariance, **bounds)
    >>> corrupt.fill(torch.tensor([[1.0, float("nan")]]))
    tensor([[1.0000, 0.9000]])
    """

    MAX_FEATURES = 256
    statistics_names = ("mean", "covariance", "low", "high")
    learns_when_bounded = True

    def __init__(self, noise_factor, mean=None, covariance=None, low=None, high=None):
        super().__init__(noise_factor, mean=mean, covariance=covariance, low=low, high=high)

    @classmethod
    def statistics(cls, X):
        device = X.device
        if not isinstance(X, torch.Tensor):  # streamed rows: EM reads them from the host
            if not hasattr(X, "_host"):
                raise ValueError("noise_type='conditional' needs dense data, not sparse rows.")
            X = X._host()
        n_features = X[0].numel()
        if n_features > cls.MAX_FEATURES:
            raise ValueError(
                f"noise_type='conditional' solves a system per row as wide as its features; it "
                f"takes at most {cls.MAX_FEATURES} features, X has {n_features}. Use "
                "noise_type='masking'."
            )
        rows = X.reshape(len(X), n_features).float()
        mean, covariance = fit_gaussian(rows)
        low, high = observed_aminmax(rows)  # the guesses stay within what was seen
        found = {"mean": mean, "covariance": covariance, "low": low, "high": high}
        return {name: tensor.to(device) for name, tensor in found.items()}

    @classmethod
    def statistics_shapes(cls, n_features):
        return {**super().statistics_shapes(n_features), "covariance": (n_features, n_features)}

    def _guess(self, batch, visible):
        rows = batch.reshape(len(batch), -1)  # an image's pixels as one row
        # No copy where they already are; float64 rows (inference) solve in float64.
        statistics = [
            self.tensors[name].to(batch.device, batch.dtype) for name in self.statistics_names
        ]
        guessed = conditional_mean(rows, visible.reshape(rows.shape), *statistics)
        return guessed.reshape(batch.shape)

    def __call__(self, batch, generator):
        keep = torch.empty(batch.shape, device=batch.device, dtype=batch.dtype)
        keep.bernoulli_(1.0 - self.noise_factor, generator=generator)
        return self._guess(batch, (keep == 1) & ~torch.isnan(batch))

    def fill(self, batch):
        return self._guess(batch, ~torch.isnan(batch))

    def validation_input(self, batch, missing):
        # Hidden as in training, so that early stopping watches the guesses it
        # refines (the rows, seen whole, are what a residual network returns
        # untrained); a generator seeded alike for every batch: the same masks
        # every epoch (and in every batch of a size: enough to compare epochs).
        generator = torch.Generator(device=batch.device).manual_seed(VALIDATION_SEED)
        return self(batch, generator)


def fill_holes(corruption, batch):
    """``batch`` with its holes filled as a fit's noise fills them (0 without noise)."""
    return fill_missing(batch) if corruption is None else corruption.fill(batch)


def validation_view(corruption, batch, missing):
    """What the network sees of validation rows: the noise's view (conditional
    noise hides values, the same every epoch), else the rows, holes filled."""
    if corruption is not None:
        return corruption.validation_input(batch, missing)
    return fill_missing(batch) if missing else batch


def fill_missing(batch):
    """``batch`` with its missing values (NaN) set to 0, as masking noise sets
    the values it hides."""
    return torch.nan_to_num(batch, nan=0.0, posinf=torch.inf, neginf=-torch.inf)  # only NaN


NOISE_TYPES = {
    "conditional": ConditionalNoise,
    "gaussian": GaussianNoise,
    "masking": MaskingNoise,
    "salt_and_pepper": SaltAndPepperNoise,
    "swap": SwapNoise,
}


# The kinds that corrupt a table's columns whole (``make_corruption``'s ``columns``),
# and the tensors of that column map.
COLUMN_NOISE_TYPES = ("masking", "swap")
COLUMN_MAP = ("columns",)


def make_corruption(noise_type, noise_factor, *, bounded, X=None, tensors=None, columns=None):
    """The corruption of a fit, or None for ``noise_factor=0`` (no noise).

    Parameters
    ----------
    noise_type : str
        A key of ``NOISE_TYPES``.
    noise_factor : float
    bounded : bool
        The data is in [0, 1] (``loss_function_ == "bce"``): Gaussian noise is clipped,
        salt and pepper is 0 and 1, and nothing is learned from the data.
    X : torch.Tensor or SparseRows, default=None
        The training data, to learn the kind's ``statistics`` from.
    tensors : dict of torch.Tensor, default=None
        The statistics themselves (a saved model's); they take precedence
        over ``X``.
    columns : ndarray of int, default=None
        A mixed table's layout: the column of each encoded value
        (``TableLayout.column_of``); a kind of ``COLUMN_NOISE_TYPES`` then
        corrupts whole columns.
    """
    if noise_factor == 0:
        return None
    kind = NOISE_TYPES[noise_type]
    if tensors is None:
        learns = X is not None and (kind.learns_when_bounded or not bounded)
        tensors = kind.statistics(X) if learns else {}
    if columns is not None:  # a table's column map (a saved model's is rebuilt from its layout)
        columns = torch.as_tensor(columns, dtype=torch.int64, device=getattr(X, "device", None))
        tensors = {**tensors, "columns": columns}
    return kind.build(noise_factor, bounded, tensors)
