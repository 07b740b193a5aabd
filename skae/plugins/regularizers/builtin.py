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

    Three ways to compute it:

    * ``"closed_form"`` — a one-layer encoder E(x) = σ(Wx + b) with an elementwise
      σ has ‖J‖_F² = Σ_j σ'(a_j)² ‖W_j‖², one forward pass (Rifai et al.'s setting);
    * ``"exact"`` — the full Jacobian with ``torch.func.vmap(jacrev(E))``: about
      ``latent_dim`` backward passes per batch (≈ 13× a plain autoencoder's epoch
      for a 64-256-128-32 encoder);
    * ``"projection"`` — an unbiased estimate: ‖J‖_F² = E_v ‖vᵀJ‖² for Rademacher
      v (Hutchinson's trace estimator applied to JJᵀ), one vector-Jacobian product
      per projection, as Hoffman, Roberts & Yaida ("Robust Learning with Jacobian
      Regularization", 2019) regularize Jacobians.  Its gradient is an unbiased
      estimate of the penalty's gradient, so training follows the same objective
      with a little more noise (benchmarks/results_fit.md measures both).

    Parameters
    ----------
    weight : float, default=1e-3
    method : {"auto", "closed_form", "exact", "projection"}, default="auto"
        "auto": the closed form where it applies, else the projection estimate.
    n_projections : int, default=1
        Random projections per batch for ``"projection"``.
    """

    def __init__(self, weight: float = 1e-3, method: str = "auto", n_projections: int = 1):
        super().__init__(weight)
        self.method = method
        self.n_projections = n_projections

    def check(self, spec):
        super().check(spec)
        if self.method not in ("auto", "closed_form", "exact", "projection"):
            raise ValueError(f"method must be 'auto', 'closed_form', 'exact' or 'projection'; got {self.method!r}.")
        if isinstance(self.n_projections, bool) or not isinstance(self.n_projections, numbers.Integral) \
                or self.n_projections < 1:
            raise ValueError(f"n_projections must be an int >= 1; got {self.n_projections!r}.")
        if self.method == "closed_form" and (spec.hidden_dims or spec.cond_features or spec.image_shape):
            raise ValueError(
                "the closed form needs a one-layer dense encoder (hidden_dims=(), no condition); "
                "use method='exact' or 'projection'."
            )

    def penalty(self, ctx: PenaltyContext) -> torch.Tensor:
        layer = _single_linear_encoder(ctx.module) if self.method in ("auto", "closed_form") else None
        if layer is not None:
            return _closed_form(ctx, layer)
        if self.method == "exact":
            return _exact(ctx)
        return _projection(ctx, int(self.n_projections))


def _single_linear_encoder(module):
    """The encoder's only layer when it is one dense layer without conditioning, else None."""
    net = getattr(getattr(module, "encoder", None), "net", None)
    if isinstance(net, torch.nn.Sequential) and len(net) == 1 and isinstance(net[0], torch.nn.Linear):
        return net[0]
    return None


def _closed_form(ctx: PenaltyContext, layer: torch.nn.Linear) -> torch.Tensor:
    latent = ctx.codes.shape[1]
    weight = layer.weight[:latent]  # a VAE's codes are the first half (the posterior mean)
    pre = torch.nn.functional.linear(ctx.inputs, weight, layer.bias[:latent])
    activation = getattr(ctx.module, "latent_activation", None)
    if activation is None:
        slope_sq = torch.ones_like(pre)
    else:  # σ'(a) of the elementwise activation, differentiable
        pre = pre.detach().requires_grad_(True) if not pre.requires_grad else pre
        slope_sq = torch.autograd.grad(activation(pre).sum(), pre, create_graph=True)[0].square()
    return (slope_sq * weight.square().sum(1)).sum(1).mean()


def _exact(ctx: PenaltyContext) -> torch.Tensor:
    def encode_one(x, c):
        return ctx.encode(x.unsqueeze(0), None if c is None else c.unsqueeze(0)).squeeze(0)

    c_dim = None if ctx.conditions is None else 0
    jac = vmap(jacrev(encode_one), in_dims=(0, c_dim))(ctx.inputs, ctx.conditions)
    return jac.square().sum(dim=(1, 2)).mean()


def _projection(ctx: PenaltyContext, n_projections: int) -> torch.Tensor:
    x = ctx.inputs.detach().requires_grad_(True)
    codes = ctx.encode(x, ctx.conditions)
    total = torch.zeros((), dtype=codes.dtype, device=codes.device)
    for _ in range(n_projections):
        v = torch.randint(0, 2, codes.shape, device=codes.device).to(codes.dtype) * 2 - 1  # Rademacher
        (vjp,) = torch.autograd.grad(codes, x, grad_outputs=v, create_graph=True)
        total = total + vjp.square().sum(1).mean()
    return total / n_projections


@hookimpl
def skae_register_regularizers(register):
    register("l1", L1Weights)
    register("l2", L2Weights)
    register("l1_activity", L1Activity)
    register("lp_activity", LpActivity)
    register("kl_sparsity", KLSparsity)
    register("topk", TopK)
    register("contractive", Contractive)
