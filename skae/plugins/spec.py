"""What a plugin may know about the model it is built for.

Regularizers, corruptions and conditioners are given a :class:`ModelSpec` in
their ``check(spec)`` method, never the estimator: a plugin cannot come to
depend on an estimator's attributes, and the estimators are free to change them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ModelSpec"]


@dataclass(frozen=True)
class ModelSpec:
    """A frozen description of the model a plugin is built for.

    Attributes
    ----------
    n_features : int
        Width of the (flat) input rows.
    latent_dim : int
        Size of the code.
    hidden_dims : tuple of int
        Widths of the encoder's hidden layers.
    activation : str
        Hidden-layer activation.
    variational : bool
        A VAE: the codes regularizers see are posterior means.
    likelihood : str
        "mse" or "bce" for an autoencoder's loss; "gaussian" or "bernoulli" for a VAE.
    latent_activation : str or None
        Activation on an autoencoder's code ("sigmoid" gives codes in (0, 1)).
    cond_features : int
        Width of the encoded condition (0 for unconditional models).
    image_shape : tuple (C, H, W) or None
        Shape of one image for image architectures.
    missing_values : bool
        The model trains on rows with missing entries (NaN): its encoder fills
        them with a learned value, and its loss counts observed entries only.
    column_slots : tuple of (start, stop) or None
        For a table with categorical columns: each original column's encoded
        slots (a categorical column spans its one-hot slots); None for arrays,
        where every slot is a column.
    """

    n_features: int
    latent_dim: int
    hidden_dims: tuple[int, ...] = ()
    activation: str = "relu"
    variational: bool = False
    likelihood: str = "mse"
    latent_activation: str | None = None
    cond_features: int = 0
    image_shape: tuple[int, ...] | None = None
    missing_values: bool = False
    column_slots: tuple[tuple[int, int], ...] | None = None
