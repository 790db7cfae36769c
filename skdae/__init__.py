"""skdae: denoising autoencoders as scikit-learn transformers, trained with PyTorch."""

from ._conv import ConvDenoisingAutoencoder
from ._distributed import DistributedTrainingError
from ._estimator import DenoisingAutoencoder
from ._imputer import AutoencoderImputer
from ._model_file import ModelFileError
from ._net import TrainingDivergedError
from ._outliers import AutoencoderOutlierDetector
from ._persistence import load
from ._version import __version__

__all__ = [
    "AutoencoderImputer",
    "AutoencoderOutlierDetector",
    "ConvDenoisingAutoencoder",
    "DenoisingAutoencoder",
    "DistributedTrainingError",
    "ModelFileError",
    "TrainingDivergedError",
    "load",
    "__version__",
]
