"""Imputation: fill a table's missing entries from what an autoencoder learns of its observed ones.

:class:`AutoEncoderImputer` follows scikit-learn's imputers (``IterativeImputer``,
``KNNImputer``): ``missing_values``, ``add_indicator``, ``keep_empty_features``,
``sample_posterior`` for multiple imputation, ``get_feature_names_out`` and
``set_output``.  Observed entries come back untouched; a DataFrame comes back
with its columns, dtypes and categories.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.impute import MissingIndicator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, MissingValues, StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ..estimators._typing import ArrayLike, RandomState
from ..training._params import check_no_bool_numbers
from ._fill_check import FillCheck, fit_checked, fold_rng
from ._frames import (
    _append_indicator,
    _columns,
    _fill,
    _missing,
    _restored_dtypes,
    _rows,
    _with_empty,
    _with_nan,
)

__all__ = ["AutoEncoderImputer"]


class AutoEncoderImputer(TransformerMixin, BaseEstimator):
    """Fill missing entries with an autoencoder's reconstruction of each row from its observed entries.

    The model is trained on the rows with their holes: its loss counts the
    observed entries only, and, with the default model, extra observed entries
    are hidden at random during training so it learns to predict a value from
    the others (a denoising autoencoder for multiple imputation, MIDAS: Lall &
    Robinson, Political Analysis 2022).  ``transform`` fills each hole with the
    reconstruction of its row; observed entries are returned as they were.
    Numeric, categorical and boolean columns of a DataFrame are imputed
    alike, each by its own likelihood (:mod:`skae.tabular`).

    By default three such models, differently seeded, are trained and their
    reconstructions averaged (numbers, and category probabilities before the
    most probable category is taken): averaging removes much of one model's
    seed-to-seed variance, which is a large part of its error on small tables
    (benchmarks/results_impute.md).

    It checks its own fills (``check_fills``): a column the models fill
    worse than its mean or most frequent value is filled that way.

    Parameters
    ----------
    estimator : skae estimator or None, default=None
        The model to fill with: any skae ``AutoEncoder`` or ``VAE``.  ``None``:
        the default chosen on benchmarks/results_impute.md.
    n_estimators : int or "auto", default="auto"
        Models trained, each a clone of ``estimator`` with its own seed; their
        reconstructions are averaged.  "auto": 3 without an ``estimator``, 1
        with one.
    missing_values : int, float, str, np.nan, None or pandas.NA, default=np.nan
        The placeholder of a missing entry; NaN, None and pandas.NA in a
        DataFrame are always missing.  A DataFrame's columns are compared as
        their dtype holds values: a number matches in numeric columns (never
        a boolean's False or True), a string in text and category columns; an
        integer column keeps its dtype and gets integer fills.  An array is
        imputed as numbers and comes back float64, as from ``IterativeImputer``
        and ``KNNImputer`` (an object array with a text placeholder included).
    add_indicator : bool, default=False
        Append scikit-learn's ``MissingIndicator`` columns (one per feature that
        had missing entries at fit).
    keep_empty_features : bool, default=False
        Columns with no observed value at fit are dropped from the output; with
        True they are kept and filled as scikit-learn's ``SimpleImputer`` fills
        them: numbers with 0, booleans with False, text and categories with
        "missing_value" (added to a ``category`` dtype), datetimes with
        1970-01-01.
    sample_posterior : bool, default=False
        Draw each hole from the model's predictive distribution instead of
        taking its most likely value, for multiple imputation (run ``transform``
        with different ``random_state`` values).  A VAE draws a code from
        q(z | observed entries) and values from p(x | z); a plain autoencoder
        draws from the spread of its training residuals around its
        reconstruction, and categories from its softmax.  With several models
        each row's draw comes from one of them, picked at random (a draw from
        the ensemble's mixture).  A row with nothing observed is drawn as
        ``sample(draw=True)`` draws a new row (a simply filled column from its values).
    check_fills : bool, default=True
        Model k trains without a fold of 10 % of the observed entries and
        fills them; a column it fills worse than its mean or most frequent
        value (by 10 % and two standard errors, on 10 entries or more) is
        filled that way, with a UserWarning.  False: models see every entry.
    random_state : int, RandomState or None, default=None
        Seeds the models and the posterior draws.

    Attributes
    ----------
    estimators_ : list of fitted skae estimators
        The models whose reconstructions are averaged.
    estimator_ : fitted skae estimator
        The first of them: the model when ``n_estimators=1``.
    fill_check_ : pandas.DataFrame or None
        Per column observed at fit: ``model_error``, ``simple_error`` (RMSE in SDs, or share wrong),
        ``n_checked``, ``simple`` (the statistic), ``fill`` ("model" or "simple").  None unchecked.
    indicator_ : sklearn.impute.MissingIndicator or None
    n_features_in_, feature_names_in_

    See Also
    --------
    sklearn.impute.IterativeImputer, sklearn.impute.KNNImputer

    Examples
    --------
    >>> import numpy as np
    >>> from skae import AutoEncoderImputer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 4)) @ rng.normal(size=(4, 4))
    >>> X[rng.uniform(size=X.shape) < 0.2] = np.nan
    >>> filled = AutoEncoderImputer(random_state=0).fit_transform(X)
    >>> bool(np.isnan(filled).any()), filled.shape
    (False, (200, 4))
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "reconstruct"]), None],
        "n_estimators": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "missing_values": [MissingValues()],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
        "sample_posterior": ["boolean"],
        "check_fills": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, n_estimators="auto", missing_values=np.nan, add_indicator=False,
                 keep_empty_features=False, sample_posterior=False, check_fills=True, random_state=None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.missing_values = missing_values
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features
        self.sample_posterior = sample_posterior
        self.check_fills = check_fills
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags

    def _validate_params(self) -> None:
        super()._validate_params()
        check_no_bool_numbers(self)  # n_estimators=True is no count of models

    # -- fitting ----------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X: ArrayLike, y: Any = None) -> AutoEncoderImputer:
        """Train the model on X with its holes."""
        X = _with_nan(self, X, reset=True)
        missing = _missing(X)
        self._empty: np.ndarray = np.asarray(missing.all(axis=0), dtype=bool)
        if self._empty.all():
            raise ValueError("X has no observed value in any column: there is nothing to impute from.")
        observed_rows = np.asarray(~missing[:, ~self._empty].all(axis=1), dtype=bool)
        rows = _rows(_columns(X, ~self._empty), observed_rows)
        models = self._models(X.shape)
        names = [n for n, kept in zip(self._input_names(), (~self._empty).tolist()) if kept]
        self._check: FillCheck | None
        self.estimators_, self._check = fit_checked(models, rows, fold_rng(self.random_state, models), names,
                                                    type(self).__name__ if self.check_fills else None)
        self.indicator_ = None
        if self.add_indicator:
            self.indicator_ = MissingIndicator(missing_values=np.nan, error_on_new=False).fit(
                np.where(missing, np.nan, 0.0))
        return self

    def _models(self, shape: tuple[int, int]) -> list:
        """The unfitted models: clones of ``estimator`` (or the default), each with its own seed."""
        n = self.n_estimators if self.n_estimators != "auto" else (3 if self.estimator is None else 1)
        if n == 1:  # one model takes random_state itself, as it would unwrapped
            seeds: list = [self.random_state]
        else:
            rng = check_random_state(self.random_state)
            seeds = [int(rng.randint(np.iinfo(np.int32).max)) for _ in range(n)]
        models = []
        for seed in seeds:
            if self.estimator is None:
                models.append(_default_model(shape, seed))
                continue
            model = clone(self.estimator)
            if "random_state" in model.get_params() and (seed is not None):
                model.set_params(random_state=seed)
            models.append(model)
        return models

    @property
    def fill_check_(self) -> pd.DataFrame | None:
        """Per column: the models' and the simple fill's errors on entries hidden at fit, and the fill used."""
        check_is_fitted(self, "estimators_")
        check = getattr(self, "_check", None)
        return None if check is None else check.frame()

    @property
    def estimator_(self):
        """The first fitted model: the model when ``n_estimators=1``."""
        check_is_fitted(self, "estimators_")
        return self.estimators_[0]

    # -- imputing ---------------------------------------------------------------------

    def transform(self, X: ArrayLike) -> ArrayLike:
        """X with its missing entries filled (observed entries as they were).

        A row with nothing observed gets the models' typical row: each model's
        mean training code, decoded, averaged over the models; with
        ``sample_posterior`` it is drawn instead, as :meth:`skae.AutoEncoder.sample`
        draws a new row.  A DataFrame keeps its dtypes: an integer column gets
        integer fills (a float column at fit passed as ``Int64`` included), a
        ``category`` column gains an imputed category its dtype lacked.
        """
        check_is_fitted(self, "estimators_")
        dtypes = X.dtypes if isinstance(X, pd.DataFrame) else None
        X = _with_nan(self, X, reset=False)
        missing = _missing(X)
        kept = np.asarray(~self._empty, dtype=bool)
        part = _columns(X, kept)
        rng = check_random_state(self.random_state) if self.sample_posterior else None
        hole_rows = np.asarray(missing[:, kept].any(axis=1) & ~missing[:, kept].all(axis=1), dtype=bool)
        filled = part.copy()
        if hole_rows.any():
            guesses = self._guesses(_rows(part, hole_rows), rng)
            filled = _fill(filled, guesses, hole_rows, missing[:, kept])
        empty_rows = np.asarray(missing[:, kept].all(axis=1), dtype=bool)
        if empty_rows.any():
            filled = _fill(filled, self._typical(int(empty_rows.sum()), rng), empty_rows, missing[:, kept])
        if self.keep_empty_features and self._empty.any():
            filled = _with_empty(X, filled, self._empty)
        if dtypes is not None:
            filled = _restored_dtypes(filled, dtypes)
        if self.indicator_ is not None:
            flags = self.indicator_.transform(np.where(missing, np.nan, 0.0))
            filled = _append_indicator(filled, flags, self._indicator_names())
        return filled

    # -- model files ------------------------------------------------------------------

    def get_fitted_state(self) -> dict[str, Any]:
        """The fitted imputer as plain values (see :meth:`skae.AutoEncoder.get_fitted_state`)."""
        check_is_fitted(self, "estimators_")
        names = getattr(self, "feature_names_in_", None)
        check: FillCheck | None = getattr(self, "_check", None)
        return {
            "params": self.get_params(deep=False), "n_features_in": int(self.n_features_in_),
            "feature_names_in": None if names is None else [str(n) for n in names],
            "empty": self._empty.tolist(), "class": type(self.estimator_).__name__,
            "models": [model.get_fitted_state() for model in self.estimators_],
            "indicator": None if self.indicator_ is None else self.indicator_.features_.tolist(),
            "fill_check": None if check is None else check.to_state(),
        }

    @classmethod
    def from_fitted_state(cls, state: dict[str, Any], device: str | None = None) -> AutoEncoderImputer:
        """Rebuild a fitted imputer from :meth:`get_fitted_state`'s output."""
        return _restored(cls(**state["params"]), state, device)

    def _guesses(self, part, rng):
        """The models' values for every entry of ``part``: their mean reconstruction, or posterior draws with ``rng``."""
        if rng is None:
            return self._decoded(np.mean([model._reconstruction(part, None, None) for model in self.estimators_],
                                         axis=0), None)
        return self._one_model_per_row([model._reconstruction(part, None, rng) for model in self.estimators_], rng)

    def _typical(self, n: int, rng):
        """Values for ``n`` rows with nothing observed: the models' typical row, or draws with ``rng``.

        Nothing observed, the posterior is the model's distribution of rows:
        a code from the mixture fitted to its training codes, decoded and drawn
        from p(x | z), as ``sample(draw=True)`` makes a new row.
        """
        if rng is None:
            typical = np.mean([model.model_.decode(model.training_codes_.mean(0, keepdims=True), None)
                               for model in self.estimators_], axis=0)
            return self._decoded(np.repeat(typical, n, axis=0), None)
        draws = []
        for model in self.estimators_:
            fitted = model.model_
            means = fitted.decode(fitted.sampler("mixture").draw(n, rng, None), None)
            draws.append(fitted.draw(means, rng, model._sigma()))  # sample(draw=True)'s draws: in range, correlated
        return self._one_model_per_row(draws, rng)

    def _one_model_per_row(self, draws: list[np.ndarray], rng):
        """Each row's values from one model picked at random (a draw from the ensemble's mixture), decoded.

        Every model draws every row, and each row keeps the draw of one model,
        so a row's values come from one coherent model.
        """
        values = draws[0]
        if len(draws) > 1:
            picked = rng.randint(len(draws), size=len(values))
            values = np.stack(draws)[picked, np.arange(len(values))]
        return self._decoded(values, rng)

    def _decoded(self, values: np.ndarray, rng):
        """The models' values as the input's kind: a table's columns decoded (categories, dtypes)."""
        layout = self.estimator_.model_.layout
        values = values if layout is None else layout.decode(values, rng)
        check = getattr(self, "_check", None)  # absent from imputers pickled before the check
        return values if check is None else check.apply(values, rng)

    def _indicator_names(self) -> list[str]:
        names = self._input_names()
        assert self.indicator_ is not None, "add_indicator=True fitted an indicator"
        return [f"missingindicator_{names[j]}" for j in self.indicator_.features_]

    def _input_names(self) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        return [str(n) for n in names] if names is not None else [f"x{i}" for i in range(self.n_features_in_)]

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """The input's names (empty columns left out unless kept), then the indicator's."""
        check_is_fitted(self, "estimators_")
        names = [str(n) for n in _check_feature_names_in(self, input_features)]
        keep = np.ones(len(names), dtype=bool) if self.keep_empty_features else ~self._empty
        out = [n for n, k in zip(names, keep.tolist()) if k]
        if self.indicator_ is not None:
            out += [f"missingindicator_{names[j]}" for j in self.indicator_.features_]
        return np.asarray(out, dtype=object)


def _restored(imputer: AutoEncoderImputer, state: dict[str, Any], device: str | None) -> AutoEncoderImputer:
    """``imputer`` (unfitted, with the file's parameters) given the fitted state a model file holds, checked."""
    from ..estimators._registry import estimator_factory

    imputer._validate_params()
    if state["class"] not in ("AutoEncoder", "VAE"):
        raise ValueError(f"an imputer's model is an AutoEncoder or a VAE, not {state['class']!r}.")
    factory: Any = estimator_factory(state["class"])
    states = state["models"] if "models" in state else [state["model"]]  # files written before ensembles
    if not isinstance(states, list) or not states:
        raise ValueError("an imputer's file holds at least one model.")
    imputer.estimators_ = [factory.from_fitted_state(model, device) for model in states]
    n = state["n_features_in"]
    empty = np.asarray(state["empty"], dtype=bool)
    if not isinstance(n, int) or isinstance(n, bool) or empty.shape != (n,) or any(
            model.n_features_in_ != int((~empty).sum()) for model in imputer.estimators_):
        raise ValueError("the imputer's columns do not match its models.")
    imputer.n_features_in_, imputer._empty = n, empty
    if state["feature_names_in"] is not None:
        imputer.feature_names_in_ = np.asarray([str(v) for v in state["feature_names_in"]], dtype=object)
    imputer.indicator_ = None
    if state["indicator"] is not None:
        features = np.asarray(state["indicator"], dtype=np.intp)
        if features.ndim != 1 or (len(features) and (features.min() < 0 or features.max() >= n)):
            raise ValueError("the imputer's indicator columns are out of range.")
        flags = np.zeros((1, n))
        flags[0, features] = np.nan  # refit the indicator on a row missing exactly there
        imputer.indicator_ = MissingIndicator(missing_values=np.nan, error_on_new=False).fit(flags)
    check = state.get("fill_check")  # absent from files written before the check: the models fill every column
    names = [name for name, kept in zip(imputer._input_names(), (~empty).tolist()) if kept]
    imputer._check = None if check is None else FillCheck.from_state(check, names)
    return imputer


#: training steps of each default model, their batch size, and the share of a row's observed entries hidden
#: while it trains (benchmarks/results_impute.md)
STEPS, BATCH, HIDDEN = 4000, 128, 0.35


def _default_model(shape: tuple[int, int], random_state: RandomState):
    """The default: a denoising autoencoder that hides a share ``HIDDEN`` of each row's observed entries as it trains.

    No bottleneck to speak of (a code of 32) and no early stopping: held-out
    rows measure how well observed entries come back, not how well hidden ones
    are predicted.  Trained for about ``STEPS`` steps of ``BATCH`` rows (20 to
    400 epochs).  Larger batches with half the steps of a single model (8,000
    of 64 rows) err as little, so three models cost less than twice what one
    did (benchmarks/results_impute.md).
    """
    from ..estimators._autoencoder import AutoEncoder

    epochs = default_epochs(shape[0])
    # a category the training rows lacked is kept as observed and costs nothing: the model skips it
    return AutoEncoder(latent_dim=32, activation="relu", corruption="missing", corruption__p_min=HIDDEN,
                       early_stopping=False, batch_size=BATCH, max_epochs=epochs, handle_unknown="ignore",
                       random_state=random_state)


def default_epochs(n_rows: int, steps: int = STEPS, batch: int = BATCH) -> int:
    """Epochs of about ``steps`` steps of ``batch`` rows over ``n_rows`` rows, kept within 20 to 400."""
    return int(min(400, max(20, math.ceil(steps * batch / max(n_rows, 1)))))
