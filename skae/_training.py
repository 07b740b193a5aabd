"""Training: the objectives (loss of one batch), the skorch net that runs them, and building it.

* An :class:`Objective` (skorch's ``criterion_``) owns the loss of one batch:
  the variant's data term, plus regularizer penalties, with the input
  corruption applied in training.
* :class:`TrainingNet`, a thin ``skorch.NeuralNet`` subclass, owns the loop:
  optimizer, callbacks, history, early stopping, device placement, pickling.
  It iterates over skae's datasets by slicing instead of per-row collation.
* :class:`AcceleratedTrainingNet` hands device placement, mixed precision and
  gradient synchronisation to Hugging Face Accelerate.
* :func:`build_net` turns an estimator's parameters into an initialised net;
  ``fit`` and :func:`skae.load` both use it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, EpochTimer, PrintLog, ProgressBar
from skorch.hf import AccelerateMixin
from torch import nn

from . import plugins
from ._datasets import BatchIterator, StreamingData, TensorData, ValidationSplit
from ._elbo import elbo_terms, kl_term, posterior_params
from ._params import routed
from .exceptions import TrainingDivergedError
from .losses import reconstruction_error
from .modules import AutoEncoderModule
from .regularizers import PenaltyContext
from .spec import ModelSpec

__all__ = [
    "AcceleratedTrainingNet",
    "Objective",
    "ReconstructionObjective",
    "TrainingNet",
    "VAEObjective",
    "build_module",
    "build_net",
    "build_plugins",
]

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}
_SKORCH_PREFIXES = ("optimizer", "callbacks", "iterator_train")


def _silent(*args, **kwargs):
    """A picklable sink that prints nothing."""


# ------------------------------------------------------------------ objectives


class Objective(nn.Module):
    """The loss of one batch: a variant's data term, penalties, corruption.

    Subclasses implement :meth:`data_term`, returning the batch-mean data loss
    and the codes that penalties look at.
    """

    def __init__(self, regularizers=(), corruption=None):
        super().__init__()
        self.regularizers = list(regularizers)
        self.corruption = corruption

    def encode_codes(self, module, x, c):
        """Codes as penalties see them (the posterior mean for VAEs)."""
        return module.encode(x, c)

    def transform_codes(self, codes, training):
        for reg in self.regularizers:
            codes = reg.transform_codes(codes, training)
        return codes

    def data_term(self, module, x_in, x, c, training):
        raise NotImplementedError

    def forward(self, module, batch, training: bool) -> torch.Tensor:
        x, c = batch
        x_in = self.corruption(x) if (training and self.corruption is not None) else x
        loss, codes = self.data_term(module, x_in, x, c, training)
        if training:
            ctx = None
            for reg in self.regularizers:
                if not reg.weight:
                    continue
                if ctx is None:
                    ctx = PenaltyContext(module, x_in, codes, lambda xx, cc: self.encode_codes(module, xx, cc), c)
                penalty = reg.penalty(ctx)
                if penalty is not None:
                    loss = loss + reg.weight * penalty
        return loss


class ReconstructionObjective(Objective):
    """Mean per-feature reconstruction error (``"mse"`` or ``"bce"``)."""

    def __init__(self, regularizers=(), corruption=None, *, loss: str = "mse"):
        super().__init__(regularizers, corruption)
        self.loss = loss

    def data_term(self, module, x_in, x, c, training):
        codes = module.encode(x_in, c)
        out = module.decode(self.transform_codes(codes, training), c)
        return reconstruction_error(x, out, self.loss).mean(), codes


class VAEObjective(Objective):
    """Negative ELBO per sample, averaged: −E_q[log p(x|z)] + β KL(q ‖ p)."""

    def __init__(self, regularizers=(), corruption=None, *, likelihood: str, beta: float, n_mc_samples: int,
                 latent_dim: int):
        super().__init__(regularizers, corruption)
        self.likelihood, self.beta = likelihood, beta
        self.n_mc_samples, self.latent_dim = n_mc_samples, latent_dim

    def encode_codes(self, module, x, c):
        return posterior_params(module, x, c)[0]

    def data_term(self, module, x_in, x, c, training):
        eps = torch.randn(self.n_mc_samples, x.shape[0], self.latent_dim, device=x.device, dtype=x.dtype)
        mean, log_var, _, log_px = elbo_terms(
            module, x, c, eps, self.likelihood, x_in=x_in, transform=lambda z: self.transform_codes(z, training),
        )
        kl = kl_term(module, mean, log_var, c)
        return (self.beta * kl - log_px.mean(0)).mean(), mean


# ------------------------------------------------------------------ nets


class TrainingNet(NeuralNet):
    """skorch's ``NeuralNet`` with skae's tensor data path and objective.

    Overrides only data handling (``get_dataset``, ``get_iterator``), the step
    functions (which call the objective stored as ``criterion_``) and
    ``run_single_epoch``, which records one loss per epoch (no per-batch
    ``.item()`` sync) and stops on a non-finite loss.
    """

    @property
    def _default_callbacks(self):
        callbacks = [("epoch_timer", EpochTimer()), ("print_log", PrintLog(sink=print if self.verbose else _silent))]
        if self.verbose and self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar(batches_per_epoch="auto", postfix_keys=[])))
        return callbacks

    def get_dataset(self, X, y=None):
        if isinstance(X, (TensorData, StreamingData)):
            return X
        x, c = X
        return TensorData(x, c)

    def get_iterator(self, dataset, training=False):
        kwargs = self.get_params_for("iterator_train" if training else "iterator_valid")
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        if training:
            kwargs.setdefault("shuffle", True)
        iterator = self.iterator_train if training else self.iterator_valid
        return iterator(dataset, **kwargs)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        loss = self.criterion_(self.module_, batch, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": None}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        with torch.no_grad():
            loss = self.criterion_(self.module_, batch, training=False)
        return {"loss": loss, "y_pred": None}

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        total, count = None, 0
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            n = len(batch[0])
            weighted = step["loss"].detach() * n
            total = weighted if total is None else total + weighted
            count += n
            self.notify("on_batch_end", batch=batch, training=training, **step)
        loss = (total / count).item()
        if not math.isfinite(loss):
            epoch = len(self.history)
            raise TrainingDivergedError(
                f"The {prefix} loss became {loss} at epoch {epoch}. The weights of "
                f"that epoch were discarded. Lower the learning rate (lr={self.lr}), "
                "scale the input (scaling='standard'), reduce regularizer weights, or "
                "check the data for extreme values."
            )
        key = f"{prefix}_loss"
        previous = [row[key] for row in self.history[:-1] if key in row]
        self.history.record(key, loss)
        self.history.record(f"{key}_best", not previous or loss < min(previous))


class _LossModule(nn.Module):
    """The model and its objective as one module whose ``forward`` is the training loss.

    Data-parallel wrappers (DDP) synchronise gradients through ``forward``; skae's
    objectives call ``encode``/``decode``, which would bypass a wrapped model.
    """

    def __init__(self, module: nn.Module, objective: nn.Module):
        super().__init__()
        self.module, self.objective = module, objective

    def forward(self, x, c=None):
        return self.objective(self.module, (x, c), training=True)


class AcceleratedTrainingNet(AccelerateMixin, TrainingNet):
    """``TrainingNet`` whose device placement, mixed precision and gradient sync belong to Accelerate.

    skae keeps its tensor data path and shards each batch across processes
    (process ``r`` of ``k`` takes rows ``r::k``), so every process must draw the
    same permutation: give the estimator a ``random_state``.
    """

    _loss_module = None

    def _initialize_accelerator(self):
        if self._wrapped_with_accelerator:
            return self
        # kept out of skorch's registry of modules: it only wraps module_ and criterion_
        self.__dict__["_loss_module"] = self.accelerator.prepare(_LossModule(self.module_, self.criterion_))
        self.optimizer_ = self.accelerator.prepare(self.optimizer_)
        self._wrapped_with_accelerator = True
        return self

    def _unwrap_accelerator(self):
        if not self._wrapped_with_accelerator:
            return
        self.optimizer_ = getattr(self.optimizer_, "optimizer", self.optimizer_)
        self.__dict__["_loss_module"] = None
        self._wrapped_with_accelerator = False

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self._initialize_accelerator()  # again after unwrapping at the end of a previous fit

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        with self.accelerator.autocast():
            loss = self._loss_module(*batch)
        self.accelerator.backward(loss)
        return {"loss": loss, "y_pred": None}

    def get_iterator(self, dataset, training=False):
        # skae's iterator is not a DataLoader, so accelerator.prepare would leave it unsharded
        iterator = TrainingNet.get_iterator(self, dataset, training=training)
        world = self.accelerator.num_processes
        return iterator if world == 1 else _ShardedIterator(iterator, self.accelerator.process_index, world)

    def evaluation_step(self, batch, training=False):
        return TrainingNet.evaluation_step(self, batch, training=training)


class _ShardedIterator:
    """Each process's rows ``rank::world`` of every batch."""

    def __init__(self, iterator, rank: int, world: int):
        self.iterator, self.rank, self.world = iterator, rank, world

    def __len__(self) -> int:
        return len(self.iterator)

    def __iter__(self):
        for x, c in self.iterator:
            yield x[self.rank::self.world], (None if c is None else c[self.rank::self.world])


# ------------------------------------------------------------------ building


def build_plugins(regularizers, regularizer_params: Mapping[str, Any], corruption: str | None,
                  corruption_params: Mapping[str, Any], spec: ModelSpec) -> tuple[list, Any]:
    """The regularizer and corruption plugins an estimator's parameters select, checked against ``spec``.

    ``regularizers`` is the estimator's parameter (a name, a list of names, or a
    dict of names to weights); ``regularizer_params`` its routed
    ``regularizers__<name>__<param>`` values as ``{"<name>__<param>": value}``.
    """
    names = [] if regularizers is None else [regularizers] if isinstance(regularizers, str) else list(regularizers)
    if len(set(names)) != len(names):
        raise ValueError(f"regularizers lists a name twice: {names!r}.")
    built = []
    for name in names:
        params = dict(routed(regularizer_params, name))
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
    return AutoEncoderModule(encoder, decoder, **options)


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
    """
    optimizer = params["optimizer"]
    optimizer = OPTIMIZERS.get(optimizer, optimizer) if isinstance(optimizer, str) else optimizer
    n_valid = int(n_samples * params["validation_fraction"])
    use_valid = n_valid >= 1 and n_samples - n_valid >= 1
    sink = print if params["verbose"] else _silent
    callbacks = list(params["callbacks"] or [])
    if params["early_stopping"] and use_valid:
        callbacks.append(("early_stopping", EarlyStopping(
            monitor="valid_loss", patience=params["patience"], threshold=params["tol"], threshold_mode="rel",
            load_best=True, sink=sink,
        )))
    batch_size = n_samples if params["batch_size"] == "full" else params["batch_size"]
    skorch_params = {f"{prefix}__{key}": value for prefix in _SKORCH_PREFIXES for key, value in routed[prefix].items()}
    skorch_params.setdefault("iterator_valid__batch_size", max(batch_size, 4096))
    if (
        optimizer in (torch.optim.Adam, torch.optim.AdamW)
        and "optimizer__fused" not in skorch_params
        and "optimizer__foreach" not in skorch_params
    ):
        # fused Adam: one kernel for all parameters (benchmarks/results_fit.md: 1.2x -> 0.95x
        # the hand-written loop's time)
        skorch_params["optimizer__fused"] = True
    accelerator = params["accelerator"]
    net_class, placement = TrainingNet, {"device": device}
    if accelerator is not None:
        net_class = AcceleratedTrainingNet
        placement = {"device": None, "accelerator": accelerator,
                     "callbacks__print_log__sink": accelerator.print if params["verbose"] else _silent}
    net = net_class(
        module=module, criterion=objective, optimizer=optimizer, lr=params["lr"], max_epochs=params["max_epochs"],
        batch_size=batch_size, iterator_train=BatchIterator, iterator_valid=BatchIterator,
        train_split=ValidationSplit(params["validation_fraction"]) if use_valid else None,
        callbacks=callbacks, verbose=params["verbose"], compile=params["compile"], **placement, **skorch_params,
    )
    try:
        net.initialize()
    except TypeError as exc:
        names = sorted(f"{p}__{k}" for p in ("optimizer", "iterator_train") for k in routed[p])
        raise TypeError(
            f"Building the optimizer or data iterator failed with the routed parameters {names}: "
            f"{exc}. Check their names against {getattr(optimizer, '__name__', optimizer)}'s signature."
        ) from exc
    return net
