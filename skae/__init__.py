"""skae: scikit-learn compatible autoencoders on PyTorch, built on skorch."""

from __future__ import annotations

from .autoencoder import AutoEncoder
from .conditional import ConditionalVAE
from .exceptions import PluginError, PluginWarning, TrainingDivergedError
from .hookspecs import hookimpl
from .outlier import AutoEncoderOutlierDetector
from .vae import VAE, BetaVAE

__version__ = "0.1.0"

__all__ = [
    "AutoEncoder",
    "AutoEncoderOutlierDetector",
    "BetaVAE",
    "ConditionalVAE",
    "VAE",
    "PluginError",
    "PluginWarning",
    "TrainingDivergedError",
    "hookimpl",
    "__version__",
]
