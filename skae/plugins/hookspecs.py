"""Hook specifications of skae's plugin system.

Every hook takes a single ``register`` callback, so one plugin can add several
things with one hook (the pattern of ``llm``).  Built-in components register
through these same hooks.  A plugin module implements any subset of them::

    import skae

    @skae.hookimpl
    def skae_register_regularizers(register):
        register("orthogonality", OrthogonalityPenalty)

and is announced in its ``pyproject.toml``::

    [project.entry-points.skae]
    orthogonality = "skae_orthogonality"
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

__all__ = [
    "hookspec",
    "hookimpl",
    "skae_register_regularizers",
    "skae_register_corruptions",
    "skae_register_conditioners",
    "skae_register_architectures",
]

hookspec = pluggy.HookspecMarker("skae")
hookimpl = pluggy.HookimplMarker("skae")

Register = Callable[[str, Callable[..., object]], None]


@hookspec
def skae_register_regularizers(register: Register) -> None:
    """Register regularizers: call ``register(name, factory)`` for each one."""


@hookspec
def skae_register_corruptions(register: Register) -> None:
    """Register input corruptions: call ``register(name, factory)`` for each one."""


@hookspec
def skae_register_conditioners(register: Register) -> None:
    """Register conditioning methods: call ``register(name, factory)`` for each one."""


@hookspec
def skae_register_architectures(register: Register) -> None:
    """Register encoder/decoder builders: call ``register(name, factory)`` for each one."""
