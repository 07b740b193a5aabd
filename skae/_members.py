"""The members of :class:`skae.AutoEncoderOutlierDetector`'s ensemble: how each is built, fed and scored.

See :mod:`skae.outlier` for why the default member looks the way it does.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .autoencoder import AutoEncoder

__all__ = ["Member", "balanced_subsets", "columns_of", "default_member"]

_STEPS = 1500  # training steps of a default member: enough to learn the bulk, too few to memorise outliers
_BATCH = 64


def default_member(n_rows: int, n_features: int, seed: int) -> AutoEncoder:
    epochs = max(1, math.ceil(_STEPS * _BATCH / max(n_rows, 1)))
    return AutoEncoder(
        latent_dim=max(1, round(0.25 * n_features)), hidden_dims=(max(8, 2 * n_features),), activation="relu",
        scaling="standard", max_epochs=epochs, batch_size=_BATCH, early_stopping=False, validation_fraction=0.0,
        random_state=seed,
    )


def _robust_location_scale(scores: np.ndarray) -> tuple[float, float]:
    q25, q50, q75 = np.percentile(scores, [25, 50, 75])
    return float(q50), float(max(q75 - q25, 1e-12 * max(abs(q50), 1.0), 1e-300))


class Member:
    """One fitted estimator on some columns, and what turns its output into a standardised anomaly score."""

    def __init__(self, estimator, columns: np.ndarray, score_type: str):
        self.estimator, self.columns, self.score_type = estimator, columns, score_type

    def calibrate(self, X: np.ndarray) -> np.ndarray:
        """Fit the score's statistics on the training rows; returns their raw anomaly scores."""
        if self.score_type == "likelihood":
            self.residual_scale = self.estimator.feature_errors(X).mean(0) + 1e-12
            codes = np.asarray(self.estimator.transform(X), dtype=np.float64)
            self.code_mean = codes.mean(0)
            cov = np.atleast_2d(np.cov(codes, rowvar=False)) if len(codes) > 1 else np.eye(codes.shape[1])
            ridge = 0.1 * np.trace(cov) / len(cov) + 1e-6
            self.code_precision = np.linalg.inv(0.9 * cov + ridge * np.eye(len(cov)))
        raw = self.raw_scores(X)
        self.location, self.scale = _robust_location_scale(raw)
        return raw

    def feature_scores(self, X: np.ndarray) -> np.ndarray:
        errors = self.estimator.feature_errors(X)
        return errors / self.residual_scale if self.score_type == "likelihood" else errors

    def raw_scores(self, X: np.ndarray) -> np.ndarray:
        """Higher = more anomalous, in this member's own units."""
        if self.score_type == "likelihood":
            codes = np.asarray(self.estimator.transform(X), dtype=np.float64) - self.code_mean
            mahalanobis = np.einsum("ij,jk,ik->i", codes, self.code_precision, codes)
            return self.feature_scores(X).sum(1) + mahalanobis
        if self.score_type == "reconstruction":
            return self.estimator.feature_errors(X).mean(1)
        if self.score_type in ("elbo", "iwae"):
            return -self.estimator.score_samples(X, method=self.score_type)
        return -self.estimator.score_samples(X)

    def scores(self, X: np.ndarray) -> np.ndarray:
        return (self.raw_scores(X) - self.location) / self.scale


def balanced_subsets(d: int, n_members: int, share: float, rng) -> list[np.ndarray]:
    """Column subsets of about ``share · d`` columns that cover every column about equally often.

    Subsets are cut from successive random permutations of the columns, so with
    ``share=0.5`` every pair of members sees each column exactly once: how often
    an anomaly's telltale column is seen does not depend on the draw.
    """
    if share >= 1:
        return [np.arange(d) for _ in range(n_members)]
    size = max(1, round(share * d))
    subsets: list[np.ndarray] = []
    order = np.array([], dtype=np.intp)
    while len(subsets) < n_members:
        if len(order) < size:
            order = np.r_[order, rng.permutation(d)]
        subset, order = order[:size], order[size:]
        if len(np.unique(subset)) < size:  # a permutation's tail joined the next one's head: redraw this one
            subset = rng.choice(d, size, replace=False)
        subsets.append(np.sort(subset))
    return subsets


def columns_of(X, columns: np.ndarray):
    """The given columns of X, keeping a DataFrame a DataFrame (a memmap's columns are read into memory)."""
    if isinstance(X, pd.DataFrame):
        return X.iloc[:, columns]
    return np.ascontiguousarray(np.asarray(X)[:, columns])
