"""Conditional VAE (seed 000 §4, seed 004 §9.3.2) with conditioning plugins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from . import plugins
from ._base import _build
from .modules import ConditionedMLP
from .vae import VAE, prior_params

__all__ = ["ConditionalVAE"]


def _is_categorical(series: pd.Series) -> bool:
    return not pd.api.types.is_float_dtype(series.dtype)


class ConditionalVAE(VAE):
    """Conditional VAE: q(z|x, y), p(x|z, y) and optionally a learned prior p(z|y).

    Loss: −E_q[log p(x|z, y)] + β KL(q(z|x, y) ‖ p(z|y)), with p(z|y) = N(0, I)
    or, with ``conditional_prior=True``, N(μ(y), σ²(y) I) from a prior network.

    The condition ``y`` is what ``fit(X, y)`` receives, so ``Pipeline.fit`` and
    ``GridSearchCV`` pass it unchanged: categorical labels (ints, strings,
    bools: one-hot encoded), continuous values (floats: standardised), or a
    2-D array / DataFrame of several, mixed columns.  Every method that
    encodes or decodes takes the condition too: ``transform(X, y)``,
    ``inverse_transform(Z, y)``, ``score_samples(X, y)``, ``sample(n, y=...)``.
    Inside a Pipeline, ``transform`` receives it through scikit-learn's
    metadata routing under the name ``condition`` (``set_transform_request(condition=True)``).

    Parameters
    ----------
    conditioning : str, default="concat"
        Conditioning plugin: "concat", "embedding", "film", "cross_attention"
        or a third-party name; its parameters route as ``conditioning__<param>``
        (e.g. ``conditioning__embedding_dim=16``).  It is applied wherever the
        condition enters: encoder, decoder and conditional prior.
    conditional_prior : bool, default=False
        Learn p(z|y) = N(μ(y), σ²(y) I) instead of N(0, I).
    latent_dim, hidden_dims, activation, likelihood, sigma0, learn_sigma0, beta,
    n_mc_samples, scaling, architecture, regularizers, corruption, max_epochs,
    batch_size, lr, optimizer, early_stopping, validation_fraction, patience,
    tol, device, random_state, verbose, callbacks, warm_start, compile, accelerator, **kwargs
        As in :class:`skae.VAE`.  With ``architecture="conv"`` the condition is
        also concatenated to the image as constant planes (seed 004 §9.3.2;
        ``architecture__condition_planes=False`` turns that off).

    Attributes
    ----------
    condition_encoder_ : ColumnTransformer
        Encodes conditions to the network's input.
    classes_ : ndarray or None
        The labels of a single categorical condition.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import ConditionalVAE
    >>> X, y = load_digits(return_X_y=True)
    >>> cvae = ConditionalVAE(latent_dim=4, max_epochs=2, random_state=0).fit(X / 16, y)
    >>> cvae.sample(3, y=7, random_state=0).shape
    (3, 64)
    """

    _parameter_constraints = {
        **VAE._parameter_constraints,
        "conditioning": [str],
        "conditional_prior": ["boolean"],
    }

    def __init__(
        self,
        *,
        latent_dim=2,
        hidden_dims=(256, 128),
        activation="elu",
        conditioning="concat",
        conditional_prior=False,
        likelihood="gaussian",
        sigma0=0.1,
        learn_sigma0=False,
        beta=1.0,
        n_mc_samples=1,
        scaling="auto",
        architecture="dense",
        regularizers=None,
        corruption=None,
        max_epochs=200,
        batch_size=128,
        lr=1e-3,
        optimizer="adam",
        early_stopping=True,
        validation_fraction=0.1,
        patience=20,
        tol=1e-4,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
        compile=False,
        accelerator=None,
        **kwargs,
    ):
        self.conditioning = conditioning
        self.conditional_prior = conditional_prior
        super().__init__(
            latent_dim=latent_dim, hidden_dims=hidden_dims, activation=activation, likelihood=likelihood,
            sigma0=sigma0, learn_sigma0=learn_sigma0, beta=beta, n_mc_samples=n_mc_samples, scaling=scaling,
            architecture=architecture, regularizers=regularizers, corruption=corruption,
            max_epochs=max_epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
            early_stopping=early_stopping, validation_fraction=validation_fraction, patience=patience,
            tol=tol, device=device, random_state=random_state, verbose=verbose, callbacks=callbacks,
            warm_start=warm_start, compile=compile, accelerator=accelerator, **kwargs,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    # -- conditions ---------------------------------------------------------------

    @staticmethod
    def _condition_frame(y) -> pd.DataFrame:
        if isinstance(y, pd.DataFrame):
            frame = y.copy()
        elif isinstance(y, pd.Series):
            frame = y.to_frame(name=str(y.name) if y.name is not None else "y")
        else:
            arr = np.asarray(y)
            if arr.ndim == 0:
                arr = arr.reshape(1)
            if arr.ndim == 1:
                frame = pd.DataFrame({"y": arr})
            elif arr.ndim == 2:
                frame = pd.DataFrame(arr, columns=[f"y{i}" for i in range(arr.shape[1])])
            else:
                raise ValueError(f"The condition y must be 1-D or 2-D; got shape {arr.shape}.")
        frame.columns = [str(c) for c in frame.columns]
        return frame

    def _fit_conditions(self, y, n_samples):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None: y is "
                "the condition (labels, values, or a DataFrame of condition columns), fit(X, y)."
            )
        frame = self._condition_frame(y)
        if len(frame) != n_samples:
            raise ValueError(f"X has {n_samples} samples but the condition y has {len(frame)}.")
        categorical = [c for c in frame.columns if _is_categorical(frame[c])]
        continuous = [c for c in frame.columns if c not in categorical]
        for c in continuous:
            if not np.isfinite(frame[c].to_numpy(dtype=float)).all():
                raise ValueError(f"The condition column {c!r} contains NaN or infinity.")
        encoder = ColumnTransformer(
            [("categorical", OneHotEncoder(sparse_output=False, handle_unknown="error"), categorical),
             ("continuous", StandardScaler(), continuous)],
            sparse_threshold=0,
        )
        self.condition_encoder_ = encoder.fit(frame.astype({c: str for c in categorical}))
        self.condition_columns_ = list(frame.columns)
        self.classes_ = (
            encoder.named_transformers_["categorical"].categories_[0]
            if categorical == list(frame.columns) and len(categorical) == 1 else None
        )
        C = self._encode_frame(frame)
        self.n_condition_features_ = C.shape[1]
        return C

    def _encode_frame(self, frame: pd.DataFrame) -> np.ndarray:
        categorical = self.condition_encoder_.transformers_[0][2]
        try:
            return self.condition_encoder_.transform(frame.astype({c: str for c in categorical})).astype(np.float64)
        except ValueError as exc:
            if "unknown categories" in str(exc):
                cats = self.condition_encoder_.named_transformers_["categorical"].categories_
                known = {col: list(c) for col, c in zip(categorical, cats)}
                raise ValueError(
                    f"Unseen condition value: {exc}. Known values per condition column: {known}."
                ) from exc
            raise

    def _conditions(self, y, n_samples: int):
        check_is_fitted(self, "condition_encoder_")
        if y is None:
            raise ValueError(
                f"{type(self).__name__} needs the condition y here too (e.g. transform(X, y), "
                "sample(n, y=label)); in a Pipeline route it with "
                "set_transform_request(condition=True)."
            )
        frame = self._condition_frame(y)
        if list(frame.columns) != self.condition_columns_:
            if frame.shape[1] != len(self.condition_columns_):
                raise ValueError(
                    f"The condition has {frame.shape[1]} column(s); {len(self.condition_columns_)} "
                    f"were seen at fit ({self.condition_columns_})."
                )
            frame.columns = self.condition_columns_
        if len(frame) == 1 and n_samples != 1:
            frame = pd.concat([frame] * n_samples, ignore_index=True)
        if len(frame) != n_samples:
            raise ValueError(f"Got {len(frame)} conditions for {n_samples} samples; give one, or one per sample.")
        return self._encode_frame(frame)

    def _fitted_state(self):
        categorical, continuous = (list(t[2]) for t in self.condition_encoder_.transformers_[:2])
        cats = self.condition_encoder_.named_transformers_["categorical"]
        scaler = self.condition_encoder_.named_transformers_["continuous"]
        return {
            "columns": self.condition_columns_,
            "categories": {c: [str(v) for v in k] for c, k in zip(categorical, getattr(cats, "categories_", []))},
            "continuous": {
                c: [float(scaler.mean_[i]), float(scaler.scale_[i]), float(scaler.var_[i])]
                for i, c in enumerate(continuous)
            },
        }

    def _restore_fitted_state(self, state):
        # refit the encoder on a frame holding every category, then set the scaler's statistics
        n = max([len(v) for v in state["categories"].values()] + [1])
        frame = pd.DataFrame({
            c: (
                np.resize(np.asarray(state["categories"][c], dtype=object), n)
                if c in state["categories"] else np.zeros(n)
            )
            for c in state["columns"]
        })
        self._fit_conditions(frame, n)
        if state["continuous"]:
            scaler = self.condition_encoder_.named_transformers_["continuous"]
            stats = np.asarray([state["continuous"][c] for c in scaler.feature_names_in_])
            scaler.mean_, scaler.scale_, scaler.var_ = stats[:, 0], stats[:, 1], stats[:, 2]

    # -- module -------------------------------------------------------------------

    def _build_module(self, n_features, cond_features=0, conditioner=None):
        factory = plugins.get("conditioner", self.conditioning).factory
        conditioner = _build(factory, self._routed("conditioning"), f"conditioning {self.conditioning!r}",
                             "conditioning__")
        cond_features = self.n_condition_features_
        module = super()._build_module(n_features, cond_features, conditioner)
        if self.conditional_prior:
            hidden = tuple(int(h) for h in self.hidden_dims)[-1:]
            module.prior = ConditionedMLP(
                cond_features, hidden, 2 * self.latent_dim, self.activation,
                cond_features=cond_features, conditioner=conditioner,
            )
        return module

    def _sample_latent(self, n_samples, rng, y=None):
        eps = rng.standard_normal((n_samples, self.latent_dim))
        if not self.conditional_prior:
            return eps
        C = self._conditions(y, n_samples)

        def prior(module, c):
            mean, log_var = prior_params(module, c, c[:, :1])
            return mean, torch.exp(0.5 * log_var)

        mean, std = self._apply(prior, C, dtype=np.float64)
        return mean + std * eps

    def transform(self, X, y=None, condition=None):
        """Encode X given its condition (``y``, or ``condition`` when routed in a Pipeline)."""
        return super().transform(X, y if y is not None else condition)

