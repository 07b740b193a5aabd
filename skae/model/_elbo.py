"""The evidence lower bound and its importance-weighted version, shared by training and scoring.

A VAE's encoder outputs the mean and log-variance of q(z | x[, c]); samples are
reparametrised as z = μ + σ ⊙ ε (Kingma & Welling, 2013), the KL term to the
prior is taken in closed form, and the importance-weighted bound of Burda,
Grosse & Salakhutdinov (2015) averages p(x, z_k) / q(z_k | x) over K samples.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .likelihoods import Likelihood
from .losses import kl_normal, kl_standard_normal, normal_log_density

__all__ = ["elbo_terms", "iwae", "kl_term", "posterior_params", "prior_params", "row_noise"]


#: bounds of the posterior log-variance: an extreme input (heavy-tailed data at 100 σ) must not overflow exp
LOG_VAR_BOUNDS = (-30.0, 20.0)


def posterior_params(module, x, c):
    """(mean, log-variance) of q(z | x[, c]); the log-variance is kept within ``LOG_VAR_BOUNDS``."""
    mean, log_var = module.encode(x, c).chunk(2, dim=-1)
    return mean, log_var.clamp(*LOG_VAR_BOUNDS)


def prior_params(module, c, like: torch.Tensor):
    """(mean, log-variance) of p(z[| c]): N(0, I), or the learned conditional prior."""
    if module.prior is not None and c is not None:
        return module.prior(c, c).chunk(2, dim=-1)
    zeros = torch.zeros_like(like)
    return zeros, zeros


def elbo_terms(module, likelihood: Likelihood, x, c, eps, mask=None, x_in=None, transform=None,
               in_range: bool = False):
    """The pieces of the ELBO with K reparametrised samples.

    ``eps`` has shape (K, n, L) or (K, 1, L) (the same draws for every row).
    ``mask`` (1 = observed) restricts log p(x | z) to the observed entries.
    Training passes the corrupted input as ``x_in`` (encoded instead of ``x``;
    the likelihood stays on the clean ``x``), the regularizers' code rewrite as
    ``transform``, and ``in_range=True`` (its data are checked to suit the likelihood).

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
    log_px = likelihood.log_likelihood(x.expand(k, *x.shape), out, None if mask is None else mask.expand(k, *mask.shape),
                                       log_scale=module.log_scale(), in_range=in_range)
    return mean, log_var, z, log_px


def kl_term(module, mean, log_var, c):
    """KL(q(z|x[, c]) ‖ p(z[| c])) in closed form."""
    if module.prior is not None and c is not None:
        prior_mean, prior_log_var = prior_params(module, c, mean)
        return kl_normal(mean, log_var, prior_mean, prior_log_var)
    return kl_standard_normal(mean, log_var)


def iwae(module, likelihood: Likelihood, x, c, eps, mask=None, x_in=None):
    """log 1/K Σ_k p(x, z_k) / q(z_k | x) per sample, with z_k drawn from ``eps`` (K, n, L)."""
    mean, log_var, z, log_px = elbo_terms(module, likelihood, x, c, eps, mask, x_in=x_in)
    prior_mean, prior_log_var = prior_params(module, c, mean)
    log_w = log_px + normal_log_density(z, prior_mean, prior_log_var) - normal_log_density(z, mean, log_var)
    return torch.logsumexp(log_w, dim=0) - math.log(eps.shape[0])


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def row_noise(x: torch.Tensor, seed: int, k: int, latent_dim: int) -> torch.Tensor:
    """Standard normal draws of shape (k, n, latent_dim), a deterministic function
    of each row's values and ``seed``.

    Scores then do not depend on which other rows share the batch (scikit-learn's
    subset-invariance contract) while rows still get independent draws: a
    splitmix64 counter hash keyed by the row, then Box–Muller.
    """
    rows = np.ascontiguousarray(x.detach().double().cpu().numpy())
    multipliers = np.asarray(np.random.RandomState(seed).randint(1, 2**62, size=rows.shape[1])).astype(np.uint64) * 2 + 1
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
