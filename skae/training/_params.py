"""Constructor parameters every skae estimator shares: defaults, constraints, routed names.

scikit-learn reads an estimator's parameters from its ``__init__`` signature, so
each estimator spells its signature out; the default *values* live here, once,
and ``tests/test_architecture.py`` checks that every signature agrees with them.
"""

from __future__ import annotations

import difflib
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.utils._param_validation import HasMethods, Interval, InvalidParameterError, StrOptions

from ..model.modules import ACTIVATIONS

__all__ = [
    "DEFAULTS",
    "FAMILY_DEFAULTS",
    "NET_PREFIXES",
    "OPTIMIZERS",
    "ROUTED_PREFIXES",
    "RoutedParamsMixin",
    "SHARED_CONSTRAINTS",
    "SharedDefaults",
    "check_hidden_dims",
    "check_no_bool_numbers",
    "check_routed_keys",
    "regularizer_names",
    "routed",
    "store_init_params",
]

#: prefixes of routed ``<prefix>__<name>`` parameters, as skorch routes ``module__...``
ROUTED_PREFIXES = (
    "module",
    "optimizer",
    "callbacks",
    "iterator_train",
    "regularizers",
    "corruption",
    "conditioning",
    "architecture",
)

#: the routed prefixes skorch's net receives as they are (``optimizer__lr`` ...)
NET_PREFIXES = ("optimizer", "callbacks", "iterator_train")

#: the ``optimizer`` names and the torch optimizers they stand for
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}


@dataclass(frozen=True)
class SharedDefaults:
    """Default values of the parameters every estimator has (see :class:`skae.AutoEncoder`).

    Chosen across tasks (benchmarks/results_generative.md, results_anomaly.md):
    ReLU and batches of 64 learn a VAE's likelihood faster per epoch than ELU
    and 128 and tie with them later (a plain autoencoder keeps ELU: see
    ``FAMILY_DEFAULTS``);
    early stopping holds data out only when it can act (``max_epochs`` above
    twice ``patience``), and then the model is refitted on every row for the
    number of epochs it picked; ``max_epochs="auto"`` is 200 epochs, and for a
    mixed-type table about 4,000 steps (:func:`skae.training._build.resolved_epochs`,
    benchmarks/results_synthetic.md).
    """

    latent_dim: int = 2
    hidden_dims: tuple[int, ...] = (256, 128)
    activation: str = "relu"
    scaling: str | None = "auto"
    handle_unknown: str = "error"
    architecture: str = "dense"
    regularizers: Any = None
    corruption: str | None = None
    max_epochs: int | str = "auto"
    batch_size: int | str = 64
    lr: float = 1e-3
    optimizer: str = "adam"
    early_stopping: bool | str = "auto"
    validation_fraction: float = 0.1
    refit: bool = True
    patience: int = 20
    tol: float = 1e-4
    device: str = "cpu"
    random_state: Any = None
    verbose: int = 0
    callbacks: list | None = None
    warm_start: bool = False
    compile: bool = False
    accelerator: Any = None


DEFAULTS = SharedDefaults()

#: where a family's default differs from the shared one, and why (benchmarks/results_generative.md):
#: a plain autoencoder reconstructs held-out rows better with ELU; VAEs learn their likelihood faster with ReLU
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {"AutoEncoder": {"activation": "elu"}}

SHARED_CONSTRAINTS: dict[str, list] = {
    "latent_dim": [Interval(numbers.Integral, 1, None, closed="left")],
    "hidden_dims": ["array-like"],
    "activation": [StrOptions(set(ACTIVATIONS) - {"identity"})],
    "scaling": [StrOptions({"auto", "global", "standard", "minmax", "quantile"}), None],
    "handle_unknown": [StrOptions({"error", "ignore"})],
    "architecture": [str, callable],
    "regularizers": [list, tuple, str, dict, None],
    "corruption": [str, None],
    "max_epochs": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"full"})],
    "lr": [Interval(numbers.Real, 0, None, closed="neither")],
    "optimizer": [StrOptions(set(OPTIMIZERS)), type, callable],
    "early_stopping": ["boolean", StrOptions({"auto"})],
    "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
    "refit": ["boolean"],
    "patience": [Interval(numbers.Integral, 1, None, closed="left")],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "device": [str],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "callbacks": [list, None],
    "warm_start": ["boolean"],
    "compile": ["boolean"],
    "accelerator": [HasMethods(["prepare", "backward", "autocast"]), None],
}


def store_init_params(estimator, init_locals: dict[str, Any]) -> None:
    """What every ``__init__`` does: keep each named argument, and the routed ``**kwargs`` apart.

    scikit-learn requires ``__init__`` to store its arguments unchanged and to do
    nothing else; routed ``prefix__name`` arguments are kept in a private dict
    and reported by ``fit`` if they are not valid (skorch's convention).
    """
    for name, value in init_locals.items():
        if name not in ("self", "kwargs", "__class__"):
            setattr(estimator, name, value)
    estimator._routed_params = dict(init_locals.get("kwargs", {}))


class RoutedParamsMixin:
    """scikit-learn's ``get_params``/``set_params`` extended to routed ``prefix__name`` parameters.

    ``clone`` and ``GridSearchCV`` then see and set ``optimizer__weight_decay`` or
    ``regularizers__l1__weight`` like any other parameter.
    """

    _routed_params: dict[str, Any]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this estimator, routed ``prefix__name`` ones included."""
        params = super().get_params(deep=deep)  # type: ignore[misc]  # BaseEstimator's, next in the MRO
        params.update(getattr(self, "_routed_params", {}))
        return params

    def set_params(self, **params):
        """Set parameters, including routed ``prefix__name`` ones.

        A plain name that is not a parameter raises at once, as scikit-learn's
        ``set_params`` does; routed ``prefix__name`` keys are checked by ``fit``
        (as skorch does), which names the valid prefixes.
        """
        valid = set(self._get_param_names())
        for key, value in params.items():
            if key in valid:
                setattr(self, key, value)
            elif "__" in key or key == "kwargs":
                # routed names are checked by fit, which names the valid prefixes; "kwargs" is what
                # scikit-learn's checks pass for the **kwargs catch-all, which __init__ stores the same way
                self._routed_params[key] = value
            else:
                hint = difflib.get_close_matches(key, sorted(valid), n=1)
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator {type(self).__name__}."
                    + (f" Did you mean {hint[0]!r}?" if hint else "")
                    + f" Valid parameters are: {sorted(valid)}; routed ones take the form '<prefix>__<name>'."
                )
        return self

    def _routed(self, prefix: str) -> dict[str, Any]:
        return routed(self._routed_params, prefix)


def regularizer_names(regularizers) -> list[str]:
    """The regularizer names the ``regularizers`` parameter selects (a name, a list, or a dict of weights)."""
    if regularizers is None:
        return []
    return [regularizers] if isinstance(regularizers, str) else list(regularizers)


def routed(params: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``prefix__name=value`` entries of ``params`` as ``{name: value}``."""
    start = prefix + "__"
    return {k[len(start):]: v for k, v in params.items() if k.startswith(start)}


def check_routed_keys(owner: str, params: dict[str, Any], regularizer_names: list[str]) -> None:
    """Every routed key has a known prefix, and regularizer keys name a selected regularizer."""
    for key in params:
        prefix = key.split("__", 1)[0]
        if "__" not in key or prefix not in ROUTED_PREFIXES:
            hint = difflib.get_close_matches(prefix, ROUTED_PREFIXES, n=1, cutoff=0.6)
            did_you_mean = f" Did you mean {hint[0] + '__' + key.split('__', 1)[-1]!r}?" if hint else ""
            raise TypeError(
                f"{owner} got an unexpected parameter {key!r}.{did_you_mean} Routed parameters take the "
                f"form '<prefix>__<name>' with prefix one of {list(ROUTED_PREFIXES)}."
            )
    for key in routed(params, "regularizers"):
        name = key.split("__", 1)[0]
        if "__" not in key or name not in regularizer_names:
            raise ValueError(
                f"Parameter 'regularizers__{key}' refers to regularizer {name!r}, which is not in "
                f"regularizers={regularizer_names!r}. Use 'regularizers__<name>__<param>' with a "
                "selected regularizer."
            )


def check_no_bool_numbers(estimator) -> None:
    """Reject ``True``/``False`` where a number is expected (``bool`` is an ``int`` to Python).

    scikit-learn's ``Interval`` constraints accept booleans, so ``latent_dim=True``
    would silently train a one-unit code.
    """
    for name, constraints in estimator._parameter_constraints.items():
        value = getattr(estimator, name, None)
        if isinstance(value, (bool, np.bool_)) and "boolean" not in constraints and any(
            isinstance(c, Interval) for c in constraints
        ):
            raise InvalidParameterError(
                f"The {name!r} parameter of {type(estimator).__name__} must be a number, not a boolean; "
                f"got {value!r}."
            )


def check_hidden_dims(hidden_dims) -> tuple[int, ...]:
    """``hidden_dims`` as a tuple of positive ints, or a ValueError saying what it must be."""
    dims = np.asarray(hidden_dims, dtype=object).reshape(-1)
    if not all(isinstance(h, numbers.Integral) and not isinstance(h, bool) and int(h) >= 1 for h in dims):
        raise ValueError(
            "hidden_dims must be a sequence of positive ints (layer widths), e.g. (256, 128) or () "
            f"for none; got {hidden_dims!r}."
        )
    return tuple(int(h) for h in dims)
