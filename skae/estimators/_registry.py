"""skae's estimators by name, for model files and the command line (imported only when used)."""

from __future__ import annotations

import importlib
from collections.abc import Callable

__all__ = ["ESTIMATOR_NAMES", "FILE_CLASSES", "LOCATIONS", "estimator_factory"]

#: where each estimator lives (imported only when used)
LOCATIONS = {
    "AutoEncoder": "skae.estimators._autoencoder",
    "VAE": "skae.estimators._vae",
    "BetaVAE": "skae.estimators._vae",
    "ConditionalVAE": "skae.estimators._conditional",
    "AutoEncoderOutlierDetector": "skae.detection._detector",
    "AutoEncoderImputer": "skae.impute._imputer",
}

#: names the command line accepts for ``--estimator``
ESTIMATOR_NAMES = tuple(name for name in LOCATIONS if name != "AutoEncoderImputer")

#: classes a model file may name (``BetaVAE`` builds a ``VAE``)
FILE_CLASSES = ("AutoEncoder", "VAE", "ConditionalVAE", "AutoEncoderOutlierDetector", "AutoEncoderImputer")


def estimator_factory(name: str) -> Callable:
    """The class (or, for ``BetaVAE``, the function) that builds estimator ``name``."""
    if name not in LOCATIONS:
        raise KeyError(name)
    return getattr(importlib.import_module(LOCATIONS[name]), name)
