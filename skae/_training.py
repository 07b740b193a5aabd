"""Training: the skorch net that runs an objective (:mod:`skae._objectives`), and building it.

* :class:`TrainingNet`, a thin ``skorch.NeuralNet`` subclass, owns the loop:
  optimizer, callbacks, history, early stopping, device placement, pickling.
  It iterates over skae's datasets by slicing instead of per-row collation.
* :class:`AcceleratedTrainingNet` hands device placement, mixed precision and
  gradient synchronisation to Hugging Face Accelerate.

:mod:`skae._build` turns an estimator's parameters into plugins, a module and an
initialised net.
"""

from __future__ import annotations

import copy
import math

import torch
from skorch import NeuralNet
from skorch.callbacks import EpochTimer, PrintLog, ProgressBar
from skorch.hf import AccelerateMixin
from skorch.utils import TeeGenerator
from torch import nn

from ._datasets import StreamingData, TensorData
from .exceptions import TrainingDivergedError

__all__ = ["AcceleratedTrainingNet", "TrainingNet", "kept_after_divergence"]

def silent(*args, **kwargs):
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

    _good_epochs: list | None  # snapshots of (state, epoch) to rewind to, newest last

    @property
    def _default_callbacks(self):
        callbacks = [("epoch_timer", EpochTimer()), ("print_log", _PrintLog(sink=print if self.verbose else silent))]
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
        # two snapshots, alternating buffers: a divergence on an epoch's first batch discredits the one before
        snapshots = getattr(self, "_good_epochs", None) or []
        reuse = snapshots[0][0] if len(snapshots) == 2 else None
        state = {"module": self.module_.state_dict(), "optimizer": self.optimizer_.state_dict()}
        self._good_epochs = [*snapshots[-1:], (_copy_state(reuse, state), len(self.history))]

    def on_epoch_end(self, net, **kwargs):
        super().on_epoch_end(net, **kwargs)
        # the epoch's loss was computed before its last update, which may still have broken the weights
        weights = [p for p in self.module_.parameters()]
        if weights and not bool(torch.isfinite(torch.stack([p.detach().sum() for p in weights])).all()):
            raise TrainingDivergedError(
                f"The weights became non-finite during epoch {len(self.history)}. Lower the learning rate "
                f"(lr={self.lr}), scale the input (scaling='standard'), reduce regularizer weights, or check the "
                "data for extreme values."
            )
        # the last epoch that finished with finite weights and loss: what an interrupt or a divergence keeps
        self._remember_good_epoch()

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        self._good_epochs = None  # epochs of an earlier call are not rewound to
        self._remember_good_epoch()  # before the first epoch of this call
        self.interrupted_ = self._first_batch_diverged = False
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except (KeyboardInterrupt, TrainingDivergedError) as exc:
            # skorch swallows a KeyboardInterrupt after this; either way the epoch in progress is undone
            self.interrupted_ = isinstance(exc, KeyboardInterrupt) and not self._stopped_early()
            self.rewind_to_good_epoch()
            raise

    def _stopped_early(self) -> bool:
        """skorch's EarlyStopping ends training by raising KeyboardInterrupt too; tell the two apart."""
        callback = dict(getattr(self, "callbacks_", [])).get("early_stopping")
        return callback is not None and callback.misses_ >= callback.patience

    def rewind_to_good_epoch(self) -> int:
        """Restore the weights and optimizer state of the last finished epoch (or of the call's start).

        Returns the number of epochs the history keeps.
        """
        snapshots = self._good_epochs or []  # fit_loop takes one before the first epoch
        if getattr(self, "_first_batch_diverged", False) and len(snapshots) == 2:
            # the last epoch's own weights gave a non-finite loss on the first batch after it: not good
            snapshots = snapshots[:1]
        state, epoch = snapshots[-1]
        self.module_.load_state_dict(state["module"])
        self.optimizer_.load_state_dict(state["optimizer"])
        self._good_epochs = None  # the optimizer may now share these tensors: take fresh ones next time
        del self.history[epoch:]  # the unfinished epoch's row
        return epoch

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_good_epochs", None)  # training-time copies of the weights, not part of the model
        return state

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        total, first, count = None, None, 0
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            n = len(batch[0])
            weighted = step["loss"].detach() * n
            first = weighted if first is None else first
            total = weighted if total is None else total + weighted
            count += n
            self.notify("on_batch_end", batch=batch, training=training, **step)
        loss = (total / count).item()
        if not math.isfinite(loss):
            epoch = len(self.history)
            self._first_batch_diverged = training and not bool(torch.isfinite(first))
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
