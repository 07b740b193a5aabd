"""The one skorch-based transformer base of every skae estimator.

Who owns what:

* :class:`BaseAutoEncoder` (scikit-learn side) owns the public parameters,
  validation, scaling, conditions, devices, seeding and every inference method
  (``transform``, ``inverse_transform``, ``score_samples``, ``sample`` ...).
  Variants override a few small points: ``_encoder_out``, ``_make_objective``,
  ``_codes``, ``_score_scaled``, ``_sample_latent``.
* :class:`TrainingNet` (a thin ``skorch.NeuralNet`` subclass, stored as ``net_``)
  owns the training loop: optimizer, callbacks, history, early stopping,
  device placement and pickling.  It iterates over in-memory tensors by
  slicing instead of per-row collation.
* An :class:`Objective` (skorch's ``criterion_``) owns the loss of one batch:
  the data term of the variant, plus regularizer penalties, with the input
  corruption applied in training.
"""

from __future__ import annotations

import copy
import math
import numbers
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, EpochTimer, PrintLog, ProgressBar
from torch import nn

from . import plugins
from .data import (
    BLOCK_ROWS,
    BatchIterator,
    ScaledRows,
    StreamingData,
    TensorData,
    ValidationSplit,
    check_finite_block,
    read_rows,
    validate_memmap,
)
from .exceptions import TrainingDivergedError
from .losses import reconstruction_error
from .modules import ACTIVATIONS, AutoEncoderModule
from .regularizers import PenaltyContext

__all__ = ["BaseAutoEncoder", "Objective", "TrainingNet"]

#: prefixes of routed parameters, as skorch's ``module__...``
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
_SKORCH_PREFIXES = ("optimizer", "callbacks", "iterator_train")

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}

_INFERENCE_CHUNK = 16384


def _silent(*args, **kwargs):
    """A picklable sink that prints nothing."""


# ------------------------------------------------------------------ training


class Objective(nn.Module):
    """The loss of one batch: a variant's data term, penalties, corruption.

    Subclasses implement :meth:`data_term`, returning the batch-mean data loss
    and the codes that penalties look at.
    """

    def __init__(self, regularizers=(), corruption=None, **options):
        super().__init__()
        self.regularizers = list(regularizers)
        self.corruption = corruption
        self.options = options

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
                    ctx = PenaltyContext(
                        module, x_in, codes, lambda xx, cc: self.encode_codes(module, xx, cc), c
                    )
                penalty = reg.penalty(ctx)
                if penalty is not None:
                    loss = loss + reg.weight * penalty
        return loss


class ReconstructionObjective(Objective):
    """Mean per-feature reconstruction error (``"mse"`` or ``"bce"``)."""

    def data_term(self, module, x_in, x, c, training):
        codes = module.encode(x_in, c)
        out = module.decode(self.transform_codes(codes, training), c)
        return reconstruction_error(x, out, self.options["loss"]).mean(), codes


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


# ------------------------------------------------------------------ estimator


def resolve_device(device: str) -> str:
    """Map ``"auto"`` and validate CUDA/MPS availability with a clear error."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'cpu', 'cuda', 'cuda:N' or 'auto'."
        ) from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available "
                f"(torch {torch.__version__}, built with CUDA {torch.version.cuda}). "
                "Use device='cpu', or device='auto' to pick CUDA only when present."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but only {torch.cuda.device_count()} "
                "CUDA device(s) are visible."
            )
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps' was requested but MPS is not available; use 'cpu' or 'auto'.")
    return str(dev)


class BaseAutoEncoder(TransformerMixin, BaseEstimator):
    """Shared machinery of skae's estimators; not used directly.

    See :class:`skae.AutoEncoder` for the parameters.
    """

    _parameter_constraints: dict = {
        "latent_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "hidden_dims": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS) - {"identity"})],
        "scaling": [StrOptions({"auto", "global", "standard", "minmax"}), None],
        "architecture": [str, callable],
        "regularizers": [list, tuple, str, dict, None],
        "corruption": [str, None],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"full"})],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(OPTIMIZERS)), type, callable],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
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

    def __init__(self, **kwargs):
        # Subclasses spell out their parameters (scikit-learn introspects the
        # signature); routed ``prefix__name`` parameters arrive here.
        self._routed_params = dict(kwargs)

    # -- parameters ---------------------------------------------------------

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = super().get_params(deep=deep)
        params.update(getattr(self, "_routed_params", {}))
        return params

    def set_params(self, **params):
        """Set parameters, including routed ``prefix__name`` ones.

        Like skorch, unknown names are accepted here and reported by ``fit``
        with the list of valid prefixes (scikit-learn requires that
        ``set_params`` itself does not raise).
        """
        valid = set(self._get_param_names())
        for key, value in params.items():
            if key in valid:
                setattr(self, key, value)
            else:
                self._routed_params[key] = value
        return self

    def _routed(self, prefix: str) -> dict[str, Any]:
        """``prefix__name=value`` parameters as ``{name: value}``."""
        start = prefix + "__"
        return {k[len(start):]: v for k, v in self._routed_params.items() if k.startswith(start)}

    def _check_hidden_dims(self) -> None:
        dims = np.asarray(self.hidden_dims, dtype=object).reshape(-1)
        if not all(isinstance(h, numbers.Integral) and not isinstance(h, bool) and h >= 1 for h in dims):
            raise ValueError(
                f"hidden_dims must be a sequence of positive ints (layer widths), e.g. (256, 128) or () "
                f"for none; got {self.hidden_dims!r}."
            )

    def _check_routed_keys(self) -> None:
        for key in self._routed_params:
            prefix = key.split("__", 1)[0]
            if "__" not in key or prefix not in ROUTED_PREFIXES:
                raise TypeError(
                    f"{type(self).__name__} got an unexpected parameter {key!r}. Routed "
                    f"parameters take the form '<prefix>__<name>' with prefix one of "
                    f"{list(ROUTED_PREFIXES)}."
                )
        names = set(self._regularizer_names())
        for key in self._routed("regularizers"):
            name = key.split("__", 1)[0]
            if "__" not in key or name not in names:
                raise ValueError(
                    f"Parameter 'regularizers__{key}' refers to regularizer {name!r}, "
                    f"which is not in regularizers={self.regularizers!r}. Use "
                    "'regularizers__<name>__<param>' with a selected regularizer."
                )

    # -- variant override points ---------------------------------------------

    #: how many encoder outputs per latent unit (2 for mean + log-variance)
    _encoder_outputs_per_latent = 1

    def _objective_class(self):
        return ReconstructionObjective

    def _objective_options(self) -> dict[str, Any]:
        return {"loss": self.loss}

    def _module_options(self) -> dict[str, Any]:
        return {"latent_activation": getattr(self, "latent_activation", None)}

    def _uses_bernoulli(self) -> bool:
        return getattr(self, "loss", None) == "bce"

    def _fit_conditions(self, y, n_samples: int):
        """Encode training conditions; ``None`` for unconditional models."""
        return None

    def _conditions(self, y, n_samples: int):
        """Encode conditions for inference; ``None`` for unconditional models."""
        return None

    def _fitted_state(self) -> dict[str, Any]:
        """Extra fitted state for weights-only files (:mod:`skae.persistence`), JSON-able."""
        return {}

    def _restore_fitted_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`_fitted_state`."""

    # -- tags -------------------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.non_deterministic = self.random_state is None
        return tags

    # -- fitting ----------------------------------------------------------------

    def fit(self, X, y=None):
        """Train the autoencoder on X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
            Training data: float64, float32, int arrays or a DataFrame; image
            arrays (n, C, H, W) or (n, H, W) with ``architecture="conv"``.
        y : ignored
            Accepted for Pipeline compatibility (conditional models use it).

        Returns
        -------
        self
        """
        return self._fit(X, y, continue_training=bool(self.warm_start))

    def partial_fit(self, X, y=None):
        """Continue training for ``max_epochs`` more epochs (initializing if needed)."""
        return self._fit(X, y, continue_training=True)

    def _fit(self, X, y, continue_training: bool):
        if continue_training and hasattr(self, "net_"):
            if isinstance(X, np.memmap):
                validate_memmap(self, X, reset=False)
                self._column_stats(X)  # finiteness, before any weight changes
            else:
                X = validate_data(self, self._flatten_images(X), dtype=(np.float64, np.float32), reset=False)
            data = self._training_data(X, self._conditions(y, len(X)))
            snapshot = copy.deepcopy(self.net_.module_.state_dict())
            try:
                self._train(data)
            except TrainingDivergedError:
                self.net_.module_.load_state_dict(snapshot)
                raise
            return self

        self._validate_params()
        self._check_routed_keys()
        self._check_hidden_dims()
        if isinstance(X, np.memmap):
            self.image_shape_ = self._declared_image_shape()
            validate_memmap(self, X, reset=True)
        else:
            self.image_shape_ = self._fit_image_shape(X)
            X = validate_data(self, self._flatten_images(X), dtype=(np.float64, np.float32), reset=True)
        self._device = resolve_device(self.device) if self.accelerator is None else str(self.accelerator.device)
        regularizers = self._build_regularizers(X.shape[1])
        corruption = self._build_corruption()
        conditions = self._fit_conditions(y, X.shape[0])
        stats = self._column_stats(X)
        self._fit_scaling(stats)
        self._seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        self._n_train = X.shape[0]
        with self._rng(self._seed):
            data = self._training_data(X, conditions)
            if corruption is not None:
                zero = self._to_device(self._scale(np.zeros((1, X.shape[1])))[0])
                # the scaled per-feature extremes are all prepare() needs of the data
                extremes = self._to_device(self._scale(np.stack([stats["min"], stats["max"]])))
                corruption.prepare(extremes, zero)
            net = self._build_net(X.shape[1], len(data), regularizers, corruption)
            self.net_ = net
            try:
                self._train(data, seeded=False)
            except BaseException:
                del self.net_
                raise
        self._after_fit(data)
        return self

    def _training_data(self, X, conditions) -> TensorData | StreamingData:
        """Scaled training data on the device, or a block stream for an on-disk X."""
        if not isinstance(X, np.memmap):
            return TensorData(self._to_device(self._scale(X)), self._to_device(conditions))

        def scale(raw):
            return np.asarray(self._scale(raw), dtype=np.float32)

        return StreamingData(X, scale, self._device, self._to_device(conditions))

    def _train(self, data: TensorData, seeded: bool = True) -> None:
        self._inference_modules = {}
        if seeded:
            with self._rng(self._seed + len(self.net_.history)):
                self.net_.partial_fit(data)
        else:
            self.net_.partial_fit(data)

    def _after_fit(self, data: TensorData) -> None:
        """Keep a subsample of training codes for :meth:`sample` of plain autoencoders."""
        n = len(data)
        idx = np.random.RandomState(self._seed).permutation(n)[: min(n, 5000)]
        Xs, C = data.rows_at(idx)
        self.training_codes_ = self._apply(lambda m, x, c: self._codes(m, x, c), Xs, C)
        self._latent_density = None

    @contextmanager
    def _rng(self, seed: int):
        devices = []
        if self._device.startswith("cuda"):
            devices = [torch.device(self._device).index or 0]
        with torch.random.fork_rng(devices=devices, device_type="cuda"):
            torch.manual_seed(seed)
            yield

    def _build_net(self, n_features, n_samples, regularizers, corruption) -> TrainingNet:
        module = self._build_module(n_features)
        objective = self._objective_class()(regularizers, corruption, **self._objective_options())
        optimizer = OPTIMIZERS.get(self.optimizer, self.optimizer) if isinstance(self.optimizer, str) else self.optimizer
        n_valid = int(n_samples * self.validation_fraction)
        use_valid = n_valid >= 1 and n_samples - n_valid >= 1
        callbacks = list(self.callbacks or [])
        if self.early_stopping and use_valid:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=self.patience,
                        threshold=self.tol,
                        threshold_mode="rel",
                        load_best=True,
                        sink=print if self.verbose else _silent,
                    ),
                )
            )
        batch_size = n_samples if self.batch_size == "full" else self.batch_size
        skorch_params = {
            f"{prefix}__{key}": value
            for prefix in _SKORCH_PREFIXES
            for key, value in self._routed(prefix).items()
        }
        skorch_params.setdefault("iterator_valid__batch_size", max(batch_size, 4096))
        if (
            optimizer in (torch.optim.Adam, torch.optim.AdamW)
            and "optimizer__fused" not in skorch_params
            and "optimizer__foreach" not in skorch_params
        ):
            # fused Adam: one kernel for all parameters (benchmarks/results_fit.md: 1.2x -> 0.95x
            # the hand-written loop's time)
            skorch_params["optimizer__fused"] = True
        net_class, placement = TrainingNet, {"device": self._device}
        if self.accelerator is not None:
            from ._accelerate import AcceleratedTrainingNet

            net_class = AcceleratedTrainingNet
            placement = {
                "device": None, "accelerator": self.accelerator,
                "callbacks__print_log__sink": self.accelerator.print if self.verbose else _silent,
            }
        net = net_class(
            module=module,
            criterion=objective,
            optimizer=optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=batch_size,
            iterator_train=BatchIterator,
            iterator_valid=BatchIterator,
            train_split=ValidationSplit(self.validation_fraction) if use_valid else None,
            callbacks=callbacks,
            verbose=self.verbose,
            **placement,
            compile=self.compile,
            **skorch_params,
        )
        try:
            net.initialize()
        except TypeError as exc:
            routed = sorted(f"{p}__{k}" for p in ("optimizer", "iterator_train") for k in self._routed(p))
            raise TypeError(
                f"Building the optimizer or data iterator failed with the routed parameters {routed}: "
                f"{exc}. Check their names against {getattr(optimizer, '__name__', optimizer)}'s signature."
            ) from exc
        return net

    def _build_module(self, n_features: int, cond_features: int = 0, conditioner=None) -> nn.Module:
        builder = self.architecture
        if isinstance(builder, str):
            builder = plugins.get("architecture", builder).factory
        params = self._routed("architecture")
        if getattr(self, "image_shape_", None) is not None and "image_shape" not in params:
            params["image_shape"] = self.image_shape_
        try:
            encoder, decoder = builder(
                n_features=n_features,
                encoder_out=self.latent_dim * self._encoder_outputs_per_latent,
                latent_dim=self.latent_dim,
                hidden_dims=tuple(int(h) for h in self.hidden_dims),
                activation=self.activation,
                cond_features=cond_features,
                conditioner=conditioner,
                **params,
            )
        except TypeError as exc:
            raise TypeError(
                f"architecture={self.architecture!r} rejected its parameters "
                f"{sorted(params)}: {exc}"
            ) from exc
        options = {**self._module_options(), **self._routed("module")}
        return AutoEncoderModule(encoder, decoder, **options)

    def _regularizer_names(self) -> list[str]:
        regs = self.regularizers
        if regs is None:
            return []
        if isinstance(regs, str):
            return [regs]
        return list(regs)

    def _build_regularizers(self, n_features: int) -> list:
        regs = self.regularizers
        names = self._regularizer_names()
        if len(set(names)) != len(names):
            raise ValueError(f"regularizers lists a name twice: {names!r}.")
        built = []
        for name in names:
            factory = plugins.get("regularizer", name).factory
            params = {
                k.split("__", 1)[1]: v
                for k, v in self._routed("regularizers").items()
                if k.startswith(name + "__")
            }
            if isinstance(regs, dict) and regs[name] is not None:
                params.setdefault("weight", regs[name])
            reg = _build(factory, params, f"regularizer {name!r}", f"regularizers__{name}__")
            reg.check(self, n_features)
            built.append(reg)
        return built

    def _build_corruption(self):
        if self.corruption is None:
            if self._routed("corruption"):
                raise ValueError(
                    f"corruption__* parameters {sorted(self._routed('corruption'))} were "
                    "given but corruption=None; name a corruption, e.g. corruption='masking'."
                )
            return None
        factory = plugins.get("corruption", self.corruption).factory
        corruption = _build(factory, self._routed("corruption"), f"corruption {self.corruption!r}", "corruption__")
        corruption.check()
        return corruption

    # -- scaling ------------------------------------------------------------------

    @staticmethod
    def _column_stats(X) -> dict[str, np.ndarray]:
        """Per-feature mean, variance, min and max; a memmap is read block by block."""
        if not isinstance(X, np.memmap):
            return {"mean": X.mean(0, dtype=np.float64), "var": X.var(0, dtype=np.float64),
                    "min": X.min(0).astype(np.float64), "max": X.max(0).astype(np.float64)}
        n, d = X.shape
        total, total_sq = np.zeros(d), np.zeros(d)
        lo, hi = np.full(d, np.inf), np.full(d, -np.inf)
        for start in range(0, n, BLOCK_ROWS):
            block = read_rows(X, start, start + BLOCK_ROWS).astype(np.float64)
            check_finite_block(block, start)
            total += block.sum(0)
            total_sq += np.square(block).sum(0)
            lo, hi = np.minimum(lo, block.min(0)), np.maximum(hi, block.max(0))
        mean = total / n
        return {"mean": mean, "var": np.maximum(total_sq / n - mean**2, 0.0), "min": lo, "max": hi}

    def _fit_scaling(self, stats: dict[str, np.ndarray]) -> None:
        mode = self.scaling
        if mode == "auto":
            mode = None if self._uses_bernoulli() else "global"
        n_features = len(stats["mean"])
        if mode is None:
            mean, scale = np.zeros(n_features), np.ones(n_features)
        elif mode == "global":
            mean = stats["mean"]
            scale = np.full(n_features, float(np.sqrt(stats["var"].mean())))
        elif mode == "standard":
            mean, scale = stats["mean"], np.sqrt(stats["var"])
        else:  # minmax
            mean, scale = stats["min"], stats["max"] - stats["min"]
        scale = np.where(scale > np.finfo(np.float64).eps * 100, scale, 1.0)
        self.scaling_mean_ = mean.astype(np.float64)
        self.scaling_scale_ = scale.astype(np.float64)
        if self._uses_bernoulli():
            lo = float(((stats["min"] - self.scaling_mean_) / self.scaling_scale_).min())
            hi = float(((stats["max"] - self.scaling_mean_) / self.scaling_scale_).max())
            if lo < 0 or hi > 1:
                raise ValueError(
                    f"A Bernoulli/BCE model needs data in [0, 1]; X (after scaling={self.scaling!r}) "
                    f"ranges over [{lo:.4g}, {hi:.4g}]. Rescale X (e.g. MinMaxScaler, or "
                    "divide pixels by 255) or use scaling='minmax'."
                )

    def _scaling_is_identity(self) -> bool:
        return not self.scaling_mean_.any() and bool((self.scaling_scale_ == 1).all())

    def _scale(self, X: np.ndarray) -> np.ndarray:
        if isinstance(X, np.memmap):
            return ScaledRows(X, self._scale)
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        if self._scaling_is_identity():
            return X.astype(dtype, copy=False)
        Xs = np.subtract(X, self.scaling_mean_.astype(dtype), dtype=dtype)
        Xs /= self.scaling_scale_.astype(dtype)
        return Xs

    def _unscale(self, Xs: np.ndarray) -> np.ndarray:
        if self._scaling_is_identity():
            return Xs
        out = Xs * self.scaling_scale_.astype(Xs.dtype)
        out += self.scaling_mean_.astype(Xs.dtype)
        return out

    def _to_device(self, array):
        if array is None:
            return None
        return torch.as_tensor(np.asarray(array, dtype=np.float32), device=self._device)

    # -- inference ----------------------------------------------------------------

    def _module_for(self, dtype) -> nn.Module:
        """The trained module in float32, or a cached float64 copy for float64 input.

        Computing float64 input in float64 makes results independent of batch
        composition (scikit-learn's subset-invariance checks) at 2x the cost;
        float32 input takes the fast path.
        """
        module = self.module_
        if dtype == np.float32:
            return module
        key = str(dtype)
        if key not in self._inference_modules:
            self._inference_modules[key] = copy.deepcopy(module).double().eval()
        return self._inference_modules[key]

    def _apply(self, fn, *arrays, dtype=None, chunk: int = _INFERENCE_CHUNK) -> np.ndarray | tuple:
        """Run ``fn(module, *tensor_chunks)`` over row chunks in inference mode."""
        first = next(a for a in arrays if a is not None)
        dtype = dtype or (np.float32 if first.dtype == np.float32 else np.float64)
        module = self._module_for(dtype)
        tdtype = torch.float32 if dtype == np.float32 else torch.float64
        was_training = module.training
        module.eval()
        n = len(first)
        results = None
        try:
            with torch.inference_mode():
                for start in range(0, n, chunk):
                    parts = [
                        None if a is None else torch.as_tensor(
                            np.asarray(a[start:start + chunk]), device=self._device
                        ).to(tdtype)
                        for a in arrays
                    ]
                    out = fn(module, *parts)
                    out = out if isinstance(out, tuple) else (out,)
                    if results is None:
                        # written in place: collecting chunk outputs and concatenating them doubled the
                        # peak memory and fragmented the heap (RSS grew with n on large inputs)
                        results = tuple(np.empty((n, *o.shape[1:]), dtype=dtype) for o in out)
                    for res, o in zip(results, out):
                        res[start:start + len(o)] = o.cpu().numpy()
        finally:
            module.train(was_training)
        if results is None:
            return np.empty((0,), dtype=dtype)
        return results if len(results) > 1 else results[0]

    def _codes(self, module, x, c):
        """Codes returned by ``transform`` (post-processed by regularizers)."""
        return self.net_.criterion_.transform_codes(module.encode(x, c), training=False)

    def _decoded(self, module, z, c):
        """Decoder output in scaled units (probabilities for Bernoulli models)."""
        out = module.decode(z, c)
        return torch.sigmoid(out) if self._uses_bernoulli() else out

    def _check_X(self, X):
        check_is_fitted(self, "net_")
        if isinstance(X, np.memmap):
            validate_memmap(self, X, reset=False)
            return X  # scaled (and checked for NaN) chunk by chunk, see ScaledRows
        return validate_data(self, self._flatten_images(X), dtype=(np.float64, np.float32), reset=False)

    # -- image-shaped input ---------------------------------------------------------

    def _declared_image_shape(self) -> tuple[int, ...] | None:
        shape = self._routed("architecture").get("image_shape")
        if shape is None:
            return None
        shape = tuple(int(s) for s in shape)
        return (1, *shape) if len(shape) == 2 else shape

    def _takes_images(self) -> bool:
        return self.architecture == "conv" or "image_shape" in self._routed("architecture")

    def _fit_image_shape(self, X) -> tuple[int, int, int] | None:
        """(C, H, W) of image-shaped training input, checked against ``architecture__image_shape``."""
        ndim = getattr(X, "ndim", 2)
        if ndim < 3:
            return self._declared_image_shape()
        if not self._takes_images():
            raise ValueError(
                f"X has shape {tuple(X.shape)}, but architecture={self.architecture!r} takes 2-D X "
                "(n_samples, n_features). Flatten it with X.reshape(len(X), -1), or use "
                "architecture='conv' for images of shape (n, C, H, W)."
            )
        if ndim > 4:
            raise ValueError(f"Image input must be (n, C, H, W) or (n, H, W); got shape {tuple(X.shape)}.")
        shape = tuple(int(s) for s in X.shape[1:])
        shape = (1, *shape) if len(shape) == 2 else shape
        declared = self._declared_image_shape()
        if declared is not None and declared != shape:
            raise ValueError(
                f"X holds images of shape {shape} (C, H, W), but architecture__image_shape="
                f"{self._routed('architecture')['image_shape']!r}; drop the parameter or make them agree."
            )
        return shape

    def _flatten_images(self, X):
        """(n, C, H, W) or (n, H, W) input as (n, C·H·W) rows, as a Pipeline would pass them."""
        ndim = getattr(X, "ndim", 2)
        if ndim < 3:
            return X
        expected = getattr(self, "image_shape_", None)
        shape = tuple(int(s) for s in X.shape[1:])
        if expected is None or shape not in (expected, expected[1:] if expected[0] == 1 else None):
            what = f"images of shape {expected} (C, H, W)" if expected else "2-D X (n_samples, n_features)"
            raise ValueError(f"X has shape {tuple(X.shape)}, but {type(self).__name__} takes {what}.")
        return X.reshape(X.shape[0], -1)

    def _like_input(self, X_in, rows: np.ndarray) -> np.ndarray:
        """Rows shaped like the caller's input (images stay images)."""
        return rows.reshape(X_in.shape) if getattr(X_in, "ndim", 2) >= 3 else rows

    def transform(self, X, y=None):
        """Encode X into the latent space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
            The condition, for conditional models.

        Returns
        -------
        Z : ndarray of shape (n_samples, latent_dim)
            float32 for float32 input, float64 otherwise.
        """
        X = self._check_X(X)
        return self._apply(self._codes, self._scale(X), self._conditions(y, len(X)))

    def inverse_transform(self, X, y=None):
        """Decode latent codes back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, latent_dim)
        y : ignored
            The condition, for conditional models.

        Returns
        -------
        X_rec : ndarray of shape (n_samples, n_features)
        """
        Z = self._check_latent(X)
        return self._unscale(self._apply(self._decoded, Z, self._conditions(y, len(Z))))

    def _check_latent(self, Z):
        check_is_fitted(self, "net_")
        Z = check_array(Z, dtype=(np.float64, np.float32), input_name="Z")
        if Z.shape[1] != self.latent_dim:
            raise ValueError(
                f"Z has {Z.shape[1]} features, but {type(self).__name__} has "
                f"latent_dim={self.latent_dim}: inverse_transform takes latent codes."
            )
        return Z

    def reconstruct(self, X, y=None):
        """Encode and decode X: ``inverse_transform(transform(X))`` in one pass.

        Image input (n, C, H, W) gives images back; 2-D input gives rows.
        """
        X_in, X = X, self._check_X(X)
        rows = self._unscale(self._apply(self._reconstruct_scaled, self._scale(X), self._conditions(y, len(X))))
        return self._like_input(X_in, rows)

    def denoise(self, X, y=None):
        """Reconstruct (possibly corrupted) X; a denoising autoencoder returns clean data."""
        return self.reconstruct(X, y)

    def _reconstruct_scaled(self, module, x, c):
        return self._decoded(module, self._codes(module, x, c), c)

    def score_samples(self, X, y=None):
        """Per-sample score, higher = more normal: minus the mean reconstruction error.

        The error is the mean squared error over features in X's own units
        (``loss="mse"``) or the mean binary cross-entropy (``loss="bce"``).
        """
        return -self.feature_errors(X, y).mean(axis=1)

    def feature_errors(self, X, y=None):
        """Per-sample, per-feature reconstruction errors in X's units, shape (n, n_features)."""
        X = self._check_X(X)
        scale = self.scaling_scale_

        def errors(module, x, c):
            out = module.decode(self._codes(module, x, c), c)
            if self._uses_bernoulli():
                return torch.nn.functional.binary_cross_entropy_with_logits(out, x, reduction="none")
            return ((x - out) * torch.as_tensor(scale, dtype=x.dtype, device=x.device)).square()

        return self._apply(errors, self._scale(X), self._conditions(y, len(X)))

    def score(self, X, y=None):
        """Mean of :meth:`score_samples` (higher is better), so GridSearchCV tunes without labels."""
        return float(np.mean(self.score_samples(X, y)))

    def get_feature_names_out(self, input_features=None):
        """Names of the latent features: ``latent0``, ``latent1``, ..."""
        check_is_fitted(self, "net_")
        return np.asarray([f"latent{i}" for i in range(self.latent_dim)], dtype=object)

    def _sample_latent(self, n_samples: int, rng: np.random.RandomState) -> np.ndarray:
        """Latent draws for :meth:`sample`: a Gaussian mixture fitted to training codes.

        Seed 004: N(0, I) is arbitrary for a plain autoencoder (nothing made its
        codes look like that), so sample a density fitted to the codes instead.
        """
        if self._latent_density is None:
            from sklearn.mixture import GaussianMixture

            codes = self.training_codes_
            gmm = GaussianMixture(
                n_components=min(10, len(codes)), covariance_type="full", reg_covar=1e-4,
                random_state=self._seed,
            )
            self._latent_density = gmm.fit(codes.astype(np.float64))
        gmm = self._latent_density
        comps = rng.choice(len(gmm.weights_), size=n_samples, p=gmm.weights_)
        z = np.empty((n_samples, gmm.means_.shape[1]))
        for k in np.unique(comps):
            idx = comps == k
            z[idx] = rng.multivariate_normal(gmm.means_[k], gmm.covariances_[k], size=int(idx.sum()))
        return z

    def sample(self, n_samples: int = 1, random_state=None):
        """Generate new samples in input space.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState or None

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features), float64
        """
        n_samples = self._check_n_samples(n_samples)
        return self.inverse_transform(self._sample_latent(n_samples, check_random_state(random_state)))

    def _check_n_samples(self, n_samples) -> int:
        check_is_fitted(self, "net_")
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int; got {n_samples!r}.")
        return int(n_samples)

    def interpolate(self, x0, x1, n_steps: int = 10, y=None):
        """Decode the latent path z_t = (1 − t) z0 + t z1, t in [0, 1] (seed 004).

        Parameters
        ----------
        x0, x1 : array-like of shape (n_features,) or (n_pairs, n_features)
        n_steps : int, default=10
        y : condition or None
            One condition for the whole path (conditional models).

        Returns
        -------
        path : ndarray of shape (n_steps, n_features), or (n_pairs, n_steps, n_features)
        """
        single = np.ndim(x0) == 1
        x0 = np.atleast_2d(np.asarray(x0, dtype=np.float64))
        x1 = np.atleast_2d(np.asarray(x1, dtype=np.float64))
        if x0.shape != x1.shape:
            raise ValueError(f"x0 and x1 must have the same shape; got {x0.shape} and {x1.shape}.")
        if not isinstance(n_steps, numbers.Integral) or n_steps < 2:
            raise ValueError(f"n_steps must be an int >= 2; got {n_steps!r}.")
        z0, z1 = self.transform(x0, y), self.transform(x1, y)
        t = np.linspace(0.0, 1.0, n_steps)[None, :, None]
        zt = (1 - t) * z0[:, None, :] + t * z1[:, None, :]
        flat = zt.reshape(-1, zt.shape[-1])
        path = self.inverse_transform(flat, y).reshape(len(x0), n_steps, -1)
        return path[0] if single else path

    @property
    def history_(self):
        """skorch's training history (one row per epoch)."""
        check_is_fitted(self, "net_")
        return self.net_.history

    @property
    def module_(self) -> nn.Module:
        """The trained torch module (unwrapped from ``torch.compile``)."""
        check_is_fitted(self, "net_")
        module = self.net_.module_
        return getattr(module, "_orig_mod", module)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "net_")

    def __getstate__(self):
        state = dict(super().__getstate__())
        # float64 copies are a cache; plain pickle of CUDA tensors would not load on a CPU machine
        state["_inference_modules"] = {}
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "net_" in self.__dict__:
            # skorch maps a CUDA-trained net to the CPU when CUDA is absent (with a DeviceWarning)
            self._device = str(self.net_.device)


def _build(factory, params: dict, what: str, prefix: str):
    try:
        return factory(**params)
    except TypeError as exc:
        import inspect

        try:
            accepted = [p for p in inspect.signature(factory).parameters if p not in ("self", "args", "kwargs")]
        except (TypeError, ValueError):
            accepted = []
        raise TypeError(
            f"{what} rejected its parameters {sorted(params)}: {exc}. It accepts "
            f"{[prefix + a for a in accepted]}."
        ) from exc

