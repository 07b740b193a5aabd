"""The regularizer contract, and the code rewrite training and inference share.

A regularizer is built by its registered factory with the estimator's
``regularizers__<name>__*`` parameters, checked once against a
:class:`~skae.spec.ModelSpec` (``check(spec)`` raises ``ValueError`` for values
it cannot work with), and during training adds ``weight * penalty(ctx)`` to the
loss.  It may also rewrite the codes (:meth:`Regularizer.transform_codes`, used
by top-k).  Instances must be picklable; parameters are plain attributes, set
in ``__init__``, which does nothing else.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn

from ..spec import ModelSpec

__all__ = ["PenaltyContext", "Regularizer", "rewrite_codes"]


@dataclass
class PenaltyContext:
    """What a penalty may look at, for one training batch.

    Attributes
    ----------
    module : nn.Module
        The autoencoder module (``module.encoder``, ``module.decoder``).
    inputs : Tensor, shape (n, n_features)
        What the encoder saw (after corruption, in scaled units).
    codes : Tensor, shape (n, latent_dim)
        The codes: the encoder output of an autoencoder, the posterior mean of a VAE.
    encode : callable
        ``encode(x, c) -> codes``; differentiable (the contractive penalty
        takes its Jacobian with respect to ``x``).
    conditions : Tensor or None
        The batch's encoded conditions (conditional models), else ``None``.
    """

    module: nn.Module
    inputs: torch.Tensor
    codes: torch.Tensor
    encode: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]
    conditions: torch.Tensor | None = None


class Regularizer:
    """Base class of regularizers; subclasses set defaults and implement :meth:`penalty`.

    Parameters
    ----------
    weight : float
        Multiplies the penalty in the loss.
    """

    def __init__(self, weight: float = 1e-3):
        self.weight = weight

    def check(self, spec: ModelSpec) -> None:
        """Raise ``ValueError`` if this regularizer cannot work with the model ``spec`` describes."""
        if isinstance(self.weight, bool) or not isinstance(self.weight, numbers.Real) or not self.weight >= 0:
            raise ValueError(f"weight must be a real number >= 0; got {self.weight!r}.")

    def penalty(self, ctx: PenaltyContext) -> torch.Tensor | None:
        """The unweighted penalty, a differentiable scalar (or ``None`` for none)."""
        raise NotImplementedError

    def transform_codes(self, codes: torch.Tensor, training: bool) -> torch.Tensor:
        """Rewrite codes before decoding; the identity by default."""
        return codes

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


def rewrite_codes(regularizers: Iterable[Regularizer], codes: torch.Tensor, training: bool) -> torch.Tensor:
    """``codes`` after each regularizer's :meth:`~Regularizer.transform_codes`, in order.

    Training and inference both rewrite the codes through it (top-k keeps the
    ``k`` largest), so ``transform`` returns what the decoder was trained on.
    """
    for reg in regularizers:
        codes = reg.transform_codes(codes, training)
    return codes
