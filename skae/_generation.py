"""Generation: ``sample`` and ``interpolate``, shared by every estimator.

Each variant says which latent samplers it has (``_latent_sampler``) and which one
``sampler="auto"`` means (``_default_sampler``); this mixin chooses, caches and decodes.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._typing import ArrayLike, Condition, Output, RandomState
from .sampling import LatentSampler

__all__ = ["GenerativeMixin"]


class GenerativeMixin:
    """``sample`` / ``interpolate`` over ``transform`` / ``inverse_transform`` and a latent sampler."""

    if TYPE_CHECKING:  # provided by the estimator class this mixin is part of
        _sampler_cache: Any
        _as_output: Callable[..., Any]
        _decoded_rows: Callable[..., np.ndarray]
        transform: Callable[..., np.ndarray]
        inverse_transform: Callable[..., Any]

    #: what ``sample(sampler="auto")`` draws codes from
    _default_sampler = "mixture"

    def _latent_sampler(self, name: str) -> LatentSampler:
        """The sampler called ``name`` ("prior" or "mixture") for this fitted model."""
        raise NotImplementedError

    def _sampler(self, name: str = "auto") -> LatentSampler:
        name = self._default_sampler if name == "auto" else name
        if name not in ("prior", "mixture"):
            raise ValueError(f"sampler must be 'auto', 'prior' or 'mixture'; got {name!r}.")
        cache = getattr(self, "_sampler_cache", None) or {}
        if name not in cache:
            cache[name] = self._latent_sampler(name)
        self._sampler_cache = cache
        return cache[name]

    def sample(self, n_samples: int = 1, random_state: RandomState = None, *, sampler: str = "auto") -> Output:
        """Generate new samples in input space.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState or None
        sampler : {"auto", "mixture"}, default="auto"
            Where codes are drawn from: a Gaussian mixture fitted to the codes of
            the training rows ("mixture"; "auto" is the same here).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features), float64
            A DataFrame of the training columns for a mixed-type table.
        """
        n_samples = self._check_n_samples(n_samples)
        rng = check_random_state(random_state)
        # categories of a mixed-type table are drawn from the decoder's softmax with the same rng
        return self._as_output(self._decoded_rows(self._sampler(sampler).draw(n_samples, rng)), rng)

    def _check_n_samples(self, n_samples) -> int:
        check_is_fitted(self, "net_")
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int; got {n_samples!r}.")
        return int(n_samples)

    def interpolate(self, x0: ArrayLike, x1: ArrayLike, n_steps: int = 10, y: Condition = None) -> np.ndarray:
        """Decode the latent path z_t = (1 − t) z0 + t z1, t in [0, 1].

        Parameters
        ----------
        x0, x1 : array-like of shape (n_features,) or (n_pairs, n_features)
        n_steps : int, default=10
        y : condition or None
            One condition for the whole path (conditional models).

        Returns
        -------
        path : ndarray of shape (n_steps, n_features), or (n_pairs, n_steps, n_features)
        """
        if getattr(self, "column_layout_", None) is not None:
            raise TypeError(
                "interpolate takes numeric rows; for a table with categorical columns, interpolate the codes: "
                "inverse_transform((1 - t) * transform(row0) + t * transform(row1)) for t in [0, 1] gives a DataFrame."
            )
        single = np.ndim(x0) == 1
        x0 = np.atleast_2d(np.asarray(x0, dtype=np.float64))
        x1 = np.atleast_2d(np.asarray(x1, dtype=np.float64))
        if x0.shape != x1.shape:
            raise ValueError(f"x0 and x1 must have the same shape; got {x0.shape} and {x1.shape}.")
        if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral) or n_steps < 2:
            raise ValueError(f"n_steps must be an int >= 2; got {n_steps!r}.")
        z0, z1 = self.transform(x0, y), self.transform(x1, y)
        t = np.linspace(0.0, 1.0, n_steps)[None, :, None]
        zt = (1 - t) * z0[:, None, :] + t * z1[:, None, :]
        path = self.inverse_transform(zt.reshape(-1, zt.shape[-1]), y).reshape(len(x0), n_steps, -1)
        return path[0] if single else path
