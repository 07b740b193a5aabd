"""Generation: ``sample`` and ``interpolate``, shared by every estimator.

Codes come from the fitted model's latent samplers (:func:`skae.sampling.latent_sampler`):
a mixture fitted to the training codes, or a VAE's prior.  Decoding goes through
the model's likelihood: means, or draws from p(x | z) with ``draw=True``.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state

from ._attributes import FittedAttributes
from ._typing import ArrayLike, Condition, Output, RandomState

__all__ = ["GenerativeMixin"]


class GenerativeMixin(FittedAttributes):
    """``sample`` / ``interpolate`` over the fitted model and ``transform`` / ``inverse_transform``."""

    def sample(self, n_samples: int = 1, random_state: RandomState = None, *, y: Condition = None,
               sampler: str = "auto", draw: bool = False) -> Output:
        """Generate new rows: codes from a latent sampler, decoded.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState or None
        y : condition or None
            Conditional models: one condition for all samples, or one per sample.
        sampler : {"auto", "prior", "mixture"}, default="auto"
            Where codes are drawn from.  "mixture": a Gaussian mixture fitted to
            the codes of the training rows (per condition for conditional models;
            Ghosh et al., ICLR 2020), which samples where the encoder put the data.
            "prior": a VAE's prior N(0, I) (or the learned p(z | y)); an
            autoencoder has none.  "auto" is "mixture" (benchmarks/results_generative.md).
        draw : bool, default=False
            Return decoder means (False) or draws from p(x | z): Gaussian noise
            with the VAE's scale σ0 (an autoencoder's: its training residuals'
            spread), or Bernoulli values.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features), float64
            For a mixed-type table, a DataFrame of the training columns whose
            categories are drawn from the decoder's softmax.
        """
        model = self._fitted()
        n_samples = _positive_int(n_samples, "n_samples")
        rng = check_random_state(random_state)
        conditions = model.encode_conditions(y, n_samples, type(self).__name__)
        name = "mixture" if sampler == "auto" else sampler
        z = model.sampler(name).draw(n_samples, rng, conditions)
        means = model.decode(z, conditions)
        if draw:
            means = model.likelihood.draw(means, rng, self._sigma(), model.scaler.scale)  # type: ignore[attr-defined]
        # categories of a mixed-type table are drawn from the decoder's softmax with the same rng
        return means if model.layout is None else model.layout.decode(means, rng)

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
        if self._fitted().layout is not None:
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
        z0, z1 = self.transform(x0, y), self.transform(x1, y)  # type: ignore[attr-defined]
        t = np.linspace(0.0, 1.0, n_steps)[None, :, None]
        zt = (1 - t) * z0[:, None, :] + t * z1[:, None, :]
        path = self.inverse_transform(zt.reshape(-1, zt.shape[-1]), y)  # type: ignore[attr-defined]
        path = path.reshape(len(x0), n_steps, -1)
        return path[0] if single else path


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive int; got {value!r}.")
    return int(value)
