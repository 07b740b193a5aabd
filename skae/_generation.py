"""Generation: ``sample`` and ``interpolate``, shared by every estimator.

Codes come from the fitted model's latent samplers (:func:`skae.sampling.latent_sampler`):
a mixture fitted to the training codes, or a VAE's prior.  Decoding goes through
the model's likelihood: means, or draws from p(x | z) with ``draw=True``.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import torch
from sklearn.utils import check_random_state

from ._attributes import FittedAttributes
from ._objectives import observed
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
            For an array model, keys are column indices.

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
        if given is None:
            z = model.sampler(name).draw(n_samples, rng, conditions)
        else:
            z = self._codes_given(self._given_rows(given, n_samples), model.sampler(name), rng, conditions)
        means = model.decode(z, conditions)
        if draw == "auto":
            draw = model.layout is not None
        if draw:
            means = model.draw(means, rng, self._sigma())  # type: ignore[attr-defined]
        # categories of a mixed-type table are drawn from the decoder's softmax with the same rng
        out = means if model.layout is None else model.layout.decode(means, rng)
        if given is not None:  # the given values exactly, as asked
            for key, value in self._given_columns(given, n_samples).items():
                if model.layout is None:
                    out[:, int(key)] = np.asarray(value, dtype=out.dtype)
                else:
                    out[key] = pd.Series(value).astype(out[key].dtype).to_numpy()
        return out

    def _given_columns(self, given, n: int) -> dict:
        """``given`` as {column label (or index): values for n rows}, checked against the fitted columns."""
        model = self._fitted()
        frame = given if isinstance(given, pd.DataFrame) else pd.DataFrame(
            {k: np.broadcast_to(np.asarray(v, dtype=object), (n,)) for k, v in dict(given).items()})
        if len(frame) != n:
            raise ValueError(f"given holds {len(frame)} rows for {n} samples: give one value per column, or one "
                             "row per sample.")
        known = model.layout.labels if model.layout is not None else list(range(model.spec.n_features))
        unknown = [k for k in frame.columns if k not in known]
        if unknown:
            raise ValueError(f"given names columns {unknown} the model was not fitted on; it has {known}.")
        return {k: frame[k].to_numpy() for k in frame.columns}

    def _given_rows(self, given, n: int) -> np.ndarray:
        """Scaled encoded rows holding the given values and NaN (missing) everywhere else."""
        model = self._fitted()
        columns = self._given_columns(given, n)
        if model.layout is not None:
            full = pd.DataFrame({label: columns.get(label, np.full(n, None, dtype=object))
                                 for label in model.layout.labels})
            encoded = model.layout.encode(full, handle_unknown="error")
        else:
            encoded = np.full((n, model.spec.n_features), np.nan)
            for key, value in columns.items():
                encoded[:, int(key)] = np.asarray(value, dtype=np.float64)
        return model.scaler.transform(encoded)

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


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive int; got {value!r}.")
    return int(value)
