"""The fitted detector as one value, the thresholds that turn its scores into flags, and its attribute views.

Two ways to set the threshold:

* ``contamination`` (scikit-learn's and PyOD's convention): the share of
  outliers expected among the training rows; "auto" flags rows more than three
  robust standard deviations above the median training score.
* ``false_positive_rate`` (split conformal: Vovk et al., "Algorithmic Learning
  in a Random World", 2005; Bates et al., "Testing for outliers with conformal
  p-values", Annals of Statistics 2023): rows held out of training score the
  calibration set; a new row's p-value is ``(1 + #{calibration scores >= its
  score}) / (n_calibration + 1)``, and it is flagged when that is at most the
  rate.  For a normal row exchangeable with the calibration rows, the chance of
  being flagged is then at most the rate, whatever the data's distribution.
  Anomalies among the calibration rows only make the threshold more
  conservative.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted

from ..estimators._typing import ArrayLike
from ..model._device import resolve_device
from ..tables._input import Rows
from ..tables._layout import ColumnLayout
from ._ensemble import CALIBRATION_ROWS
from ._scores import FittedEnsemble
from ._tails import TailCombination
from ._wrapped import WrappedMembers

__all__ = [
    "DetectorAttributes",
    "EnsembleMember",
    "FittedDetector",
    "available_device",
    "calibration_size",
    "calibration_split",
    "check_calibration_rows",
    "conformal_p_value",
    "conformal_threshold",
    "contamination_threshold",
    "fit_default_ensemble",
    "outlier_probability",
    "p_values",
    "subset",
]


def contamination_threshold(scores: np.ndarray, contamination) -> float:
    """The anomaly score above which a share ``contamination`` of ``scores`` lies ("auto": median + 3 robust SD)."""
    if contamination == "auto":
        median = np.median(scores)
        return float(median + 3.0 * 1.4826 * np.median(np.abs(scores - median)))
    return float(np.quantile(scores, 1.0 - contamination))


def conformal_p_value(at_least, n_calibration: int):
    """``(1 + at_least) / (n_calibration + 1)``: the p-value of a score that ``at_least`` calibration scores reach.

    The one expression both :func:`p_values` and :func:`conformal_threshold` use, so that a row is flagged
    exactly when its p-value, as reported, is at most the rate (``(n + 1) · (1 - rate)`` rounds: 25 · 0.56 is
    14.000000000000002 in floating point).
    """
    return (1.0 + at_least) / (n_calibration + 1.0)


def conformal_threshold(calibration: np.ndarray, rate: float) -> float:
    """The largest calibration score that no flagged score reaches: a score is flagged iff it is above it (inf: none is).

    A score's p-value is at most ``rate`` iff at most ``m`` calibration scores reach it, ``m`` the largest count
    whose :func:`conformal_p_value` is at most ``rate``; that holds iff the score is above the ``m + 1``-th
    largest calibration score.
    """
    n = len(calibration)
    m = int(np.count_nonzero(conformal_p_value(np.arange(n + 1), n) <= rate)) - 1  # the p-value grows with the count
    return float("inf") if m < 0 else float(np.sort(calibration)[n - 1 - m])


def calibration_size(n: int, fraction: float) -> int:
    """How many of ``n`` rows :func:`calibration_split` holds out to calibrate on."""
    return int(round(fraction * n))


def check_calibration_rows(n: int, rate: float, fraction: float) -> None:
    """Warn when the calibration rows held out of ``n`` are too few for any p-value to reach ``rate``.

    The smallest p-value n_cal calibration rows give is 1 / (n_cal + 1); below it, ``threshold_`` is inf.
    The warning says how many rows would be enough, from the same split.
    """
    n_cal = calibration_size(n, fraction)
    smallest = conformal_p_value(0, n_cal)
    if smallest <= rate:
        return
    needed_cal = max(1, math.ceil(1.0 / rate) - 2)
    while conformal_p_value(0, needed_cal) > rate:
        needed_cal += 1
    needed = max(1, math.floor((needed_cal - 1) / fraction))  # a start below the answer: it holds out needed_cal - 1
    while calibration_size(needed, fraction) < needed_cal:
        needed += 1
    warnings.warn(
        f"false_positive_rate={rate:g} can flag nothing: the {n_cal} calibration rows held out of {n} "
        f"(calibration_fraction={fraction:g}) give conformal p-values of at least 1/({n_cal}+1) = {smallest:.4g}, "
        f"the smallest false-positive rate they can guarantee, so threshold_ is inf and no row will be flagged. "
        f"A rate of {rate:g} needs {needed_cal} calibration rows: fit on at least {needed} rows, or raise "
        f"false_positive_rate to 1/({n_cal}+1) or more.",
        UserWarning,
        stacklevel=4,  # the caller of fit, past its _fit_context wrapper
    )


def calibration_split(n: int, false_positive_rate, fraction: float, rng) -> tuple[np.ndarray, np.ndarray | None]:
    """``(training rows, calibration rows)``: all rows and None, or a random ``fraction`` held out for a conformal threshold."""
    if false_positive_rate is None:
        return np.arange(n), None
    n_cal = calibration_size(n, fraction)
    if n_cal < 1 or n - n_cal < 1:
        raise ValueError(f"false_positive_rate needs rows to calibrate on: {n} rows with "
                         f"calibration_fraction={fraction} hold none out.")
    order = rng.permutation(n)
    return np.sort(order[n_cal:]), np.sort(order[:n_cal])


def outlier_probability(scores: np.ndarray, train: np.ndarray, method: str) -> np.ndarray:
    """PyOD's probability of being an outlier from the training scores: "linear" min-max, or "unify" (erf)."""
    if method == "linear":
        span = train.max() - train.min()
        p = (scores - train.min()) / (span if span > 0 else 1.0)
    elif method == "unify":
        from scipy.special import erf

        p = erf((scores - train.mean()) / (max(train.std(), 1e-300) * np.sqrt(2)))
    else:
        raise ValueError(f"method must be 'linear', 'unify' or 'conformal'; got {method!r}.")
    return np.clip(p, 0.0, 1.0)


def fit_default_ensemble(rows: Rows, columns: list[np.ndarray], seeds: list[int], score_type: str,
                         device: str) -> FittedEnsemble:
    """The default members, trained on ``rows`` standardised per numeric column (one-hot slots as they are)."""
    from ..model.likelihoods import likelihood_for
    from ..tables._scaling import Scaler

    if score_type != "likelihood":
        raise ValueError(f"score_type={score_type!r} needs an estimator; the default members score 'likelihood'.")
    layout = rows.layout
    term_slots = [(j, j + 1) for j in range(rows.n_features)] if layout is None else layout.slots
    scaler = Scaler.fit(rows.stats(), "standard", passthrough=None if layout is None else layout.passthrough,
                        feature_names=None if layout is None else layout.slot_names)
    return FittedEnsemble.fit(rows, scaler, likelihood_for("mse", layout), columns, term_slots, seeds, device,
                              missing_input=bool(rows.missing))


def p_values(calibration: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Conformal p-values of anomaly ``scores`` against the calibration rows' scores."""
    ordered = np.sort(calibration)
    at_least = len(ordered) - np.searchsorted(ordered, scores, side="left")
    return conformal_p_value(at_least, len(ordered))


@dataclass(eq=False)
class FittedDetector:
    """Everything a fitted detector knows.

    Attributes
    ----------
    params : dict
        The detector's parameters when it was fitted.
    n_columns : int
    layout : ColumnLayout or None
        A mixed-type table's column layout.
    members : FittedEnsemble or WrappedMembers
    decision_scores : ndarray
        Anomaly scores of the training rows (calibration rows included).
    calibration_scores : ndarray or None
        Anomaly scores of the rows held out of training (with ``false_positive_rate``).
    """

    params: dict[str, Any]
    n_columns: int
    layout: ColumnLayout | None
    members: FittedEnsemble | WrappedMembers
    decision_scores: np.ndarray
    calibration_scores: np.ndarray | None = None
    feature_names: np.ndarray | None = None
    tails: TailCombination | None = None

    def scores(self, X, rows) -> np.ndarray:
        """Anomaly scores (higher = more anomalous): the members' standardised scores averaged, and the tails'."""
        members = np.nanmean(self.members.scores(X, rows), axis=1)
        if self.tails is None:
            return members
        sums = np.concatenate([self.tails.tails.raw(block) for block in rows.blocks()])
        return self.tails.scores(sums, members)

    def fit_tails(self, X, rows, weight: float) -> None:
        """Fit the column tails and their combination with the members' scores on the training rows."""
        self.tails = None
        idx = np.arange(len(rows))
        if len(rows) > CALIBRATION_ROWS:
            idx = np.sort(np.random.RandomState(0).choice(len(rows), CALIBRATION_ROWS, replace=False))
            X, rows = subset(X, rows, idx)
        self.tails = TailCombination.fit(np.asarray(rows.values, dtype=np.float64),
                                         np.nanmean(self.members.scores(X, rows), axis=1), weight)

    def threshold(self, contamination, false_positive_rate) -> float:
        """The anomaly score above which rows are outliers: conformal with a false-positive rate, else contamination."""
        if false_positive_rate is not None:
            if self.calibration_scores is None:
                raise ValueError("false_positive_rate needs calibration rows held out at fit: refit with it set "
                                 "(set_params after fit cannot hold rows out).")
            return conformal_threshold(self.calibration_scores, false_positive_rate)
        return contamination_threshold(self.decision_scores, contamination)

    def to_state(self) -> dict[str, Any]:
        """The detector as plain values and tensors (see :mod:`skae.persistence`)."""
        ensemble = isinstance(self.members, FittedEnsemble)
        return {
            "params": dict(self.params), "n_features_in": int(self.n_columns),
            "feature_names_in": None if self.feature_names is None else [str(n) for n in self.feature_names],
            "decision_scores": self.decision_scores, "calibration_scores": self.calibration_scores,
            "column_layout": None if self.layout is None else self.layout.to_state(),
            "ensemble": self.members.to_state() if ensemble else None,
            "members": None if ensemble else self.members.to_state()["members"],
            "tails": None if self.tails is None else self.tails.to_state(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], params: dict[str, Any], device: str) -> FittedDetector:
        """The detector :meth:`to_state` wrote, on ``device``; raises ValueError when it does not describe one."""
        from ..model.likelihoods import likelihood_for

        n_columns = state["n_features_in"]
        if isinstance(n_columns, bool) or not isinstance(n_columns, int) or n_columns < 1:
            raise ValueError(f"n_features_in must be a positive int; got {n_columns!r}.")
        names = state["feature_names_in"]
        if names is not None:
            names = np.asarray([str(n) for n in names], dtype=object)
            if len(names) != n_columns:
                raise ValueError("feature_names_in does not match n_features_in.")
        layout_state = state.get("column_layout")
        layout = None if layout_state is None else ColumnLayout.from_state(layout_state)
        if layout is not None and len(layout.names) != n_columns:
            raise ValueError("the column layout does not match n_features_in.")
        members: FittedEnsemble | WrappedMembers
        if state.get("ensemble") is not None:
            n_slots = n_columns if layout is None else layout.width
            members = FittedEnsemble.from_state(state["ensemble"], likelihood_for("mse", layout), n_columns, n_slots,
                                                device)
        else:
            members = WrappedMembers.from_state({"members": state["members"]}, n_columns, device)
        scores = np.asarray(state["decision_scores"], dtype=np.float64).reshape(-1)
        calibration = state.get("calibration_scores")
        calibration = None if calibration is None else np.asarray(calibration, dtype=np.float64).reshape(-1)
        tails = state.get("tails")  # files written before the tails term have none
        n_slots = n_columns if layout is None else layout.width
        tails = None if tails is None else TailCombination.from_state(tails, n_slots)
        return cls(dict(params), n_columns, layout, members, scores, calibration, names, tails)


def subset(X, rows: Rows, idx: np.ndarray):
    """X and its validated rows restricted to ``idx`` (all rows: unchanged)."""
    if len(idx) == len(rows):
        return X, rows
    values = np.asarray(rows.values[idx])
    part = Rows(values, on_disk=False, input_shape=values.shape, layout=rows.layout)
    return (X.iloc[idx] if isinstance(X, pd.DataFrame) else values), part


def available_device(device: str) -> str:
    """``device`` resolved, or the CPU (with a warning) where it is not available (a GPU model on a CPU machine)."""
    try:
        return resolve_device(device)
    except ValueError:
        warnings.warn(f"The detector was trained on {device!r}, which is not available; loading it on the CPU.",
                      stacklevel=4)
        return "cpu"


class DetectorAttributes:
    """The attributes the detector documents, as views of its one fitted value ``model_``, and its model files."""

    model_: FittedDetector
    _parameter_constraints: dict
    contamination: Any
    false_positive_rate: Any
    device: str

    def _fitted(self) -> FittedDetector:
        check_is_fitted(self)
        return self.model_

    def __sklearn_is_fitted__(self) -> bool:
        return "model_" in vars(self)

    @property
    def decision_scores_(self) -> np.ndarray:
        """Anomaly scores of the training rows (higher = more anomalous; PyOD's ``decision_scores_``)."""
        return self._fitted().decision_scores

    @property
    def threshold_(self) -> float:
        """Anomaly scores above this are outliers (``contamination`` or ``false_positive_rate``; PyOD's ``threshold_``)."""
        validate_parameter_constraints(
            {k: self._parameter_constraints[k] for k in ("contamination", "false_positive_rate")},
            {"contamination": self.contamination, "false_positive_rate": self.false_positive_rate},
            caller_name=type(self).__name__,
        )
        return self._fitted().threshold(self.contamination, self.false_positive_rate)

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
        """The fitted members: clones of ``estimator``, or views of the default ensemble's members."""
        members = self._fitted().members
        if isinstance(members, WrappedMembers):
            return [m.estimator for m in members.members]
        return [EnsembleMember(self, m) for m in range(members.n_members)]

    @property
    def estimator_(self):
        """The first member: the single fitted model when ``n_estimators=1``."""
        return self.estimators_[0]

    @property
    def estimators_features_(self) -> list[np.ndarray]:
        """The column indices each member sees, as in ``BaggingClassifier``."""
        return list(self._fitted().members.columns)

    # -- fitted state (model files) ---------------------------------------------------

    def get_fitted_state(self) -> dict[str, Any]:
        """The fitted detector as plain values (see :meth:`skae.AutoEncoder.get_fitted_state`).

        The parameters stored are those it was fitted with, and its current
        threshold settings (``contamination``, ``false_positive_rate``), which
        ``set_params`` may change after fit; both are checked first.
        """
        model = self._fitted()
        self.threshold_  # noqa: B018 - validates the threshold settings a file will carry
        params = {**model.params, "contamination": self.contamination, "false_positive_rate": self.false_positive_rate}
        return {**model.to_state(), "params": params}

    @classmethod
    def from_fitted_state(cls, state: dict[str, Any], device: str | None = None):
        """Rebuild a fitted detector from :meth:`get_fitted_state`'s output."""
        detector: Any = cls(**state["params"])
        detector._validate_params()
        target = resolve_device(device) if device is not None else available_device(detector.device)
        model = FittedDetector.from_state(state, detector.get_params(deep=False), target)
        detector.n_features_in_ = model.n_columns
        if model.feature_names is not None:
            detector.feature_names_in_ = model.feature_names
        detector.model_ = model
        return detector


class EnsembleMember:
    """One member of the default ensemble, seen on its own (what ``estimators_`` lists)."""

    def __init__(self, detector: Any, index: int):
        self.detector, self.index = detector, index

    @property
    def columns(self) -> np.ndarray:
        """The detector's columns this member sees."""
        return self.detector.estimators_features_[self.index]

    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """The member's normality of each row (minus its standardised anomaly score)."""
        return -self.detector.member_scores(X)[:, self.index]

    def __repr__(self) -> str:
        return f"EnsembleMember({self.index}, columns={self.columns.tolist()})"
