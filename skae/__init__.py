"""skae: scikit-learn compatible autoencoders on PyTorch, built on skorch.

The estimators are imported on first use (PEP 562), so ``import skae`` and the
command line's ``--help`` do not pay for importing torch, scikit-learn and skorch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .exceptions import ModelFileError, PluginError, PluginWarning, TrainingDivergedError
from .hookspecs import hookimpl

__version__ = "0.1.0"

from ._registry import LOCATIONS

#: public names imported on first use: the estimators (one table, skae._registry) and the model-file functions
_LAZY = {**LOCATIONS, "load": "skae.persistence", "save": "skae.persistence", "set_threads": "skae._device"}

__all__ = [
    "AutoEncoder",
    "AutoEncoderImputer",
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
    "set_threads",
    "__version__",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from ._device import set_threads
    from .autoencoder import AutoEncoder
    from .conditional import ConditionalVAE
    from .impute import AutoEncoderImputer
    from .outlier import AutoEncoderOutlierDetector
    from .persistence import load, save
    from .vae import VAE, BetaVAE


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'skae' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
