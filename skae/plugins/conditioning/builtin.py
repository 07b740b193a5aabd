"""Built-in conditioning methods: concatenation, embedding, FiLM, cross-attention."""

from __future__ import annotations

import numbers

import torch
from torch import nn

from ..hookspecs import hookimpl
from . import Conditioner, ConditioningLayer

__all__ = ["Concat", "CrossAttention", "Embedding", "FiLM"]


def _positive_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= 1


class _ConcatLayer(ConditioningLayer):
    def __init__(self, features, cond_features, embed: nn.Module | None = None, embed_dim: int | None = None):
        super().__init__()
        self.embed = embed
        self.out_features = features + (embed_dim if embed is not None else cond_features)

    def forward(self, h, c):
        e = c if self.embed is None else self.embed(c)
        return torch.cat([h, e.to(h.dtype)], dim=-1)


class Concat(Conditioner):
    """Concatenate the condition to the input of each network: [h, c]."""

    def make_layer(self, features, cond_features, where):
        return _ConcatLayer(features, cond_features) if where == "input" else None


class Embedding(Conditioner):
    """Concatenate a learned embedding e = W c of the condition: [h, e].

    On one-hot conditions this is a lookup table (``nn.Embedding``); on
    continuous ones, a learned projection.

    Parameters
    ----------
    embedding_dim : int, default=8
    """

    def __init__(self, embedding_dim: int = 8):
        self.embedding_dim = embedding_dim

    def check(self, spec):
        if not _positive_int(self.embedding_dim):
            raise ValueError(f"embedding_dim must be an int >= 1; got {self.embedding_dim!r}.")

    def make_layer(self, features, cond_features, where):
        if where != "input":
            return None
        embed = nn.Linear(cond_features, self.embedding_dim, bias=False)
        return _ConcatLayer(features, cond_features, embed=embed, embed_dim=self.embedding_dim)


class _FiLMLayer(ConditioningLayer):
    def __init__(self, features, cond_features, hidden):
        super().__init__()
        self.out_features = features
        layers = [nn.Linear(cond_features, hidden), nn.ReLU()] if hidden else []
        last = nn.Linear(hidden or cond_features, 2 * features)
        nn.init.zeros_(last.weight)  # start as the identity: γ = 1, β = 0
        nn.init.zeros_(last.bias)
        self.film = nn.Sequential(*layers, last)

    def forward(self, h, c):
        gamma, beta = self.film(c.to(h.dtype)).chunk(2, dim=-1)
        return (1.0 + gamma) * h + beta


class FiLM(Conditioner):
    """Feature-wise linear modulation h' = γ(c) ⊙ h + β(c) after every hidden layer.

    Parameters
    ----------
    hidden_dim : int, default=0
        Width of a hidden layer in the γ/β generator (0: a linear map).
    at_input : bool, default=True
        Also concatenate c at the input, so the first layer sees it directly.
    """

    def __init__(self, hidden_dim: int = 0, at_input: bool = True):
        self.hidden_dim = hidden_dim
        self.at_input = at_input

    def check(self, spec):
        if not (self.hidden_dim == 0 or _positive_int(self.hidden_dim)):
            raise ValueError(f"hidden_dim must be an int >= 0; got {self.hidden_dim!r}.")

    def make_layer(self, features, cond_features, where):
        if where == "input":
            return _ConcatLayer(features, cond_features) if self.at_input else None
        return _FiLMLayer(features, cond_features, self.hidden_dim)


class _CrossAttentionLayer(ConditioningLayer):
    def __init__(self, features, cond_features, n_tokens, token_dim, n_heads):
        super().__init__()
        self.out_features = features
        self.n_tokens, self.token_dim = n_tokens, token_dim
        self.tokens = nn.Linear(cond_features, n_tokens * token_dim)
        self.query = nn.Linear(features, token_dim)
        self.attn = nn.MultiheadAttention(token_dim, n_heads, batch_first=True)
        self.out = nn.Linear(token_dim, features)
        nn.init.zeros_(self.out.weight)  # start as the identity (residual)
        nn.init.zeros_(self.out.bias)

    def forward(self, h, c):
        kv = self.tokens(c.to(h.dtype)).reshape(h.shape[0], self.n_tokens, self.token_dim)
        q = self.query(h).unsqueeze(1)
        attended, _ = self.attn(q, kv, kv, need_weights=False)
        return h + self.out(attended.squeeze(1))


class CrossAttention(Conditioner):
    """Cross-attention: the features query tokens made from the condition.

    The condition is projected to ``n_tokens`` tokens of size ``token_dim``;
    each hidden layer's features form a query, and the attended value is added
    back (residual) after every hidden layer.  The condition is also
    concatenated at the input when ``at_input``.

    Parameters
    ----------
    n_tokens : int, default=4
    token_dim : int, default=16
    n_heads : int, default=2
    at_input : bool, default=True
    """

    def __init__(self, n_tokens: int = 4, token_dim: int = 16, n_heads: int = 2, at_input: bool = True):
        self.n_tokens, self.token_dim, self.n_heads, self.at_input = n_tokens, token_dim, n_heads, at_input

    def check(self, spec):
        for name in ("n_tokens", "token_dim", "n_heads"):
            if not _positive_int(getattr(self, name)):
                raise ValueError(f"{name} must be an int >= 1; got {getattr(self, name)!r}.")
        if self.token_dim % self.n_heads:
            raise ValueError(f"token_dim={self.token_dim} must be divisible by n_heads={self.n_heads}.")

    def make_layer(self, features, cond_features, where):
        if where == "input":
            return _ConcatLayer(features, cond_features) if self.at_input else None
        return _CrossAttentionLayer(features, cond_features, self.n_tokens, self.token_dim, self.n_heads)


@hookimpl
def skae_register_conditioners(register):
    register("concat", Concat)
    register("embedding", Embedding)
    register("film", FiLM)
    register("cross_attention", CrossAttention)
