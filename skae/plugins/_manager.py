"""The plugin manager: built-ins and entry points of group ``skae``, looked up by name.

Entry points are loaded lazily, once, on the first lookup (``import skae`` loads
none).  Set ``SKAE_DISABLE_PLUGIN_AUTOLOAD=1`` to load no third-party plugin, or
``SKAE_PLUGINS=name1,name2`` to load only those entry points.  A third-party
plugin that fails to import is skipped with a :class:`~skae.exceptions.PluginWarning`
naming its distribution; a hook that raises, or a name registered twice, is a
:class:`~skae.exceptions.PluginError` naming the distributions involved.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import inspect
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pluggy

from ..exceptions import PluginError, PluginWarning
from . import hookspecs
from .spec import ModelSpec

__all__ = [
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

ENTRY_POINT_GROUP = "skae"
DISABLE_AUTOLOAD_ENV = "SKAE_DISABLE_PLUGIN_AUTOLOAD"
ALLOW_LIST_ENV = "SKAE_PLUGINS"
BUILTIN_DISTRIBUTION = "skae"

#: kind of component -> the hook that registers it
KINDS = {
    "regularizer": "skae_register_regularizers",
    "corruption": "skae_register_corruptions",
    "conditioner": "skae_register_conditioners",
    "architecture": "skae_register_architectures",
}

_BUILTIN_MODULES = (
    "skae.plugins.regularizers.builtin",
    "skae.plugins.corruptions",
    "skae.plugins.conditioning.builtin",
    "skae.model.architectures",
)


@dataclass(frozen=True)
class Registration:
    """One named component and where it came from."""

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    distribution: str


_pm: pluggy.PluginManager | None = None
_distributions: dict[str, str] = {}
_cache: dict[str, tuple[tuple[int, ...], dict[str, Registration]]] = {}


def get_plugin_manager() -> pluggy.PluginManager:
    """Return the plugin manager, creating it (and loading entry points) once."""
    global _pm
    if _pm is None:
        pm = pluggy.PluginManager("skae")
        pm.add_hookspecs(hookspecs)
        for module_name in _BUILTIN_MODULES:
            pm.register(importlib.import_module(module_name), name=module_name)
            _distributions[module_name] = BUILTIN_DISTRIBUTION
        pm.check_pending()
        if not os.environ.get(DISABLE_AUTOLOAD_ENV):
            _load_entry_points(pm)
        _pm = pm
    return _pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    raw = os.environ.get(ALLOW_LIST_ENV)
    allowed = None if raw is None else {s.strip() for s in raw.split(",") if s.strip()}
    entry_points = list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
    unknown = sorted((allowed or set()) - {ep.name for ep in entry_points})
    if unknown:
        warnings.warn(
            f"{ALLOW_LIST_ENV} names {unknown}, but no installed distribution declares such a "
            f"{ENTRY_POINT_GROUP!r} entry point (installed: {sorted(ep.name for ep in entry_points)}).",
            PluginWarning,
            stacklevel=3,
        )
    for ep in entry_points:
        if allowed is not None and ep.name not in allowed:
            continue
        dist = ep.dist.name if ep.dist is not None else "unknown distribution"
        if pm.has_plugin(ep.name):
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
            try:
                pm.check_pending()
            except pluggy.PluginValidationError:
                pm.unregister(name=ep.name)
                raise
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a broken plugin must not break skae, not even by exiting at import
            warnings.warn(
                f"skae plugin {ep.name!r} from distribution {dist!r} could not be "
                f"loaded and was skipped: {type(exc).__name__}: {exc}. Fix or "
                f"uninstall {dist!r}, or set {DISABLE_AUTOLOAD_ENV}=1.",
                PluginWarning,
                stacklevel=2,
            )
            continue
        _distributions[ep.name] = dist


def register(plugin: object, name: str | None = None) -> str:
    """Register a plugin object (module or instance with hook implementations).

    Use in tests and notebooks; installed packages use the ``skae`` entry-point
    group instead.  Returns the plugin's name.
    """
    pm = get_plugin_manager()
    plugin_name = pm.register(plugin, name=name)
    if plugin_name is None:
        raise PluginError(f"plugin {name or plugin!r} is already registered")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError:
        pm.unregister(plugin)
        raise
    _distributions.setdefault(plugin_name, f"(registered at runtime: {plugin_name})")
    return plugin_name


def unregister(plugin: object | None = None, name: str | None = None) -> None:
    """Remove a plugin registered with :func:`register`."""
    get_plugin_manager().unregister(plugin, name=name)


def _collect(kind: str) -> dict[str, Registration]:
    pm = get_plugin_manager()
    hook = getattr(pm.hook, KINDS[kind])
    impls = hook.get_hookimpls()  # registration order: built-ins first
    key = tuple(id(impl.plugin) for impl in impls)
    cached = _cache.get(kind)
    if cached is not None and cached[0] == key:
        return cached[1]
    entries: dict[str, Registration] = {}
    for impl in impls:
        plugin_name = impl.plugin_name
        dist = _distributions.get(plugin_name, plugin_name)

        def register_one(name: str, factory: Callable[..., Any], *, _p=plugin_name, _d=dist):
            if not isinstance(name, str) or not name.isidentifier():
                raise PluginError(
                    f"plugin {_p!r} (distribution {_d!r}) registered the {kind} name "
                    f"{name!r}; names must be Python identifiers."
                )
            if not callable(factory):
                raise PluginError(
                    f"plugin {_p!r} (distribution {_d!r}) registered {kind} {name!r} "
                    f"with a non-callable factory {factory!r}."
                )
            if name in entries:
                first = entries[name]
                raise PluginError(
                    f"{kind} {name!r} is registered twice: by plugin {first.plugin!r} "
                    f"(distribution {first.distribution!r}) and by plugin {_p!r} "
                    f"(distribution {_d!r}). Uninstall one of them or load only one "
                    f"with {ALLOW_LIST_ENV}."
                )
            entries[name] = Registration(kind, name, factory, _p, _d)

        try:
            impl.function(register=register_one)
        except (PluginError, KeyboardInterrupt):
            raise
        except BaseException as exc:
            raise PluginError(
                f"plugin {plugin_name!r} (distribution {dist!r}) failed in "
                f"{KINDS[kind]}: {type(exc).__name__}: {exc}"
            ) from exc
    _cache[kind] = (key, entries)
    return entries


def available(kind: str) -> list[str]:
    """Sorted names of the registered components of ``kind``."""
    return sorted(_collect(_check_kind(kind)))


def get(kind: str, name: str) -> Registration:
    """Look a component up by name; a typo lists the known names."""
    entries = _collect(_check_kind(kind))
    if name not in entries:
        known = sorted(entries)
        hint = difflib.get_close_matches(str(name), known, n=1, cutoff=0.5)
        did_you_mean = f" Did you mean {hint[0]!r}?" if hint else ""
        raise ValueError(
            f"Unknown {kind} {name!r}.{did_you_mean} Available {kind}s: "
            f"{', '.join(known)}. Third-party {kind}s come from packages that "
            f"declare the entry-point group {ENTRY_POINT_GROUP!r}."
        )
    return entries[name]


def build(kind: str, name: str, params: dict[str, Any], spec: ModelSpec, prefix: str) -> Any:
    """Build the ``kind`` component ``name`` with ``params`` and check it against ``spec``.

    Every plugin kind goes through here, so every construction error reads alike:
    a ``TypeError`` listing the accepted ``<prefix><param>`` names for parameters
    the factory rejects, and a ``ValueError`` beginning "<kind> '<name>':" for
    values its ``check(spec)`` refuses.
    """
    factory = get(kind, name).factory
    try:
        component = factory(**params)
    except TypeError as exc:
        try:
            accepted = [p for p in inspect.signature(factory).parameters if p not in ("self", "args", "kwargs")]
        except (TypeError, ValueError):
            accepted = []
        raise TypeError(
            f"{kind} {name!r} rejected its parameters {sorted(prefix + p for p in params)}: {exc}. "
            f"It accepts {[prefix + a for a in accepted]}."
        ) from exc
    check = getattr(component, "check", None)
    if check is not None:
        try:
            check(spec)
        except ValueError as exc:
            raise ValueError(f"{kind} {name!r}: {exc}") from exc
    return component


def describe() -> list[dict[str, Any]]:
    """One record per plugin: its distribution and what it registers, by kind."""
    pm = get_plugin_manager()
    rows: dict[str, dict[str, Any]] = {}
    for plugin_name, _ in pm.list_name_plugin():
        rows[plugin_name] = {
            "plugin": plugin_name,
            "distribution": _distributions.get(plugin_name, plugin_name),
            **{kind: [] for kind in KINDS},
        }
    for kind in KINDS:
        for reg in _collect(kind).values():
            rows[reg.plugin][kind].append(reg.name)
    return list(rows.values())


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"Unknown plugin kind {kind!r}; known kinds: {', '.join(KINDS)}")
    return kind
