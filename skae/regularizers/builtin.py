"""Built-in regularizers, registered through the same hook as third-party ones."""

from __future__ import annotations

import numbers

import torch
from torch.func import jacrev, vmap

from ..hookspecs import hookimpl
from . import PenaltyContext, Regularizer

__all__ = [
    "Contractive",
    "KLSparsity",
    "L1Activity",
    "L1Weights",
    "L2Weights",
    "LpActivity",
    "TopK",
]


def _weights(module, include_bias: bool):
    for part in (module.encoder, module.decoder):
        for name, param in part.named_parameters():
            if include_bias or not name.endswith("bias"):
                yield param


class L1Weights(Regularizer):
    """Ω = Σ|W| over encoder and decoder weights (an L1 weight penalty).

    Parameters
    ----------
    weight : float, default=1e-5
    include_bias : bool, default=False
        Penalise biases too.
    """

    def __init__(self, weight: float = 1e-5, include_bias: bool = False):
        super().__init__(weight)
        self.include_bias = include_bias

    def penalty(self, ctx: PenaltyContext) -> torch.Tensor:
        return sum(p.abs().sum() for p in _weights(ctx.module, self.include_bias))


class L2Weights(Regularizer):
    """Ω = ½(‖W_e‖² + ‖W_d‖²) over encoder and decoder weights (weight decay).

    Parameters
    ----------
    weight : float, default=1e-4
    include_bias : bool, default=False
        Penalise biases too.
    """

    def __init__(self, weight: float = 1e-4, include_bias: bool = False):
        super().__init__(weight)
        self.include_bias = include_bias

    def penalty(self, ctx: PenaltyContext) -> torch.Tensor:
        return 0.5 * sum(p.square().sum() for p in _weights(ctx.module, self.include_bias))


class LpActivity(Regularizer):
    """1/N Σ_n ‖E(x_n)‖_p^p on the codes: the activity penalty of a sparse autoencoder.

    Parameters
    ----------
    weight : float, default=1e-3
    p : float, default=1
    """

    def __init__(self, weight: float = 1e-3, p: float = 1.0):
        super().__init__(weight)
        self.p = p

    def check(self, spec):
        super().check(spec)
        if not self.p > 0:
            raise ValueError(f"p must be > 0; got {self.p!r}.")

    def penalty(self, ctx: PenaltyContext) -> torch.Tensor:
        return ctx.codes.abs().pow(self.p).sum(-1).mean()


class L1Activity(LpActivity):
    """``lp_activity`` with p = 1."""

    def __init__(self, weight: float = 1e-3):
        super().__init__(weight, p=1.0)


class KLSparsity(Regularizer):
    """Σ_j KL(ρ ‖ ρ̂_j), ρ̂_j the batch mean of code unit j (Ng, "Sparse autoencoder", CS294A notes, 2011).

    s(ρ, ρ̂) = ρ log ρ/ρ̂ + (1 − ρ) log (1 − ρ)/(1 − ρ̂).  Codes must lie in
    (0, 1): the estimator must use ``latent_activation="sigmoid"``, checked at fit.

    Parameters
    ----------
    weight : float, default=1e-2
    rho : float, default=0.05
        Target mean activation, in (0, 1).
    """

    _eps = 1e-6

    def __init__(self, weight: float = 1e-2, rho: float = 0.05):
        super().__init__(weight)
        self.rho = rho

    def check(self, spec):
        super().check(spec)
        if not 0 < self.rho < 1:
            raise ValueError(f"rho must be in (0, 1); got {self.rho!r}.")
        if spec.latent_activation != "sigmoid":
            raise ValueError(
                "needs codes in (0, 1): set latent_activation='sigmoid' "
                f"(got latent_activation={spec.latent_activation!r})."
            )

    def penalty(self, ctx: PenaltyContext) -> torch.Tensor:
        rho_hat = ctx.codes.mean(0).clamp(self._eps, 1 - self._eps)
        rho = self.rho
        kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
        return kl.sum()


class TopK(Regularizer):
    """k-sparse codes: keep the k largest |z_i| per sample, zero the rest (Makhzani & Frey, "k-Sparse Autoencoders", 2013).

    Parameters
    ----------
    k : int, default=1
    at_inference : bool, default=True
        Also sparsify codes returned by ``transform`` (switch off the L − k
        smallest codes at inference too).
    """

    def __init__(self, k: int = 1, at_inference: bool = True):
        super().__init__(weight=0.0)
        self.k = k
        self.at_inference = at_inference

    def check(self, spec):
        if isinstance(self.k, bool) or not isinstance(self.k, numbers.Integral) or not 1 <= self.k <= spec.latent_dim:
            raise ValueError(f"k must be an int in [1, latent_dim={spec.latent_dim}]; got k={self.k!r}.")
        self.k = int(self.k)

    def penalty(self, ctx):
        return None

    def transform_codes(self, codes, training):
        if not (training or self.at_inference) or self.k >= codes.shape[-1]:
            return codes
        idx = codes.abs().topk(self.k, dim=-1).indices
        mask = torch.zeros_like(codes).scatter_(-1, idx, 1.0)
        return codes * mask


class Contractive(Regularizer):
    """α/N Σ_n ‖∂E/∂x (x_n)‖_F², the encoder Jacobian's Frobenius norm (Rifai et al., ICML 2011).

    Computed exactly with ``torch.func.vmap(jacrev(E))``: one vectorised
    reverse-mode pass per latent unit, batched, so the cost is about
    ``latent_dim`` backward passes of the encoder per batch plus an
    ``(n, latent_dim, n_features)`` Jacobian in memory; it is used only in
    training.

    Parameters
    ----------
    weight : float, default=1e-3
    """

    def penalty(self, ctx: PenaltyContext) -> torch.Tensor:
        def encode_one(x, c):
            return ctx.encode(x.unsqueeze(0), None if c is None else c.unsqueeze(0)).squeeze(0)

        c_dim = None if ctx.conditions is None else 0
        jac = vmap(jacrev(encode_one), in_dims=(0, c_dim))(ctx.inputs, ctx.conditions)
        return jac.square().sum(dim=(1, 2)).mean()


@hookimpl
def skae_register_regularizers(register):
    register("l1", L1Weights)
    register("l2", L2Weights)
    register("l1_activity", L1Activity)
    register("lp_activity", LpActivity)
    register("kl_sparsity", KLSparsity)
    register("topk", TopK)
    register("contractive", Contractive)
