"""Anomaly detection with an ensemble of small autoencoders, scikit-learn style with PyOD's outputs.

The default members are trained together as one batched network
(:mod:`skae.detection._ensemble`, which says why they look the way they do); around a
user's estimator, members are clones trained one by one (:mod:`skae.detection._wrapped`).
Thresholds and the fitted value live in :mod:`skae.detection._fitted`.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ..estimators._typing import ArrayLike
from ..model._device import resolve_device
from ..tables._input import Rows, validate_rows
from ..training._params import check_no_bool_numbers
from ._ensemble import balanced_subsets
from ._fitted import (
    DetectorAttributes,
    FittedDetector,
    calibration_split,
    check_calibration_rows,
    fit_default_ensemble,
    outlier_probability,
    p_values,
    subset,
)
from ._tails import TAIL_WEIGHT
from ._wrapped import WrappedMembers

__all__ = ["AutoEncoderOutlierDetector"]

#: the most columns a default member sees when max_features is "auto"
MEMBER_COLUMNS = 32


class AutoEncoderOutlierDetector(DetectorAttributes, OutlierMixin, BaseEstimator):
    """Flag rows an ensemble of small autoencoders finds unlikely; ``score_samples`` is higher for normal rows.

    Follows scikit-learn's outlier detectors (``IsolationForest``):
    ``score_samples`` and ``decision_function`` are *higher for normal rows*,
    ``decision_function`` is negative for outliers, ``predict`` returns +1
    (inlier) / -1 (outlier).  PyOD's convention is the reverse (higher = more
    anomalous): ``roc_auc_score(y_outlier, -det.score_samples(X))``, or
    ``det.anomaly_score(X)``, gives PyOD's direction.

    ============================  =========================================
    PyOD                          skae
    ============================  =========================================
    ``decision_function(X)``      ``anomaly_score(X)`` = ``-score_samples(X)``
    ``decision_scores_``          ``decision_scores_`` (the training rows)
    ``threshold_``                ``threshold_`` (on the same scale)
    ``labels_`` (1 = outlier)     ``labels_``; ``predict`` gives -1 / +1
    ``predict_proba(X, method)``  ``predict_proba(X, method)``
    ============================  =========================================

    Parameters
    ----------
    estimator : skae estimator or None, default=None
        The model each member clones.  ``None``: small autoencoders sized from
        the data (a code of a quarter of the member's inputs, one hidden layer
        twice as wide), trained together as one batched network for 1,000 steps
        with a trimmed loss (:mod:`skae.detection._ensemble`; benchmarks/results_anomaly.md).
    n_estimators : int or "auto", default="auto"
        Members.  "auto": 10 without an ``estimator``, 1 with one.
    max_features : float in (0, 1] or "auto", default="auto"
        Share of the columns each member sees, drawn at random.  "auto": 0.5
        without an ``estimator`` (at most 32 columns per member on wide data,
        so a member's cost does not grow with the width), 1.0 with one.
    tail_weight : float >= 0 or "auto", default="auto"
        Weight of the input-space term beside the members': how far into its
        column's tails each entry lies (ECOD's per-column tail probabilities,
        :mod:`skae.detection._tails`).  It sees rows far outside the data in a few columns
        that the members reconstruct well.  Both terms enter as minus the log of
        their upper-tail share among the training rows' scores (Fisher's way of
        combining p-values).  "auto": 2.0 without an ``estimator``, 0 with one
        (a user's model scores rows as it scores them); 0 turns the term off.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Share of outliers expected in the training data; the threshold is that
        quantile of the training scores.  "auto" flags training rows more than
        3 robust standard deviations above the median anomaly score
        (median + 3 · 1.4826 · MAD).  ``set_params(contamination=...)`` moves the
        threshold without refitting.
    score_type : {"auto", "likelihood", "reconstruction", "elbo", "iwae"}, default="auto"
        How a member scores a row.  "likelihood": each column's error over its
        typical training error, summed, plus the Mahalanobis distance of the
        code.  "reconstruction": the mean reconstruction error.  "elbo" /
        "iwae": a VAE's bound on log p(x).  "auto": "likelihood" for
        autoencoders, "elbo" for VAEs.
    trim_fraction : float in [0, 0.5), default=0.0
        Robust training: after a first fit, drop this share of the worst-scored
        training rows and refit on the rest.
    false_positive_rate : float in (0, 1) or None, default=None
        Flag rows with a conformal threshold instead of ``contamination``: hold
        ``calibration_fraction`` of the rows out of training, and flag a row when
        its conformal p-value (:meth:`p_values`) is at most this rate.  A normal
        row is then flagged with probability at most this rate (see
        :mod:`skae.detection._fitted`).
    calibration_fraction : float in (0, 0.5], default=0.2
        Share of the rows held out to calibrate the conformal threshold (only
        with ``false_positive_rate``).
    device : str, default="cpu"
        Where the default ensemble trains: "cpu", "cuda", "cuda:N" or "auto".
        A wrapped ``estimator`` keeps its own ``device``.
    random_state : int, RandomState or None, default=None
        Seeds the members' columns, initialisation and batches.

    Attributes
    ----------
    model_ : skae.detection._fitted.FittedDetector
        The fitted detector as one value; the attributes below are views of it.
    estimators_ : list
        The fitted members: the clones of ``estimator``, or views of the default
        ensemble's members (``columns``, ``score_samples``, ``feature_errors``).
    estimators_features_ : list of ndarray
        The columns each member sees.
    decision_scores_ : ndarray of shape (n_samples,)
        Anomaly scores of the training rows (higher = more anomalous).
    threshold_ : float
        Anomaly scores above it are outliers (PyOD's ``threshold_``).
    labels_ : ndarray of shape (n_samples,)
        1 for training outliers, 0 for inliers (PyOD's ``labels_``).
    offset_ : float
        ``decision_function = score_samples - offset_`` (``-threshold_``).
    n_features_in_, feature_names_in_

    References
    ----------
    Chen, Sathe, Aggarwal & Turaga, "Outlier Detection with Autoencoder Ensembles", SDM 2017.
    Lazarevic & Kumar, "Feature Bagging for Outlier Detection", KDD 2005.
    Bates, Candès, Lei, Romano & Sesia, "Testing for outliers with conformal p-values", Ann. Statist. 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import AutoEncoderOutlierDetector
    >>> X = np.random.RandomState(0).normal(size=(200, 5))
    >>> det = AutoEncoderOutlierDetector(contamination=0.05, random_state=0).fit(X)
    >>> int((det.predict(X) == -1).sum()), det.labels_.sum()
    (10, 10)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "score_samples"]), None],
        "n_estimators": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_features": [Interval(numbers.Real, 0, 1, closed="right"), StrOptions({"auto"})],
        "tail_weight": [Interval(numbers.Real, 0, None, closed="left"), StrOptions({"auto"})],
        "contamination": [StrOptions({"auto"}), Interval(numbers.Real, 0, 0.5, closed="right")],
        "score_type": [StrOptions({"auto", "likelihood", "reconstruction", "elbo", "iwae"})],
        "trim_fraction": [Interval(numbers.Real, 0, 0.5, closed="left")],
        "false_positive_rate": [Interval(numbers.Real, 0, 1, closed="neither"), None],
        "calibration_fraction": [Interval(numbers.Real, 0, 0.5, closed="right")],
        "device": [str],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, n_estimators="auto", max_features="auto", tail_weight="auto",
                 contamination="auto", score_type="auto", trim_fraction=0.0, false_positive_rate=None,
                 calibration_fraction=0.2, device="cpu", random_state=None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.tail_weight = tail_weight
        self.contamination = contamination
        self.score_type = score_type
        self.trim_fraction = trim_fraction
        self.false_positive_rate = false_positive_rate
        self.calibration_fraction = calibration_fraction
        self.device = device
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing entries; infinity is refused
        return tags

    def _validate_params(self) -> None:
        super()._validate_params()
        check_no_bool_numbers(self)  # n_estimators=True is no count of members, max_features=True no share

    # -- fitting ------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: Any = None) -> AutoEncoderOutlierDetector:
        """Fit the members on X (no labels) and set the threshold from the training scores."""
        if self.estimator is not None and self.estimator.__sklearn_tags__().target_tags.required:
            raise ValueError(
                f"{type(self).__name__} wraps unconditional estimators: {type(self.estimator).__name__} needs "
                "its condition y at every call, which score_samples(X) and predict(X) cannot pass. Score it "
                "directly instead: -estimator.score_samples(X, y) is an anomaly score given y."
            )
        score_type = self._score_type()
        rows = validate_rows(self, X, reset=True)
        n_members, share = self._ensemble_shape()
        rng = check_random_state(self.random_state)
        columns = balanced_subsets(self.n_features_in_, n_members, share, rng)
        seeds = [int(rng.randint(np.iinfo(np.int32).max)) for _ in columns]
        train, held_out = calibration_split(len(rows), self.false_positive_rate, self.calibration_fraction, rng)
        if held_out is not None:
            check_calibration_rows(len(rows), self.false_positive_rate, self.calibration_fraction)

        def members(part: np.ndarray):
            data = subset(X, rows, part)
            if self.estimator is None:
                return fit_default_ensemble(data[1], columns, seeds, score_type, resolve_device(self.device))
            return WrappedMembers.fit(self.estimator, WrappedMembers.data(*data), columns, seeds, score_type,
                                      self.n_features_in_)

        model = FittedDetector(self.get_params(deep=False), self.n_features_in_, rows.layout, members(train),
                               np.zeros(0), feature_names=getattr(self, "feature_names_in_", None))
        if self.trim_fraction > 0 and len(train) > 2:  # robust refit without the worst-scored training rows
            scores = model.scores(*subset(X, rows, train))
            model.members = members(train[scores <= np.quantile(scores, 1 - self.trim_fraction)])
        weight = self.tail_weight if self.tail_weight != "auto" else (TAIL_WEIGHT if self.estimator is None else 0.0)
        if weight > 0:
            part_X, part_rows = subset(X, rows, train)
            model.fit_tails(part_X, part_rows, weight)
        model.decision_scores = model.scores(X, rows)
        if held_out is not None:
            model.calibration_scores = model.decision_scores[held_out]
        self.model_ = model
        return self

    def _score_type(self) -> str:
        variational = hasattr(self.estimator, "likelihood")
        if self.score_type in ("elbo", "iwae") and not variational:
            raise ValueError(f"score_type={self.score_type!r} needs a VAE estimator; got "
                             f"{type(self.estimator).__name__}.")
        return self.score_type if self.score_type != "auto" else ("elbo" if variational else "likelihood")

    def _ensemble_shape(self) -> tuple[int, float]:
        n_members = self.n_estimators if self.n_estimators != "auto" else (10 if self.estimator is None else 1)
        share = self.max_features
        if share == "auto":
            share = min(0.5, MEMBER_COLUMNS / self.n_features_in_) if self.estimator is None else 1.0
        return int(n_members), float(share)

    # -- scoring ------------------------------------------------------------------------

    def _rows(self, X) -> Rows:
        model = self._fitted()
        # the default ensemble finds NaN/inf as it scales chunks; members around an estimator get checked arrays
        # a category not seen in fit is what a detector must score (as the least likely category: high)
        return validate_rows(self, X, reset=False, layout=model.layout, handle_unknown="ignore",
                             check_finite=isinstance(model.members, WrappedMembers))

    def member_scores(self, X: ArrayLike) -> np.ndarray:
        """Each member's standardised anomaly score of each row, shape (n_samples, n_members)."""
        return self._fitted().members.scores(X, self._rows(X))

    def anomaly_score(self, X: ArrayLike) -> np.ndarray:
        """PyOD's direction: higher = more anomalous (``-score_samples(X)``; PyOD's ``decision_function``)."""
        return self._fitted().scores(X, self._rows(X))

    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """Normality of each row (higher = more normal): minus :meth:`anomaly_score`."""
        return -self.anomaly_score(X)

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """``score_samples − offset_``: negative for outliers (scikit-learn's sign)."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: ArrayLike) -> np.ndarray:
        """+1 for inliers, −1 for outliers."""
        return np.where(self.decision_function(X) >= 0, 1, -1)

    def p_values(self, X: ArrayLike) -> np.ndarray:
        """Conformal p-values: the share of calibration rows scoring at least as anomalous (needs ``false_positive_rate``)."""
        model = self._fitted()
        if model.calibration_scores is None:
            raise ValueError("p_values needs calibration rows held out at fit: fit with false_positive_rate set "
                             "(e.g. false_positive_rate=0.01).")
        return p_values(model.calibration_scores, self.anomaly_score(X))

    def predict_proba(self, X: ArrayLike, method: str = "linear") -> np.ndarray:
        """Probability of being an outlier, as PyOD computes it from the training scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        method : {"linear", "unify", "conformal"}, default="linear"
            "linear": the anomaly score min-max scaled by the training scores'
            range, clipped to [0, 1].  "unify": erf((s − mean) / (std·√2)) of the
            training scores' mean and standard deviation, clipped to [0, 1]
            (Kriegel et al., "Interpreting and Unifying Outlier Scores", SDM 2011).
            "conformal": one minus the conformal p-value (needs ``false_positive_rate``).

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Columns: inlier, outlier.
        """
        if method == "conformal":
            p = 1.0 - self.p_values(X)
        else:
            p = outlier_probability(self.anomaly_score(X), self.decision_scores_, method)
        return np.column_stack([1.0 - p, p])

    def feature_errors(self, X: ArrayLike) -> np.ndarray | pd.DataFrame:
        """Per-column contributions to each row's anomaly score: which columns make a row anomalous.

        A column's error is its reconstruction error over its typical training
        error (score_type "likelihood"; the plain error otherwise), averaged over
        the members that see it.  A DataFrame with the input's column names when
        X is a DataFrame (or the detector was fitted on one), else an ndarray.
        """
        errors = self._fitted().members.feature_scores(X, self._rows(X))
        names = getattr(self, "feature_names_in_", None)
        if isinstance(X, pd.DataFrame) or names is not None:
            index = X.index if isinstance(X, pd.DataFrame) else None
            columns = names if names is not None else [f"x{i}" for i in range(errors.shape[1])]
            return pd.DataFrame(errors, columns=list(columns), index=index)
        return errors
