"""The conditioner contract.

A conditioner decides how an encoded condition ``c`` (one-hot columns for
categorical conditions, standardised columns for continuous ones) enters a
network.  Networks ask it once per position — ``"input"`` (before the first
layer) and ``"hidden"`` (after each hidden activation) — through
:meth:`Conditioner.make_layer`, which returns a :class:`ConditioningLayer` or
``None``.  The same conditioner serves the encoder q(z|x, y), the decoder
p(x|z, y) and the conditional prior p(z|y).
"""

from __future__ import annotations

from torch import nn

from ..spec import ModelSpec

__all__ = ["Conditioner", "ConditioningLayer"]


class ConditioningLayer(nn.Module):
    """``forward(h, c) -> h'``; ``out_features`` is the width of ``h'``."""

    out_features: int


class Conditioner:
    """Base class of conditioning methods; parameters come from ``conditioning__*``.

    ``__init__`` only stores parameters; :meth:`check` validates them at fit.
    """

    def check(self, spec: ModelSpec) -> None:
        """Raise ``ValueError`` for parameter values this conditioner cannot use."""

    def make_layer(self, features: int, cond_features: int, where: str) -> ConditioningLayer | None:
        """The layer that mixes a condition of ``cond_features`` into ``features`` units at ``where``, or None."""
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"
