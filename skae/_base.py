"""The scikit-learn face shared by skae's estimators: parameters, ``fit``, inference methods.

The work is done by small collaborators, each in its own module:

* :mod:`skae._params` — shared defaults, constraints and routed ``prefix__name`` parameters;
* :mod:`skae.data` — the input adapter (arrays, memmaps, images: validation, blocks, chunks);
* :mod:`skae._scaling` — per-feature scaling from streaming statistics;
* :mod:`skae._training` — objectives and the skorch net, built by ``build_net``;
* :mod:`skae._inference` — running the trained module over row chunks;
* :mod:`skae._generation` — ``sample`` and ``interpolate``, with the samplers of :mod:`skae.sampling`;
* :mod:`skae._device` — the device, resolved once, and seeded random streams.

Variants override a few small points: ``_make_objective``, ``_module_options``,
``_likelihood``, ``_codes``, ``_latent_sampler`` and, for conditional models,
``_fit_conditions`` / ``_conditions``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._build import build_module, build_net, build_plugins
from ._device import resolve_device, seeded, to_device
from ._generation import GenerativeMixin
from ._inference import INFERENCE_CHUNK, InferenceRunner
from ._objectives import Objective
from ._params import (
    SHARED_CONSTRAINTS,
    RoutedParamsMixin,
    check_hidden_dims,
    check_no_bool_numbers,
    check_routed_keys,
)
from ._scaling import Scaler
from ._state import FittedStateMixin
from ._training import TrainingNet, kept_after_divergence
from ._typing import ArrayLike, Condition, Output
from .data import Rows, fit_image_shape, validate_rows
from .exceptions import TrainingDivergedError
from .losses import bce_error
from .spec import ModelSpec

__all__ = ["BaseAutoEncoder"]

_ROUTED_TO_NET = ("optimizer", "callbacks", "iterator_train")


class BaseAutoEncoder(RoutedParamsMixin, FittedStateMixin, GenerativeMixin, TransformerMixin, BaseEstimator):
    """Shared machinery of skae's estimators; not used directly.

    See :class:`skae.AutoEncoder` for the parameters.
    """

    _parameter_constraints: dict = dict(SHARED_CONSTRAINTS)

    #: encoder outputs per latent unit (2 for mean and log-variance)
    _encoder_outputs_per_latent = 1

    # -- parameters -----------------------------------------------------------

    def _regularizer_names(self) -> list[str]:
        regs = self.regularizers
        return [] if regs is None else [regs] if isinstance(regs, str) else list(regs)

    # -- variant override points ----------------------------------------------

    def _likelihood(self) -> str:
        """"mse"/"bce" for autoencoders, "gaussian"/"bernoulli" for VAEs."""
        return self.loss

    def _make_objective(self, regularizers: list, corruption) -> Objective:
        raise NotImplementedError

    def _module_options(self) -> dict[str, Any]:
        return {}

    def _fit_conditions(self, y, n_samples: int) -> np.ndarray | None:
        """Encode the training conditions; ``None`` for unconditional models."""
        return None

    def _conditions(self, y, n_samples: int) -> np.ndarray | None:
        """Encode conditions for inference; ``None`` for unconditional models."""
        return None

    def _conditioner(self, spec: ModelSpec):
        """The conditioning plugin of conditional models; ``None`` otherwise."""
        return None

    def _codes(self, module, x, c):
        """Codes returned by ``transform`` (post-processed by regularizers)."""
        return self.net_.criterion_.transform_codes(module.encode(x, c), training=False)

    # -- tags -------------------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.non_deterministic = self.random_state is None
        return tags

    # -- fitting ----------------------------------------------------------------

    def fit(self, X: ArrayLike, y: Condition = None) -> BaseAutoEncoder:
        """Train the autoencoder on X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
            Training data: float64, float32, int arrays or a DataFrame; image
            arrays (n, C, H, W) or (n, H, W) with ``architecture="conv"``; a
            ``numpy.memmap`` is streamed from disk block by block.
        y : ignored
            Accepted for Pipeline compatibility (conditional models use it).

        Returns
        -------
        self
        """
        return self._fit(X, y, continue_training=bool(self.warm_start))

    def partial_fit(self, X: ArrayLike, y: Condition = None) -> BaseAutoEncoder:
        """Continue training for ``max_epochs`` more epochs (initializing if needed)."""
        return self._fit(X, y, continue_training=True)

    def _fit(self, X, y, continue_training: bool):
        if continue_training and hasattr(self, "net_"):
            rows = validate_rows(self, X, reset=False, image_shape=self.image_shape_)
            self.scaler_.check_range(rows.stats(), unit_interval=self._unit_interval())  # before any weight change
            data = rows.training_data(self.scaler_, self.device_, to_device(self._conditions(y, len(rows)), self.device_))
            self.net_.set_params(lr=self.lr, max_epochs=self.max_epochs)
            try:
                self._train(data)
            except TrainingDivergedError as exc:
                raise TrainingDivergedError(f"{exc} {kept_after_divergence(len(self.net_.history))}") from exc
            return self

        self._validate_params()
        check_no_bool_numbers(self)
        check_routed_keys(type(self).__name__, self._routed_params, self._regularizer_names())
        check_hidden_dims(self.hidden_dims)
        image_shape = fit_image_shape(X, self.architecture, self._routed("architecture"))
        rows = validate_rows(self, X, reset=True, image_shape=image_shape)
        self.image_shape_ = image_shape
        device = resolve_device(self.device) if self.accelerator is None else str(self.accelerator.device)
        conditions = self._fit_conditions(y, rows.n_samples)
        self.model_spec_ = self._model_spec(rows.n_features)
        built_plugins = self._build_plugins(self.model_spec_)  # parameter errors before reading a large X
        stats = rows.stats()
        if rows.layout is not None and self._likelihood() in ("bce", "bernoulli"):
            raise ValueError(
                f"{self._likelihood()!r} models data in [0, 1]; X has categorical or boolean columns, which skae "
                "models with their own likelihoods beside squared error / a Gaussian for the numeric columns. "
                "Use the default loss / likelihood."
            )
        names = rows.layout.slot_names if rows.layout else getattr(self, "feature_names_in_", None)
        self.scaler_ = Scaler.fit(stats, self.scaling, feature_names=names,
                                  unit_interval=self._likelihood() in ("bce", "bernoulli"),
                                  passthrough=None if rows.layout is None else rows.layout.passthrough)
        self._fit_params = self.get_params(deep=False)
        self._seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        self._n_train = rows.n_samples
        self._inference = InferenceRunner()
        self._net_overrides = {}  # a previous fit's refit settings must not shape this fit's net
        self.__dict__.pop("selection_history_", None)
        with seeded(self._seed, device):
            data = rows.training_data(self.scaler_, device, to_device(conditions, device))
            net = self._build_training(device, built_plugins)
            corruption = net.criterion_.corruption
            if corruption is not None:
                zero = self.scaler_.transform(np.zeros((1, rows.n_features)))[0]
                extremes = self.scaler_.transform(np.stack([stats.min, stats.max]))
                corruption.prepare(to_device(extremes, device), to_device(zero, device))
            self._train_fresh(net, data)
            if self.refit and net.train_split is not None and not net.interrupted_:
                # early stopping picked the number of epochs on held-out rows; train again, from the same
                # initial weights, on every row for that many epochs (benchmarks/results_generative.md)
                self.selection_history_ = net.history
                self._net_overrides = {"early_stopping": False, "max_epochs": _best_epoch(net.history)}
                with seeded(self._seed, device):
                    net = self._build_training(device, built_plugins)
                self._train_fresh(net, data)
        self._after_fit(data)
        return self

    def _train_fresh(self, net: TrainingNet, data) -> None:
        self.net_ = net
        try:
            self._train(data, seeded_epochs=False)
        except TrainingDivergedError as exc:
            if not len(self.net_.history):
                del self.net_
                raise TrainingDivergedError(f"{exc} No epoch finished: the estimator is not fitted.") from exc
            self._after_fit(data)
            raise TrainingDivergedError(f"{exc} {kept_after_divergence(len(self.net_.history))}") from exc
        except BaseException:
            del self.net_
            raise


    def _model_spec(self, n_features: int) -> ModelSpec:
        return ModelSpec(
            n_features=n_features, latent_dim=int(self.latent_dim), hidden_dims=check_hidden_dims(self.hidden_dims),
            activation=self.activation, variational=self._encoder_outputs_per_latent == 2,
            likelihood=self._likelihood(), latent_activation=getattr(self, "latent_activation", None),
            cond_features=int(getattr(self, "n_condition_features_", 0)), image_shape=self.image_shape_,
        )

    def _build_plugins(self, spec: ModelSpec) -> tuple[list, Any]:
        """The regularizers and the corruption, built and checked against ``spec``."""
        return build_plugins(self.regularizers, self._routed("regularizers"), self.corruption,
                             self._routed("corruption"), spec)

    def _build_training(self, device: str, built_plugins: tuple[list, Any] | None = None) -> TrainingNet:
        """Module, objective and net for the fitted spec; ``fit`` and model loading share it.

        Both call it while the parameters are those the model is fitted with.
        """
        regularizers, corruption = built_plugins or self._build_plugins(self.model_spec_)
        return build_net(
            {**self.get_params(deep=False), **getattr(self, "_net_overrides", {})},
            {p: self._routed(p) for p in _ROUTED_TO_NET},
            module=self._build_module(self.model_spec_), objective=self._make_objective(regularizers, corruption),
            n_samples=self._n_train, device=device,
        )

    def _build_module(self, spec: ModelSpec) -> nn.Module:
        layout = self._layout
        return build_module(
            self.architecture, self._routed("architecture"), spec,
            encoder_outputs=spec.latent_dim * self._encoder_outputs_per_latent, conditioner=self._conditioner(spec),
            options={**self._module_options(), "latent_activation": spec.latent_activation,
                     "column_groups": None if layout is None else layout.groups, **self._routed("module")},
        )

    @property
    def _layout(self):
        """The mixed-type column layout (:mod:`skae.tabular`), or None for numeric data."""
        return getattr(self, "column_layout_", None)

    def _as_output(self, values: np.ndarray, rng=None):
        """Decoded rows in X's units as returned to the user: a DataFrame of the original columns for mixed data."""
        layout = self._layout
        return values if layout is None else layout.decode(values, rng)

    def _train(self, data, seeded_epochs: bool = True) -> None:
        self._inference.reset()
        self._sampler_cache = None
        if seeded_epochs:
            with seeded(self._seed + len(self.net_.history), self.device_):
                self.net_.partial_fit(data)
        else:
            self.net_.partial_fit(data)

    def _after_fit(self, data) -> None:
        """Keep the codes (and conditions) of up to 5,000 training rows: what mixture samplers fit."""
        n = len(data)
        idx = np.random.RandomState(self._seed).permutation(n)[: min(n, 5000)]
        x, c = data.rows_at(idx)
        self.training_codes_ = self._run(self._codes, x, c)
        self.training_conditions_ = c

    # -- inference ----------------------------------------------------------------

    def _rows(self, X) -> Rows:
        check_is_fitted(self, "net_")
        # NaN/inf are found chunk by chunk where the rows are scaled (data.ScaledRows), not in a separate pass
        return validate_rows(self, X, reset=False, image_shape=self.image_shape_, check_finite=False)

    def _scaled(self, rows: Rows):
        """The rows through the fitted scaler; Bernoulli/BCE models warn about values outside [0, 1]."""
        return rows.scaled(self.scaler_, unit_interval=self._unit_interval())

    def _run(self, fn, *sources, dtype=None, chunk: int = INFERENCE_CHUNK):
        """``fn(module, *tensor_chunks)`` over row chunks of ``sources``, as numpy arrays."""
        return self._inference.apply(self.module_, fn, *sources, device=self.device_, dtype=dtype, chunk=chunk)

    def _unit_interval(self) -> bool:
        return self.model_spec_.likelihood in ("bce", "bernoulli")

    def _decoded(self, module, z, c):
        """Decoder output in scaled units (probabilities for Bernoulli models and non-numeric columns)."""
        out = module.decode(z, c)
        if getattr(module, "column_groups", None) is not None:
            return module.column_groups.means(out)
        return torch.sigmoid(out) if self._unit_interval() else out

    def transform(self, X: ArrayLike, y: Condition = None) -> np.ndarray:
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
        rows = self._rows(X)
        return self._run(self._codes, self._scaled(rows), self._conditions(y, len(rows)))

    def inverse_transform(self, X: ArrayLike, y: Condition = None) -> Output:
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
        return self._as_output(self._decoded_rows(X, y))

    def _decoded_rows(self, Z, y=None, rng=None) -> np.ndarray:
        """Decoded codes in X's units, as an array (encoded slots for mixed data)."""
        Z = self._check_latent(Z)
        return self.scaler_.inverse_transform(self._run(self._decoded, Z, self._conditions(y, len(Z))))

    def _check_latent(self, Z):
        check_is_fitted(self, "net_")
        Z = check_array(Z, dtype=(np.float64, np.float32), input_name="Z")
        latent_dim = self.model_spec_.latent_dim
        if Z.shape[1] != latent_dim:
            raise ValueError(
                f"Z has {Z.shape[1]} features, but {type(self).__name__} has "
                f"latent_dim={latent_dim}: inverse_transform takes latent codes."
            )
        return Z

    def reconstruct(self, X: ArrayLike, y: Condition = None) -> Output:
        """Encode and decode X: ``inverse_transform(transform(X))`` in one pass.

        Image input (n, C, H, W) gives images back; 2-D input gives rows.
        """
        rows = self._rows(X)
        out = self._run(self._reconstruct_scaled, self._scaled(rows), self._conditions(y, len(rows)))
        return self._as_output(rows.like_input(self.scaler_.inverse_transform(out)))

    def denoise(self, X: ArrayLike, y: Condition = None) -> Output:
        """Reconstruct (possibly corrupted) X; a denoising autoencoder returns clean data."""
        return self.reconstruct(X, y)

    def _reconstruct_scaled(self, module, x, c):
        return self._decoded(module, self._codes(module, x, c), c)

    def score_samples(self, X: ArrayLike, y: Condition = None) -> np.ndarray:
        """Per-sample score, higher = more normal: minus the mean reconstruction error.

        The error is the mean squared error over features in X's own units
        (``loss="mse"``) or the mean binary cross-entropy (``loss="bce"``).
        For a mixed-type table it is the training loss's balanced mean over
        columns (standardised squared errors, cross-entropies over log K; see
        :mod:`skae.tabular`).
        """
        if self._layout is None:
            return -self.feature_errors(X, y).mean(axis=1)
        rows = self._rows(X)

        def balanced(module, x, c):  # the training loss's per-row term, in scaled units
            return module.column_groups.balanced_error(x, module.decode(self._codes(module, x, c), c))

        return -self._run(balanced, self._scaled(rows), self._conditions(y, len(rows)))

    def feature_errors(self, X: ArrayLike, y: Condition = None) -> np.ndarray:
        """Per-sample, per-feature reconstruction errors in X's units, shape (n, n_features).

        For a mixed-type table, one column per original column: squared error
        for numeric columns, cross-entropy (nats) for categorical and boolean ones.
        """
        rows = self._rows(X)
        scale = self.scaler_.scale
        bernoulli = self._unit_interval()

        def errors(module, x, c):
            out = module.decode(self._codes(module, x, c), c)
            if getattr(module, "column_groups", None) is not None:
                return module.column_groups.column_errors(x, out, scale)
            if bernoulli:
                return bce_error(x, out)
            return ((x - out) * torch.as_tensor(scale, dtype=x.dtype, device=x.device)).square()

        return self._run(errors, self._scaled(rows), self._conditions(y, len(rows)))

    def score(self, X: ArrayLike, y: Condition = None) -> float:
        """Mean of :meth:`score_samples` (higher is better), so GridSearchCV tunes without labels."""
        return float(np.mean(self.score_samples(X, y)))

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """Names of the latent features: ``latent0``, ``latent1``, ..."""
        check_is_fitted(self, "net_")
        return np.asarray([f"latent{i}" for i in range(self.model_spec_.latent_dim)], dtype=object)

    # -- fitted state -------------------------------------------------------------


def _best_epoch(history) -> int:
    """The epoch (1-based) with the lowest validation loss."""
    return int(np.argmin(history[:, "valid_loss"])) + 1
