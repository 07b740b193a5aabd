"""Generation: ``sample`` and ``interpolate``, shared by every estimator.

Codes come from the fitted model's latent samplers (:func:`skae.sampling.latent_sampler`):
a mixture fitted to the training codes, or a VAE's prior.  Decoding goes through
the model's likelihood: means, or draws from p(x | z) with ``draw=True``.
"""

from __future__ import annotations

import decimal
import numbers
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch
from sklearn.utils import check_random_state

from ..tables._layout import BOOLEAN, DATETIME, NUMERIC, ColumnLayout
from ..tables._values import EPOCH, as_seconds, category_codes, plain
from ..training._objectives import observed
from ._attributes import FittedAttributes
from ._typing import ArrayLike, Condition, Output, RandomState

__all__ = ["GIVEN_CANDIDATES", "GenerativeMixin"]

#: candidate codes per sample that ``sample(given=...)`` resamples among
GIVEN_CANDIDATES = 200


class GenerativeMixin(FittedAttributes):
    """``sample`` / ``interpolate`` over the fitted model and ``transform`` / ``inverse_transform``."""

    def sample(self, n_samples: int = 1, random_state: RandomState = None, *, y: Condition = None,
               sampler: str = "auto", draw: bool | str = "auto", given=None) -> Output:
        """Generate new rows: codes from a latent sampler, decoded.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState or None
        y : condition or None
            Conditional models: one condition for all samples, or one per sample.
        sampler : {"auto", "prior", "mixture"}, default="auto"
            Where codes are drawn from.  "mixture": a Gaussian mixture fitted to
            the codes of the training rows (per condition for conditional models;
            Ghosh et al., ICLR 2020), which samples where the encoder put the data.
            "prior": a VAE's prior N(0, I) (or the learned p(z | y)); an
            autoencoder has none.  "auto" is "mixture" (benchmarks/results_generative.md).
        draw : bool or "auto", default="auto"
            Return decoder means (False) or draws from p(x | z) (True): Gaussian
            noise with the VAE's scale σ0 (an autoencoder's: its training
            residuals' spread), or Bernoulli values.  "auto": draws for a
            table (synthetic rows need the spread of real ones), means for
            arrays (the smooth images a decoder draws).  A table's categories
            are always drawn from the decoder's softmax.
        given : dict or DataFrame, optional
            Values some columns must have, e.g. ``{"island": "Biscoe"}`` (one
            value, or one per sample; a DataFrame of ``n_samples`` rows), and
            the other columns drawn given them, without retraining: each
            sample's code is chosen among ``GIVEN_CANDIDATES`` codes from the
            latent sampler with probability proportional to the likelihood of
            the given values (sampling-importance-resampling: Rubin, 1988).
            For an array model, keys are column indices.  The given columns
            hold exactly these values, as the column's fitted dtype; a value
            the column cannot hold so (a missing value, 2008.7 for an integer
            column, an unknown category, text for a number) is an error, and a
            number or datetime outside the range seen at fit a ``UserWarning``.
            An empty ``given`` is no condition.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features), float64
            For a mixed-type table, a DataFrame of the training columns whose
            categories are drawn from the decoder's softmax.
        """
        model = self._fitted()
        n_samples = _positive_int(n_samples, "n_samples")
        rng = check_random_state(random_state)
        conditions = model.encode_conditions(y, n_samples, type(self).__name__)
        name = "mixture" if sampler == "auto" else sampler
        columns = self._given_columns(given, n_samples)
        if not columns:  # None, {} or a frame without columns: no condition
            z = model.sampler(name).draw(n_samples, rng, conditions)
        else:
            z = self._codes_given(self._given_rows(columns, n_samples), model.sampler(name), rng, conditions)
        means = model.decode(z, conditions)
        if draw == "auto":
            draw = model.layout is not None
        if draw:
            means = model.draw(means, rng, self._sigma())  # type: ignore[attr-defined]
        # categories of a mixed-type table are drawn from the decoder's softmax with the same rng
        out = means if model.layout is None else model.layout.decode(means, rng)
        if columns:
            self._hold_given(out, columns)
        return out

    def _given_columns(self, given, n: int) -> dict:
        """``given`` as {column label (or index): object array of n values}, each value checked against its column.

        A value the column cannot hold exactly (a missing value, 2008.7 for an
        integer column, text for a number, an unknown category) is an error: the
        sampled rows hold the given values as asked, or none.  A number or a
        datetime outside the range seen at fit is a warning: the model extrapolates.
        """
        if given is None:
            return {}
        if isinstance(given, pd.DataFrame):
            if len(given.columns) and len(given) != n:
                raise ValueError(f"given holds {len(given)} rows for {n} samples: give one value per column, or "
                                 "one row per sample.")
            columns = {plain(k): given[k].to_numpy(dtype=object) for k in given.columns}
        elif isinstance(given, Mapping):
            columns = {plain(k): _per_sample(k, v, n) for k, v in given.items()}
        else:
            raise TypeError(f"given must be a dict {{column: value(s)}} or a DataFrame; got {type(given).__name__}.")
        model = self._fitted()
        layout = model.layout
        known = layout.labels if layout is not None else list(range(model.spec.n_features))
        unknown = [k for k in columns if isinstance(k, bool) or k not in known]  # True == 1 names no column
        if unknown:
            raise ValueError(f"given names columns {unknown} the model was not fitted on; it has {known}.")
        for key, values in columns.items():
            _check_complete(key, values)
            if layout is None:
                _check_numbers(key, str(key), values, "float64", _scaler_range(model.scaler, int(key)))
                continue
            j = layout.labels.index(key)
            name, kind, dtype = layout.names[j], layout.kinds[j], layout.dtypes[j]
            if kind == NUMERIC:
                _check_numbers(key, name, values, dtype, _fitted_range(layout, model.scaler, j))
            elif kind == DATETIME:
                columns[key] = _check_datetimes(key, name, values, dtype, _fitted_range(layout, model.scaler, j))
            elif kind == BOOLEAN:
                _check_booleans(key, name, values)
            else:
                _check_categories(key, name, values, layout.categories[j])
        return columns

    def _given_rows(self, columns: dict, n: int) -> np.ndarray:
        """Scaled encoded rows holding the given values and NaN (missing) everywhere else."""
        model = self._fitted()
        if model.layout is not None:
            full = pd.DataFrame({label: columns.get(label, np.full(n, None, dtype=object))
                                 for label in model.layout.labels})
            encoded = model.layout.encode(full, handle_unknown="error")
        else:
            encoded = np.full((n, model.spec.n_features), np.nan)
            for key, value in columns.items():
                encoded[:, int(key)] = np.asarray(value, dtype=np.float64)
        return model.scaler.transform(encoded)

    def _hold_given(self, out, columns: dict) -> None:
        """Write the given values into the sampled rows, as the column's fitted dtype (what plain ``sample`` gives).

        A table's given columns go through the layout's own encode and decode,
        without its quantile maps and supports (which keep decoded values in
        the training range and on its grid), so they come back exactly, as
        the same dtype, categories and all, as the columns ``decode`` draws.
        """
        layout = self._fitted().layout
        if layout is None:
            for key, value in columns.items():
                out[:, int(key)] = np.asarray(value, dtype=out.dtype)
            return
        index = [layout.labels.index(key) for key in columns]
        exact = ColumnLayout(*([getattr(layout, field)[j] for j in index]
                               for field in ("names", "kinds", "categories", "dtypes", "labels", "ordered")))
        values = exact.decode(exact.encode(pd.DataFrame({layout.labels[j]: columns[layout.labels[j]]
                                                         for j in index})))
        for label in values.columns:
            out[label] = values[label].array

    def _codes_given(self, rows: np.ndarray, sampler, rng, conditions) -> np.ndarray:
        """One code per row, resampled among candidates by the likelihood of the row's observed (given) entries."""
        model = self._fitted()
        k, n = GIVEN_CANDIDATES, len(rows)
        repeated = None if conditions is None else np.repeat(conditions, k, axis=0)
        candidates = sampler.draw(n * k, rng, repeated)
        targets = np.repeat(rows, k, axis=0)
        sigma = None if model.spec.variational else model.residual_scale
        log_sigma = None if sigma is None else torch.as_tensor(np.log(np.maximum(sigma, 1e-3)))

        def likelihood(module, z, x, c):
            filled, mask = observed(x)
            scale = module.log_scale() if log_sigma is None else log_sigma.to(x.device, x.dtype)
            return model.likelihood.log_likelihood(filled, module.decode(z, c), mask, log_scale=scale)

        log_w = model.run(likelihood, candidates, targets, repeated, dtype=np.float64).reshape(n, k)
        weights = np.exp(log_w - log_w.max(axis=1, keepdims=True))
        cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
        pick = np.minimum((rng.uniform(size=(n, 1)) > cumulative).sum(axis=1), k - 1)
        return candidates.reshape(n, k, -1)[np.arange(n), pick]

    def interpolate(self, x0: ArrayLike, x1: ArrayLike, n_steps: int = 10, y: Condition = None) -> np.ndarray:
        """Decode the latent path z_t = (1 − t) z0 + t z1, t in [0, 1].

        Parameters
        ----------
        x0, x1 : array-like of shape (n_features,) or (n_pairs, n_features)
        n_steps : int, default=10
        y : condition or None
            One condition for the whole path (conditional models).

        Returns
        -------
        path : ndarray of shape (n_steps, n_features), or (n_pairs, n_steps, n_features)
        """
        if self._fitted().layout is not None:
            raise TypeError(
                "interpolate takes numeric rows; for a table with categorical columns, interpolate the codes: "
                "inverse_transform((1 - t) * transform(row0) + t * transform(row1)) for t in [0, 1] gives a DataFrame."
            )
        single = np.ndim(x0) == 1
        x0 = np.atleast_2d(np.asarray(x0, dtype=np.float64))
        x1 = np.atleast_2d(np.asarray(x1, dtype=np.float64))
        if x0.shape != x1.shape:
            raise ValueError(f"x0 and x1 must have the same shape; got {x0.shape} and {x1.shape}.")
        if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral) or n_steps < 2:
            raise ValueError(f"n_steps must be an int >= 2; got {n_steps!r}.")
        z0, z1 = self.transform(x0, y), self.transform(x1, y)  # type: ignore[attr-defined]
        t = np.linspace(0.0, 1.0, n_steps)[None, :, None]
        zt = (1 - t) * z0[:, None, :] + t * z1[:, None, :]
        path = self.inverse_transform(zt.reshape(-1, zt.shape[-1]), y)  # type: ignore[attr-defined]
        path = path.reshape(len(x0), n_steps, -1)
        return path[0] if single else path


def _per_sample(key, value, n: int) -> np.ndarray:
    """One given entry as n values: a scalar for every sample, or a sequence of one value per sample."""
    if isinstance(value, (pd.Series, pd.Index)):
        value = value.to_numpy(dtype=object)
    elif isinstance(value, np.ndarray) and value.ndim == 0:  # np.asarray(5.0): the scalar it holds
        value = value[()]
    if np.ndim(value) == 0:
        out = np.empty(n, dtype=object)
        out[:] = [value] * n  # element by element: np.full would unpack a Timestamp or broadcast a tuple
        return out
    values = np.asarray(value, dtype=object)
    if values.ndim != 1:
        raise ValueError(f"given[{key!r}] has shape {values.shape}: give one value, or a list of one per sample.")
    if len(values) != n:
        raise ValueError(f"given holds {len(values)} rows for {n} samples (given[{key!r}]): give one value per "
                         "column, or one per sample.")
    return values


def _holds(key, value) -> str:
    return f"given[{key!r}] holds {plain(value)!r}"


def _check_complete(key, values: np.ndarray) -> None:
    missing = np.asarray([v is None or v is pd.NA or v is pd.NaT or isinstance(v, float) and np.isnan(v)
                          or isinstance(v, np.generic) and bool(pd.isna(v)) for v in values], dtype=bool)
    if missing.any():
        raise ValueError(
            f"given[{key!r}] holds missing values (None, NaN, pd.NA or NaT) in rows "
            f"{np.flatnonzero(missing)[:5].tolist()}: sampled rows have no missing values. Give a value, or leave "
            f"{key!r} out of given to draw that column freely."
        )


def _check_numbers(key, name: str, values: np.ndarray, dtype: str, fitted: tuple[float, float] | None) -> None:
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, decimal.Decimal)):
            raise TypeError(_holds(key, v) + f", but column {name!r} is numeric ({dtype}): give numbers.")
    x = np.asarray([float(v) for v in values], dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError(_holds(key, values[~np.isfinite(x)][0]) + f": column {name!r} takes finite numbers.")
    if dtype.lower() in ("float16", "float32"):
        limit = float(np.finfo(np.dtype(dtype.lower())).max)
        beyond = np.abs(x) > limit
        if beyond.any():
            raise ValueError(_holds(key, values[beyond][0]) + f", which column {name!r} ({dtype}) cannot "
                             f"hold: it takes numbers within ±{limit:g}.")
    if dtype.lower().startswith(("int", "uint")):
        fraction = x != np.round(x)
        if fraction.any():
            raise ValueError(
                _holds(key, values[fraction][0]) + f", but column {name!r} holds integers ({dtype}) and sampled "
                "rows hold the given values exactly: give a whole number."
            )
        info = np.iinfo(np.dtype(dtype.lower()))
        beyond = (x < info.min) | (x > info.max)
        if beyond.any():
            raise ValueError(_holds(key, values[beyond][0]) + f", which column {name!r} ({dtype}) cannot "
                             f"hold: it takes integers in [{info.min}, {info.max}].")
    _warn_outside(key, name, x, fitted, lambda v: f"{int(v)}" if dtype.lower().startswith(("int", "uint"))
                  else f"{v:g}")


def _check_datetimes(key, name: str, values: np.ndarray, dtype: str, fitted: tuple[float, float] | None
                     ) -> np.ndarray:
    """The given datetimes as Timestamps (aware ones in UTC, as the column is encoded), checked."""
    aware = "," in dtype  # datetime64[ns, Europe/Paris]: the column holds instants, its values carry a zone
    times = []
    for v in values:
        if isinstance(v, (bool, np.bool_, numbers.Number, decimal.Decimal)):  # pandas would read nanoseconds
            raise TypeError(_holds(key, v) + f", but column {name!r} holds datetimes: give a "
                            "pd.Timestamp, a datetime or date, or ISO text such as '2008-06-30'.")
        try:
            time = pd.Timestamp(v)
        except (TypeError, ValueError) as exc:
            raise TypeError(_holds(key, v) + f", which is not a datetime ({exc}): column {name!r} holds "
                            "datetimes; give a pd.Timestamp, a datetime or date, or ISO text.") from exc
        if (time.tzinfo is not None) != aware:  # a wall time read in another zone would not be the one asked for
            if aware:
                zone = dtype.split(",", 1)[1].rstrip("]").strip()
                raise TypeError(_holds(key, v) + f", a time without a time zone, but column {name!r} "
                                f"holds times in {zone}: give times with a zone, e.g. pd.Timestamp('2008-06-30', "
                                f"tz={zone!r}).")
            raise TypeError(_holds(key, v) + f", a time with a time zone, but column {name!r} holds times "
                            "without one: give times without a zone (e.g. with .tz_localize(None)).")
        times.append(time if time.tzinfo is None else time.tz_convert("UTC"))
    _warn_outside(key, name, as_seconds(pd.Series(times, dtype=object), name), fitted,
                  lambda v: str(EPOCH + pd.to_timedelta(v, unit="s")))
    out = np.empty(len(times), dtype=object)
    out[:] = times
    return out


def _check_booleans(key, name: str, values: np.ndarray) -> None:
    for v in values:  # the values a boolean column's encoding takes (0 and 1 as False and True)
        if not (isinstance(v, (bool, np.bool_)) or isinstance(v, numbers.Real) and v in (0, 1)):
            raise TypeError(_holds(key, v) + f", but column {name!r} is boolean: give True or False.")


def _check_categories(key, name: str, values: np.ndarray, categories: list) -> None:
    codes = category_codes(pd.Series(values, dtype=object), categories, name)
    if (codes < 0).any():
        seen = sorted({repr(plain(v)) for v in values[codes < 0]})[:5]
        shown = categories[:50] + (["..."] if len(categories) > 50 else [])
        raise ValueError(f"given[{key!r}] holds categories not seen in fit: {', '.join(seen)}. Column {name!r} "
                         f"has {len(categories)} categories: {shown}.")


def _warn_outside(key, name: str, x: np.ndarray, fitted: tuple[float, float] | None, shown) -> None:
    if fitted is None:  # a model file written before the range was kept
        return
    low, high = fitted
    outside = np.unique(x[(x < low) | (x > high)])
    if len(outside):
        warnings.warn(
            f"given[{key!r}] = {', '.join(shown(v) for v in outside[:3])} lies outside the range of column "
            f"{name!r} seen at fit, [{shown(low)}, {shown(high)}]: the model was trained on no such row, so the "
            "other columns are extrapolated.",
            UserWarning, stacklevel=5,  # _warn_outside < _check_* < _given_columns < sample < the caller
        )


def _fitted_range(layout: ColumnLayout, scaler, j: int) -> tuple[float, float] | None:
    """Table column ``j``'s smallest and largest value at fit, as encoded before scaling (seconds for datetimes)."""
    quantiles = layout.quantiles[j]
    if quantiles is not None:  # the scaler saw normal scores; the map's knots are the column's values
        return float(quantiles.values[0]), float(quantiles.values[-1])
    return _scaler_range(scaler, layout.slots[j][0])


def _scaler_range(scaler, slot: int) -> tuple[float, float] | None:
    if scaler.low is None or scaler.high is None:
        return None
    return float(scaler.low[slot]), float(scaler.high[slot])


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive int; got {value!r}.")
    return int(value)
