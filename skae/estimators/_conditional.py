"""Conditional VAE with conditioning plugins and an optional learned conditional prior."""

from __future__ import annotations

import numpy as np

from .. import plugins
from ..model._conditions import ConditionEncoder
from ..model.modules import ConditionedMLP
from ..training._params import DEFAULTS as D
from ..training._params import store_init_params
from ._docs import with_shared_parameters
from ._typing import ArrayLike, Condition
from ._vae import VAE

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
    condition_encoder_ : skae.model._conditions.ConditionEncoder
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

    _conditional = True
    _finite_before_conditions = True

    # -- conditions ---------------------------------------------------------------

    def _fit_conditions(self, y, n_samples):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None: y is "
                "the condition (labels, values, or a DataFrame of condition columns), fit(X, y)."
            )
        encoder = ConditionEncoder()
        return encoder, encoder.fit(y, n_samples)

    @property
    def condition_encoder_(self) -> ConditionEncoder:
        """Encodes conditions to the network's input (one-hot categories, standardised values)."""
        encoder = self._fitted().conditions
        assert encoder is not None, "a fitted conditional model has a condition encoder"
        return encoder

    @property
    def condition_columns_(self) -> list[str]:
        """The condition's column names at fit."""
        return list(self.condition_encoder_.columns)

    @property
    def classes_(self) -> np.ndarray | None:
        """The labels of a single categorical condition, else None."""
        return self.condition_encoder_.classes

    @property
    def n_condition_features_(self) -> int:
        """Width of the encoded condition."""
        return int(self.condition_encoder_.n_features_out)

    # -- module -------------------------------------------------------------------

    def _conditioner(self, spec):
        return plugins.build("conditioner", self.conditioning, self._routed("conditioning"), spec, "conditioning__")

    def _extend_module(self, module, spec):
        if self.conditional_prior:
            cond = spec.cond_features
            module.prior = ConditionedMLP(
                cond, spec.hidden_dims[-1:], 2 * spec.latent_dim, spec.activation,
                cond_features=cond, conditioner=self._conditioner(spec),
            )
        return module

    def transform(self, X: ArrayLike, y: Condition = None, condition: Condition = None) -> np.ndarray:
        """Encode X given its condition (``y``, or ``condition`` when routed in a Pipeline)."""
        return super().transform(X, y if y is not None else condition)


ConditionalVAE.__doc__ = with_shared_parameters(ConditionalVAE.__doc__)
