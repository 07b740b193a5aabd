"""Encoder/decoder builders, registered through the architecture hook.

A builder is a callable taking keyword arguments and returning ``(encoder,
decoder)`` that honour the contract of :mod:`skae.modules`::

    def build(*, n_features, encoder_out, latent_dim, hidden_dims, activation,
              cond_features, conditioner, **params) -> tuple[nn.Module, nn.Module]

``params`` are the estimator's ``architecture__*`` parameters.  A user can pass
such a callable directly as ``architecture=`` or register it under a name with
:func:`skae.hookimpl` ``skae_register_architectures``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..plugins.hookspecs import hookimpl
from .modules import ConditionedMLP, ConvDecoder, ConvEncoder

__all__ = ["build_conv", "build_dense"]


def build_dense(
    *, n_features, encoder_out, latent_dim, hidden_dims, activation, cond_features=0, conditioner=None
):
    """Dense MLP encoder ``hidden_dims`` and mirrored decoder."""
    encoder = ConditionedMLP(
        n_features, hidden_dims, encoder_out, activation, cond_features=cond_features, conditioner=conditioner
    )
    decoder = ConditionedMLP(
        latent_dim, tuple(reversed(hidden_dims)), n_features, activation,
        cond_features=cond_features, conditioner=conditioner,
    )
    return encoder, decoder


def build_conv(
    *,
    n_features,
    encoder_out,
    latent_dim,
    hidden_dims,
    activation,
    cond_features=0,
    conditioner=None,
    image_shape: Sequence[int] | None = None,
    channels: Sequence[int] = (16, 32, 64),
    condition_planes: bool = True,
):
    """The image architecture: stride-2 3×3 convolutions down, transposed convolutions up.

    ``image_shape`` is ``(C, H, W)``, or ``(H, W)`` for one channel, or ``None``
    for a square single-channel image.  ``hidden_dims`` become dense layers
    between the feature map and the latent code.
    """
    image_shape = _resolve_image_shape(image_shape, n_features)
    if not channels:
        raise ValueError("architecture__channels must list at least one channel width.")
    encoder = ConvEncoder(
        image_shape, channels, encoder_out, activation, hidden_dims=hidden_dims,
        cond_features=cond_features, conditioner=conditioner, condition_planes=condition_planes,
    )
    decoder = ConvDecoder(
        image_shape, channels, latent_dim, activation, hidden_dims=tuple(reversed(hidden_dims)),
        cond_features=cond_features, conditioner=conditioner,
    )
    return encoder, decoder


def _resolve_image_shape(image_shape, n_features: int) -> tuple[int, int, int]:
    if image_shape is None:
        side = int(round(n_features**0.5))
        if side * side != n_features:
            raise ValueError(
                f"architecture='conv' needs architecture__image_shape=(C, H, W): "
                f"{n_features} features is not a square single-channel image."
            )
        return (1, side, side)
    shape = tuple(int(s) for s in image_shape)
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"architecture__image_shape must be (C, H, W) or (H, W); got {image_shape!r}.")
    c, h, w = shape
    if c * h * w != n_features:
        raise ValueError(
            f"architecture__image_shape={image_shape!r} holds {c * h * w} values but X has "
            f"{n_features} features; C·H·W must equal n_features."
        )
    return shape


@hookimpl
def skae_register_architectures(register):
    register("dense", build_dense)
    register("conv", build_conv)
