"""Anomaly detection with an ensemble of small autoencoders, scikit-learn style with PyOD's outputs.

Why the default looks the way it does (benchmarks/results_anomaly.md, 16 real sets):

* A wide autoencoder trained for long learns to reconstruct the anomalies that
  sit in its own training data.  Members are small (a code of a quarter of their
  columns, one hidden layer) and train for a fixed budget of steps.
* Reconstruction error sees points *off* the data's manifold, not rare points
  *on* it (extreme but well reconstructed).  Each member therefore scores a row
  like a likelihood: its squared residual per feature, divided by that
  feature's typical training residual, plus the Mahalanobis distance of its
  code under a Gaussian fitted to the training codes.  For a linear member this
  is the weighted PCA score (a Mahalanobis distance over all components).
* Members see random halves of the columns (feature bagging, Lazarevic &
  Kumar, KDD 2005), so an anomaly that one feature gives away is not averaged
  out, and their scores, standardised robustly on the training rows, are
  averaged as in autoencoder ensembles for outliers (RandNet: Chen et al., SDM
  2017; ROBOD: Ding et al., 2022).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._members import Member, balanced_subsets, columns_of, default_member
from ._typing import ArrayLike
from .data import take_rows, validate_rows
from .tabular import ColumnLayout

__all__ = ["AutoEncoderOutlierDetector"]

class AutoEncoderOutlierDetector(OutlierMixin, BaseEstimator):
    """Flag rows an ensemble of small autoencoders finds unlikely.

    Follows scikit-learn's outlier detectors (``IsolationForest``):
    ``score_samples`` is higher for normal rows, ``decision_function`` is
    negative for outliers, ``predict`` returns +1 (inlier) / -1 (outlier).  It
    also has the outputs PyOD users expect; PyOD's convention is the reverse
    (higher = more anomalous):

    ============================  =========================================
    PyOD                          skae
    ============================  =========================================
    ``decision_function(X)``      ``-score_samples(X)``
    ``decision_scores_``          ``decision_scores_`` (the training rows)
    ``threshold_``                ``threshold_`` (on the same scale)
    ``labels_`` (1 = outlier)     ``labels_``; ``predict`` gives -1 / +1
    ``predict_proba(X, method)``  ``predict_proba(X, method)``
    ============================  =========================================

    Parameters
    ----------
    estimator : skae estimator or None, default=None
        The model each member clones.  ``None`` builds small autoencoders sized
        from the data: a code of a quarter of the member's columns, one hidden
        layer twice as wide, ReLU, per-feature standardisation, about 1,500
        training steps.
    n_estimators : int or "auto", default="auto"
        Members.  "auto": 10 without an ``estimator``, 1 with one.
    max_features : float in (0, 1] or "auto", default="auto"
        Share of the columns each member sees, drawn at random.  "auto": 0.5
        without an ``estimator``, 1.0 with one.  A ``numpy.memmap`` is streamed
        from disk when members see every column; otherwise each member's columns
        are read into memory.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Share of outliers expected in the training data; the threshold is that
        quantile of the training scores.  "auto" flags training rows more than
        3 robust standard deviations above the median anomaly score
        (median + 3 · 1.4826 · MAD).  ``set_params(contamination=...)`` moves the
        threshold without refitting.
    score_type : {"auto", "likelihood", "reconstruction", "elbo", "iwae"}, default="auto"
        How a member scores a row.  "likelihood": squared residual per feature
        over that feature's typical training residual, plus the Mahalanobis
        distance of the code.  "reconstruction": mean reconstruction error (MSE
        or BCE).  "elbo" / "iwae": a VAE's bound on log p(x).  "auto":
        "likelihood" for autoencoders, "elbo" for VAEs.
    trim_fraction : float in [0, 0.5), default=0.0
        Robust training: after a first fit, drop this share of the worst-scored
        training rows and refit on the rest.
    random_state : int, RandomState or None, default=None
        Seeds the members' columns and their training.

    Attributes
    ----------
    estimators_ : list of fitted skae estimators
    estimator_ : fitted skae estimator
        The first member (the only one when ``n_estimators=1``).
    estimators_features_ : list of ndarray
        The columns each member sees.
    decision_scores_ : ndarray of shape (n_samples,)
        Anomaly scores of the training rows (higher = more anomalous).
    threshold_ : float
        Training anomaly scores above it are outliers (PyOD's ``threshold_``).
    labels_ : ndarray of shape (n_samples,)
        1 for training outliers, 0 for inliers (PyOD's ``labels_``).
    offset_ : float
        ``decision_function = score_samples - offset_`` (``-threshold_``).
    n_features_in_, feature_names_in_

    References
    ----------
    Chen, Sathe, Aggarwal & Turaga, "Outlier Detection with Autoencoder Ensembles", SDM 2017.
    Ding, Zhao & Akoglu, "Hyperparameter Sensitivity in Deep Outlier Detection", NeurIPS 2022 (ROBOD).
    Lazarevic & Kumar, "Feature Bagging for Outlier Detection", KDD 2005.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import AutoEncoderOutlierDetector
    >>> X = np.random.RandomState(0).normal(size=(200, 5))
    >>> det = AutoEncoderOutlierDetector(n_estimators=2, contamination=0.05, random_state=0).fit(X)
    >>> int((det.predict(X) == -1).sum()), det.labels_.sum()
    (10, 10)
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "score_samples"]), None],
        "n_estimators": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_features": [Interval(numbers.Real, 0, 1, closed="right"), StrOptions({"auto"})],
        "contamination": [StrOptions({"auto"}), Interval(numbers.Real, 0, 0.5, closed="right")],
        "score_type": [StrOptions({"auto", "likelihood", "reconstruction", "elbo", "iwae"})],
        "trim_fraction": [Interval(numbers.Real, 0, 0.5, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, n_estimators="auto", max_features="auto", contamination="auto",
                 score_type="auto", trim_fraction=0.0, random_state=None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.contamination = contamination
        self.score_type = score_type
        self.trim_fraction = trim_fraction
        self.random_state = random_state

    # -- fitting ------------------------------------------------------------------

    def fit(self, X: ArrayLike, y: Any = None) -> AutoEncoderOutlierDetector:
        """Fit the members on X (no labels) and set the threshold from the training scores."""
        self._validate_params()
        if self.estimator is not None and self.estimator.__sklearn_tags__().target_tags.required:
            raise ValueError(
                f"{type(self).__name__} wraps unconditional estimators: {type(self.estimator).__name__} needs "
                "its condition y at every call, which score_samples(X) and predict(X) cannot pass. Score it "
                "directly instead: -estimator.score_samples(X, y) is an anomaly score given y."
            )
        variational = hasattr(self.estimator, "likelihood")
        if self.score_type in ("elbo", "iwae") and not variational:
            raise ValueError(f"score_type={self.score_type!r} needs a VAE estimator; got {type(self.estimator).__name__}.")
        rows = validate_rows(self, X, reset=True)
        self.column_layout_ = rows.layout
        n_members, share = self._ensemble_shape()
        score_type = self.score_type if self.score_type != "auto" else ("elbo" if variational else "likelihood")
        rng = check_random_state(self.random_state)
        members = []
        for columns in balanced_subsets(self.n_features_in_, n_members, share, rng):
            seed = int(rng.randint(np.iinfo(np.int32).max))
            members.append(self._fit_member(X, rows, columns, seed, score_type))
        if self.trim_fraction > 0 and len(rows) > 2:
            scores = self._average(members, X)
            keep = scores <= np.quantile(scores, 1 - self.trim_fraction)
            kept = take_rows(X, keep)
            members = [self._fit_member(kept, validate_rows(self, kept, reset=False, layout=rows.layout), m.columns,
                                        m.estimator.random_state, score_type) for m in members]
        self._members = members
        self.decision_scores_ = self._average(members, X)
        return self

    def _ensemble_shape(self) -> tuple[int, float]:
        n_members = self.n_estimators if self.n_estimators != "auto" else (10 if self.estimator is None else 1)
        share = self.max_features if self.max_features != "auto" else (0.5 if self.estimator is None else 1.0)
        return int(n_members), float(share)

    def _fit_member(self, X, rows, columns: np.ndarray, seed, score_type: str) -> Member:
        data = X if len(columns) == self.n_features_in_ else columns_of(X, columns)
        if self.estimator is None:
            # sized by the member's input width: a categorical column is as many inputs as it has categories
            slots = None if rows.layout is None else rows.layout.slots
            width = len(columns) if slots is None else sum(slots[j][1] - slots[j][0] for j in columns)
            estimator = default_member(len(rows), width, seed)
        else:
            estimator = clone(self.estimator)
            params = estimator.get_params()
            if "random_state" in params and (params["random_state"] is None or self._ensemble_shape()[0] > 1):
                estimator.set_params(random_state=seed)  # members of an ensemble must differ
            if "latent_dim" in params and params["latent_dim"] > len(columns):
                estimator.set_params(latent_dim=len(columns))
        if "handle_unknown" in estimator.get_params():
            # the detector checks categories against all training rows; a category only trimmed rows had is
            # unknown to a member and scores as unusual there
            estimator.set_params(handle_unknown="ignore")
        member = Member(estimator.fit(data), columns, score_type)
        member.calibrate(data)
        return member

    def _average(self, members: list[Member], X) -> np.ndarray:
        total = np.zeros(0)
        for i, member in enumerate(members):
            data = X if len(member.columns) == self.n_features_in_ else columns_of(X, member.columns)
            scores = member.scores(data)
            total = scores if i == 0 else total + scores
        return total / len(members)

    # -- thresholds and PyOD's outputs ----------------------------------------------------

    @property
    def threshold_(self) -> float:
        """Anomaly scores above this are outliers (set by ``contamination``; PyOD's ``threshold_``)."""
        check_is_fitted(self, "decision_scores_")
        scores = self.decision_scores_
        if self.contamination == "auto":
            median = np.median(scores)
            return float(median + 3.0 * 1.4826 * np.median(np.abs(scores - median)))
        return float(np.quantile(scores, 1.0 - self.contamination))

    @property
    def offset_(self) -> float:
        """``decision_function = score_samples - offset_`` (scikit-learn's convention)."""
        return -self.threshold_

    @property
    def labels_(self) -> np.ndarray:
        """1 for training rows above the threshold, 0 otherwise (PyOD's convention)."""
        return (self.decision_scores_ > self.threshold_).astype(int)

    @property
    def estimators_(self) -> list:
        """The fitted member estimators (PyOD's and scikit-learn's ensemble attribute)."""
        check_is_fitted(self, "decision_scores_")
        return [m.estimator for m in self._members]

    @property
    def estimator_(self):
        """The first member: the single fitted model when ``n_estimators=1``."""
        return self.estimators_[0]

    @property
    def estimators_features_(self) -> list[np.ndarray]:
        """The column indices each member sees, as in ``BaggingClassifier``."""
        check_is_fitted(self, "decision_scores_")
        return [m.columns for m in self._members]

    # -- scoring ------------------------------------------------------------------------

    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """Normality of each row (higher = more normal): minus the averaged, standardised member scores."""
        check_is_fitted(self, "decision_scores_")
        validate_rows(self, X, reset=False, layout=self.column_layout_, check_finite=False)  # members check NaN/inf
        return -self._average(self._members, X)

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """``score_samples − offset_``: negative for outliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: ArrayLike) -> np.ndarray:
        """+1 for inliers, −1 for outliers."""
        return np.where(self.decision_function(X) >= 0, 1, -1)

    def predict_proba(self, X: ArrayLike, method: str = "linear") -> np.ndarray:
        """Probability of being an outlier, as PyOD computes it from the training scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        method : {"linear", "unify"}, default="linear"
            "linear": the anomaly score min-max scaled by the training scores'
            range, clipped to [0, 1].  "unify": erf((s − mean) / (std·√2)) of the
            training scores' mean and standard deviation, clipped to [0, 1]
            (Kriegel et al., "Interpreting and Unifying Outlier Scores", SDM 2011).

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Columns: inlier, outlier.
        """
        scores = -self.score_samples(X)
        train = self.decision_scores_
        if method == "linear":
            span = train.max() - train.min()
            p = (scores - train.min()) / (span if span > 0 else 1.0)
        elif method == "unify":
            from scipy.special import erf

            p = erf((scores - train.mean()) / (max(train.std(), 1e-300) * np.sqrt(2)))
        else:
            raise ValueError(f"method must be 'linear' or 'unify'; got {method!r}.")
        p = np.clip(p, 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def feature_errors(self, X: ArrayLike) -> np.ndarray | pd.DataFrame:
        """Per-feature contributions to each row's anomaly score: which columns make a row anomalous.

        A feature's error is its squared residual over its typical training
        residual (score_type "likelihood"; the plain squared error otherwise),
        averaged over the members that see it.  Returns a DataFrame with the
        input's column names when X is a DataFrame (or the detector was fitted
        on one), else an ndarray (n_samples, n_features).
        """
        check_is_fitted(self, "decision_scores_")
        rows = validate_rows(self, X, reset=False, layout=self.column_layout_, check_finite=False)
        total = np.zeros((len(rows), self.n_features_in_))
        count = np.zeros(self.n_features_in_)
        for member in self._members:
            data = X if len(member.columns) == self.n_features_in_ else columns_of(X, member.columns)
            total[:, member.columns] += member.feature_scores(data)
            count[member.columns] += 1
        errors = total / np.maximum(count, 1)
        names = getattr(self, "feature_names_in_", None)
        if isinstance(X, pd.DataFrame) or names is not None:
            index = X.index if isinstance(X, pd.DataFrame) else None
            columns = names if names is not None else [f"x{i}" for i in range(errors.shape[1])]
            return pd.DataFrame(errors, columns=list(columns), index=index)
        return errors

    # -- fitted state (model files) ---------------------------------------------------

    def get_fitted_state(self) -> dict[str, Any]:
        """The fitted detector as plain values (see :meth:`skae.AutoEncoder.get_fitted_state`)."""
        check_is_fitted(self, "decision_scores_")
        names = getattr(self, "feature_names_in_", None)
        members = []
        for m in self._members:
            entry = {"columns": m.columns, "score_type": m.score_type, "location": m.location, "scale": m.scale,
                     "class": type(m.estimator).__name__, "state": m.estimator.get_fitted_state()}
            if m.score_type == "likelihood":
                entry.update(residual_scale=m.residual_scale, code_mean=m.code_mean, code_precision=m.code_precision)
            members.append(entry)
        return {
            "params": self.get_params(deep=False),
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": None if names is None else [str(n) for n in names],
            "decision_scores": self.decision_scores_,
            "members": members,
            "column_layout": None if self.column_layout_ is None else self.column_layout_.to_state(),
        }

    @classmethod
    def from_fitted_state(cls, state: dict[str, Any], device: str | None = None):
        """Rebuild a fitted detector from :meth:`get_fitted_state`'s output."""
        from ._registry import FILE_CLASSES, estimator_factory

        detector = cls(**state["params"])
        detector._validate_params()
        d = int(state["n_features_in"])
        members = []
        for entry in state["members"]:
            if entry["class"] not in FILE_CLASSES:
                raise ValueError(f"unknown member class {entry['class']!r}.")
            factory: Any = estimator_factory(entry["class"])
            estimator = factory.from_fitted_state(entry["state"], device)
            columns = np.asarray(entry["columns"], dtype=np.intp)
            if columns.ndim != 1 or len(columns) != estimator.n_features_in_ or columns.min() < 0 or columns.max() >= d:
                raise ValueError("a member's columns do not match its estimator.")
            member = Member(estimator, columns, str(entry["score_type"]))
            member.location, member.scale = float(entry["location"]), float(entry["scale"])
            if member.score_type == "likelihood":
                member.residual_scale = np.asarray(entry["residual_scale"], dtype=np.float64).reshape(len(columns))
                latent = estimator.model_spec_.latent_dim
                member.code_mean = np.asarray(entry["code_mean"], dtype=np.float64).reshape(latent)
                member.code_precision = np.asarray(entry["code_precision"], dtype=np.float64).reshape(latent, latent)
            members.append(member)
        if not members:
            raise ValueError("a detector needs at least one member.")
        detector._members = members
        detector.n_features_in_ = d
        if state["feature_names_in"] is not None:
            detector.feature_names_in_ = np.asarray([str(n) for n in state["feature_names_in"]], dtype=object)
        detector.decision_scores_ = np.asarray(state["decision_scores"], dtype=np.float64).reshape(-1)
        layout = state.get("column_layout")
        detector.column_layout_ = None if layout is None else ColumnLayout.from_state(layout)
        return detector
