"""What a fit keeps of its training rows: their codes, and the spread and correlation of their errors.

The codes are what mixture samplers fit.  Draws add noise to decoded values:
an autoencoder's with its rows' error spread, and a table's numeric columns
correlated as these errors are (:meth:`skae.likelihoods.MixedColumns.draw`),
so columns that go together beyond what the code carries still go together in
drawn rows.  This module computes them after training, finds the slots that
take part and checks a correlation read from a model file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from ..tables._scaling import ObservedMeans
from ._chunks import INFERENCE_CHUNK, chunk_rows
from .likelihoods import Likelihood, MixedColumns

__all__ = ["CORRELATED_SLOTS", "TrainingSummary", "checked_correlation", "correlated_slots", "error_correlation",
           "summarise_training_rows"]

#: a table with more numeric slots than this draws their noise independently (the correlation is k x k)
CORRELATED_SLOTS = 256


class TrainingSummary(NamedTuple):
    """What :func:`summarise_training_rows` keeps."""

    codes: np.ndarray
    conditions: np.ndarray | None
    scale: np.ndarray | None  # per-slot error spread (autoencoders)
    correlation: np.ndarray | None  # a table's numeric slots


def summarise_training_rows(model: Any, pieces: Iterable) -> TrainingSummary:
    """Codes, conditions and error statistics of training rows given in ``pieces`` of ``(x, c)``.

    ``model`` is a :class:`skae.model._fitted.FittedModel`.  The rows are read a
    chunk of inference at a time (a wide table's are never all dense), which
    gives the codes one pass over them all would.
    """
    codes, conditions, squares, numeric_errors = [], [], ObservedMeans(), []
    correlated = correlated_slots(model.likelihood, model.layout is not None)
    variational = model.spec.variational
    # the decoded rows in float64, on the CPU the same whatever rows they come with: in smaller parts there
    part = chunk_rows(model.device, np.float64, INFERENCE_CHUNK // 4)
    for x, c in pieces:
        codes.append(model.run(model.codes, x, c))
        conditions.append(c)
        if variational and correlated is None:
            continue
        for start in range(0, len(x), part):
            rows = slice(start, start + part)
            errors = model.run(model.decoded, codes[-1][rows], None if c is None else c[rows], dtype=np.float64)
            np.subtract(x[rows], errors, out=errors)  # in place: a wide table's slots are many
            if correlated is not None:
                numeric_errors.append(errors[:, correlated])
            if not variational:
                squares.add(model.likelihood.residual_terms(errors))
    return TrainingSummary(
        np.concatenate(codes), None if conditions[0] is None else np.concatenate(conditions),
        None if variational else model.likelihood.residual_scale(np.nan_to_num(squares.mean())),
        None if correlated is None else error_correlation(np.concatenate(numeric_errors)),
    )


def correlated_slots(likelihood: Likelihood, table: bool) -> np.ndarray | None:
    """The numeric slots whose draws are correlated: a table's, when it has 2 to ``CORRELATED_SLOTS``."""
    if not table or not isinstance(likelihood, MixedColumns):
        return None
    slots = np.flatnonzero(likelihood.numeric_slot_mask)
    return slots if 2 <= len(slots) <= CORRELATED_SLOTS else None


def error_correlation(errors: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    """The correlation of reconstruction errors (rows x slots; NaN where not observed), positive definite.

    Second moments about zero (the errors are noise about the decoder's mean),
    each pair's over the rows where both are observed; then the nearest matrix
    whose eigenvalues are at least ``floor``, rescaled to a unit diagonal, so
    it always has a Cholesky factor (a slot that never varies, or a pair never
    observed together, gets no correlation).
    """
    observed = ~np.isnan(errors)
    values = np.where(observed, errors, 0.0)
    squares = np.square(values).T @ observed  # [i, j]: slot i's squares over the rows where j is observed too
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = (values.T @ values) / np.sqrt(squares * squares.T)
    correlation[~np.isfinite(correlation)] = 0.0
    np.fill_diagonal(correlation, 1.0)
    w, v = np.linalg.eigh((correlation + correlation.T) / 2)
    correlation = (v * np.maximum(w, floor)) @ v.T
    spread = np.sqrt(np.diag(correlation))
    correlation = correlation / np.outer(spread, spread)
    return (correlation + correlation.T) / 2


def checked_correlation(value, slots: np.ndarray | None) -> np.ndarray | None:
    """A model file's ``residual_correlation`` for ``slots``, checked (None stays None: older files have none)."""
    if value is None:
        return None
    correlation = np.asarray(value, dtype=np.float64)
    k = -1 if slots is None else len(slots)
    if correlation.shape != (k, k) or not np.allclose(correlation, correlation.T) \
            or not np.allclose(np.diag(correlation), 1.0):
        raise ValueError("residual_correlation is not a correlation matrix of the table's numeric slots.")
    try:
        np.linalg.cholesky(correlation)
    except np.linalg.LinAlgError as exc:
        raise ValueError("residual_correlation is not positive definite.") from exc
    return correlation
