"""skdae: denoising autoencoders as scikit-learn transformers, trained with PyTorch."""

from ._estimator import DenoisingAutoencoder

__version__ = "0.1.0"

__all__ = ["DenoisingAutoencoder", "__version__"]
