"""Anomaly detection by reconstruction error or likelihood, scikit-learn style."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .autoencoder import AutoEncoder
from .data import take_rows, validate_rows

__all__ = ["AutoEncoderOutlierDetector"]


class AutoEncoderOutlierDetector(OutlierMixin, BaseEstimator):
    """Flag samples an autoencoder reconstructs (or explains) badly.

    Follows scikit-learn's outlier detectors (``IsolationForest``):
    ``score_samples`` is higher for normal samples, ``decision_function`` is
    negative for outliers, ``predict`` returns +1 (inlier) / −1 (outlier).

    Parameters
    ----------
    estimator : skae estimator or None, default=None
        Cloned and fitted on X; ``None`` means ``AutoEncoder(latent_dim=2)``.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Share of outliers expected in the training data; the threshold is that
        quantile of the training scores.  "auto" flags training scores more
        than 3 robust standard deviations below the median
        (median − 3 · 1.4826 · MAD), a rule that does not assume a share.
    score_type : {"auto", "reconstruction", "elbo", "iwae"}, default="auto"
        "reconstruction": minus the mean reconstruction error (MSE or BCE).
        "elbo" / "iwae": the VAE's per-sample bound on log p(x) (VAEs only).
        "auto" is the estimator's own ``score_samples``: reconstruction error
        for autoencoders, the ELBO for VAEs (a likelihood accounts for how
        unusual the code is as well as how well it reconstructs).
    trim_fraction : float in [0, 0.5), default=0.0
        Robust training: after a first fit, drop this share of the
        worst-scored training samples and refit on the rest, so anomalies in
        the training data do not shape the model.  Early stopping on a
        held-out split (the estimators' default) is the other guard.

    Attributes
    ----------
    estimator_ : fitted skae estimator
    offset_ : float
        decision_function = score_samples − offset_.
    threshold_ : float
        Alias of ``offset_``: the score below which a sample is an outlier.
    n_features_in_, feature_names_in_

    Examples
    --------
    >>> import numpy as np
    >>> from skae import AutoEncoder, AutoEncoderOutlierDetector
    >>> X = np.random.RandomState(0).normal(size=(200, 5))
    >>> det = AutoEncoderOutlierDetector(AutoEncoder(max_epochs=5, random_state=0), contamination=0.05)
    >>> int((det.fit_predict(X) == -1).sum())
    10
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "score_samples"]), None],
        "contamination": [StrOptions({"auto"}), Interval(numbers.Real, 0, 0.5, closed="right")],
        "score_type": [StrOptions({"auto", "reconstruction", "elbo", "iwae"})],
        "trim_fraction": [Interval(numbers.Real, 0, 0.5, closed="left")],
    }

    def __init__(self, estimator=None, *, contamination="auto", score_type="auto", trim_fraction=0.0):
        self.estimator = estimator
        self.contamination = contamination
        self.score_type = score_type
        self.trim_fraction = trim_fraction

    def fit(self, X, y=None):
        """Fit the autoencoder on X and set the threshold from the training scores."""
        self._validate_params()
        rows = validate_rows(self, X, reset=True)
        if self.estimator is not None and self.estimator.__sklearn_tags__().target_tags.required:
            raise ValueError(
                f"{type(self).__name__} wraps unconditional estimators: {type(self.estimator).__name__} needs "
                "its condition y at every call, which score_samples(X) and predict(X) cannot pass. Score it "
                "directly instead: -estimator.score_samples(X, y) is an anomaly score given y."
            )
        if self.score_type in ("elbo", "iwae") and not hasattr(self.estimator, "likelihood"):
            raise ValueError(f"score_type={self.score_type!r} needs a VAE estimator; got {type(self.estimator).__name__}.")
        estimator = clone(self.estimator) if self.estimator is not None else AutoEncoder(latent_dim=2)
        self.estimator_ = estimator.fit(X)
        scores = self._estimator_scores(X)
        if self.trim_fraction > 0 and len(rows) > 2:
            keep = scores >= np.quantile(scores, self.trim_fraction)
            self.estimator_ = clone(estimator).fit(take_rows(X, keep))
            scores = self._estimator_scores(X)
        if self.contamination == "auto":
            median = np.median(scores)
            mad = 1.4826 * np.median(np.abs(scores - median))
            self.offset_ = float(median - 3.0 * mad)
        else:
            self.offset_ = float(np.quantile(scores, self.contamination))
        return self

    @property
    def threshold_(self) -> float:
        check_is_fitted(self, "offset_")
        return self.offset_

    def _estimator_scores(self, X):
        if self.score_type == "reconstruction":
            return -self.estimator_.feature_errors(X).mean(axis=1)
        if self.score_type in ("elbo", "iwae"):
            return self.estimator_.score_samples(X, method=self.score_type)
        return self.estimator_.score_samples(X)

    def score_samples(self, X):
        """Normality score of each sample (higher = more normal)."""
        check_is_fitted(self, "offset_")
        validate_rows(self, X, reset=False, check_finite=False)  # the estimator checks NaN/inf as it reads
        return self._estimator_scores(X)

    def decision_function(self, X):
        """score_samples − offset_: negative for outliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers, −1 for outliers."""
        return np.where(self.decision_function(X) >= 0, 1, -1)

    def feature_errors(self, X):
        """Per-feature reconstruction errors: which columns make a row anomalous.

        Returns a DataFrame with the input's column names when X is a DataFrame
        (or the detector was fitted on one), else an ndarray (n_samples, n_features).
        """
        check_is_fitted(self, "offset_")
        errors = self.estimator_.feature_errors(X)
        names = getattr(self, "feature_names_in_", None)
        if isinstance(X, pd.DataFrame) or names is not None:
            index = X.index if isinstance(X, pd.DataFrame) else None
            columns = names if names is not None else [f"x{i}" for i in range(errors.shape[1])]
            return pd.DataFrame(errors, columns=list(columns), index=index)
        return errors

    # -- fitted state (model files) ---------------------------------------------------

    def get_fitted_state(self) -> dict[str, Any]:
        """The fitted detector as plain values (see :meth:`skae.AutoEncoder.get_fitted_state`)."""
        check_is_fitted(self, "offset_")
        names = getattr(self, "feature_names_in_", None)
        return {
            "params": self.get_params(deep=False),
            "offset": float(self.offset_),
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": None if names is None else [str(n) for n in names],
            "estimator": self.estimator_.get_fitted_state(),
        }

    @classmethod
    def from_fitted_state(cls, state: dict[str, Any], device: str | None = None):
        """Rebuild a fitted detector from :meth:`get_fitted_state`'s output."""
        detector = cls(**state["params"])
        detector._validate_params()
        template = detector.estimator if detector.estimator is not None else AutoEncoder(latent_dim=2)
        detector.estimator_ = type(template).from_fitted_state(state["estimator"], device)
        detector.offset_ = float(state["offset"])
        detector.n_features_in_ = int(state["n_features_in"])
        if detector.n_features_in_ != detector.estimator_.n_features_in_:
            raise ValueError("the detector's n_features_in does not match its estimator's.")
        if state["feature_names_in"] is not None:
            detector.feature_names_in_ = np.asarray([str(n) for n in state["feature_names_in"]], dtype=object)
        return detector
