"""Training policies as skorch callbacks: rollback after a divergence or an interrupt, refit on every row.

Both act when training ends.  The net (:class:`skae.training._net.TrainingNet`)
tells its callbacks about every end: skorch calls ``on_train_end`` after a
normal end, after early stopping and after Ctrl-C; the net adds the call after
a divergence, with the error as ``diverged=``.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.history import History

from ..exceptions import TrainingDivergedError

__all__ = ["RefitOnAllRows", "Rollback", "kept_after_divergence"]


def kept_after_divergence(epochs: int) -> str:
    """What a diverged fit kept, and how to go on."""
    return (
        f"The estimator keeps the weights of epoch {epochs}, the last with a finite loss: it is fitted and usable "
        "(history_ lists the finished epochs). To train on, lower the learning rate (set_params(lr=...)) and "
        "call partial_fit; or refit."
    )


class Rollback(Callback):
    """Keep the weights of the last finished epoch; go back to them when training ends inside an epoch.

    After every epoch the weights are checked (the epoch's loss was computed
    before its last update, which may still have broken them) and copied with
    the optimizer's state.  When training ends in the middle of an epoch
    (Ctrl-C), or on a non-finite loss or weights, the module and optimizer come
    back to the last epoch that finished finite, and the unfinished epoch's
    history row goes.  A divergence on the first batch after an epoch
    discredits that epoch's weights too: then the snapshot before it is used.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.snapshots_: list = []
        # views of the module's tensors, gathered once per call (a fit updates them in place, as torch's
        # optimizers do): building a state dict every epoch cost more than copying it
        self._module_state = net.module_.state_dict()
        self._take(net)  # before the first epoch of this call

    def on_epoch_end(self, net, **kwargs):
        weights = list(net.module_.parameters())
        if weights and not bool(torch.isfinite(torch.stack([p.detach().sum() for p in weights])).all()):
            raise TrainingDivergedError(
                f"The weights became non-finite during epoch {len(net.history)}. Lower the learning rate "
                f"(lr={net.lr}), scale the input (scaling='standard'), reduce regularizer weights, or check the "
                "data for extreme values."
            )
        self._take(net)

    def on_train_end(self, net, X=None, y=None, diverged: TrainingDivergedError | None = None, **kwargs):
        snapshots = getattr(self, "snapshots_", [])
        self.snapshots_ = []  # training-time copies of the weights are not part of the model
        if not snapshots:
            return
        if diverged is not None and getattr(diverged, "first_batch", False) and len(snapshots) == 2:
            snapshots = snapshots[:1]
        state, epoch = snapshots[-1][:2]
        if diverged is None and epoch == len(net.history):
            return  # ended after a finished epoch: nothing to undo
        net.module_.load_state_dict(state["module"])
        net.optimizer_.load_state_dict(state["optimizer"])
        del net.history[epoch:]

    def _take(self, net) -> None:
        # two snapshots, alternating buffers: copying into the same tensors costs a memory copy, where
        # copy.deepcopy cost several milliseconds of Python bookkeeping per epoch
        optimizer = net.optimizer_.state_dict()  # its tensors are the optimizer's own
        live = [*self._module_state.values(), *_tensors(optimizer["state"])]
        key = tuple(id(t) for t in live)
        epoch = len(net.history)
        reuse = self.snapshots_[0] if len(self.snapshots_) == 2 else None
        if reuse is not None and reuse[2] == key:  # the same tensors as two epochs ago: refresh the copy in place
            state, _, _, copies = reuse
            torch._foreach_copy_(copies, live)
            state["optimizer"]["param_groups"] = [  # hyperparameters a scheduler may have changed
                {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in group.items()}
                for group in optimizer["param_groups"]]
        else:
            state = _copy_state(None if reuse is None else reuse[0],
                                {"module": self._module_state, "optimizer": optimizer})
            copies = [*state["module"].values(), *_tensors(state["optimizer"]["state"])]
        self.snapshots_ = [*self.snapshots_[-1:], (state, epoch, key, copies)]

    def __getstate__(self):
        return {k: v for k, v in vars(self).items() if k not in ("snapshots_", "_module_state")}


class RefitOnAllRows(Callback):
    """After early stopping picked the number of epochs, train again on every row for that many.

    Early stopping holds rows out; once they have chosen the epoch count, they
    are worth more as training data (benchmarks/results_generative.md).  At the
    start of the selection run this callback keeps the initial weights and the
    random state; when that run ends by early stopping or after ``max_epochs``
    (not by Ctrl-C or a divergence), :attr:`pending_` is set and :meth:`refit`
    trains from the same start, with the same shuffles, on every row.

    Attributes
    ----------
    selection_history_ : skorch.History or None
        The selection run's history.
    epochs_ : int or None
        The epoch count it picked (1-based epoch of the lowest validation loss).
    pending_ : bool
    """

    def __init__(self):
        self.selection_history_: History | None = None
        self.epochs_: int | None = None
        self.pending_ = False
        self._start: dict | None = None

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        if net.train_split is None:
            return  # the refit itself, or training continued after it
        rng = {"cpu": torch.get_rng_state()}
        if net.device is not None and str(net.device).startswith("cuda"):
            rng["cuda"] = torch.cuda.get_rng_state(torch.device(net.device))
        self._start = {
            "module": copy.deepcopy(net.module_.state_dict()),
            "criterion": copy.deepcopy(net.criterion_.state_dict()),
            "rng": rng,
        }

    def on_train_end(self, net, X=None, y=None, diverged=None, **kwargs):
        if diverged is not None or net.train_split is None or self._start is None:
            return
        stopping = dict(net.callbacks_).get("early_stopping")
        stopped = stopping is not None and stopping.misses_ >= stopping.patience
        if not stopped and len(net.history) < net.max_epochs:
            self._start = None  # interrupted: the user keeps what they stopped
            return
        self.epochs_ = int(np.argmin(net.history[:, "valid_loss"])) + 1
        self.pending_ = True

    def refit(self, net, data) -> None:
        """Train ``net`` again from the selection run's start on ``data`` (every row) for :attr:`epochs_`."""
        start = self._start
        assert start is not None and self.epochs_ is not None, "refit follows a finished selection run"
        self.pending_, self._start = False, None
        log = dict(net.callbacks_).get("print_log")
        if net.verbose and log is not None:  # a second table follows the first: say what it is
            log.sink(f"refit: training again on every row (no held-out rows, so no valid_loss) for the "
                     f"{self.epochs_} epochs early stopping picked")
        net.module_.load_state_dict(start["module"])
        net.criterion_.load_state_dict(start["criterion"])
        net.set_params(train_split=None, max_epochs=self.epochs_, callbacks__early_stopping=None)
        net.initialize_callbacks()  # skorch leaves a callback set to None in place until callbacks are rebuilt
        net.initialize_optimizer()
        self.selection_history_ = net.history
        net.history_ = History()
        torch.set_rng_state(start["rng"]["cpu"])
        if "cuda" in start["rng"]:
            torch.cuda.set_rng_state(start["rng"]["cuda"], torch.device(net.device))
        net.partial_fit(data)

    def __getstate__(self):
        return {k: v for k, v in vars(self).items() if k != "_start"}


def _tensors(optimizer_state: dict) -> list[torch.Tensor]:
    """The tensors of an optimizer's packed state (``state_dict()["state"]``), in a fixed order."""
    return [v for k in sorted(optimizer_state) for v in optimizer_state[k].values() if isinstance(v, torch.Tensor)]


def _copy_state(previous, state):
    """A copy of ``state`` (nested dicts and lists of tensors and plain values), reusing ``previous``'s tensors."""
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
