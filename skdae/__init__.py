"""skdae: denoising autoencoders as scikit-learn transformers, trained with PyTorch."""

from ._conv import ConvDenoisingAutoencoder
from ._distributed import DistributedTrainingError
from ._estimator import DenoisingAutoencoder
from ._net import TrainingDivergedError
from ._persistence import ModelFileError, load

__version__ = "0.1.0"

__all__ = [
    "ConvDenoisingAutoencoder",
    "DenoisingAutoencoder",
    "DistributedTrainingError",
    "ModelFileError",
    "TrainingDivergedError",
    "load",
    "__version__",
]
