"""Variational autoencoders: VAE, β-VAE, likelihood scoring (ELBO and importance-weighted bound)."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ..model._elbo import elbo_terms, iwae, kl_term, posterior_params, row_noise
from ..model.likelihoods import LIKELIHOODS, likelihood_names
from ..training._objectives import VAEObjective, observed
from ..training._params import DEFAULTS as D
from ..training._params import store_init_params
from ._base import BaseAutoEncoder
from ._docs import with_shared_parameters
from ._typing import ArrayLike, Condition, RandomState

__all__ = ["VAE", "BetaVAE"]


class VAE(BaseAutoEncoder):
    """Variational autoencoder (and β-VAE) as a scikit-learn transformer.

    Encoder q(z|x) = N(μ(x), diag σ²(x)) outputs μ and log σ²; prior N(0, I);
    decoder p(x|z) Gaussian N(μ(z), σ0² I) or Bernoulli; trained on the
    negative ELBO −E_q[log p(x|z)] + β KL(q(z|x) ‖ p(z)) with the closed-form
    KL and ``n_mc_samples`` reparametrised draws z = μ + σ ⊙ ε.

    Parameters
    ----------
    %(vae_parameters)s
    %(shared_parameters)s

    Attributes
    ----------
    model_, net_, history_, module_, n_features_in_, feature_names_in_,
    scaling_mean_, scaling_scale_, model_spec_, device_
        As in :class:`skae.AutoEncoder`.
    sigma0_ : float
        The decoder scale σ0 after training (learned or fixed), in scaled units.

    See Also
    --------
    skae.AutoEncoder, skae.ConditionalVAE

    References
    ----------
    Kingma & Welling, "Auto-Encoding Variational Bayes", 2013.
    Burda, Grosse & Salakhutdinov, "Importance Weighted Autoencoders", 2015.
    Higgins et al., "β-VAE", 2017.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VAE
    >>> X, _ = load_digits(return_X_y=True)
    >>> vae = VAE(latent_dim=4, max_epochs=2, random_state=0).fit(X)
    >>> vae.sample(5, random_state=0).shape
    (5, 64)
    >>> vae.score_samples(X[:2]).shape
    (2,)
    """

    _encoder_outputs_per_latent = 2
    # generated tables follow each column's shape when numbers enter the model Gaussian
    # (benchmarks/results_synthetic.md)
    _auto_table_scaling = "quantile"

    _parameter_constraints = {
        **BaseAutoEncoder._parameter_constraints,
        "likelihood": [StrOptions(likelihood_names("likelihood"))],
        "sigma0": [Interval(numbers.Real, 0, None, closed="neither")],
        "learn_sigma0": ["boolean", StrOptions({"per_feature"})],
        "beta": [Interval(numbers.Real, 0, None, closed="left")],
        "n_mc_samples": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        latent_dim=D.latent_dim,
        hidden_dims=D.hidden_dims,
        activation=D.activation,
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

    # -- override points ----------------------------------------------------------

    def _likelihood_name(self):
        return self.likelihood

    def _make_objective(self, likelihood, regularizers, corruption):
        return VAEObjective(likelihood, regularizers, corruption, beta=self.beta, n_mc_samples=self.n_mc_samples,
                            latent_dim=int(self.latent_dim))

    def _module_options(self, spec):
        if not LIKELIHOODS[spec.likelihood].make.learned_scale:
            return {}
        return {"log_sigma0": math.log(self.sigma0), "learn_sigma0": self.learn_sigma0, "n_features": spec.n_features}

    def _sigma(self):
        return self.sigma0_

    def _posterior_draw(self, X, y, rng):
        return self.encode(X, y, kind="sample", random_state=rng)

    # -- public API -----------------------------------------------------------

    @property
    def sigma0_(self) -> float | np.ndarray:
        """The decoder scale σ0 after training (learned or fixed), in scaled units; one per feature
        with ``learn_sigma0="per_feature"``, NaN for a Bernoulli likelihood.
        """
        log_scale = self._fitted().module.log_scale()  # type: ignore[operator]
        if log_scale is None:
            return float("nan")
        sigma = torch.exp(log_scale.detach()).cpu().numpy().astype(np.float64)
        return float(sigma) if sigma.ndim == 0 else sigma

    def encode(self, X: ArrayLike, y: Condition = None, kind: str = "mean",
               random_state: RandomState = None) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Encode X with the approximate posterior q(z|x).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : condition (conditional models) or None
        kind : {"mean", "sample", "mean_std"}, default="mean"
            The posterior mean (what ``transform`` returns), one draw
            z = μ + σ ⊙ ε, or the pair (μ, σ).
        random_state : int, RandomState or None
            Seeds the draw for ``kind="sample"``.
        """
        if kind not in ("mean", "sample", "mean_std"):
            raise ValueError(f"kind must be 'mean', 'sample' or 'mean_std'; got {kind!r}.")
        rows = self._rows(X)

        model = self.model_

        def encode(module, x, c):
            mean, log_var = posterior_params(module, model.encoder_input(module, x, c), c)
            return mean, torch.exp(0.5 * log_var)

        mean, std = model.run(encode, self._scaled(rows), self._conditions(y, len(rows)))
        if kind == "mean":
            return mean
        if kind == "mean_std":
            return mean, std
        eps = check_random_state(random_state).standard_normal(mean.shape).astype(mean.dtype)
        return mean + std * eps

    def score_samples(self, X: ArrayLike, y: Condition = None, method: str = "elbo",
                      n_samples: int | None = None) -> np.ndarray:
        """Per-sample log-likelihood bound in nats, in X's own units (higher = more normal).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : condition (conditional models) or None
        method : {"elbo", "iwae", "reconstruction"}, default="elbo"
            "elbo": E_q[log p(x|z)] − KL(q ‖ p).  "iwae": the importance-weighted
            bound log 1/K Σ_k p(x, z_k)/q(z_k|x) ≥ ... (tighter as K grows;
            compare this with published NLLs).  "reconstruction": minus the
            mean reconstruction error at the posterior mean, as AutoEncoder.
        n_samples : int or None
            K; default 10 for "elbo" and 100 for "iwae".  The draws ε_k are a
            deterministic function of each row and the fitted seed, so a row's
            score does not depend on the other rows and repeated calls agree.
        """
        if method == "reconstruction":
            return super().score_samples(X, y)
        if method not in ("elbo", "iwae"):
            raise ValueError(f"method must be 'elbo', 'iwae' or 'reconstruction'; got {method!r}.")
        k = (10 if method == "elbo" else 100) if n_samples is None else n_samples
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"n_samples must be a positive int; got {n_samples!r}.")
        rows = self._rows(X)
        model = self.model_
        likelihood, seed, latent_dim = model.likelihood, model.seed, model.spec.latent_dim

        def score(module, x, c):
            eps = row_noise(x, seed, k, latent_dim)
            # the likelihood in float64: the squared error of a value near float32's limit overflows float32
            target, mask = observed(x.double())
            x_in = model.encoder_input(module, x, c)
            if method == "iwae":
                return iwae(module, likelihood, target, c, eps, mask, x_in=x_in)
            mean, log_var, _, log_px = elbo_terms(module, likelihood, target, c, eps, mask, x_in=x_in)
            return log_px.mean(0) - kl_term(module, mean, log_var, c)

        scores = model.run(score, self._scaled(rows), self._conditions(y, len(rows)), chunk=max(1, 2**16 // k))
        if not likelihood.unit_interval:
            # change of variables from the scaled data back to X's units
            scores = scores - np.log(model.scaler.scale).sum()
        return scores


def BetaVAE(*, beta: float = 4.0, **params) -> VAE:
    """A β-VAE: :class:`VAE` with ``beta`` (default 4) weighting the KL term.

    Returns a ``VAE``; there is no separate class, so ``clone`` and
    ``GridSearchCV`` see an ordinary VAE with ``beta`` set.
    """
    return VAE(beta=beta, **params)


VAE.__doc__ = with_shared_parameters(VAE.__doc__)
