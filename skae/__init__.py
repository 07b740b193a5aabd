"""skae: scikit-learn compatible autoencoders on PyTorch, built on skorch."""

from __future__ import annotations

from .autoencoder import AutoEncoder
from .conditional import ConditionalVAE
from .exceptions import ModelFileError, PluginError, PluginWarning, TrainingDivergedError
from .hookspecs import hookimpl
from .outlier import AutoEncoderOutlierDetector
from .persistence import load, save
from .vae import VAE, BetaVAE

__version__ = "0.1.0"

__all__ = [
    "AutoEncoder",
    "AutoEncoderOutlierDetector",
    "BetaVAE",
    "ConditionalVAE",
    "VAE",
    "ModelFileError",
    "PluginError",
    "PluginWarning",
    "TrainingDivergedError",
    "hookimpl",
    "load",
    "save",
    "__version__",
]
