"""Members of :class:`skae.AutoEncoderOutlierDetector` around a user's estimator: clones trained one by one.

The detector validates X once and hands each member its columns of the
validated data (an array slice, or a DataFrame's columns for a table with
categorical columns, which the member encodes itself).  A member owns its
estimator, its columns and what turns the estimator's output into a
standardised anomaly score, and writes and reads its own model-file state.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from ._scores import code_precision, robust_location_scale

__all__ = ["Member", "WrappedMembers", "columns_of"]


def columns_of(X, columns: np.ndarray):
    """The given columns of X, keeping a DataFrame a DataFrame (a memmap's columns are read into memory)."""
    if isinstance(X, pd.DataFrame):
        return X.iloc[:, columns]
    return np.ascontiguousarray(np.asarray(X)[:, columns])


class Member:
    """One fitted estimator on some columns, and how its output becomes a standardised anomaly score.

    Parameters
    ----------
    estimator : fitted skae estimator
    columns : ndarray of int
        The detector's columns this member sees.
    score_type : {"likelihood", "reconstruction", "elbo", "iwae"}
    residual_scale, code_mean, code_precision : ndarray or None
        The "likelihood" score's statistics: each column's mean training error,
        and a Gaussian of the training codes.
    location, scale : float
        The training scores' median and interquartile range.
    """

    def __init__(self, estimator, columns: np.ndarray, score_type: str, *, residual_scale=None, code_mean=None,
                 code_precision=None, location: float = 0.0, scale: float = 1.0):
        self.estimator, self.columns, self.score_type = estimator, np.asarray(columns, dtype=np.intp), score_type
        self.residual_scale, self.code_mean, self.code_precision = residual_scale, code_mean, code_precision
        self.location, self.scale = float(location), float(scale)

    @classmethod
    def fitted(cls, estimator, columns: np.ndarray, score_type: str, X) -> Member:
        """Fit ``estimator`` on ``X`` (this member's columns) and calibrate its score on the same rows.

        Rows with nothing observed in these columns are left out: the member
        has nothing to learn from them (and its estimator would refuse them).
        """
        seen = _seen(X)
        if not seen.any():
            raise ValueError(f"The training rows have no observed value in columns {columns.tolist()}, which one "
                             "member sees: give the detector max_features=1.0, or drop those columns.")
        if not seen.all():
            X = X.iloc[seen] if isinstance(X, pd.DataFrame) else X[seen]
        with _detector_columns(columns):
            estimator.fit(X)
            member = cls(estimator, columns, score_type)
            if score_type == "likelihood":
                # feature_errors is NaN at missing entries: a column's typical error is its observed entries'
                member.residual_scale = np.nanmean(estimator.feature_errors(X), axis=0) + 1e-12
                codes = np.asarray(estimator.transform(X), dtype=np.float64)
                member.code_mean = codes.mean(0)
                member.code_precision = code_precision(codes)
            location, scale = robust_location_scale(member.raw_scores(X))
        member.location, member.scale = float(location), float(scale)
        return member

    def feature_scores(self, X) -> np.ndarray:
        """Per-column errors; over each column's typical training error for the "likelihood" score.

        NaN for rows with nothing observed in this member's columns.
        """
        with _detector_columns(self.columns):
            return _on_seen_rows(X, self._feature_scores, len(self.columns))

    def _feature_scores(self, X) -> np.ndarray:
        errors = self.estimator.feature_errors(X)
        return errors / self.residual_scale if self.score_type == "likelihood" else errors

    def raw_scores(self, X) -> np.ndarray:
        """Higher = more anomalous, in this member's own units."""
        if self.score_type == "likelihood":
            codes = np.asarray(self.estimator.transform(X), dtype=np.float64) - self.code_mean
            mahalanobis = np.einsum("ij,jk,ik->i", codes, self.code_precision, codes)
            # a missing entry has no error (NaN): a row with holes is scored on its observed columns, rescaled
            # to all of them, as the default ensemble scores it (a plain sum would be NaN, or favour holes)
            scores = self._feature_scores(X)
            observed = (~np.isnan(scores)).sum(1)
            return np.nansum(scores, axis=1) * (scores.shape[1] / np.maximum(observed, 1)) + mahalanobis
        if self.score_type == "reconstruction":
            return np.nanmean(self.estimator.feature_errors(X), axis=1)  # the observed entries' mean
        return -self.estimator.score_samples(X, method=self.score_type)

    def scores(self, X) -> np.ndarray:
        """Standardised anomaly scores (higher = more anomalous); NaN where a row has nothing in these columns."""
        with _detector_columns(self.columns):
            return (_on_seen_rows(X, self.raw_scores) - self.location) / self.scale

    def to_state(self) -> dict[str, Any]:
        """The member as plain values, for model files."""
        state = {"columns": self.columns, "score_type": self.score_type, "location": self.location,
                 "scale": self.scale, "class": type(self.estimator).__name__,
                 "state": self.estimator.get_fitted_state()}
        if self.score_type == "likelihood":
            state.update(residual_scale=self.residual_scale, code_mean=self.code_mean,
                         code_precision=self.code_precision)
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any], n_columns: int, device: str | None) -> Member:
        """The member :meth:`to_state` wrote; raises ValueError when the state does not describe one."""
        from ..estimators._registry import estimator_factory

        if state["class"] not in ("AutoEncoder", "VAE"):
            raise ValueError(f"unknown member class {state['class']!r}.")
        factory: Any = estimator_factory(state["class"])
        estimator = factory.from_fitted_state(state["state"], device)
        columns = np.asarray(state["columns"], dtype=np.intp)
        if columns.ndim != 1 or len(columns) != estimator.n_features_in_ or columns.min() < 0 \
                or columns.max() >= n_columns:
            raise ValueError("a member's columns do not match its estimator.")
        score_type = str(state["score_type"])
        if score_type not in ("likelihood", "reconstruction", "elbo", "iwae"):
            raise ValueError(f"unknown score type {score_type!r}.")
        extra = {}
        if score_type == "likelihood":
            latent = estimator.model_spec_.latent_dim
            extra = dict(
                residual_scale=np.asarray(state["residual_scale"], dtype=np.float64).reshape(len(columns)),
                code_mean=np.asarray(state["code_mean"], dtype=np.float64).reshape(latent),
                code_precision=np.asarray(state["code_precision"], dtype=np.float64).reshape(latent, latent),
            )
        return cls(estimator, columns, score_type, location=float(state["location"]), scale=float(state["scale"]),
                   **extra)


@contextmanager
def _detector_columns(columns: np.ndarray):
    """Errors that name "X's column j" of a member's columns name the detector's column instead."""
    try:
        yield
    except ValueError as exc:
        match = re.match(r"X's column (\d+)\b", str(exc))
        if match is None or int(match.group(1)) >= len(columns):
            raise
        index = int(match.group(1))
        raise ValueError(f"X's column {columns[index]}" + str(exc)[match.end():]) from exc


def _seen(X) -> np.ndarray:
    """Rows with at least one observed entry."""
    missing = pd.isna(X).to_numpy() if isinstance(X, pd.DataFrame) else np.isnan(np.asarray(X, dtype=np.float64))
    return np.asarray(~missing.all(axis=1))


def _on_seen_rows(X, fn, width: int | None = None) -> np.ndarray:
    """``fn(X)`` on the rows with something observed; NaN rows (or NaN scores) for the others."""
    seen = _seen(X)
    if seen.all():
        return fn(X)
    out = np.full((len(seen),) if width is None else (len(seen), width), np.nan)
    if seen.any():
        out[seen] = fn(X.iloc[seen] if isinstance(X, pd.DataFrame) else X[seen])
    return out


class WrappedMembers:
    """The members around a user's estimator, with the interface of :class:`skae.detection._scores.FittedEnsemble`."""

    def __init__(self, members: list[Member], n_columns: int):
        self.members, self.n_columns = members, n_columns

    @property
    def columns(self) -> list[np.ndarray]:
        return [m.columns for m in self.members]

    @property
    def n_members(self) -> int:
        return len(self.members)

    @classmethod
    def fit(cls, estimator, data, columns: list[np.ndarray], seeds: list[int], score_type: str,
            n_columns: int) -> WrappedMembers:
        """Clones of ``estimator``, each fitted on its columns of ``data`` with its own seed."""
        from sklearn.base import clone

        members = []
        for cols, seed in zip(columns, seeds):
            member = clone(estimator)
            params = member.get_params()
            if "random_state" in params and (params["random_state"] is None or len(columns) > 1):
                member.set_params(random_state=seed)  # members of an ensemble must differ
            if "latent_dim" in params and params["latent_dim"] > len(cols):
                member.set_params(latent_dim=len(cols))
            if "handle_unknown" in params:
                # the detector checks categories against all training rows; a category only held-out or
                # trimmed rows had is unknown to a member and scores as unusual there
                member.set_params(handle_unknown="ignore")
            members.append(Member.fitted(member, cols, score_type, columns_of(data, cols)))
        return cls(members, n_columns)

    @staticmethod
    def data(X, rows):
        """What members read: a table's DataFrame (they encode it), else the validated array."""
        if rows.layout is None:
            return rows.values
        if not isinstance(X, pd.DataFrame):
            # an array for a detector fitted on a (numeric) table, which validate_rows checked and warned about
            # once: its members read it as the table's columns, not each warning again
            return pd.DataFrame(np.asarray(X), columns=rows.layout.labels)
        return X

    def scores(self, X, rows) -> np.ndarray:
        """Each member's standardised scores (NaN where a row has nothing observed in a member's columns)."""
        data = self.data(X, rows)
        scores = np.column_stack([m.scores(columns_of(data, m.columns)) for m in self.members])
        unseen = np.flatnonzero(np.isnan(scores).all(axis=1))
        if len(unseen):
            raise ValueError(
                f"X's rows {unseen[:10].tolist()} have observed values only in columns no member sees, so no "
                "member can score them: give the detector max_features=1.0 or more members (n_estimators)."
            )
        return scores

    def feature_scores(self, X, rows) -> np.ndarray:
        data = self.data(X, rows)
        total = np.zeros((len(rows), self.n_columns))
        count = np.zeros(self.n_columns)
        for member in self.members:
            total[:, member.columns] += member.feature_scores(columns_of(data, member.columns))
            count[member.columns] += 1
        return total / np.maximum(count, 1)

    def to_state(self) -> dict[str, Any]:
        return {"members": [m.to_state() for m in self.members]}

    @classmethod
    def from_state(cls, state: dict[str, Any], n_columns: int, device: str | None) -> WrappedMembers:
        members = [Member.from_state(entry, n_columns, device) for entry in state["members"]]
        if not members:
            raise ValueError("a detector needs at least one member.")
        return cls(members, n_columns)
