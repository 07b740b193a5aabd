"""Conditional VAE with conditioning plugins and an optional learned conditional prior."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from . import plugins
from ._conditions import ConditionEncoder
from ._docs import with_shared_parameters
from ._elbo import prior_params
from ._params import DEFAULTS as D
from ._params import store_init_params
from ._typing import ArrayLike, Condition
from .data import validate_rows
from .modules import ConditionedMLP
from .sampling import ConditionalCodeMixture, ConditionalGaussian
from .vae import VAE

__all__ = ["ConditionalVAE"]


class ConditionalVAE(VAE):
    """Conditional VAE: q(z|x, y), p(x|z, y) and optionally a learned prior p(z|y).

    Loss (Sohn, Lee & Yan, "Learning Structured Output Representation using
    Deep Conditional Generative Models", NeurIPS 2015):
    −E_q[log p(x|z, y)] + β KL(q(z|x, y) ‖ p(z|y)), with p(z|y) = N(0, I)
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
        condition enters: encoder, decoder and conditional prior.  With
        ``architecture="conv"`` the condition is also concatenated to the image
        as constant planes (``architecture__condition_planes=False`` turns that off).
    conditional_prior : bool, default=False
        Learn p(z|y) = N(μ(y), σ²(y) I) instead of N(0, I).
    %(vae_parameters)s
    %(shared_parameters)s

    Attributes
    ----------
    condition_encoder_ : skae._conditions.ConditionEncoder
        Encodes conditions to the network's input (one-hot categories,
        standardised values); its ``transformer`` is a ColumnTransformer.
    condition_columns_ : list of str
        The condition's column names at fit.
    n_condition_features_ : int
        Width of the encoded condition.
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
        latent_dim=D.latent_dim,
        hidden_dims=D.hidden_dims,
        activation=D.activation,
        conditioning="concat",
        conditional_prior=False,
        likelihood="gaussian",
        sigma0=1.0,
        learn_sigma0="per_feature",
        beta=1.0,
        n_mc_samples=1,
        scaling=D.scaling,
        handle_unknown=D.handle_unknown,
        architecture=D.architecture,
        regularizers=D.regularizers,
        corruption=D.corruption,
        max_epochs=D.max_epochs,
        batch_size=D.batch_size,
        lr=D.lr,
        optimizer=D.optimizer,
        early_stopping=D.early_stopping,
        validation_fraction=D.validation_fraction,
        refit=D.refit,
        patience=D.patience,
        tol=D.tol,
        device=D.device,
        random_state=D.random_state,
        verbose=D.verbose,
        callbacks=D.callbacks,
        warm_start=D.warm_start,
        compile=D.compile,
        accelerator=D.accelerator,
        **kwargs,
    ):
        store_init_params(self, locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    # -- conditions ---------------------------------------------------------------

    def _fit_conditions(self, y, n_samples):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None: y is "
                "the condition (labels, values, or a DataFrame of condition columns), fit(X, y)."
            )
        encoder = ConditionEncoder()
        C = encoder.fit(y, n_samples)
        self._set_condition_encoder(encoder)
        return C

    def _set_condition_encoder(self, encoder: ConditionEncoder) -> None:
        self.condition_encoder_ = encoder
        self.condition_columns_ = list(encoder.columns)
        self.classes_ = encoder.classes
        self.n_condition_features_ = encoder.n_features_out

    def _rows(self, X):
        # X's NaN/inf are reported before a missing condition y (scikit-learn checks that order)
        check_is_fitted(self, "net_")
        return validate_rows(self, X, reset=False, image_shape=self.image_shape_)

    def _conditions(self, y, n_samples):
        check_is_fitted(self, "condition_encoder_")
        if y is None:
            raise ValueError(
                f"{type(self).__name__} needs the condition y here too (e.g. transform(X, y), "
                "sample(n, y=label)); in a Pipeline route it with "
                "set_transform_request(condition=True)."
            )
        return self.condition_encoder_.transform(y, n_samples)

    def get_fitted_state(self):
        """The fitted model as plain values (see ``AutoEncoder.get_fitted_state``), plus the condition encoder."""
        return {**super().get_fitted_state(), "conditions": self.condition_encoder_.get_state()}

    def _restore_conditions(self, state):
        self._set_condition_encoder(ConditionEncoder.from_state(state["conditions"]))

    # -- module -------------------------------------------------------------------

    def _conditioner(self, spec):
        return plugins.build("conditioner", self.conditioning, self._routed("conditioning"), spec, "conditioning__")

    def _build_module(self, spec):
        module = super()._build_module(spec)
        if self.conditional_prior:
            cond = spec.cond_features
            module.prior = ConditionedMLP(
                cond, spec.hidden_dims[-1:], 2 * spec.latent_dim, spec.activation,
                cond_features=cond, conditioner=self._conditioner(spec),
            )
        return module

    def _latent_sampler(self, name):
        if name == "mixture":
            return ConditionalCodeMixture(self.training_codes_, self.training_conditions_, self._seed)
        if self.module_.prior is None:
            return super()._latent_sampler(name)

        def params(C):
            def prior(module, c):
                mean, log_var = prior_params(module, c, c[:, :1])
                return mean, torch.exp(0.5 * log_var)

            return self._run(prior, C, dtype=np.float64)

        return ConditionalGaussian(params, self.model_spec_.latent_dim)

    def transform(self, X: ArrayLike, y: Condition = None, condition: Condition = None) -> np.ndarray:
        """Encode X given its condition (``y``, or ``condition`` when routed in a Pipeline)."""
        return super().transform(X, y if y is not None else condition)


ConditionalVAE.__doc__ = with_shared_parameters(ConditionalVAE.__doc__)
