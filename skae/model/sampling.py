"""Latent samplers: where ``sample`` draws its codes from before decoding them.

* :class:`StandardNormal` — a VAE's prior N(0, I).
* :class:`ConditionalGaussian` — a conditional VAE's learned prior p(z | y) = N(μ(y), σ²(y) I).
* :class:`CodeMixture` — a Gaussian mixture fitted to training codes.  A plain
  autoencoder has no prior: nothing made its codes look like N(0, I), so it
  samples a density fitted to its codes instead.  For a VAE this is "ex-post
  density estimation" of the aggregated posterior (Ghosh et al., "From
  variational to deterministic autoencoders", ICLR 2020): it samples where the
  encoder actually put the data, not where the prior hoped it would.
* :class:`ConditionalCodeMixture` — the same, per condition: a mixture fitted to
  the codes of the training rows with the condition asked for (the nearest
  conditions, for continuous ones).

Every sampler has one method, ``draw(n_samples, rng, conditions=None)``, returning
an array of shape (n_samples, latent_dim).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

__all__ = [
    "CodeMixture",
    "ConditionalCodeMixture",
    "ConditionalGaussian",
    "LatentSampler",
    "StandardNormal",
    "latent_sampler",
]


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


class ConditionalCodeMixture(LatentSampler):
    """A :class:`CodeMixture` per condition, fitted lazily to the codes of matching training rows.

    Parameters
    ----------
    codes : ndarray of shape (n, latent_dim)
    conditions : ndarray of shape (n, cond_features)
        The training rows' encoded conditions.
    seed : int
    neighbours : float, default=0.05
        For a condition no training row has exactly (continuous conditions),
        the share of training rows with the nearest conditions to fit on
        (at least 50 rows).
    """

    def __init__(self, codes: np.ndarray, conditions: np.ndarray, seed: int, neighbours: float = 0.05):
        self.codes, self.conditions, self.seed, self.neighbours = codes, conditions, seed, neighbours
        self._mixtures: dict[bytes, CodeMixture] = {}

    def _for(self, condition: np.ndarray) -> CodeMixture:
        key = np.asarray(condition, dtype=np.float64).tobytes()
        if key not in self._mixtures:
            distance = np.abs(self.conditions - condition).sum(axis=1)
            rows = np.flatnonzero(distance <= 1e-9)
            if len(rows) < 20:
                k = min(len(distance), max(50, int(self.neighbours * len(distance))))
                rows = np.argsort(distance, kind="stable")[:k]
            self._mixtures[key] = CodeMixture(self.codes[rows], self.seed, n_components=max(1, min(10, len(rows) // 20)))
        return self._mixtures[key]

    def draw(self, n_samples, rng, conditions=None):
        if conditions is None:
            raise ValueError("a conditional mixture sampler needs the conditions of the samples")
        z = np.empty((n_samples, self.codes.shape[1]))
        unique, inverse = np.unique(np.asarray(conditions, dtype=np.float64), axis=0, return_inverse=True)
        for i, condition in enumerate(unique):
            idx = np.flatnonzero(inverse.reshape(-1) == i)
            z[idx] = self._for(condition).draw(len(idx), rng)
        return z


def latent_sampler(model: Any, name: str) -> LatentSampler:
    """The sampler ``name`` ("prior" or "mixture") of a fitted model (:class:`skae.model._fitted.FittedModel`).

    A plain autoencoder has only the mixture: nothing shaped its codes like
    N(0, I).  A VAE's prior is N(0, I), a conditional VAE's the learned p(z | y)
    when it has one; its mixture is fitted per condition.
    """
    if name not in ("prior", "mixture"):
        raise ValueError(f"sampler must be 'auto', 'prior' or 'mixture'; got {name!r}.")
    conditional = model.conditions is not None
    if name == "mixture":
        if conditional:
            return ConditionalCodeMixture(model.training_codes, model.training_conditions, model.seed)
        return CodeMixture(model.training_codes, model.seed)
    if not model.spec.variational:
        raise ValueError(
            "An autoencoder has no prior: nothing shaped its codes like N(0, I). Use sampler='mixture' "
            "(a Gaussian mixture fitted to the training codes), or a VAE."
        )
    if conditional and model.module.prior is not None:
        from ._elbo import prior_params

        def params(C):
            def prior(module, c):
                mean, log_var = prior_params(module, c, c[:, :1])
                return mean, torch.exp(0.5 * log_var)

            return model.run(prior, C, dtype=np.float64)

        return ConditionalGaussian(params, model.spec.latent_dim)
    return StandardNormal(model.spec.latent_dim)
