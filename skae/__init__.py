"""skae: scikit-learn compatible autoencoders on PyTorch, built on skorch.

The estimators are imported on first use (PEP 562), so ``import skae`` and the
command line's ``--help`` do not pay for importing torch, scikit-learn and skorch.

The package is one subpackage per concern, each importing only the ones below
it (the layers contract in ``pyproject.toml``, checked by import-linter)::

    tools        model files, command line, plotting, checks for plugin authors
    detection    AutoEncoderOutlierDetector        impute    AutoEncoderImputer
    estimators   AutoEncoder, VAE, BetaVAE, ConditionalVAE
    training     parameters, building, the skorch net, objectives, callbacks
    model        modules, likelihoods, ELBO, samplers, the fitted model, inference
    tables       the input adapter, column layout, values, scaling, datasets
    plugins      hooks, the manager, regularizers, conditioning, corruptions

The public modules keep their short names (``skae.tabular``, ``skae.likelihoods``,
``skae.hookspecs``, ``skae.regularizers``, ``skae.testing``, ...): importing one
gives the module where its code lives (:data:`MODULE_NAMES`), and so does
``skae.<short name>`` as an attribute.  Modules of the flat layout of skae 0.1
resolve the same way, so pickles made before the move still load; ``skae.impute``
and ``skae.plugins`` are now the packages of those names, which give the old
modules' public names.  Type checkers do not follow these names: they see the
modules where the code lives (``skae.tables``, ``skae.plugins.regularizers``, ...).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from typing import TYPE_CHECKING, Any

from .exceptions import ModelFileError, PluginError, PluginWarning, TrainingDivergedError
from .plugins.hookspecs import hookimpl

__version__ = "0.1.0"

from .estimators._registry import LOCATIONS

#: public names imported on first use: the estimators (one table, skae.estimators._registry) and the model-file functions
_LAZY = {**LOCATIONS, "load": "skae.tools.persistence", "save": "skae.tools.persistence", "set_threads": "skae.model._device"}

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
    from .detection._detector import AutoEncoderOutlierDetector
    from .estimators._autoencoder import AutoEncoder
    from .estimators._conditional import ConditionalVAE
    from .estimators._vae import VAE, BetaVAE
    from .impute._imputer import AutoEncoderImputer
    from .model._device import set_threads
    from .tools.persistence import load, save


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in MODULE_NAMES:  # skae.hookspecs without importing it first, as when the package imported it
        return importlib.import_module(f"skae.{name}")
    raise AttributeError(f"module 'skae' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


#: the public modules' short names -> where their code lives
MODULE_NAMES = {
    "architectures": "model.architectures",
    "autoencoder": "estimators._autoencoder",
    "cli": "tools.cli",
    "conditional": "estimators._conditional",
    "conditioning": "plugins.conditioning",
    "conditioning.builtin": "plugins.conditioning.builtin",
    "corruptions": "plugins.corruptions",
    "hookspecs": "plugins.hookspecs",
    "likelihoods": "model.likelihoods",
    "losses": "model.losses",
    "modules": "model.modules",
    "outlier": "detection._detector",
    "persistence": "tools.persistence",
    "plotting": "tools.plotting",
    "regularizers": "plugins.regularizers",
    "regularizers.builtin": "plugins.regularizers.builtin",
    "sampling": "model.sampling",
    "spec": "plugins.spec",
    "tabular": "tables._layout",
    "testing": "tools.testing",
    "vae": "estimators._vae",
}

#: modules of the flat layout (skae 0.1) -> where their code lives now, for pickles made before the move
_FORMER_NAMES = {
    "_attributes": "estimators._attributes",
    "_base": "estimators._base",
    "_build": "training._build",
    "_callbacks": "training._callbacks",
    "_column_values": "tables._values",
    "_conditions": "model._conditions",
    "_detection": "detection._fitted",
    "_device": "model._device",
    "_docs": "estimators._docs",
    "_elbo": "model._elbo",
    "_ensemble": "detection._ensemble",
    "_ensemble_model": "detection._scores",
    "_fill_check": "impute._fill_check",
    "_fitted": "model._fitted",
    "_generation": "estimators._generation",
    "_impute_frames": "impute._frames",
    "_inference": "model._chunks",
    "_members": "detection._wrapped",
    "_objectives": "training._objectives",
    "_packed": "tables._packed",
    "_params": "training._params",
    "_registry": "estimators._registry",
    "_residuals": "model._residuals",
    "_scaling": "tables._scaling",
    "_table_files": "tools._table_files",
    "_tails": "detection._tails",
    "_training": "training._net",
    "_training_data": "tables._datasets",
    "_typing": "estimators._typing",
    "data": "tables._input",
}


def _home(fullname: str) -> str:
    short = fullname[len("skae.") :]
    return f"skae.{MODULE_NAMES.get(short) or _FORMER_NAMES[short]}"


class _ModuleNames(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import ``skae.<short name>`` as the module its code lives in: the same module object, not a copy."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        short = fullname[len("skae.") :] if fullname.startswith("skae.") else None
        if short in MODULE_NAMES or short in _FORMER_NAMES:
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
        home = importlib.import_module(_home(spec.name))
        spec.loader_state = home.__spec__
        return home

    def exec_module(self, module: Any) -> None:
        # the import system set the home's __spec__ to the short name's, for the moment between the two calls
        module.__spec__ = module.__spec__.loader_state

    def get_code(self, fullname: str) -> Any:
        """``python -m skae.cli``: run the home module as ``__main__`` (its own code, in its own package)."""
        source = f"import runpy\nrunpy.run_module({_home(fullname)!r}, run_name='__main__', alter_sys=True)\n"
        return compile(source, f"<{fullname}: {_home(fullname)}>", "exec")


# first in line: a short name of a package's submodule (skae.regularizers.builtin) would otherwise be
# found on the package's path and imported a second time, as a second module
# (compared by name: importlib.reload(skae) defines the class again)
if not any(type(finder).__qualname__ == "_ModuleNames" and type(finder).__module__ == __name__
           for finder in sys.meta_path):
    sys.meta_path.insert(0, _ModuleNames())
