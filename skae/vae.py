"""Variational autoencoders (seed 004 §9.2–9.3): VAE, β-VAE, likelihood scoring."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseAutoEncoder, Objective
from .losses import (
    bernoulli_log_likelihood,
    gaussian_log_likelihood,
    kl_normal,
    kl_standard_normal,
    normal_log_density,
)

__all__ = ["VAE", "BetaVAE", "VAEObjective", "elbo_terms", "prior_params", "row_noise"]


def posterior_params(module, x, c):
    """(mean, log-variance) of q(z | x[, c])."""
    return module.encode(x, c).chunk(2, dim=-1)


def prior_params(module, c, like: torch.Tensor):
    """(mean, log-variance) of p(z[| c]): N(0, I), or the learned conditional prior."""
    if getattr(module, "prior", None) is not None and c is not None:
        return module.prior(c, c).chunk(2, dim=-1)
    zeros = torch.zeros_like(like)
    return zeros, zeros


def log_likelihood(module, x, out, likelihood: str):
    """log p(x | z) per sample for decoder output ``out`` (mean or logits)."""
    if likelihood == "bernoulli":
        return bernoulli_log_likelihood(x, out)
    return gaussian_log_likelihood(x, out, module.log_sigma0)


def elbo_terms(module, x, c, eps, likelihood: str, x_in=None, transform=None):
    """The pieces of the ELBO with K reparametrised samples.

    z_k = μ(x) + σ(x) ⊙ ε_k (seed 004).  ``eps`` has shape (K, n, L) or
    (K, 1, L) (the same draws for every row).  Training passes the corrupted
    input as ``x_in`` (encoded instead of ``x``; the likelihood stays on the
    clean ``x``) and the regularizers' code rewrite as ``transform``.

    Returns
    -------
    mean, log_var : (n, L)   posterior parameters
    z : (K, n, L)            the samples
    log_px : (K, n)          log p(x | z_k)
    """
    mean, log_var = posterior_params(module, x if x_in is None else x_in, c)
    z = mean + torch.exp(0.5 * log_var) * eps
    k, n, latent = z.shape[0], x.shape[0], mean.shape[1]
    z = z.expand(k, n, latent)
    if transform is not None:
        z = transform(z)
    cc = None if c is None else c.repeat(k, 1)
    out = module.decode(z.reshape(k * n, latent), cc).reshape(k, n, -1)
    return mean, log_var, z, log_likelihood(module, x.expand(k, *x.shape), out, likelihood)


def kl_term(module, mean, log_var, c):
    """KL(q(z|x[, c]) ‖ p(z[| c])) in closed form."""
    if getattr(module, "prior", None) is not None and c is not None:
        prior_mean, prior_log_var = prior_params(module, c, mean)
        return kl_normal(mean, log_var, prior_mean, prior_log_var)
    return kl_standard_normal(mean, log_var)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def row_noise(x: torch.Tensor, seed: int, k: int, latent_dim: int) -> torch.Tensor:
    """Standard normal draws of shape (k, n, latent_dim), a deterministic function
    of each row's values and ``seed``.

    Scores then do not depend on which other rows share the batch (scikit-learn's
    subset-invariance contract) while rows still get independent draws: a
    splitmix64 counter hash keyed by the row, then Box–Muller.
    """
    rows = np.ascontiguousarray(x.detach().double().cpu().numpy())
    multipliers = np.random.RandomState(seed).randint(1, 2**62, size=rows.shape[1]).astype(np.uint64) * 2 + 1
    with np.errstate(over="ignore"):
        # integer arithmetic wraps exactly, so the key does not depend on batching
        key = (rows.view(np.uint64) * multipliers).sum(axis=1, dtype=np.uint64) ^ np.uint64(seed)
    counters = np.arange(1, 2 * k * latent_dim + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = key[:, None] + counters[None, :] * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = ((z >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
    u1, u2 = u[:, : k * latent_dim], u[:, k * latent_dim:]
    eps = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    eps = eps.reshape(len(rows), k, latent_dim).transpose(1, 0, 2)
    return torch.as_tensor(eps, dtype=x.dtype, device=x.device)


class VAEObjective(Objective):
    """Negative ELBO per sample, averaged: −E_q[log p(x|z)] + β KL(q ‖ p)."""

    def encode_codes(self, module, x, c):
        return posterior_params(module, x, c)[0]

    def data_term(self, module, x_in, x, c, training):
        k = self.options["n_mc_samples"]
        eps = torch.randn(k, x.shape[0], self.options["latent_dim"], device=x.device, dtype=x.dtype)
        mean, log_var, _, log_px = elbo_terms(
            module, x, c, eps, self.options["likelihood"], x_in=x_in,
            transform=lambda z: self.transform_codes(z, training),
        )
        kl = kl_term(module, mean, log_var, c)
        return (self.options["beta"] * kl - log_px.mean(0)).mean(), mean


class VAE(BaseAutoEncoder):
    """Variational autoencoder (and β-VAE) as a scikit-learn transformer.

    Encoder q(z|x) = N(μ(x), diag σ²(x)) outputs μ and log σ²; prior N(0, I);
    decoder p(x|z) Gaussian N(μ(z), σ0² I) or Bernoulli; trained on the
    negative ELBO −E_q[log p(x|z)] + β KL(q(z|x) ‖ p(z)) with the closed-form
    KL and ``n_mc_samples`` reparametrised draws z = μ + σ ⊙ ε.

    Parameters
    ----------
    latent_dim : int, default=2
    hidden_dims : sequence of int, default=(256, 128)
    activation : str, default="elu"
    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        "bernoulli" for data in [0, 1] (images): the decoder outputs logits.
    sigma0 : float, default=0.1
        Gaussian decoder scale σ0, in the model's scaled units (seed 004: 0.1
        balances reconstruction and prior matching).
    learn_sigma0 : bool, default=False
        Learn σ0 (one scalar) instead of fixing it.
    beta : float, default=1.0
        Weight of the KL term (β-VAE for β > 1).
    n_mc_samples : int, default=1
        Monte-Carlo samples K of the reconstruction term per training step.
    scaling, architecture, regularizers, corruption, max_epochs, batch_size, lr,
    optimizer, early_stopping, validation_fraction, patience, tol, device,
    random_state, verbose, callbacks, warm_start, compile, accelerator, **kwargs
        As in :class:`skae.AutoEncoder`.  ``scaling="auto"`` is "global" for a
        Gaussian likelihood and none for a Bernoulli one.

    Attributes
    ----------
    net_, history_, module_, n_features_in_, feature_names_in_,
    scaling_mean_, scaling_scale_
        As in :class:`skae.AutoEncoder`.

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

    _parameter_constraints = {
        **BaseAutoEncoder._parameter_constraints,
        "likelihood": [StrOptions({"gaussian", "bernoulli"})],
        "sigma0": [Interval(numbers.Real, 0, None, closed="neither")],
        "learn_sigma0": ["boolean"],
        "beta": [Interval(numbers.Real, 0, None, closed="left")],
        "n_mc_samples": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        latent_dim=2,
        hidden_dims=(256, 128),
        activation="elu",
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
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.activation = activation
        self.likelihood = likelihood
        self.sigma0 = sigma0
        self.learn_sigma0 = learn_sigma0
        self.beta = beta
        self.n_mc_samples = n_mc_samples
        self.scaling = scaling
        self.architecture = architecture
        self.regularizers = regularizers
        self.corruption = corruption
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.compile = compile
        self.accelerator = accelerator
        super().__init__(**kwargs)

    # -- override points ----------------------------------------------------------

    def _objective_class(self):
        return VAEObjective

    def _objective_options(self):
        return {
            "likelihood": self.likelihood,
            "beta": self.beta,
            "n_mc_samples": self.n_mc_samples,
            "latent_dim": self.latent_dim,
        }

    def _module_options(self):
        if self.likelihood == "bernoulli":
            return {}
        return {"log_sigma0": math.log(self.sigma0), "learn_sigma0": self.learn_sigma0}

    def _uses_bernoulli(self):
        return self.likelihood == "bernoulli"

    def _codes(self, module, x, c):
        return self.net_.criterion_.transform_codes(posterior_params(module, x, c)[0], training=False)

    def _after_fit(self, data):
        pass  # sampling uses the prior, not a density of training codes

    # -- public API -----------------------------------------------------------

    @property
    def sigma0_(self) -> float:
        """The decoder scale σ0 after training (learned or fixed), in scaled units."""
        check_is_fitted(self, "net_")
        log_sigma0 = self.net_.module_.log_sigma0
        return float("nan") if log_sigma0 is None else float(torch.exp(log_sigma0.detach()))

    def encode(self, X, y=None, kind: str = "mean", random_state=None):
        """Encode X with the approximate posterior q(z|x).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        kind : {"mean", "sample", "mean_std"}, default="mean"
            The posterior mean (what ``transform`` returns), one draw
            z = μ + σ ⊙ ε, or the pair (μ, σ).
        random_state : int, RandomState or None
            Seeds the draw for ``kind="sample"``.
        """
        if kind not in ("mean", "sample", "mean_std"):
            raise ValueError(f"kind must be 'mean', 'sample' or 'mean_std'; got {kind!r}.")
        X = self._check_X(X)
        c = self._conditions(y, len(X))

        def encode(module, x, cc):
            mean, log_var = posterior_params(module, x, cc)
            return mean, torch.exp(0.5 * log_var)

        mean, std = self._apply(encode, self._scale(X), c)
        if kind == "mean":
            return mean
        if kind == "mean_std":
            return mean, std
        eps = check_random_state(random_state).standard_normal(mean.shape).astype(mean.dtype)
        return mean + std * eps

    def _sample_latent(self, n_samples, rng, y=None):
        return rng.standard_normal((n_samples, self.latent_dim))

    def sample(self, n_samples: int = 1, random_state=None, draw: bool = False, y=None):
        """Ancestral sampling: z ~ p(z), then x from p(x|z).

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState or None
        draw : bool, default=False
            Return decoder means (False) or draws from p(x|z): Gaussian noise
            with scale σ0, or Bernoulli pixels.
        y : condition or None
            Conditional models: one condition for all samples, or one per sample.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features), float64
        """
        n_samples = self._check_n_samples(n_samples)
        rng = check_random_state(random_state)
        z = self._sample_latent(n_samples, rng, y)
        means = self.inverse_transform(z, y)
        if not draw:
            return means
        if self.likelihood == "bernoulli":
            return rng.binomial(1, np.clip(means, 0, 1)).astype(np.float64)
        noise = rng.standard_normal(means.shape) * self.sigma0_ * self.scaling_scale_
        return means + noise

    def score_samples(self, X, y=None, method: str = "elbo", n_samples: int | None = None):
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
            deterministic function of each row and the fitted seed (see
            :func:`row_noise`), so a row's score does not depend on the other
            rows and repeated calls agree.
        """
        if method == "reconstruction":
            return super().score_samples(X, y)
        if method not in ("elbo", "iwae"):
            raise ValueError(f"method must be 'elbo', 'iwae' or 'reconstruction'; got {method!r}.")
        k = n_samples or (10 if method == "elbo" else 100)
        if not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"n_samples must be a positive int; got {n_samples!r}.")
        X = self._check_X(X)
        c = self._conditions(y, len(X))
        likelihood, seed, latent_dim = self.likelihood, self._seed, self.latent_dim

        def score(module, x, cc):
            eps = row_noise(x, seed, k, latent_dim)
            mean, log_var, z, log_px = elbo_terms(module, x, cc, eps, likelihood)
            if method == "elbo":
                return log_px.mean(0) - kl_term(module, mean, log_var, cc)
            prior_mean, prior_log_var = prior_params(module, cc, mean)
            log_w = log_px + normal_log_density(z, prior_mean, prior_log_var) - normal_log_density(z, mean, log_var)
            return torch.logsumexp(log_w, dim=0) - math.log(k)

        scores = self._apply(score, self._scale(X), c, chunk=max(1, 2**16 // k))
        if likelihood == "gaussian":
            # change of variables from the scaled data back to X's units
            scores = scores - np.log(self.scaling_scale_).sum()
        return scores


def BetaVAE(*, beta: float = 4.0, **params) -> VAE:
    """A β-VAE: :class:`VAE` with ``beta`` (default 4) weighting the KL term.

    Returns a ``VAE``; there is no separate class, so ``clone`` and
    ``GridSearchCV`` see an ordinary VAE with ``beta`` set.
    """
    return VAE(beta=beta, **params)
