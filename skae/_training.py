"""Training: the skorch net that runs an objective (:mod:`skae._objectives`), and building it.

* :class:`TrainingNet`, a thin ``skorch.NeuralNet`` subclass, owns the loop:
  optimizer, callbacks, history, early stopping, device placement, pickling.
  It iterates over skae's datasets by slicing instead of per-row collation.
* :class:`AcceleratedTrainingNet` hands device placement, mixed precision and
  gradient synchronisation to Hugging Face Accelerate.
* :func:`build_net` turns an estimator's parameters into an initialised net;
  ``fit`` and :func:`skae.load` both use it.
"""

from __future__ import annotations

import copy
import difflib
import inspect
import math
from collections.abc import Mapping
from typing import Any

import torch
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, EpochTimer, PrintLog, ProgressBar
from skorch.hf import AccelerateMixin
from skorch.utils import TeeGenerator
from torch import nn

from . import plugins
from ._datasets import BatchIterator, StreamingData, TensorData, ValidationSplit
from ._objectives import Objective
from ._params import routed
from .exceptions import TrainingDivergedError
from .modules import AutoEncoderModule
from .spec import ModelSpec

__all__ = [
    "AcceleratedTrainingNet",
    "TrainingNet",
    "build_module",
    "build_net",
    "build_plugins",
    "kept_after_divergence",
]

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}
_SKORCH_PREFIXES = ("optimizer", "callbacks", "iterator_train")
_ITERATOR_PARAMS = ("batch_size", "shuffle")


def _silent(*args, **kwargs):
    """A picklable sink that prints nothing."""


# ------------------------------------------------------------------ nets


def kept_after_divergence(epochs: int) -> str:
    """What a diverged fit kept, and how to go on."""
    return (
        f"The estimator keeps the weights of epoch {epochs}, the last with a finite loss: it is fitted and usable "
        "(history_ lists the finished epochs). To train on, lower the learning rate (set_params(lr=...)) and "
        "call partial_fit; or refit."
    )


class TrainingNet(NeuralNet):
    """skorch's ``NeuralNet`` with skae's tensor data path and objective.

    Overrides only data handling (``get_dataset``, ``get_iterator``), the step
    functions (which call the objective stored as ``criterion_``) and
    ``run_single_epoch``, which records one loss per epoch (no per-batch
    ``.item()`` sync) and stops on a non-finite loss.
    """

    @property
    def _default_callbacks(self):
        callbacks = [("epoch_timer", EpochTimer()), ("print_log", _PrintLog(sink=print if self.verbose else _silent))]
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

    def _set_training(self, training=True):
        # skorch sets the mode before every step; walking the module tree each time cost ~1% of a step
        if self.module_.training != training or self.criterion_.training != training:
            super()._set_training(training)

    def train_step(self, batch, **fit_params):
        # skorch's version wraps the step in an optimizer closure with an accumulator: per-step Python
        # overhead that is ~10% of a small network's step. Closures are kept for optimizers that need them.
        if isinstance(self.optimizer_, torch.optim.LBFGS):
            return super().train_step(batch, **fit_params)
        self.optimizer_.zero_grad(set_to_none=True)
        step = self.train_step_single(batch, **fit_params)
        self.notify("on_grad_computed", named_parameters=TeeGenerator(self.get_all_learnable_params()), batch=batch,
                    training=True)
        self.optimizer_.step()
        return step

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

    def _remember_good_epoch(self) -> None:
        snapshot = getattr(self, "_good_epoch", None)
        state = {"module": self.module_.state_dict(), "optimizer": self.optimizer_.state_dict()}
        self._good_epoch = (_copy_state(snapshot[0] if snapshot else None, state), len(self.history))

    def on_epoch_end(self, net, **kwargs):
        super().on_epoch_end(net, **kwargs)
        # the last epoch that finished with a finite loss: what an interrupt or a divergence keeps
        self._remember_good_epoch()

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        self._remember_good_epoch()  # before the first epoch of this call
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except (KeyboardInterrupt, TrainingDivergedError):
            # skorch swallows a KeyboardInterrupt after this; either way the epoch in progress is undone
            self.rewind_to_good_epoch()
            raise

    def rewind_to_good_epoch(self) -> int:
        """Restore the weights and optimizer state of the last finished epoch (or of the call's start).

        Returns the number of epochs the history keeps.
        """
        state, epoch = self._good_epoch
        self.module_.load_state_dict(state["module"])
        self.optimizer_.load_state_dict(state["optimizer"])
        self._good_epoch = None  # the optimizer may now share these tensors: take fresh ones next time
        del self.history[epoch:]  # the unfinished epoch's row
        return epoch

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_good_epoch", None)  # a training-time copy of the weights, not part of the model
        return state

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
                f"The {prefix} loss became {loss} at epoch {epoch}. Lower the learning rate (lr={self.lr}), "
                "scale the input (scaling='standard'), reduce regularizer weights, or check the data for "
                "extreme values."
            )
        key = f"{prefix}_loss"
        previous = [row[key] for row in self.history[:-1] if key in row]
        self.history.record(key, loss)
        self.history.record(f"{key}_best", not previous or loss < min(previous))


def _copy_state(previous, state):
    """A copy of ``state`` (nested dicts and lists of tensors and plain values), reusing ``previous``'s tensors.

    Taken after every epoch: copying into the same buffers costs a memory copy, where
    ``copy.deepcopy`` cost several milliseconds of Python bookkeeping per epoch.
    """
    sources, targets = [], []

    def walk(old, new):
        if isinstance(new, torch.Tensor):
            if isinstance(old, torch.Tensor) and old.shape == new.shape and old.dtype == new.dtype \
                    and old.device == new.device:
                sources.append(new.detach())
                targets.append(old)
                return old
            return new.detach().clone()
        if isinstance(new, dict):
            old = old if isinstance(old, dict) else {}
            return {k: walk(old.get(k), v) for k, v in new.items()}
        if isinstance(new, (list, tuple)):
            old = old if isinstance(old, (list, tuple)) and len(old) == len(new) else [None] * len(new)
            return type(new)(walk(o, v) for o, v in zip(old, new))
        return copy.deepcopy(new)

    result = walk(previous, state)
    if targets:
        torch._foreach_copy_(targets, sources)
    return result


class _PrintLog(PrintLog):
    """skorch's PrintLog, which does not format a table nobody will see."""

    def on_epoch_end(self, net, **kwargs):
        if self.sink is not _silent:
            super().on_epoch_end(net, **kwargs)


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
