"""Building what trains: plugins, the module and the skorch net, from an estimator's parameters.

``fit`` and :func:`skae.load` both build through one :class:`ModelBuilder`, so a
loaded model is the fitted one.
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import torch
from skorch.callbacks import EarlyStopping
from torch import nn

from .. import plugins
from ..model.likelihoods import Likelihood, likelihood_for
from ..model.modules import AutoEncoderModule
from ..plugins.spec import ModelSpec
from ..tables._datasets import BatchIterator, ValidationSplit
from ..tables._layout import ColumnLayout
from ._callbacks import RefitOnAllRows
from ._net import AcceleratedTrainingNet, TrainingNet, silent
from ._objectives import Objective
from ._params import NET_PREFIXES, OPTIMIZERS, check_hidden_dims, regularizer_names, routed

if TYPE_CHECKING:
    from ..model._fitted import FittedModel

__all__ = ["ModelBuilder", "ModelBuilding", "build_module", "build_net", "build_plugins", "early_stopping_applies", "mixed_table",
           "resolved_epochs"]

_ITERATOR_PARAMS = ("batch_size", "shuffle")


def build_plugins(regularizers, regularizer_params: Mapping[str, Any], corruption: str | None,
                  corruption_params: Mapping[str, Any], spec: ModelSpec) -> tuple[list, Any]:
    """The regularizer and corruption plugins an estimator's parameters select, checked against ``spec``.

    ``regularizers`` is the estimator's parameter (a name, a list of names, or a
    dict of names to weights); ``regularizer_params`` its routed
    ``regularizers__<name>__<param>`` values as ``{"<name>__<param>": value}``.
    """
    names = regularizer_names(regularizers)
    if len(set(names)) != len(names):
        raise ValueError(f"regularizers lists a name twice: {names!r}.")
    built = []
    for name in names:
        params = dict(routed(dict(regularizer_params), name))
        if isinstance(regularizers, dict) and regularizers[name] is not None:
            params.setdefault("weight", regularizers[name])
        built.append(plugins.build("regularizer", name, params, spec, f"regularizers__{name}__"))
    if corruption is None:
        if corruption_params:
            raise ValueError(
                f"corruption__* parameters {sorted(corruption_params)} were given but corruption=None; "
                "name a corruption, e.g. corruption='masking'."
            )
        return built, None
    return built, plugins.build("corruption", corruption, dict(corruption_params), spec, "corruption__")


def build_module(architecture, params: Mapping[str, Any], spec: ModelSpec, *, encoder_outputs: int,
                 conditioner, options: Mapping[str, Any]) -> AutoEncoderModule:
    """Encoder and decoder from an architecture builder (a registered name or a callable), wrapped."""
    builder = plugins.get("architecture", architecture).factory if isinstance(architecture, str) else architecture
    params = dict(params)
    if spec.image_shape is not None and "image_shape" not in params:
        params["image_shape"] = spec.image_shape
    try:
        encoder, decoder = builder(
            n_features=spec.n_features, encoder_out=encoder_outputs, latent_dim=spec.latent_dim,
            hidden_dims=spec.hidden_dims, activation=spec.activation, cond_features=spec.cond_features,
            conditioner=conditioner, **params,
        )
    except TypeError as exc:
        raise TypeError(f"architecture={architecture!r} rejected its parameters {sorted(params)}: {exc}") from exc
    accepted = [p for p in inspect.signature(AutoEncoderModule).parameters if p not in ("encoder", "decoder")]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        hint = difflib.get_close_matches(unknown[0], accepted, n=1)
        raise TypeError(
            f"module__{unknown[0]} is not a parameter of skae's module."
            + (f" Did you mean module__{hint[0]}?" if hint else "")
            + f" It takes {['module__' + a for a in accepted]}."
        )
    return AutoEncoderModule(encoder, decoder, **options)


#: ``max_epochs="auto"``: this many epochs, and on a mixed-type table about TABLE_STEPS steps (at least MIN_EPOCHS)
EPOCHS, TABLE_STEPS, MIN_EPOCHS = 200, 4000, 5


def resolved_epochs(params: Mapping[str, Any], n_samples: int, mixed_table: bool) -> int:
    """``max_epochs`` as a number: "auto" is :data:`EPOCHS`, on a mixed-type table a budget of steps.

    A table's model saturates in steps rather than epochs: on tables of 2,800
    rows, 100 epochs (the budget's) sampled rows as good as 200 in half the
    time (benchmarks/results_synthetic.md); tables of up to about 1,300 rows
    keep 200.  Steps are counted over the rows that train (early stopping holds
    ``validation_fraction`` out).
    """
    epochs = params["max_epochs"]
    if epochs != "auto":
        return int(epochs)
    if not mixed_table:
        return EPOCHS
    batch = n_samples if params["batch_size"] == "full" else params["batch_size"]
    training = max(1, n_samples - int(n_samples * params["validation_fraction"]))
    return int(min(EPOCHS, max(MIN_EPOCHS, math.ceil(TABLE_STEPS / math.ceil(training / batch)))))


def early_stopping_applies(params: Mapping[str, Any]) -> bool:
    """``early_stopping`` resolved: "auto" means on when ``max_epochs`` leaves room for ``patience`` to act."""
    if params["early_stopping"] == "auto":
        return params["max_epochs"] > 2 * params["patience"]
    return bool(params["early_stopping"])


def build_net(params: Mapping[str, Any], routed: Mapping[str, Mapping[str, Any]], *, module: nn.Module,
              objective: Objective, n_samples: int, device: str) -> TrainingNet:
    """An initialised training net for an estimator's parameters.

    Parameters
    ----------
    params : mapping
        The estimator's own parameters (``lr``, ``batch_size``, ``early_stopping`` ...).
    routed : mapping
        Its routed parameters by prefix: ``routed["optimizer"]`` is ``{"weight_decay": ...}``.
    module, objective : nn.Module
    n_samples : int
        Training rows: the size of a "full" batch and of the validation split.
    device : str
        The resolved device (ignored when an accelerator places the model).

    With early stopping, the held-out rows pick the number of epochs and, with
    ``refit``, the :class:`~skae.training._callbacks.RefitOnAllRows` callback (named
    ``"refit"``) trains again on every row.
    """
    optimizer = params["optimizer"]
    optimizer = OPTIMIZERS.get(optimizer, optimizer) if isinstance(optimizer, str) else optimizer
    n_valid = int(n_samples * params["validation_fraction"])
    # data are held out only for early stopping, and only when it can act within max_epochs
    use_valid = early_stopping_applies(params) and n_valid >= 1 and n_samples - n_valid >= 1
    sink = print if params["verbose"] else silent
    callbacks = list(params["callbacks"] or [])
    if use_valid:
        callbacks.append(("early_stopping", EarlyStopping(
            monitor="valid_loss", patience=params["patience"], threshold=params["tol"], threshold_mode="rel",
            load_best=True, sink=sink,
        )))
        if params["refit"]:
            callbacks.append(("refit", RefitOnAllRows()))
    batch_size = n_samples if params["batch_size"] == "full" else params["batch_size"]
    skorch_params = {f"{prefix}__{key}": value for prefix in NET_PREFIXES for key, value in routed[prefix].items()}
    skorch_params.setdefault("iterator_valid__batch_size", max(batch_size, 4096))
    if (
        optimizer in (torch.optim.Adam, torch.optim.AdamW)
        and "optimizer__fused" not in skorch_params
        and "optimizer__foreach" not in skorch_params
    ):
        # fused Adam: one kernel for all parameters (benchmarks/results_fit.md)
        skorch_params["optimizer__fused"] = True
    accelerator = params["accelerator"]
    net_class: type[TrainingNet] = TrainingNet
    placement: dict[str, Any] = {"device": device}
    if accelerator is not None:
        net_class = AcceleratedTrainingNet
        placement = {"device": None, "accelerator": accelerator,
                     "callbacks__print_log__sink": accelerator.print if params["verbose"] else silent}
    net = net_class(
        module=module, criterion=objective, optimizer=optimizer, lr=params["lr"], max_epochs=params["max_epochs"],
        batch_size=batch_size, iterator_train=BatchIterator, iterator_valid=BatchIterator,
        train_split=ValidationSplit(params["validation_fraction"]) if use_valid else None,
        callbacks=callbacks, verbose=params["verbose"], compile=params["compile"], **placement, **skorch_params,
    )
    unknown = sorted(set(routed["iterator_train"]) - set(_ITERATOR_PARAMS))
    if unknown:
        raise TypeError(
            f"iterator_train__{unknown[0]} is not a parameter of skae's batch iterator, which slices batches "
            f"from tensors (no DataLoader, no workers); it takes {['iterator_train__' + p for p in _ITERATOR_PARAMS]}."
        )
    try:
        net.initialize()
    except TypeError as exc:
        names = sorted(f"optimizer__{k}" for k in routed["optimizer"])
        raise TypeError(
            f"Building the optimizer failed with the routed parameters {names}: "
            f"{exc}. Check their names against {getattr(optimizer, '__name__', optimizer)}'s signature."
        ) from exc
    known = [name for name, _ in net.callbacks_]
    for key in routed["callbacks"]:
        if key.split("__", 1)[0] not in known:
            raise ValueError(
                f"callbacks__{key} refers to a callback named {key.split('__', 1)[0]!r}; this net's callbacks "
                f"are {known}. Use callbacks__<name>__<param> with one of them."
            )
    return net


class ModelBuilding:
    """How an estimator's parameters become what trains; ``fit`` and model files share it.

    The variant override points are here: ``_likelihood_name``, ``_make_objective``,
    ``_module_options``, ``_conditioner`` and ``_extend_module``; :class:`ModelBuilder`
    builds from them.
    """

    #: encoder outputs per latent unit (2 for mean and log-variance)
    _encoder_outputs_per_latent = 1
    loss: str
    latent_dim: int
    hidden_dims: Any
    activation: str
    architecture: Any
    regularizers: Any
    corruption: Any
    _routed: Callable[[str], dict[str, Any]]  # RoutedParamsMixin's

    def _likelihood_name(self) -> str:
        """"mse"/"bce" for autoencoders, "gaussian"/"bernoulli" for VAEs."""
        return self.loss

    def _make_objective(self, likelihood: Likelihood, regularizers: list, corruption) -> Objective:
        raise NotImplementedError

    def _module_options(self, spec: ModelSpec) -> dict[str, Any]:
        return {}

    def _conditioner(self, spec: ModelSpec):
        """The conditioning plugin of conditional models; ``None`` otherwise."""
        return None

    def _extend_module(self, module: nn.Module, spec: ModelSpec) -> nn.Module:
        """The built module, with what a variant adds (a conditional prior); as it is by default."""
        return module


class ModelBuilder:
    """What builds a model from an estimator's parameters; ``fit`` and model files build through one.

    The estimator gives its parameters and its variant's override points
    (:class:`ModelBuilding`); :meth:`skae.model._fitted.FittedModel.from_state`
    takes a builder, so a loaded model is built as the fitted one was.

    Parameters
    ----------
    estimator : ModelBuilding
        An estimator whose parameters are those the model is (to be) fitted with.
    """

    def __init__(self, estimator: ModelBuilding):
        self.estimator = estimator

    def spec(self, n_features: int, image_shape: tuple[int, ...] | None, cond_features: int,
             missing_values: bool = False, layout: ColumnLayout | None = None) -> ModelSpec:
        """What plugins may know of the model: sizes, likelihood, conditions, missing values, a table's slots."""
        e = self.estimator
        return ModelSpec(
            n_features=n_features, latent_dim=int(e.latent_dim), hidden_dims=check_hidden_dims(e.hidden_dims),
            activation=e.activation, variational=e._encoder_outputs_per_latent == 2,
            likelihood=e._likelihood_name(), latent_activation=getattr(e, "latent_activation", None),
            cond_features=cond_features, image_shape=image_shape, missing_values=missing_values,
            column_slots=None if layout is None else tuple(layout.slots),
        )

    def likelihood(self, layout: ColumnLayout | None) -> Likelihood:
        """The likelihood of the estimator's ``loss`` / ``likelihood`` for data with ``layout``."""
        return likelihood_for(self.estimator._likelihood_name(), layout)

    def plugins(self, spec: ModelSpec) -> tuple[list, Any]:
        """The regularizers and the corruption, built and checked against ``spec``."""
        e = self.estimator
        return build_plugins(e.regularizers, e._routed("regularizers"), e.corruption, e._routed("corruption"), spec)

    def net(self, model: FittedModel, device: str, built_plugins: tuple[list, Any] | None = None, *,
            missing: bool = False):
        """Module, objective and net for ``model``, the plugins built unless given.

        ``missing``: the training rows have missing entries (or a corruption makes
        them), so the loss counts the observed entries only.
        """
        e = self.estimator
        regularizers, corruption = built_plugins or self.plugins(model.spec)
        params = dict(model.params)
        params["max_epochs"] = resolved_epochs(params, model.n_train, mixed_table(model.layout))
        if model.refit_epochs is not None:  # the net as the refit left it
            params.update(early_stopping=False, max_epochs=model.refit_epochs)
        objective = e._make_objective(model.likelihood, regularizers, corruption)
        objective.missing = bool(missing)
        return build_net(params, {p: routed(model.params, p) for p in NET_PREFIXES}, module=self.module(model.spec),
                         objective=objective, n_samples=model.n_train, device=device)

    def module(self, spec: ModelSpec) -> nn.Module:
        """The torch module for ``spec``, from the architecture plugin and the variant's options."""
        e = self.estimator
        module = build_module(
            e.architecture, e._routed("architecture"), spec,
            encoder_outputs=spec.latent_dim * e._encoder_outputs_per_latent, conditioner=e._conditioner(spec),
            options={**e._module_options(spec), "latent_activation": spec.latent_activation,
                     "missing_fill": spec.n_features if spec.missing_values else 0, **e._routed("module")},
        )
        return e._extend_module(module, spec)


def mixed_table(layout: ColumnLayout | None) -> bool:
    """A table with a column that is not a number (what ``max_epochs="auto"`` budgets in steps)."""
    return layout is not None and not layout.all_numeric
