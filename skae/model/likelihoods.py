"""Likelihoods: one object per kind of reconstruction term, chosen once at fit.

Every place that needs to know how a model's output is compared with its input
(training, scoring, per-feature errors, decoding, sampling) asks the fitted
model's :class:`Likelihood`; nothing else branches on the kind.

* :class:`SquaredError` — numeric data: squared error for an autoencoder
  (``loss="mse"``), a Gaussian with a learned scale for a VAE
  (``likelihood="gaussian"``).
* :class:`CrossEntropy` — data in [0, 1]: binary cross-entropy for an
  autoencoder (``loss="bce"``), a Bernoulli for a VAE
  (``likelihood="bernoulli"``); the decoder outputs logits.
* :class:`MixedColumns` — a table with numeric, categorical and boolean columns
  (:mod:`skae.tabular`): each original column is one term, squared error /
  Gaussian for numbers, softmax cross-entropy for categories, binary
  cross-entropy for booleans.

The names an estimator's ``loss`` or ``likelihood`` accepts are one table,
:data:`LIKELIHOODS`: its parameter constraints and :func:`likelihood_for` read
it, and each likelihood says itself whether it needs data in [0, 1], whether a
VAE learns a scale for it, what spread its draws use and whether a table's
numeric columns can use it.

A *term* is what one error value is reported for: a feature of a numeric array,
an original column of a table.  Every method takes the target ``x`` (scaled
units, one-hot and 0/1 slots for tables) and the decoder's raw output ``out``.
An optional ``mask`` (1 where an entry was observed, 0 where it is missing, the
shape of ``x``) restricts every sum and mean to the observed entries; missing
entries of ``x`` must already be filled with a finite value.  Without a mask
the arithmetic is exactly that of a complete-data model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..tables._layout import BOOLEAN, CATEGORICAL, NUMERIC
from .losses import bce_error, bernoulli_log_likelihood, gaussian_log_likelihood

__all__ = [
    "BOOLEAN",
    "CATEGORICAL",
    "NUMERIC",
    "LIKELIHOODS",
    "CrossEntropy",
    "Likelihood",
    "LikelihoodKind",
    "MixedColumns",
    "SquaredError",
    "likelihood_for",
    "likelihood_names",
]


_LOG_2PI = math.log(2.0 * math.pi)


class Likelihood:
    """The reconstruction term of a model.

    Attributes
    ----------
    name : str
        The estimator parameter value it stands for ("mse", "bce", "gaussian", "bernoulli").
    unit_interval : bool
        The model needs data in [0, 1] after scaling (its output is a probability).
    learned_scale : bool
        A VAE's decoder learns a scale σ0 for it (a Gaussian's); a Bernoulli has none.
    """

    name = ""
    unit_interval = False
    learned_scale = False

    def __init__(self, name: str = ""):
        self.name = name

    def terms(self, x: torch.Tensor, out: torch.Tensor, in_range: bool = False) -> torch.Tensor:
        """Error per term, shape (..., n_terms), in scaled units (squared error or nats).

        ``in_range=True`` skips the extension of the cross-entropy to targets
        outside [0, 1] (:func:`skae.losses.bce_error`): training data are checked
        to lie inside.
        """
        raise NotImplementedError

    def term_mask(self, mask: torch.Tensor) -> torch.Tensor:
        """The observed-entry mask of the terms (..., n_terms), from a mask shaped like ``x``."""
        return mask

    def weights(self, like: torch.Tensor) -> torch.Tensor | None:
        """Per-term balancing weights of an autoencoder's loss, or None when all weigh 1."""
        return None

    def loss(self, x: torch.Tensor, out: torch.Tensor, mask: torch.Tensor | None = None,
             in_range: bool = False) -> torch.Tensor:
        """An autoencoder's loss per row: the (balanced) mean error over the observed terms."""
        terms = self.terms(x, out, in_range)
        weights = self.weights(terms)
        if weights is not None:
            terms = terms * weights
        if mask is None:
            return terms.mean(-1)
        observed = self.term_mask(mask)
        return (terms * observed).sum(-1) / observed.sum(-1).clamp(min=1.0)

    def log_likelihood(self, x: torch.Tensor, out: torch.Tensor, mask: torch.Tensor | None = None, *,
                       log_scale: torch.Tensor | None = None, in_range: bool = False) -> torch.Tensor:
        """log p(x | decoder output) per row, in nats, summed over the observed entries."""
        raise NotImplementedError

    def feature_errors(self, x: torch.Tensor, out: torch.Tensor, scale: np.ndarray) -> torch.Tensor:
        """Error per term in X's own units: squared error in X's units², cross-entropy in nats."""
        return self.terms(x, out)

    def score_terms(self, x: torch.Tensor, out: torch.Tensor, scale: np.ndarray) -> torch.Tensor:
        """What ``score_samples`` of an autoencoder averages per row (minus): :meth:`feature_errors`."""
        return self.feature_errors(x, out, scale)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        """The decoded value in scaled units: the output itself, or probabilities."""
        return out

    def within(self, out: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        """``out`` with the slots that are means kept within ``[low, high]`` (scaled units); logits as they are.

        What the model returns is bounded by the training range
        (:class:`skae.tables._scaling.Scaler`), so what it is scored on is too.
        """
        return out

    def draw(self, means: np.ndarray, rng: np.random.RandomState, sigma, scale: np.ndarray) -> np.ndarray:
        """Draws from p(x | z) given decoded ``means`` in X's units; ``sigma`` is σ0 in scaled units."""
        raise NotImplementedError

    def residual_terms(self, errors: np.ndarray) -> np.ndarray:
        """What a fit averages, per feature, of its training rows' errors ``x - mean`` (scaled units), in place.

        With :meth:`residual_scale` it gives the spread an autoencoder's draws use
        as ``sigma`` in :meth:`draw`: here a Gaussian's, the root mean square.
        """
        return np.square(errors, out=errors)

    def residual_scale(self, mean_terms: np.ndarray) -> np.ndarray:
        """The per-feature draw scale from the mean of :meth:`residual_terms`."""
        return np.sqrt(mean_terms)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class SquaredError(Likelihood):
    """Squared error (autoencoders) / Gaussian N(x | out, σ0²) with a learned scale (VAEs)."""

    learned_scale = True

    def __init__(self, name: str = "mse"):
        self.name = name

    def terms(self, x, out, in_range=False):
        return (x - out).square()

    def log_likelihood(self, x, out, mask=None, *, log_scale=None, in_range=False):
        if log_scale is None:
            raise ValueError("a Gaussian likelihood needs the decoder's log scale")
        return gaussian_log_likelihood(x, out, log_scale, mask)

    def within(self, out, low, high):
        return torch.clamp(out, low, high)

    def feature_errors(self, x, out, scale):
        # the difference in X's units, then squared: as an autoencoder's error has always been computed
        return ((x - out) * torch.as_tensor(scale, dtype=x.dtype, device=x.device)).square()

    def draw(self, means, rng, sigma, scale):
        return means + rng.standard_normal(means.shape) * sigma * scale


class CrossEntropy(Likelihood):
    """Binary cross-entropy (autoencoders) / Bernoulli(x | sigmoid(out)) (VAEs); data in [0, 1]."""

    unit_interval = True

    def __init__(self, name: str = "bce"):
        self.name = name

    def terms(self, x, out, in_range=False):
        return bce_error(x, out, in_range)

    def log_likelihood(self, x, out, mask=None, *, log_scale=None, in_range=False):
        return bernoulli_log_likelihood(x, out, in_range, mask)

    def mean(self, out):
        return torch.sigmoid(out)

    def draw(self, means, rng, sigma, scale):
        return rng.binomial(1, np.clip(means, 0, 1)).astype(np.float64)


class MixedColumns(Likelihood):
    """One term per original column of a table: numeric, categorical or boolean.

    Parameters
    ----------
    kinds : list of str
        ``NUMERIC``, ``CATEGORICAL`` or ``BOOLEAN``, one per original column.
    slots : list of (start, stop)
        Each column's encoded slots: one for numbers and booleans, K one-hot
        slots (decoder: K logits) for a categorical column with K categories.
    name : {"mse", "gaussian"}
        What the numeric columns use: squared error (autoencoders) or a Gaussian (VAEs).

    Notes
    -----
    An autoencoder balances the terms: numeric columns are standardised (their
    error predicting the mean is 1) and a categorical column's cross-entropy is
    divided by log K, a boolean's by log 2 (the cross-entropy of a uniform
    guess), so one wide categorical column does not drown the others.  A VAE
    sums the log-likelihoods unweighted: that is its ELBO, and its learned
    per-feature scale balances the numeric columns.  An all-zero one-hot target
    (an unknown category let through with ``handle_unknown="ignore"``) costs
    what the least likely category would.
    """

    learned_scale = True  # the numeric columns' Gaussian, in a VAE

    def __init__(self, kinds: list[str], slots: list[tuple[int, int]], name: str = "mse"):
        if name not in LIKELIHOODS or not LIKELIHOODS[name].tables:
            # its numeric columns would otherwise train as squared error under another likelihood's name
            tabular = sorted(n for n, kind in LIKELIHOODS.items() if kind.tables)
            raise ValueError(f"a table's numeric columns cannot use the likelihood {name!r}; one of {tabular} can.")
        self.name = name
        self.kinds, self.slots = list(kinds), [tuple(s) for s in slots]
        sizes = [stop - start for start, stop in self.slots]
        self.column_weights = np.array([
            1.0 if kind == NUMERIC else 1.0 / math.log(max(size, 2) if kind == CATEGORICAL else 2)
            for kind, size in zip(self.kinds, sizes)
        ])
        self.starts = [start for start, _ in self.slots]
        self.numeric_slots = [start for start, kind in zip(self.starts, self.kinds) if kind == NUMERIC]
        self.boolean_slots = [start for start, kind in zip(self.starts, self.kinds) if kind == BOOLEAN]
        self.categorical = [slot for slot, kind in zip(self.slots, self.kinds) if kind == CATEGORICAL]
        # the terms are computed kind by kind (numbers, booleans, categories), then put back in column order
        by_kind = ([j for j, k in enumerate(self.kinds) if k == NUMERIC] + [j for j, k in enumerate(self.kinds) if k == BOOLEAN]
                   + [j for j, k in enumerate(self.kinds) if k == CATEGORICAL])
        self.term_order = np.argsort(by_kind)
        slot_kinds = [(kind, s) for kind, (start, stop) in zip(self.kinds, self.slots) for s in range(start, stop)]
        by_slot = ([s for k, s in slot_kinds if k == NUMERIC] + [s for k, s in slot_kinds if k == BOOLEAN]
                   + [s for k, s in slot_kinds if k == CATEGORICAL])
        self.slot_order = np.argsort(by_slot)
        self._cache: dict = {}

    def __getstate__(self):
        return {"kinds": self.kinds, "slots": self.slots, "name": self.name}

    def __setstate__(self, state):
        self.__init__(state["kinds"], state["slots"], state["name"])

    def _tensors(self, like: torch.Tensor):
        key = (like.device, like.dtype)
        if key not in self._cache:
            self._cache[key] = (
                torch.as_tensor(self.numeric_slots, dtype=torch.long, device=like.device),
                torch.as_tensor(self.column_weights, dtype=like.dtype, device=like.device),
                torch.as_tensor([k == NUMERIC for k in self.kinds], device=like.device),
                torch.as_tensor(self.starts, dtype=torch.long, device=like.device),
                torch.as_tensor(self.boolean_slots, dtype=torch.long, device=like.device),
                torch.as_tensor(self.term_order, dtype=torch.long, device=like.device),
                torch.as_tensor(self.slot_order, dtype=torch.long, device=like.device),
            )
        return self._cache[key]

    def terms(self, x, out, in_range=False):
        return self._terms(x, out)

    def _terms(self, x, out, scale=None):
        """Per-column errors; with the scaler's ``scale``, numeric squared errors are in X's units."""
        numeric, _, _, _, boolean, order, _ = self._tensors(x)
        pieces = []
        if len(self.numeric_slots):
            difference = x[..., numeric] - out[..., numeric]
            if scale is not None:
                difference = difference * torch.as_tensor(np.asarray(scale)[self.numeric_slots], dtype=x.dtype,
                                                          device=x.device)
            pieces.append(difference.square())
        if len(self.boolean_slots):
            pieces.append(F.binary_cross_entropy_with_logits(out[..., boolean], x[..., boolean], reduction="none"))
        for start, stop in self.categorical:
            t, o = x[..., start:stop], out[..., start:stop]
            log_p = torch.log_softmax(o, dim=-1)
            known = -(t * log_p).sum(-1)
            pieces.append(torch.where(t.sum(-1) > 0, known, -log_p.min(-1).values)[..., None])
        return torch.cat(pieces, dim=-1)[..., order]

    def term_mask(self, mask):
        return mask[..., self._tensors(mask)[3]]

    def weights(self, like):
        return self._tensors(like)[1]

    def log_likelihood(self, x, out, mask=None, *, log_scale=None, in_range=False):
        errors = self.terms(x, out)
        slots, _, numeric, *_ = self._tensors(x)
        log_scale = torch.broadcast_to(log_scale, x.shape[-1:])[slots]
        gaussian = -0.5 * (errors[..., numeric] * torch.exp(-2 * log_scale) + _LOG_2PI) - log_scale
        other = errors[..., ~numeric]
        if mask is not None:
            observed = self.term_mask(mask)
            gaussian, other = gaussian * observed[..., numeric], other * observed[..., ~numeric]
        return gaussian.sum(-1) - other.sum(-1)

    def within(self, out, low, high):
        numeric = self._tensors(out)[0]
        if not len(self.numeric_slots):
            return out
        out = out.clone()
        out[..., numeric] = torch.clamp(out[..., numeric], low[numeric], high[numeric])
        return out

    def feature_errors(self, x, out, scale):
        return self._terms(x, out, scale)

    def score_terms(self, x, out, scale):
        # the training loss's balanced terms (scale-free): standardised squared errors, cross-entropies / log K
        return self.terms(x, out) * self.weights(x)

    def mean(self, out):
        numeric, _, _, _, boolean, _, order = self._tensors(out)
        parts = [out[..., numeric], torch.sigmoid(out[..., boolean])]
        parts += [torch.softmax(out[..., start:stop], -1) for start, stop in self.categorical]
        return torch.cat(parts, dim=-1)[..., order]

    @property
    def numeric_slot_mask(self) -> np.ndarray:
        """True at the encoded slots of numeric columns."""
        width = self.slots[-1][1] if self.slots else 0
        mask = np.zeros(width, dtype=bool)
        mask[self.numeric_slots] = True
        return mask

    def draw(self, means, rng, sigma, scale, mixing: np.ndarray | None = None):
        """Gaussian draws at the numeric slots; ``mixing`` (k x k, k numeric slots) correlates their noise.

        Categories are drawn when the table is decoded.  With ``mixing`` = L,
        a Cholesky factor of the residuals' correlation, the standard normals of
        a row's numeric slots become L·ε: each slot keeps its own spread, and
        slots whose errors go together (a diamond's length and width) move
        together, as they do in the data.
        """
        unit = rng.standard_normal(means.shape)
        mask = self.numeric_slot_mask
        if mixing is not None:
            unit[:, mask] = unit[:, mask] @ mixing.T
        noise = unit * sigma * scale
        noise[:, ~mask] = 0.0
        return means + noise


@dataclass(frozen=True)
class LikelihoodKind:
    """One value of an estimator's ``loss`` (autoencoders) or ``likelihood`` (VAEs) parameter.

    Attributes
    ----------
    name : str
        The parameter value.
    parameter : {"loss", "likelihood"}
        Which family's parameter takes it.
    make : type
        The :class:`Likelihood` for an array (or a table of numbers only), built with ``make(name)``.
    tables : bool
        Whether a table with categorical or boolean columns can use it for its numeric columns
        (:class:`MixedColumns` models them with squared error / a Gaussian only).
    """

    name: str
    parameter: str
    make: type[Likelihood]
    tables: bool


#: every likelihood an estimator parameter may name: the one list its constraints and ``likelihood_for`` read
LIKELIHOODS = {
    kind.name: kind
    for kind in (
        LikelihoodKind("mse", "loss", SquaredError, tables=True),
        LikelihoodKind("bce", "loss", CrossEntropy, tables=False),
        LikelihoodKind("gaussian", "likelihood", SquaredError, tables=True),
        LikelihoodKind("bernoulli", "likelihood", CrossEntropy, tables=False),
    )
}


def likelihood_names(parameter: str) -> set[str]:
    """The values the ``loss`` or the ``likelihood`` parameter accepts."""
    return {name for name, kind in LIKELIHOODS.items() if kind.parameter == parameter}


def likelihood_for(name: str, layout=None) -> Likelihood:
    """The likelihood object for an estimator's ``loss`` / ``likelihood`` and its data.

    Parameters
    ----------
    name : {"mse", "bce", "gaussian", "bernoulli"}
    layout : skae.tabular.ColumnLayout or None
        The column layout of a table, None for an array.  A table of numbers
        only is modelled as an array is (its layout only names, types and
        bounds what comes back).
    """
    if name not in LIKELIHOODS:
        raise ValueError(f"Unknown likelihood {name!r}; expected one of {sorted(LIKELIHOODS)}.")
    kind = LIKELIHOODS[name]
    if layout is not None and not layout.all_numeric:
        if not kind.tables:
            what = "models data in [0, 1]" if kind.make.unit_interval else "has no term for a table's numeric columns"
            raise ValueError(
                f"{name!r} {what}; X has categorical or boolean columns, which skae models with "
                "their own likelihoods beside squared error / a Gaussian for the numeric columns. Use the default "
                "loss / likelihood."
            )
        return MixedColumns(layout.model_kinds, layout.slots, name)
    return kind.make(name)
