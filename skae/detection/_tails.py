"""The detector's input-space term: how far into its column's tails each entry of a row lies.

An autoencoder scores a row by what it fails to reconstruct.  A row far
outside the data in one or two columns can still be reconstructed well (a
column the code carries on its own, a member that does not see the column),
and then scores as normal.  Such global outliers are what per-column tail
probabilities see at once (ECOD: Li et al., "ECOD: Unsupervised Outlier
Detection Using Empirical Cumulative Distribution Functions", IEEE TKDE 2022):
an entry's tail probability is the share of training values at least as far
out on its side, and a row's term is the sum over its columns of minus the log
of that probability.  Beyond the training range the probability has no data
left to count; the term then grows with the distance past the edge, in the
column's interquartile ranges, so a row at 1e6 ranks above a row at the edge.

The two views are combined as p-values are in Fisher's method: each score
becomes minus the log of its upper-tail share among the training rows' scores,
and the detector's score is the members' term plus ``weight`` times the tails'
term.  On ranks, neither score's units or spread matters, and a row extreme in
either view ranks high (the weight was chosen on the twenty anomaly sets:
``benchmarks/results_anomaly.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ColumnTails", "LEVELS", "TailCombination", "TAIL_WEIGHT", "upper_tail"]

#: the most quantiles kept per column: every training value for smaller sets
LEVELS = 2048
#: the tails' weight beside the members' term in the default detector
TAIL_WEIGHT = 2.0


def _levels(values: np.ndarray) -> np.ndarray:
    """Each column's order statistics at up to :data:`LEVELS` evenly spaced levels (NaN ignored; none: NaN)."""
    counts = (~np.isnan(values)).sum(0)
    k = int(min(max(int(counts.max(initial=0)), 2), LEVELS))
    ordered = np.sort(values, axis=0)  # NaN sort last
    idx = np.floor(np.linspace(0, 1, k)[:, None] * np.maximum(counts - 1, 0)[None, :] + 0.5).astype(np.intp)
    return np.take_along_axis(ordered, idx, axis=0)


def upper_tail(quantiles: np.ndarray, count: float, x: np.ndarray, spread: float) -> np.ndarray:
    """Minus the log of the share of training values at least ``x`` (given as ``quantiles`` of ``count`` values).

    The share is at least ``1 / (count + 1)``; past the largest training value the term grows by one per
    ``spread`` of distance, so rows beyond the data keep their order.
    """
    above = 1.0 - np.searchsorted(quantiles, x, side="left") / len(quantiles)
    p = np.clip(above, 1.0 / (count + 1.0), 1.0)
    return -np.log(p) + np.maximum(x - quantiles[-1], 0.0) / spread


class ColumnTails:
    """Per-column empirical distributions of the training rows and the tail score they give a row.

    Parameters
    ----------
    quantiles : ndarray of shape (K, S)
        Each column's training values at K evenly spaced levels (NaN-free columns: its order statistics).
    counts : ndarray of shape (S,)
        Observed training entries per column (the smallest tail probability is ``1 / (count + 1)``).
    spread : ndarray of shape (S,)
        Each column's interquartile range (its standard deviation where that is 0, else 1): the unit of
        distance past the training range.
    """

    def __init__(self, quantiles: np.ndarray, counts: np.ndarray, spread: np.ndarray):
        self.quantiles, self.counts, self.spread = quantiles, counts, spread

    @classmethod
    def fit(cls, values: np.ndarray) -> ColumnTails:
        """The distributions of ``values`` (n, S), NaN where an entry is missing."""
        values = np.asarray(values, dtype=np.float64)
        counts = (~np.isnan(values)).sum(0).astype(np.float64)
        quantiles = _levels(values)
        with np.errstate(all="ignore"), _no_empty_warning():
            q25, q75 = np.nanpercentile(values, [25, 75], axis=0)
            sd = np.nanstd(values, axis=0)
        spread = np.where(q75 - q25 > 0, q75 - q25, np.where(sd > 0, sd, 1.0))
        return cls(np.nan_to_num(quantiles), counts, np.nan_to_num(spread, nan=1.0))

    def raw(self, values: np.ndarray) -> np.ndarray:
        """Each row's summed tail term (observed entries only, rescaled to all columns)."""
        values = np.asarray(values, dtype=np.float64)
        n, S = values.shape
        k = len(self.quantiles)
        total = np.zeros(n)
        observed = ~np.isnan(values)
        for j in range(S):
            x, q = values[:, j], self.quantiles[:, j]
            seen = observed[:, j]
            if self.counts[j] == 0:
                continue
            # shares of the column's training values at most / at least x, from its quantiles
            below = np.searchsorted(q, x, side="right") / k
            above = 1.0 - np.searchsorted(q, x, side="left") / k
            p = np.clip(np.minimum(below, above), 1.0 / (self.counts[j] + 1.0), 1.0)
            past = np.maximum(np.maximum(x - q[-1], q[0] - x), 0.0) / self.spread[j]
            total += np.where(seen, -np.log(p) + past, 0.0)
        n_seen = observed[:, self.counts > 0].sum(1)
        return total * (np.count_nonzero(self.counts) / np.maximum(n_seen, 1))

    def to_state(self) -> dict[str, Any]:
        return {"quantiles": self.quantiles, "counts": self.counts, "spread": self.spread}

    @classmethod
    def from_state(cls, state: dict[str, Any], n_slots: int) -> ColumnTails:
        """The tails :meth:`to_state` wrote; raises ValueError when their shapes do not fit ``n_slots`` columns."""
        quantiles = np.asarray(state["quantiles"], dtype=np.float64)
        counts = np.asarray(state["counts"], dtype=np.float64).reshape(-1)
        spread = np.asarray(state["spread"], dtype=np.float64).reshape(-1)
        if quantiles.ndim != 2 or quantiles.shape[1] != n_slots or counts.shape != (n_slots,) \
                or spread.shape != (n_slots,) or len(quantiles) < 1:
            raise ValueError(f"the detector's column tails do not describe {n_slots} columns.")
        return cls(quantiles, counts, spread)


class TailCombination:
    """The members' scores and the column tails' sums combined as p-values (see the module docstring).

    Parameters
    ----------
    tails : ColumnTails
    members, sums : ndarray
        Quantiles of the training rows' member scores and tail sums.
    counts : tuple of float
        How many training rows each set of quantiles summarises.
    spreads : tuple of float
        The interquartile range of each: the unit of distance past the training rows' largest score.
    weight : float
    """

    def __init__(self, tails: ColumnTails, members: np.ndarray, sums: np.ndarray, counts, spreads, weight: float):
        self.tails, self.members, self.sums, self.weight = tails, members, sums, float(weight)
        self.counts = tuple(float(c) for c in counts)
        self.spreads = tuple(float(s) for s in spreads)

    @classmethod
    def fit(cls, values: np.ndarray, member_scores: np.ndarray, weight: float) -> TailCombination:
        """From training rows ``values`` (n, S) and their member scores (n,)."""
        tails = ColumnTails.fit(values)
        sums = tails.raw(values)
        spreads = []
        for s in (member_scores, sums):
            q25, q75 = np.percentile(s, [25, 75])
            spreads.append(max(q75 - q25, 1e-12 * max(abs(float(np.median(s))), 1.0), 1e-300))
        return cls(tails, _levels(member_scores[:, None])[:, 0], _levels(sums[:, None])[:, 0],
                   (len(member_scores), len(sums)), spreads, weight)

    def scores(self, sums: np.ndarray, member_scores: np.ndarray) -> np.ndarray:
        """The combined anomaly score of rows whose tail sums (:meth:`ColumnTails.raw`) and member scores are given."""
        own = upper_tail(self.members, self.counts[0], member_scores, self.spreads[0])
        return own + self.weight * upper_tail(self.sums, self.counts[1], sums, self.spreads[1])

    def to_state(self) -> dict[str, Any]:
        return {"tails": self.tails.to_state(), "members": self.members, "sums": self.sums,
                "counts": list(self.counts), "spreads": list(self.spreads), "weight": self.weight}

    @classmethod
    def from_state(cls, state: dict[str, Any], n_slots: int) -> TailCombination:
        """The combination :meth:`to_state` wrote, checked against ``n_slots`` columns."""
        members = np.asarray(state["members"], dtype=np.float64).reshape(-1)
        sums = np.asarray(state["sums"], dtype=np.float64).reshape(-1)
        counts, spreads = list(state["counts"]), list(state["spreads"])
        if len(members) < 1 or len(sums) < 1 or len(counts) != 2 or len(spreads) != 2:
            raise ValueError("the detector's score combination is malformed.")
        return cls(ColumnTails.from_state(state["tails"], n_slots), members, sums, counts, spreads,
                   float(state["weight"]))


class _no_empty_warning:
    """Silence numpy's all-NaN-slice warning: an all-missing column has no tails and is skipped."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._catch.__exit__(*exc)
