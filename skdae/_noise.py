"""Corruption functions: ``corrupt(batch, generator) -> corrupted batch``.

They run inside the training step, on the batch's device, drawing from the
fit's own ``torch.Generator``; the clean batch is left untouched because the
loss compares the reconstruction with it.
"""

import torch


class GaussianNoise:
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
        self.noise_factor = float(noise_factor)
        self.scale = scale
        self.clip = clip

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

    def to(self, device):
        """Move ``scale`` to ``device`` (returns self)."""
        if self.scale is not None:
            self.scale = self.scale.to(device)
        return self

    def __repr__(self):
        return f"GaussianNoise(noise_factor={self.noise_factor}, clip={self.clip})"
