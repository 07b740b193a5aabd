"""The scikit-learn face shared by skae's estimators: parameters, ``fit``, inference methods.

The work is done by small collaborators, each in its own module:

* :mod:`skae.training._params` — shared defaults, constraints and routed ``prefix__name`` parameters;
* :mod:`skae.tables._input` — the input adapter (arrays, memmaps, images, tables: validation, blocks, chunks);
* :mod:`skae.tables._scaling` — per-feature scaling from streaming statistics;
* :mod:`skae.likelihoods` — the reconstruction term, one object per kind;
* :mod:`skae.training._build` — plugins, module, objective and the skorch net, from the parameters;
* :mod:`skae.model._fitted` — the fitted model as one value (``model_``), its file state, its forward passes;
* :mod:`skae.estimators._generation` — ``sample`` and ``interpolate``.

Variants override a few small points (:class:`skae.training._build.ModelBuilding`:
``_likelihood_name``, ``_make_objective``, ``_module_options``, ``_extend_module``)
and, for conditional models, ``_fit_conditions``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_array, check_random_state

from ..exceptions import TrainingDivergedError
from ..model._device import resolve_device, seeded, to_device
from ..model._fitted import FittedModel
from ..tables._input import Rows, fit_image_shape, validate_rows
from ..tables._scaling import Scaler
from ..training._build import ModelBuilder, ModelBuilding, mixed_table, resolved_epochs
from ..training._callbacks import kept_after_divergence
from ..training._objectives import observed
from ..training._params import (
    SHARED_CONSTRAINTS,
    RoutedParamsMixin,
    check_hidden_dims,
    check_no_bool_numbers,
    check_routed_keys,
    regularizer_names,
)
from ._generation import GenerativeMixin
from ._typing import ArrayLike, Condition, Output, RandomState

__all__ = ["BaseAutoEncoder"]


class BaseAutoEncoder(ModelBuilding, RoutedParamsMixin, GenerativeMixin, TransformerMixin, BaseEstimator):
    """Shared machinery of skae's estimators; not used directly.

    See :class:`skae.AutoEncoder` for the parameters.
    """

    _parameter_constraints: dict = dict(SHARED_CONSTRAINTS)

    #: what scaling="auto" does to the numeric columns of a table with categorical columns
    _auto_table_scaling = "standard"

    # -- conditions (conditional models override) ----------------------------------

    def _fit_conditions(self, y, n_samples: int):
        """``(condition encoder, encoded training conditions)``; ``(None, None)`` for unconditional models."""
        return None, None


    # -- tags and parameters ----------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.allow_nan = True  # missing entries; infinity is refused
        tags.non_deterministic = self.random_state is None
        return tags

    def _validate_params(self) -> None:
        super()._validate_params()
        check_no_bool_numbers(self)
        check_routed_keys(type(self).__name__, self._routed_params, regularizer_names(self.regularizers))
        check_hidden_dims(self.hidden_dims)

    # -- fitting ----------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
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
        if self.warm_start and "model_" in vars(self):
            return self._continue(X, y)
        return self._fit_fresh(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: ArrayLike, y: Condition = None) -> BaseAutoEncoder:
        """Continue training for ``max_epochs`` more epochs (initializing if needed)."""
        return self._continue(X, y) if "model_" in vars(self) else self._fit_fresh(X, y)

    def _fit_fresh(self, X, y) -> BaseAutoEncoder:
        image_shape = fit_image_shape(X, self.architecture, self._routed("architecture"))
        quantile = self.scaling == "quantile" or (self.scaling == "auto" and self._auto_table_scaling == "quantile"
                                                  and isinstance(X, pd.DataFrame))
        rows = validate_rows(self, X, reset=True, image_shape=image_shape, quantile=quantile)
        device = resolve_device(self.device) if self.accelerator is None else str(self.accelerator.device)
        conditions, encoded = self._fit_conditions(y, rows.n_samples)
        builder = ModelBuilder(self)
        spec = builder.spec(rows.n_features, image_shape, 0 if conditions is None else conditions.n_features_out,
                            layout=rows.layout)
        likelihood = builder.likelihood(rows.layout)
        built = builder.plugins(spec)  # parameter errors before reading a large X
        stats = rows.stats()  # also tells whether a memmap has missing entries
        spec = replace(spec, missing_values=bool(rows.missing) or bool(built[1] is not None and built[1].missing))
        names = rows.layout.slot_names if rows.layout else getattr(self, "feature_names_in_", None)
        scaler = Scaler.fit(stats, "quantile" if quantile else self.scaling, feature_names=names,
                            unit_interval=likelihood.unit_interval,
                            passthrough=None if rows.layout is None else rows.layout.passthrough)
        model = FittedModel(
            params=self.get_params(deep=False), spec=spec, scaler=scaler, likelihood=likelihood,
            seed=int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max)),
            n_train=rows.n_samples, layout=rows.layout, image_shape=image_shape, conditions=conditions,
        )
        with seeded(model.seed, device):
            data = rows.training_data(scaler, device, to_device(encoded, device))
            model.net = builder.net(model, device, built, missing=spec.missing_values)
            corruption = model.objective.corruption
            if corruption is not None:
                zero = scaler.transform(np.zeros((1, rows.n_features)))[0]
                extremes = scaler.transform(np.stack([stats.min, stats.max]))
                corruption.prepare(to_device(extremes, device), to_device(zero, device))
            self.model_ = model
            self._train(model, data, fresh=True)
        return self

    def _continue(self, X, y) -> BaseAutoEncoder:
        model = self.model_
        rows = validate_rows(self, X, reset=False, image_shape=model.image_shape, layout=model.layout, training=True)
        model.scaler.check_range(rows.stats(), unit_interval=model.likelihood.unit_interval)  # before any update
        if rows.missing:
            model.train_on_missing()
        conditions = to_device(self._conditions(y, len(rows)), model.device)
        data = rows.training_data(model.scaler, model.device, conditions)
        epochs = resolved_epochs(self.get_params(deep=False), len(rows), mixed_table(model.layout))
        model.net.set_params(lr=self.lr, max_epochs=epochs)
        with seeded(model.seed + len(model.net.history), model.device):
            self._train(model, data, fresh=False)
        return self

    def _train(self, model: FittedModel, data, fresh: bool) -> None:
        """Train ``model`` on ``data``; a divergence keeps the last finished epoch (or unfits a fresh fit)."""
        try:
            model.train(data)
        except TrainingDivergedError as exc:
            if fresh and not len(model.net.history):
                del self.model_
                raise TrainingDivergedError(f"{exc} No epoch finished: the estimator is not fitted.") from exc
            model.remember_training_codes(data)
            raise TrainingDivergedError(f"{exc} {kept_after_divergence(len(model.net.history))}") from exc
        except BaseException:
            if fresh:
                del self.model_
            raise

    # -- inference ----------------------------------------------------------------

    #: validate X's values before the condition y (conditional models: scikit-learn checks that order)
    _finite_before_conditions = False

    def _rows(self, X, check_finite: bool | None = None) -> Rows:
        model = self._fitted()
        check = self._finite_before_conditions if check_finite is None else check_finite
        # NaN/inf are otherwise found chunk by chunk where the rows are scaled (data.ScaledRows)
        return validate_rows(self, X, reset=False, image_shape=model.image_shape, layout=model.layout,
                             check_finite=check)

    def _scaled(self, rows: Rows):
        """The rows through the fitted scaler; Bernoulli/BCE models warn about values outside [0, 1]."""
        model = self.model_
        return rows.scaled(model.scaler, unit_interval=model.likelihood.unit_interval)

    def _conditions(self, y, n_samples: int) -> np.ndarray | None:
        return self._fitted().encode_conditions(y, n_samples, type(self).__name__)

    def _as_output(self, values: np.ndarray):
        """Decoded rows in X's units as returned to the user: a DataFrame of the original columns for tables."""
        layout = self.model_.layout
        return values if layout is None else layout.decode(values)

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
        return self.model_.run(self.model_.codes, self._scaled(rows), self._conditions(y, len(rows)))

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
        model = self._fitted()
        _check_codes_are_numbers(X)
        Z = check_array(X, dtype=(np.float64, np.float32), input_name="Z")
        if Z.shape[1] != model.spec.latent_dim:
            raise ValueError(
                f"Z has {Z.shape[1]} features, but {type(self).__name__} has "
                f"latent_dim={model.spec.latent_dim}: inverse_transform takes latent codes."
            )
        return self._as_output(model.decode(Z, self._conditions(y, len(Z))))

    def reconstruct(self, X: ArrayLike, y: Condition = None, *, draw: bool = False,
                    random_state: RandomState = None) -> Output:
        """Encode and decode X: ``inverse_transform(transform(X))`` in one pass.

        Image input (n, C, H, W) gives images back; 2-D input gives rows, a
        DataFrame with X's columns, dtypes and index.  A row's missing entries
        (NaN) come back as what the model predicts from its observed ones.

        Parameters
        ----------
        X : array-like or DataFrame
        y : condition (conditional models) or None
        draw : bool, default=False
            Draw from the model's predictive distribution instead of returning
            its mean: a VAE draws a code from q(z | x) and values from p(x | z);
            an autoencoder adds noise with its training residuals' spread.
            Categories are drawn from the softmax.
        random_state : int, RandomState or None
            Seeds the draws.
        """
        rng = check_random_state(random_state) if draw else None
        values = self._reconstruction(X, y, rng)
        layout = self.model_.layout
        if layout is None:
            return values
        out = layout.decode(values, rng)
        if isinstance(X, pd.DataFrame):
            # a row keeps its label, as in scikit-learn's pandas output: X - reconstruct(X) aligns row by row
            # (on a fresh RangeIndex it would be NaN wherever X's index differs)
            out.index = X.index
        return out

    def _reconstruction(self, X: ArrayLike, y: Condition, rng: np.random.RandomState | None) -> np.ndarray:
        """:meth:`reconstruct`'s values before a table's columns are decoded, draws with ``rng`` if given.

        Numbers in X's units and, for a table's other columns, probabilities:
        what an ensemble averages before the most probable category is taken
        (:class:`skae.AutoEncoderImputer`).
        """
        rows = self._rows(X)
        model = self.model_
        conditions = self._conditions(y, len(rows))
        if rng is None:
            out = model.run(model.reconstructed, self._scaled(rows), conditions)
            return rows.like_input(model.scaler.inverse_transform(out))
        codes = self._posterior_draw(X, y, rng)
        return model.draw(model.decode(codes, conditions), rng, self._sigma())

    def _posterior_draw(self, X, y, rng) -> np.ndarray:
        """Codes for ``reconstruct(draw=True)``: an autoencoder's are its codes."""
        return self.transform(X, y)

    def _sigma(self):
        return self._fitted().residual_scale

    def denoise(self, X: ArrayLike, y: Condition = None) -> Output:
        """Reconstruct (possibly corrupted) X; a denoising autoencoder returns clean data."""
        return self.reconstruct(X, y)

    def _errors(self, X, y, kind: str) -> np.ndarray:
        """Per-term errors of X's reconstruction: ``"feature"`` errors or ``"score"`` terms (:mod:`skae.likelihoods`).

        Computed in float64 (the squared error of a value near float32's limit
        overflows float32); NaN for missing entries.
        """
        rows = self._rows(X)
        model = self.model_
        scale, likelihood = model.scaler.scale, model.likelihood
        terms = likelihood.feature_errors if kind == "feature" else likelihood.score_terms

        def errors(module, x, c):
            out = model.output_in_range(module.decode(model.codes(module, x, c), c)).double()
            target, mask = observed(x.double())
            return torch.where(likelihood.term_mask(mask) > 0, terms(target, out, scale), torch.nan)

        return model.run(errors, self._scaled(rows), self._conditions(y, len(rows)))

    def score_samples(self, X: ArrayLike, y: Condition = None) -> np.ndarray:
        """Per-sample score, higher = more normal: minus the mean reconstruction error.

        The error is the mean squared error over features in X's own units
        (``loss="mse"``) or the mean binary cross-entropy (``loss="bce"``).
        For a mixed-type table it is the training loss's balanced mean over
        columns (standardised squared errors, cross-entropies over log K; see
        :mod:`skae.likelihoods`).  A row with missing entries is scored on its
        observed ones: the mean over fewer terms, on the same scale as a
        complete row's.
        """
        errors = self._errors(X, y, "score")
        return -(np.nanmean(errors, axis=1) if np.isnan(errors).any() else errors.mean(axis=1))

    def feature_errors(self, X: ArrayLike, y: Condition = None) -> np.ndarray:
        """Per-sample, per-feature reconstruction errors in X's units, shape (n, n_features).

        For a mixed-type table, one column per original column: squared error
        for numeric columns, cross-entropy (nats) for categorical and boolean ones.
        """
        return self._errors(X, y, "feature")

    def score(self, X: ArrayLike, y: Condition = None) -> float:
        """Mean of :meth:`score_samples` (higher is better), so GridSearchCV tunes without labels."""
        return float(np.mean(self.score_samples(X, y)))

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """Names of the latent features: ``latent0``, ``latent1``, ..."""
        return np.asarray([f"latent{i}" for i in range(self._fitted().spec.latent_dim)], dtype=object)


def _check_codes_are_numbers(Z) -> None:
    """Refuse datetime and timedelta codes, naming the column.

    ``check_array`` turns a timedelta64 array into float nanoseconds without a
    word, and a DataFrame with such a column into numpy's DTypePromotionError,
    which says nothing of what went wrong: neither is a latent code.
    """
    dtypes = Z.dtypes.items() if isinstance(Z, pd.DataFrame) else [(None, getattr(Z, "dtype", None))]
    for name, dtype in dtypes:
        if getattr(dtype, "kind", None) in ("m", "M"):
            where = "Z" if name is None else f"Z's column {name!r}"
            raise TypeError(f"{where} has dtype {dtype}, but inverse_transform takes latent codes: numbers, as "
                            "transform returns them.")
