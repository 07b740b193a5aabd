"""The estimators users import: :class:`AutoEncoder`, :class:`VAE`, :class:`BetaVAE`, :class:`ConditionalVAE`.

Owns the scikit-learn face shared by them (parameters, ``fit``, the inference
methods, ``sample`` and ``interpolate``, the fitted attributes as views of one
fitted value) and the table of estimators by name that model files and the
command line look up.  Imports :mod:`skae.training`, :mod:`skae.model`,
:mod:`skae.tables`, :mod:`skae.plugins` and :mod:`skae.exceptions`; never
:mod:`skae.detection`, :mod:`skae.impute` or :mod:`skae.tools`, which build on
it (the table of estimators names the detector and the imputer by module, and
imports one only when it is asked for).

The classes are imported on first use, as from ``skae`` itself.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._registry import LOCATIONS

__all__ = ["AutoEncoder", "BetaVAE", "ConditionalVAE", "VAE"]

#: the estimators of this package, from the one table of where each estimator lives
_HOMES = {name: module for name, module in LOCATIONS.items() if module.startswith(f"{__name__}.")}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from ._autoencoder import AutoEncoder
    from ._conditional import ConditionalVAE
    from ._vae import VAE, BetaVAE


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
