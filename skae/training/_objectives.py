"""Objectives: the loss of one batch, skorch's ``criterion_``.

An :class:`Objective` computes the variant's data term (reconstruction error, or
the negative ELBO) through the model's :class:`~skae.likelihoods.Likelihood`,
adds the weighted penalties of the regularizer plugins, and applies the
corruption plugin to the input in training.  The clean input stays the target,
so a denoising autoencoder learns to undo the corruption.

A model that trains on rows with missing entries (NaN in the batch) has
``missing=True``: the likelihood then counts the observed entries only, and the
encoder sees the filled values and the mask (:meth:`AutoEncoderModule.encode`).
Complete data take the path without any mask arithmetic.
"""

from __future__ import annotations

import torch
from torch import nn

from ..model._elbo import elbo_terms, kl_term, posterior_params
from ..model.likelihoods import Likelihood
from ..plugins.regularizers import PenaltyContext, rewrite_codes

__all__ = ["Objective", "ReconstructionObjective", "VAEObjective", "observed"]


def observed(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x with missing entries set to 0, mask)``: 0 is the column mean in scaled units, 1 marks observed."""
    mask = ~torch.isnan(x)
    return torch.where(mask, x, torch.zeros((), dtype=x.dtype, device=x.device)), mask.to(x.dtype)


class Objective(nn.Module):
    """The loss of one batch: a variant's data term, penalties, corruption.

    Batches are training or validation data, whose range ``fit`` and
    ``partial_fit`` check against the likelihood, so the data terms skip the
    out-of-range extension scoring uses (:func:`skae.losses.bce_error`).

    Subclasses implement :meth:`data_term`, returning the batch-mean data loss
    and the codes that penalties look at.

    Parameters
    ----------
    likelihood : Likelihood
    regularizers : list of Regularizer
    corruption : Corruption or None
    """

    def __init__(self, likelihood: Likelihood, regularizers=(), corruption=None):
        super().__init__()
        self.likelihood = likelihood
        self.regularizers = list(regularizers)
        self.corruption = corruption
        #: batches may hold NaN for missing entries (set at fit when the training rows have any)
        self.missing = False

    def encode_codes(self, module, x, c):
        """Codes as penalties see them (the posterior mean for VAEs)."""
        return module.encode(x, c)

    def transform_codes(self, codes, training):
        """The codes after the regularizers' rewrites (top-k), as the decoder and ``transform`` see them."""
        return rewrite_codes(self.regularizers, codes, training)

    def data_term(self, module, x_in, x, c, mask, training):
        """The batch-mean data loss and the codes penalties look at."""
        raise NotImplementedError

    def forward(self, module, batch, training: bool) -> torch.Tensor:
        x, c = batch
        mask = None
        if self.missing:
            x, mask = observed(x)
        x_in = self.corruption(x) if (training and self.corruption is not None) else x
        if mask is not None and module.missing_input:
            # the encoder is told what is missing: missing entries go in as NaN, which it fills and flags
            x_in = torch.where(mask.bool(), x_in, torch.full((), float("nan"), dtype=x.dtype, device=x.device))
        loss, codes = self.data_term(module, x_in, x, c, mask, training)
        if training:
            ctx = None
            for reg in self.regularizers:
                if not reg.weight:
                    continue
                if ctx is None:
                    ctx = PenaltyContext(module, x_in, codes, lambda xx, cc: self.encode_codes(module, xx, cc), c)
                penalty = reg.penalty(ctx)
                if penalty is not None:
                    loss = loss + reg.weight * penalty
        return loss


class ReconstructionObjective(Objective):
    """Mean (balanced) reconstruction error per row, averaged over the batch."""

    def data_term(self, module, x_in, x, c, mask, training):
        codes = module.encode(x_in, c)
        out = module.decode(self.transform_codes(codes, training), c)
        return self.likelihood.loss(x, out, mask, in_range=True).mean(), codes


class VAEObjective(Objective):
    """Negative ELBO per sample, averaged: −E_q[log p(x|z)] + β KL(q ‖ p)."""

    def __init__(self, likelihood, regularizers=(), corruption=None, *, beta: float, n_mc_samples: int,
                 latent_dim: int):
        super().__init__(likelihood, regularizers, corruption)
        self.beta, self.n_mc_samples, self.latent_dim = beta, n_mc_samples, latent_dim

    def encode_codes(self, module, x, c):
        return posterior_params(module, x, c)[0]

    def data_term(self, module, x_in, x, c, mask, training):
        eps = torch.randn(self.n_mc_samples, x.shape[0], self.latent_dim, device=x.device, dtype=x.dtype)
        mean, log_var, _, log_px = elbo_terms(
            module, self.likelihood, x, c, eps, mask, x_in=x_in,
            transform=lambda z: self.transform_codes(z, training), in_range=True,
        )
        kl = kl_term(module, mean, log_var, c)
        return self.beta * kl.mean() - log_px.mean(), mean
