"""Plugins: the hooks, the manager that looks components up by name, and the plugin contracts.

Owns the hook specifications (:mod:`skae.hookspecs`), what a plugin may know
about the model it is built for (:mod:`skae.spec`), the regularizer and
conditioner contracts with their built-ins (:mod:`skae.regularizers`,
:mod:`skae.conditioning`), the corruptions of denoising autoencoders
(:mod:`skae.corruptions`), and the manager, whose functions are this package's
names (``skae.plugins.register``, ``available``, ``describe``, ...).  The
lowest layer above :mod:`skae.exceptions`, the only module of skae it imports.
The built-ins (here, and the architectures in :mod:`skae.architectures`) are
registered through the same hooks as third-party plugins: the manager imports
them by module name when it is first used, as it loads entry points.  The manager itself is imported on
first use too (``import skae`` does not pay for ``importlib.metadata``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from ._manager import (
        ALLOW_LIST_ENV,
        BUILTIN_DISTRIBUTION,
        DISABLE_AUTOLOAD_ENV,
        ENTRY_POINT_GROUP,
        KINDS,
        Registration,
        available,
        build,
        describe,
        get,
        get_plugin_manager,
        register,
        unregister,
    )

__all__ = [
    "ALLOW_LIST_ENV",
    "BUILTIN_DISTRIBUTION",
    "DISABLE_AUTOLOAD_ENV",
    "ENTRY_POINT_GROUP",
    "KINDS",
    "Registration",
    "available",
    "build",
    "describe",
    "get",
    "get_plugin_manager",
    "register",
    "unregister",
]


def __getattr__(name: str) -> Any:
    if name in __all__ or name == "_manager":
        manager = importlib.import_module("._manager", __name__)
        value = manager if name == "_manager" else getattr(manager, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
