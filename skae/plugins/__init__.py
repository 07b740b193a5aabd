"""Plugins: the hooks, the manager that looks components up by name, and the built-in components.

Owns the hook specifications (:mod:`skae.hookspecs`), what a plugin may know
about the model it is built for (:mod:`skae.spec`), the regularizer and
conditioner contracts with their built-ins (:mod:`skae.regularizers`,
:mod:`skae.conditioning`), the corruptions of denoising autoencoders
(:mod:`skae.corruptions`), and the manager, whose functions are this package's
names (``skae.plugins.register``, ``available``, ``describe``, ...).  The
lowest layer: imports nothing from skae but :mod:`skae.exceptions`; the
built-ins are registered through the same hooks as third-party plugins, by
module name, when the manager is first used.  The manager itself is imported on
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
