"""torch modules: encoders and decoders that honour one output contract.

Contract (what every architecture builder returns, see :mod:`skae.architectures`):

* ``encoder(x, c=None)`` maps a batch ``(n, n_features)`` (and an optional encoded
  condition ``(n, cond_features)``) to ``(n, encoder_out)``; ``encoder_out`` is
  ``latent_dim`` for an autoencoder and ``2 * latent_dim`` (mean, log-variance)
  for a VAE.
* ``decoder(z, c=None)`` maps ``(n, latent_dim)`` to ``(n, n_features)``: the
  reconstruction for a Gaussian/MSE model, logits for a Bernoulli/BCE model.

Inputs and outputs are flat; image architectures reshape inside, so a Pipeline's
2-D arrays work unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "SIGMA_FLOOR", "AutoEncoderModule", "ConditionedMLP", "ConvDecoder", "ConvEncoder"]

#: smallest learned decoder scale σ0, in the model's scaled units
SIGMA_FLOOR = 1e-3
_LOG_SIGMA_FLOOR = math.log(SIGMA_FLOOR)

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


class ConditionedMLP(nn.Module):
    """A multilayer perceptron into which a conditioner can inject a condition.

    The conditioner's ``make_layer`` is asked once per position: ``"input"``
    (before the first linear layer) and ``"hidden"`` (after each hidden
    activation); it returns a layer ``(h, c) -> h'`` with ``out_features`` or
    ``None`` to leave that position alone.  Without a conditioner this is a
    plain ``nn.Sequential`` (no per-call overhead).
    """

    def __init__(
        self,
        in_features: int,
        hidden_dims: Sequence[int],
        out_features: int,
        activation: str = "relu",
        *,
        cond_features: int = 0,
        conditioner=None,
    ):
        super().__init__()
        widths = [*hidden_dims, out_features]
        act = ACTIVATIONS[activation]
        self.conditioned = conditioner is not None and cond_features > 0
        if not self.conditioned:
            layers: list[nn.Module] = []
            h = in_features
            for i, width in enumerate(widths):
                layers.append(nn.Linear(h, width))
                if i < len(widths) - 1:
                    layers.append(act())
                h = width
            self.net = nn.Sequential(*layers)
            return
        self.injections = nn.ModuleList()
        self.linears = nn.ModuleList()
        self.activations = nn.ModuleList()
        injected = []
        h = in_features
        for i, width in enumerate(widths):
            layer = conditioner.make_layer(h, cond_features, "input" if i == 0 else "hidden")
            injected.append(layer is not None)
            if layer is not None:
                h = int(layer.out_features)
            self.injections.append(layer if layer is not None else nn.Identity())
            self.linears.append(nn.Linear(h, width))
            if i < len(widths) - 1:
                self.activations.append(act())
            h = width
        self.injected = tuple(injected)
        if not any(injected):
            raise ValueError(
                f"Conditioner {type(conditioner).__name__} injects the condition only at "
                "hidden layers, and this network has none: set hidden_dims to at least "
                "one layer or choose conditioning='concat'."
            )

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if not self.conditioned:
            return self.net(x)
        h = x
        last = len(self.linears) - 1
        for i, (inject, linear) in enumerate(zip(self.injections, self.linears)):
            if self.injected[i]:
                h = inject(h, c)
            h = linear(h)
            if i < last:
                h = self.activations[i](h)
        return h


def _conv_sizes(size: int, n_layers: int) -> list[int]:
    sizes = [size]
    for _ in range(n_layers):
        sizes.append((sizes[-1] + 1) // 2)  # stride 2, kernel 3, padding 1
    return sizes


class ConvEncoder(nn.Module):
    """Stride-2 3×3 convolutions (16-32-64 channels by default), then a dense head.

    ``condition_planes=True`` concatenates the condition as constant planes to
    the input channels (a conditional image VAE sees its label everywhere); the dense head takes the condition
    through the conditioner like a dense encoder.
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        channels: Sequence[int],
        out_features: int,
        activation: str = "relu",
        *,
        hidden_dims: Sequence[int] = (),
        cond_features: int = 0,
        conditioner=None,
        condition_planes: bool = False,
    ):
        super().__init__()
        self.image_shape = tuple(int(s) for s in image_shape)
        c_in, height, width = self.image_shape
        self.condition_planes = bool(condition_planes and cond_features)
        if self.condition_planes:
            c_in += cond_features
        act = ACTIVATIONS[activation]
        layers: list[nn.Module] = []
        for c_out in channels:
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), act()]
            c_in = c_out
        self.convs = nn.Sequential(*layers)
        flat = c_in * _conv_sizes(height, len(channels))[-1] * _conv_sizes(width, len(channels))[-1]
        self.head = ConditionedMLP(
            flat, hidden_dims, out_features, activation, cond_features=cond_features, conditioner=conditioner
        )

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = x.reshape(x.shape[0], *self.image_shape)
        if self.condition_planes and c is not None:
            planes = c[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
            h = torch.cat([h, planes.to(h.dtype)], dim=1)
        h = self.convs(h).flatten(1)
        return self.head(h, c)


class ConvDecoder(nn.Module):
    """Dense head to a small feature map, then mirrored transposed convolutions.

    Output paddings are chosen per layer so odd sizes (28×28, 8×8) come back
    exactly; the output is flat, ``(n, C·H·W)``.
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        channels: Sequence[int],
        latent_dim: int,
        activation: str = "relu",
        *,
        hidden_dims: Sequence[int] = (),
        cond_features: int = 0,
        conditioner=None,
    ):
        super().__init__()
        self.image_shape = tuple(int(s) for s in image_shape)
        c_out, height, width = self.image_shape
        hs = _conv_sizes(height, len(channels))
        ws = _conv_sizes(width, len(channels))
        channels = list(channels)
        self.start_shape = (channels[-1], hs[-1], ws[-1])
        flat = channels[-1] * hs[-1] * ws[-1]
        self.head = ConditionedMLP(
            latent_dim, hidden_dims, flat, activation, cond_features=cond_features, conditioner=conditioner
        )
        act = ACTIVATIONS[activation]
        layers: list[nn.Module] = [act()]
        targets = list(zip(hs[-2::-1], ws[-2::-1]))
        c_in = channels[-1]
        outs = channels[-2::-1] + [c_out]
        for i, ((th, tw), c_next) in enumerate(zip(targets, outs)):
            ih, iw = hs[len(channels) - i], ws[len(channels) - i]
            pad = (th - (2 * ih - 1), tw - (2 * iw - 1))
            layers.append(nn.ConvTranspose2d(c_in, c_next, 3, stride=2, padding=1, output_padding=pad))
            if i < len(outs) - 1:
                layers.append(act())
            c_in = c_next
        self.deconvs = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = self.head(z, c).reshape(z.shape[0], *self.start_shape)
        return self.deconvs(h).flatten(1)


class AutoEncoderModule(nn.Module):
    """Encoder + decoder (+ optional learned decoder scale and conditional prior).

    Parameters
    ----------
    encoder, decoder : nn.Module
        Honour the module contract above.
    latent_activation : str or None
        Applied to the encoder output of a deterministic autoencoder
        (``"sigmoid"`` gives codes in (0, 1), as KL sparsity requires).
    log_sigma0 : float or None
        Initial log of the Gaussian decoder's scale (VAEs); learned when
        ``learn_sigma0`` is true (one scale) or ``"per_feature"`` (one per
        feature, ``n_features`` of them), a fixed buffer otherwise.  A learned
        scale is kept above ``SIGMA_FLOOR``: a feature the decoder reproduces
        exactly (a constant pixel) would otherwise drive its likelihood to infinity.
    prior : nn.Module or None
        Conditional prior network ``c -> (mean, log_var)`` of a conditional VAE.
    missing_fill : int
        For models trained on rows with missing entries: the number of input
        features, each of which gets a learned value that replaces its missing
        entries (NaN) before encoding (0 = no missing entries expected).
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        *,
        latent_activation: str | None = None,
        log_sigma0: float | None = None,
        learn_sigma0: bool | str = False,
        n_features: int | None = None,
        prior: nn.Module | None = None,
        missing_fill: int = 0,
    ):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.latent_activation = ACTIVATIONS[latent_activation]() if latent_activation else None
        self.learn_sigma0 = learn_sigma0
        self.log_sigma0: torch.Tensor | None
        if log_sigma0 is not None:
            shape = (int(n_features or 0),) if learn_sigma0 == "per_feature" else ()
            value = torch.full(shape, float(log_sigma0))
            if learn_sigma0:
                self.log_sigma0 = nn.Parameter(value)
            else:
                self.register_buffer("log_sigma0", value)
        else:
            self.log_sigma0 = None
        self.prior = prior
        #: the encoder takes rows with NaN for missing entries and fills them with ``fill``
        self.missing_input = bool(missing_fill)
        self.fill = nn.Parameter(torch.zeros(int(missing_fill))) if missing_fill else None

    def log_scale(self) -> torch.Tensor | None:
        """log σ0 of the Gaussian decoder, a learned scale kept above ``SIGMA_FLOOR``; None without one."""
        if self.log_sigma0 is None:
            return None
        if self.learn_sigma0:
            return self.log_sigma0.clamp(min=_LOG_SIGMA_FLOOR)
        return self.log_sigma0

    def encode(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if self.fill is not None:  # learned per-feature values in place of missing entries (scaled units)
            x = torch.where(torch.isnan(x), self.fill.to(x.dtype), x)
        h = self.encoder(x, c)
        if self.latent_activation is not None:
            h = self.latent_activation(h)
        return h

    def decode(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(z, c)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.encode(x, c), c)
