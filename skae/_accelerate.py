"""skae's training net with skorch's Hugging Face Accelerate integration (imported on demand)."""

from __future__ import annotations

from skorch.hf import AccelerateMixin
from torch import nn

from ._base import TrainingNet

__all__ = ["AcceleratedTrainingNet"]


class LossModule(nn.Module):
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
        self.__dict__["_loss_module"] = self.accelerator.prepare(LossModule(self.module_, self.criterion_))
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
        return iterator if world == 1 else ShardedIterator(iterator, self.accelerator.process_index, world)

    def evaluation_step(self, batch, training=False):
        return TrainingNet.evaluation_step(self, batch, training=training)


class ShardedIterator:
    """Each process's rows ``rank::world`` of every batch."""

    def __init__(self, iterator, rank: int, world: int):
        self.iterator, self.rank, self.world = iterator, rank, world

    def __len__(self) -> int:
        return len(self.iterator)

    def __iter__(self):
        for x, c in self.iterator:
            yield x[self.rank::self.world], (None if c is None else c[self.rank::self.world])
