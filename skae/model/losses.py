"""Reconstruction likelihoods and KL terms, each written once.

All functions reduce over the feature (or latent) axis and return one value
per sample, so callers choose how to average over the batch.  Log-likelihoods
are in nats.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "bce_error",
    "bernoulli_log_likelihood",
    "gaussian_log_likelihood",
    "kl_normal",
    "kl_standard_normal",
    "normal_log_density",
]

_LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, log_sigma: torch.Tensor,
                            mask: torch.Tensor | None = None) -> torch.Tensor:
    """log N(x | mean, sigma^2 I) summed over features (the observed ones, where ``mask`` is 1); ``log_sigma`` broadcasts."""
    z = (x - mean) * torch.exp(-log_sigma)
    log_sigma = torch.broadcast_to(log_sigma, x.shape)
    if mask is None:
        return -0.5 * (z.square() + _LOG_2PI).sum(-1) - log_sigma.sum(-1)
    return -0.5 * ((z.square() + _LOG_2PI) * mask).sum(-1) - (log_sigma * mask).sum(-1)


def bce_error(x: torch.Tensor, logits: torch.Tensor, in_range: bool = False) -> torch.Tensor:
    """Binary cross-entropy per element, extended to targets outside [0, 1].

    The cross-entropy of a target above 1 (or below 0) falls without bound as the
    logit grows, so a row far outside the data's range would look *more* likely
    than real rows.  Targets are clipped to [0, 1] and their squared distance to
    the interval is added: inside [0, 1] this is the usual cross-entropy, outside
    it grows with the distance.  ``in_range=True`` skips the extension for data
    known to lie in [0, 1] (training data, checked at fit).
    """
    if in_range:
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    inside = x.clamp(0.0, 1.0)
    return F.binary_cross_entropy_with_logits(logits, inside, reduction="none") + (x - inside).square()


def bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor, in_range: bool = False,
                             mask: torch.Tensor | None = None) -> torch.Tensor:
    """log Bernoulli(x | sigmoid(logits)) summed over the (observed) features (see :func:`bce_error` outside [0, 1])."""
    errors = bce_error(x, logits, in_range)
    return -(errors if mask is None else errors * mask).sum(-1)


def normal_log_density(z: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log N(z | mean, diag(exp(log_var))) summed over the latent axis."""
    return -0.5 * ((z - mean).square() * torch.exp(-log_var) + log_var + _LOG_2PI).sum(-1)


def kl_standard_normal(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, diag exp(log_var)) || N(0, I)) in closed form.

    Equivalently ½(‖μ‖² + ‖σ‖²) − Σ log σ − L/2 for L latent units.
    """
    return 0.5 * (mean.square() + torch.exp(log_var) - 1.0 - log_var).sum(-1)


def kl_normal(
    mean_q: torch.Tensor, log_var_q: torch.Tensor, mean_p: torch.Tensor, log_var_p: torch.Tensor
) -> torch.Tensor:
    """KL(N(mean_q, diag var_q) || N(mean_p, diag var_p)) in closed form."""
    return 0.5 * (
        log_var_p
        - log_var_q
        + (torch.exp(log_var_q) + (mean_q - mean_p).square()) * torch.exp(-log_var_p)
        - 1.0
    ).sum(-1)
