"""Objectives: the loss of one batch, skorch's ``criterion_``.

An :class:`Objective` computes the variant's data term (reconstruction error, or
the negative ELBO), adds the weighted penalties of the regularizer plugins, and
applies the corruption plugin to the input in training.  The clean input stays
the target, so a denoising autoencoder learns to undo the corruption.
"""

from __future__ import annotations

import torch
from torch import nn

from ._elbo import elbo_terms, kl_term, posterior_params
from .losses import reconstruction_error
from .regularizers import PenaltyContext

__all__ = ["Objective", "ReconstructionObjective", "VAEObjective"]


class Objective(nn.Module):
    """The loss of one batch: a variant's data term, penalties, corruption.

    Batches are training or validation data, whose range ``fit`` and
    ``partial_fit`` check against the likelihood, so the data terms skip the
    out-of-range extension scoring uses (:func:`skae.losses.bce_error`).

    Subclasses implement :meth:`data_term`, returning the batch-mean data loss
    and the codes that penalties look at.
    """

    def __init__(self, regularizers=(), corruption=None):
        super().__init__()
        self.regularizers = list(regularizers)
        self.corruption = corruption

    def encode_codes(self, module, x, c):
        """Codes as penalties see them (the posterior mean for VAEs)."""
        return module.encode(x, c)

    def transform_codes(self, codes, training):
        for reg in self.regularizers:
            codes = reg.transform_codes(codes, training)
        return codes

    def data_term(self, module, x_in, x, c, training):
        raise NotImplementedError

    def forward(self, module, batch, training: bool) -> torch.Tensor:
        x, c = batch
        x_in = self.corruption(x) if (training and self.corruption is not None) else x
        loss, codes = self.data_term(module, x_in, x, c, training)
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
    """Mean per-feature reconstruction error (``"mse"`` or ``"bce"``)."""

    def __init__(self, regularizers=(), corruption=None, *, loss: str = "mse"):
        super().__init__(regularizers, corruption)
        self.loss = loss

    def data_term(self, module, x_in, x, c, training):
        codes = module.encode(x_in, c)
        out = module.decode(self.transform_codes(codes, training), c)
        if getattr(module, "column_groups", None) is not None:  # a mixed-type table: one balanced term per column
            return module.column_groups.balanced_error(x, out).mean(), codes
        return reconstruction_error(x, out, self.loss, in_range=True).mean(), codes


class VAEObjective(Objective):
    """Negative ELBO per sample, averaged: −E_q[log p(x|z)] + β KL(q ‖ p)."""

    def __init__(self, regularizers=(), corruption=None, *, likelihood: str, beta: float, n_mc_samples: int,
                 latent_dim: int):
        super().__init__(regularizers, corruption)
        self.likelihood, self.beta = likelihood, beta
        self.n_mc_samples, self.latent_dim = n_mc_samples, latent_dim

    def encode_codes(self, module, x, c):
        return posterior_params(module, x, c)[0]

    def data_term(self, module, x_in, x, c, training):
        eps = torch.randn(self.n_mc_samples, x.shape[0], self.latent_dim, device=x.device, dtype=x.dtype)
        mean, log_var, _, log_px = elbo_terms(
            module, x, c, eps, self.likelihood, x_in=x_in, transform=lambda z: self.transform_codes(z, training),
            in_range=True,
        )
        kl = kl_term(module, mean, log_var, c)
        return self.beta * kl.mean() - log_px.mean(), mean


# ------------------------------------------------------------------ nets
