"""Training: the skorch net that runs an objective (:mod:`skae.training._objectives`).

* :class:`TrainingNet`, a thin ``skorch.NeuralNet`` subclass, owns the loop:
  optimizer, callbacks, history, early stopping, device placement, pickling.
  It overrides only the data path (slicing batches from tensors instead of
  per-row collation) and the step functions (which call the objective stored as
  ``criterion_``).  Training policies are callbacks (:mod:`skae.training._callbacks`).
* :class:`AcceleratedTrainingNet` hands device placement, mixed precision and
  gradient synchronisation to Hugging Face Accelerate.

Two of the methods overridden here are private in skorch (``_set_training``,
and Accelerate's ``_initialize_accelerator`` / ``_unwrap_accelerator``);
``pyproject.toml`` pins the skorch releases they were tested against and
``tests/test_training.py`` fails on a skorch whose methods changed.

:mod:`skae.training._build` turns an estimator's parameters into plugins, a module and an
initialised net.
"""

from __future__ import annotations

import math

import torch
from skorch import NeuralNet
from skorch.callbacks import EpochTimer, PrintLog, ProgressBar
from skorch.hf import AccelerateMixin
from skorch.utils import TeeGenerator
from torch import nn

from ..exceptions import TrainingDivergedError
from ..tables._datasets import StreamingData, TensorData
from ._callbacks import Rollback

__all__ = ["AcceleratedTrainingNet", "TrainingNet", "silent"]


def silent(*args, **kwargs):
    """A picklable sink that prints nothing."""


class TrainingNet(NeuralNet):
    """skorch's ``NeuralNet`` with skae's tensor data path and objective.

    ``run_single_epoch`` records the epoch's mean loss once (no ``.item()``
    device sync per batch) and raises :class:`~skae.TrainingDivergedError` on a
    non-finite one; per-batch history rows hold the batch size only, so skorch
    callbacks that read per-batch losses see none (epoch-level ``train_loss``
    and ``valid_loss`` are recorded as usual).
    """

    @property
    def _default_callbacks(self):
        callbacks = [("rollback", Rollback()), ("epoch_timer", EpochTimer()),
                     ("print_log", _PrintLog(sink=print if self.verbose else silent))]
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

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except TrainingDivergedError as exc:
            # skorch tells callbacks of a normal end and of Ctrl-C; training policies must see this end too
            self.notify("on_train_end", X=X, y=y, diverged=exc)
            raise

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        total, first, count = None, None, 0
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            n = len(batch[0])
            self.history.record_batch(f"{prefix}_batch_size", n)
            weighted = step["loss"].detach() * n
            first = weighted if first is None else first
            total = weighted if total is None else total + weighted
            count += n
            self.notify("on_batch_end", batch=batch, training=training, **step)
        loss = (total / count).item()
        if not math.isfinite(loss):
            error = TrainingDivergedError(
                f"The {prefix} loss became {loss} at epoch {len(self.history)}. Lower the learning rate "
                f"(lr={self.lr}), scale the input (scaling='standard'), reduce regularizer weights, or check the "
                "data for extreme values."
            )
            error.first_batch = training and not bool(torch.isfinite(first))
            raise error
        key = f"{prefix}_loss"
        previous = [row[key] for row in self.history[:-1] if key in row]
        self.history.record(key, loss)
        self.history.record(f"{key}_best", not previous or loss < min(previous))


class _PrintLog(PrintLog):
    """skorch's PrintLog, which does not format a table nobody will see."""

    def on_epoch_end(self, net, **kwargs):
        if self.sink is not silent:
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
