"""Latent samplers: where ``sample`` draws its codes from before decoding them.

* :class:`StandardNormal` — a VAE's prior N(0, I).
* :class:`ConditionalGaussian` — a conditional VAE's learned prior p(z | y) = N(μ(y), σ²(y) I).
* :class:`CodeMixture` — a Gaussian mixture fitted to training codes.  A plain
  autoencoder has no prior: nothing made its codes look like N(0, I), so it
  samples a density fitted to its codes instead.

Every sampler has one method, ``draw(n_samples, rng, conditions=None)``, returning
an array of shape (n_samples, latent_dim).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["CodeMixture", "ConditionalGaussian", "LatentSampler", "StandardNormal"]


class LatentSampler:
    """Base class: ``draw(n_samples, rng, conditions)`` returns codes of shape (n_samples, latent_dim)."""

    def draw(self, n_samples: int, rng: np.random.RandomState, conditions: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError


class StandardNormal(LatentSampler):
    """The prior N(0, I) of a VAE."""

    def __init__(self, latent_dim: int):
        self.latent_dim = latent_dim

    def draw(self, n_samples, rng, conditions=None):
        return rng.standard_normal((n_samples, self.latent_dim))


class ConditionalGaussian(LatentSampler):
    """N(μ(c), diag σ²(c)) with ``params(conditions) -> (mean, std)`` one row per sample."""

    def __init__(self, params: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], latent_dim: int):
        self.params, self.latent_dim = params, latent_dim

    def draw(self, n_samples, rng, conditions=None):
        eps = rng.standard_normal((n_samples, self.latent_dim))
        mean, std = self.params(conditions)
        return mean + std * eps


class CodeMixture(LatentSampler):
    """A Gaussian mixture (full covariances) fitted to codes, lazily on the first draw.

    Parameters
    ----------
    codes : ndarray of shape (n, latent_dim)
    seed : int
        Seeds the mixture's fit, so refits agree.
    n_components : int, default=10
    """

    def __init__(self, codes: np.ndarray, seed: int, n_components: int = 10):
        self.codes, self.seed, self.n_components = codes, seed, n_components
        self._mixture = None

    def mixture(self):
        if self._mixture is None:
            from sklearn.mixture import GaussianMixture

            self._mixture = GaussianMixture(
                n_components=min(self.n_components, len(self.codes)), covariance_type="full", reg_covar=1e-4,
                random_state=self.seed,
            ).fit(self.codes.astype(np.float64))
        return self._mixture

    def draw(self, n_samples, rng, conditions=None):
        gmm = self.mixture()
        comps = rng.choice(len(gmm.weights_), size=n_samples, p=gmm.weights_)
        z = np.empty((n_samples, gmm.means_.shape[1]))
        for k in np.unique(comps):
            idx = comps == k
            z[idx] = rng.multivariate_normal(gmm.means_[k], gmm.covariances_[k], size=int(idx.sum()))
        return z
