"""Every public estimator, small and fast: the registry the reliability tests run over.

A new estimator joins every shared behaviour's test (tests/test_reliability.py)
by one entry in :data:`ESTIMATORS`.  What a test may ask of an estimator is read
from the estimator itself: which methods it has, whether it needs a condition
``y``, whether it is an imputer, which of its methods return rows.
"""

import inspect

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from skae import VAE, AutoEncoder, AutoEncoderImputer, AutoEncoderOutlierDetector, BetaVAE, ConditionalVAE

FAST = dict(latent_dim=2, hidden_dims=(8,), max_epochs=3, random_state=0)

ESTIMATORS = [
    pytest.param(lambda: AutoEncoder(**FAST), id="AutoEncoder"),
    pytest.param(lambda: VAE(**FAST), id="VAE"),
    pytest.param(lambda: BetaVAE(**FAST), id="BetaVAE"),
    pytest.param(lambda: ConditionalVAE(**FAST), id="ConditionalVAE"),
    # the default ensemble, trained for its fixed number of steps; two members instead of ten keep it fast and,
    # at half the columns each, still see every column of a 6-column X
    pytest.param(lambda: AutoEncoderOutlierDetector(n_estimators=2, random_state=0), id="Detector-default"),
    pytest.param(lambda: AutoEncoderOutlierDetector(estimator=AutoEncoder(**FAST), random_state=0),
                 id="Detector-AutoEncoder"),
    # members on halves of the columns: a row with holes may have nothing in one member's columns
    pytest.param(lambda: AutoEncoderOutlierDetector(estimator=AutoEncoder(**FAST), n_estimators=2, max_features=0.5,
                                                    random_state=0), id="Detector-AutoEncoder-halves"),
    # the default imputer's models train for thousands of steps; two fast ones take its path (several models
    # averaged, each checking its own fills)
    pytest.param(lambda: AutoEncoderImputer(AutoEncoder(**FAST), n_estimators=2, random_state=0), id="Imputer"),
]

#: every public method that takes rows (``inverse_transform`` takes codes: :func:`method_input`)
ROW_METHODS = ("transform", "inverse_transform", "reconstruct", "denoise", "encode", "score_samples", "score",
               "feature_errors", "decision_function", "predict", "anomaly_score", "member_scores", "predict_proba")


def data():
    """The rows every test fits on: 60 × 6, a fresh copy each call."""
    return np.random.RandomState(0).normal(size=(60, 6))


def needs_condition(est):
    """Whether every call needs the condition ``y`` (scikit-learn's ``target_tags.required``)."""
    return est.__sklearn_tags__().target_tags.required


def imputes(est):
    """Whether ``est`` is an imputer: scikit-learn's imputers all take ``missing_values``."""
    return "missing_values" in est.get_params(deep=False)


def condition(est, n):
    """The keyword arguments that give ``est`` a condition for n rows: two labels, or none if it takes none."""
    return {"y": np.arange(n) % 2} if needs_condition(est) else {}


def fit(est, X):
    """``est.fit(X)``, with a condition for an estimator that needs one."""
    return est.fit(X, **condition(est, X.shape[0]))


def call(est, method, X, **kwargs):
    """``est.<method>(X)``, with a condition for an estimator that needs one."""
    return getattr(est, method)(X, **condition(est, X.shape[0]), **kwargs)


def method_input(est, method, X):
    """What ``method`` takes for the rows X: their codes for ``inverse_transform``, else X."""
    return call(est, "transform", X) if method == "inverse_transform" else X


def row_methods(est):
    """The public methods of ``est`` that take rows (or codes)."""
    return [m for m in ROW_METHODS if hasattr(est, m)]


def x_methods(est):
    """The public methods of ``est`` that take rows X: all of :func:`row_methods` but ``inverse_transform``."""
    return [m for m in row_methods(est) if m != "inverse_transform"]


def output_methods(est):
    """The methods of ``est`` that return rows of X's kind: decoded rows, or an imputer's filled X."""
    return [m for m in ("inverse_transform", "reconstruct", "denoise") if hasattr(est, m)] + (
        ["transform"] if imputes(est) else [])


def public_methods(est):
    """Every public method of ``est`` that needs a fitted estimator (all but fit, set_* and class methods)."""
    cls = type(est)
    return [name for name in dir(cls)
            if not name.startswith(("_", "fit", "set_")) and name != "partial_fit"
            and not hasattr(BaseEstimator, name) and inspect.isfunction(inspect.getattr_static(cls, name))]


def combinations(options=lambda est: [("", ())]):
    """``pytest.param`` (factory, *values) for each estimator and each case that applies to it.

    ``options`` takes an unfitted estimator and returns the cases that apply to
    it, as (id, values) pairs; by default one case with no values.
    """
    params = []
    for entry in ESTIMATORS:
        make = entry.values[0]
        for name, values in options(make()):
            params.append(pytest.param(make, *values, id=f"{entry.id}-{name}" if name else entry.id))
    return params


_FITTED: dict = {}


def fitted(make):
    """``make()`` fitted on :func:`data`, once per session: callers read it and never change it."""
    if make not in _FITTED:
        _FITTED[make] = fit(make(), data())
    return _FITTED[make]
